import Crypto

/// On-chip P-256 key generation from the chip's random source.
enum ChipKeyGenerator {
    /// Attempts before giving up; a scalar is invalid (0 or ≥ n) with probability ≈ 2⁻³², so
    /// reaching this bound means the random source is broken.
    static let maximumAttempts = 16

    /// 32 random bytes → `P256.Signing.PrivateKey(rawRepresentation:)`, retried while the bytes
    /// are not a valid scalar. `nil` if every attempt failed.
    static func generateSigningKey(using random: any ChipRandomSource) -> P256.Signing.PrivateKey? {
        for _ in 0..<maximumAttempts {
            if let key = try? P256.Signing.PrivateKey(rawRepresentation: random.randomBytes(count: 32)) {
                return key
            }
        }
        return nil
    }
}
