import Crypto
import SealGMCrypto

/// On-chip P-256 and SM2 key generation from the chip's random source.
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

    /// 32 random bytes → an SM2 private key (OpenSSL derives the public point), retried while the
    /// bytes are not a scalar in [1, n − 2]. `nil` if every attempt failed.
    static func generateSM2SigningKey(using random: any ChipRandomSource) -> SM2PrivateKey? {
        for _ in 0..<maximumAttempts {
            if let key = try? SM2PrivateKey(rawRepresentation: random.randomBytes(count: 32)) {
                return key
            }
        }
        return nil
    }
}
