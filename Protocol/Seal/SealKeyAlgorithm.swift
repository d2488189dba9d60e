/// The signature algorithm of a seal key, chosen at personalization (SPEC §7 tag `4E`) and fixed
/// for the chip's life: reported by the capabilities object (`85`, SPEC §8.5) and the attestation
/// statement (key policy bit 6, SPEC §9.4).
///
/// Both keys are stored and shown in the same shapes: a 32-byte private scalar and a 65-byte
/// uncompressed public point `04 ‖ x ‖ y`, whose SHA-256 is the key ID (SPEC §9.3).
public enum SealKeyAlgorithm: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// ECDSA on P-256 with SHA-256 (the default).
    case p256 = 0x01
    /// SM2 with SM3 (GB/T 32918.2), over SM3(Z_A ‖ message) with the default distinguishing ID
    /// `1234567812345678` (GB/T 35276).
    case sm2 = 0x02

    /// `P-256` or `SM2`.
    public var description: String {
        switch self {
        case .p256: "P-256"
        case .sm2: "SM2"
        }
    }

    /// Reads the name ``description`` gives (case-insensitive; `p256` accepted too).
    public init?(name: String) {
        switch name.lowercased() {
        case "p-256", "p256": self = .p256
        case "sm2": self = .sm2
        default: return nil
        }
    }
}
