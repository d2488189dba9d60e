import Crypto
import SealGMCrypto

/// A seal private key as the chip uses it: P-256 or SM2 (SPEC §7 tag `4E`).
enum SealSigningKey {
    case p256(P256.Signing.PrivateKey)
    /// Z_A and the OpenSSL context prepared once per key (`KeyObjectCache`).
    case sm2(SM2Signer)
}

/// Signing with a key held on chip; DER output (SPEC §9).
enum ChipSigner {
    static func sign(_ message: [UInt8], with key: P256.Signing.PrivateKey) throws(CommandFailure) -> [UInt8] {
        // Hash over the contiguous buffer, then sign the digest: the same ECDSA-with-SHA-256 as
        // `signature(for: message)`, without the generic DataProtocol walk on every stamp.
        let digest = message.withUnsafeBytes { SHA256.hash(data: $0) }
        guard let signature = try? key.signature(for: digest) else { throw .internalError }
        return Array(signature.derRepresentation)
    }

    /// Signs with the seal key's algorithm: ECDSA P-256 with SHA-256, or SM2 with SM3 over
    /// SM3(Z_A ‖ message) with the default distinguishing ID (SPEC §9.3). An SM2 failure is the
    /// crypto engine's (`6F00`).
    static func sign(_ message: [UInt8], with key: SealSigningKey) throws(CommandFailure) -> [UInt8] {
        switch key {
        case .p256(let key):
            return try sign(message, with: key)
        case .sm2(let key):
            guard let signature = try? key.signature(for: message) else { throw .internalError }
            return signature
        }
    }

    /// Whether `der` is a DER ECDSA signature by `key` over `message`; `false` for anything not DER.
    static func verify(_ der: [UInt8], over message: [UInt8], with key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: der) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
