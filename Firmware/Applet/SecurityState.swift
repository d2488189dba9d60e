/// The applet's volatile security state (SPEC §1.2, §8.9). RAM only: cleared at power-on, warm
/// reset, power-off and on every SELECT.
struct SecurityState: Equatable {
    /// Set by a successful VERIFY or CHANGE REFERENCE DATA.
    var pinVerified = false
    /// Set by a successful EXTERNAL AUTHENTICATE.
    var issuerAuthenticated = false
    /// The challenge of the last GET CHALLENGE, consumed by EXTERNAL AUTHENTICATE.
    var pendingChallenge: [UInt8]?
}
