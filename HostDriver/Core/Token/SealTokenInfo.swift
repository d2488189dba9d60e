import SealProtocol

/// A snapshot of a seal token's public state, from ``SealToken/info()``.
public struct SealTokenInfo: Hashable, Sendable {
    /// The 16-byte chip ID.
    public var chipID: [UInt8]
    /// The lifecycle state (SPEC §6).
    public var lifecycle: LifecycleState
    /// The signature counter: the counter of the newest stamp, 0 before the first.
    public var counter: UInt32
    /// PIN and PUK tries; `nil` in MANUFACTURED and TERMINATED, where the chip has no PIN.
    public var pinStatus: PINStatus?
    /// Limits and features (GET DATA `0105`).
    public var capabilities: SealCapabilities
    /// Organization, seal name, feature hash and policy; `nil` before personalization.
    public var personalization: PersonalizationInfo?
    /// The seal public key (X9.63, 65 bytes); `nil` in MANUFACTURED and TERMINATED.
    public var sealPublicKey: [UInt8]?
    /// SHA-256 of the seal public key; `nil` when the key is absent.
    public var sealKeyID: [UInt8]?
    /// The Answer-to-Reset received when connecting.
    public var answerToReset: [UInt8]

    /// Creates a snapshot.
    package init(chipID: [UInt8], lifecycle: LifecycleState, counter: UInt32, pinStatus: PINStatus?,
                capabilities: SealCapabilities, personalization: PersonalizationInfo?, sealPublicKey: [UInt8]?,
                sealKeyID: [UInt8]?, answerToReset: [UInt8]) {
        self.chipID = chipID
        self.lifecycle = lifecycle
        self.counter = counter
        self.pinStatus = pinStatus
        self.capabilities = capabilities
        self.personalization = personalization
        self.sealPublicKey = sealPublicKey
        self.sealKeyID = sealKeyID
        self.answerToReset = answerToReset
    }

    /// The chip ID as 32 uppercase hex digits, as in the device certificate's serialNumber.
    public var chipIDHex: String { hexString(chipID) }
}
