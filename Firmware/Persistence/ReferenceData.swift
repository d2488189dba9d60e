import Crypto

/// How the chip stores a PIN or PUK: never the digits, only `salt ‖ HMAC-SHA-256(salt, label ‖ digits)`.
///
/// The 16-byte salt is drawn from the chip's random source each time the secret is set, so equal
/// PINs on two chips (or before and after a change) do not produce equal records.
enum ReferenceData {
    static let saltLength = 16
    static let storedLength = saltLength + 32
    private static let label = Array("SEALKIT-REFERENCE-DATA-V1".utf8)

    /// The record value for `secret` under a fresh `salt`.
    static func protect(_ secret: [UInt8], salt: [UInt8]) -> [UInt8] {
        let mac = HMAC<SHA256>.authenticationCode(for: label + secret, using: SymmetricKey(data: salt))
        return salt + Array(mac)
    }

    /// Whether `candidate` is the secret that `stored` protects; the MAC comparison is
    /// constant-time (swift-crypto's `isValidAuthenticationCode`). `false` for a malformed record.
    static func matches(_ candidate: [UInt8], stored: [UInt8]) -> Bool {
        guard stored.count == storedLength else { return false }
        let salt = SymmetricKey(data: stored.prefix(saltLength))
        let mac = Array(stored.dropFirst(saltLength))
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: label + candidate, using: salt)
    }
}
