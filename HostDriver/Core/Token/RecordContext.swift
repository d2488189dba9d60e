import SealProtocol

/// The static parts of a stamp record, read once per chip and cached by ``SealToken``.
struct RecordContext: Sendable {
    var chipID: [UInt8]
    var personalization: PersonalizationInfo
    var sealPublicKey: [UInt8]
    var keyID: [UInt8]
    var deviceCertificate: [UInt8]
    /// The seal key's algorithm (capabilities `85`, SPEC §8.5).
    var sealKeyAlgorithm: SealKeyAlgorithm
}
