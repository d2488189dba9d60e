import Crypto

/// ECDSA P-256 / SHA-256 signing with a key held on chip; DER output (SPEC §9).
enum ChipSigner {
    static func sign(_ message: [UInt8], with key: P256.Signing.PrivateKey) throws(CommandFailure) -> [UInt8] {
        // Hash over the contiguous buffer, then sign the digest: the same ECDSA-with-SHA-256 as
        // `signature(for: message)`, without the generic DataProtocol walk on every stamp.
        let digest = message.withUnsafeBytes { SHA256.hash(data: $0) }
        guard let signature = try? key.signature(for: digest) else { throw .internalError }
        return Array(signature.derRepresentation)
    }

    /// Whether `der` is a DER ECDSA signature by `key` over `message`; `false` for anything not DER.
    static func verify(_ der: [UInt8], over message: [UInt8], with key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: der) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
