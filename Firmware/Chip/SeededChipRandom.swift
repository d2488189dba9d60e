import Crypto

/// Deterministic randomness for reproducible transcripts and tests. NOT for real chips.
///
/// A key is derived from the seed with HKDF-SHA-256; the stream is then
/// `HMAC-SHA-256(key, "SEALKIT-CHIP-DRBG-V1" ‖ u64 block counter)` for block counter 0, 1, 2, …
/// (HMAC in counter mode). The same seed therefore yields the same device and seal keys, PIN
/// salts and issuer challenges, in the same order of use.
///
/// - Important: ECDSA signatures from swift-crypto draw their nonce from the system generator,
///   not from this source, so in deterministic mode keys, challenges and IDs are reproducible but
///   signature bytes (and anything that hashes them, such as the audit head) are not.
public final class SeededChipRandom: ChipRandomSource {
    private static let label = Array("SEALKIT-CHIP-DRBG-V1".utf8)

    private let key: SymmetricKey
    private var blockCounter: UInt64 = 0
    private var buffer: [UInt8] = []

    /// A generator whose stream is determined by `seed` (any length; HKDF spreads it).
    public init(seed: [UInt8]) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: seed),
            info: Array("SEALKIT-CHIP-SEED-V1".utf8),
            outputByteCount: 32)
    }

    /// The next `count` bytes of the stream.
    public func randomBytes(count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(max(count, 0))
        while out.count < count {
            if buffer.isEmpty {
                var block = Self.label
                withUnsafeBytes(of: blockCounter.bigEndian) { block += $0 }
                blockCounter &+= 1
                buffer = Array(HMAC<SHA256>.authenticationCode(for: block, using: key))
            }
            let take = min(count - out.count, buffer.count)
            out += buffer.prefix(take)
            buffer.removeFirst(take)
        }
        return out
    }
}
