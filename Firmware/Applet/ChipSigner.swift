import Crypto

/// ECDSA P-256 / SHA-256 signing with a key held on chip; DER output (SPEC §9).
enum ChipSigner {
    static func sign(_ message: [UInt8], with key: P256.Signing.PrivateKey) throws(CommandFailure) -> [UInt8] {
        guard let signature = try? key.signature(for: message) else { throw .internalError }
        return Array(signature.derRepresentation)
    }

    /// Whether `der` is a DER ECDSA signature by `key` over `message`; `false` for anything not DER.
    static func verify(_ der: [UInt8], over message: [UInt8], with key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: der) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
