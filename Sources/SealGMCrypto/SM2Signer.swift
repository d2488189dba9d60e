import COpenSSL
import Synchronization

/// An SM2 private key prepared for signing many messages: Z_A computed once, and one OpenSSL
/// signing context kept, so that each signature costs SM3(Z_A ‖ M) and the signature itself.
/// (``SM2PrivateKey/signature(for:distinguishingID:)`` sets up a context and recomputes Z_A — with
/// its curve-parameter and public-key exports — on every call.) The signatures are the same SM2
/// with SM3 over the same e: any verifier accepts them.
///
/// A secure element signs with one key over and over; the chip model keeps one of these per seal
/// key (`KeyObjectCache`). Calls are serialized on an internal lock: OpenSSL contexts are not
/// shared between threads.
public final class SM2Signer: Sendable {
    private let key: EVPKey
    private let identity: [UInt8]
    private let context: SigningContext

    /// Prepares `key` for signing under `distinguishingID`.
    ///
    /// - Throws: ``GMCryptoError`` `.openSSLFailure` when OpenSSL cannot set up the context.
    public init(key: SM2PrivateKey, distinguishingID: [UInt8] = SM2.defaultDistinguishingID) throws {
        self.key = key.key
        identity = try key.publicKey.identityDigest(distinguishingID: distinguishingID)
        guard let pointer = EVP_PKEY_CTX_new(key.key.pointer, nil) else {
            throw GMCryptoError.openSSL(.openSSLFailure, "no SM2 signing context")
        }
        context = SigningContext(pointer)
        guard EVP_PKEY_sign_init(pointer) == 1 else {
            throw GMCryptoError.openSSL(.openSSLFailure, "EVP_PKEY_sign_init failed")
        }
    }

    /// Signs `message` with SM2-with-SM3: the DER `SEQUENCE { r, s }`, as
    /// ``SM2PrivateKey/signature(for:distinguishingID:)`` gives it.
    ///
    /// - Throws: ``GMCryptoError`` `.openSSLFailure`.
    public func signature(for message: some Collection<UInt8>) throws -> [UInt8] {
        let digest = SM3.hash(identity + Array(message))
        var signature = [UInt8](repeating: 0, count: 80)
        var length = signature.count
        let result = context.withLock { pointer in
            EVP_PKEY_sign(pointer, &signature, &length, digest, digest.count)
        }
        guard result == 1 else { throw GMCryptoError.openSSL(.openSSLFailure, "SM2 signing failed") }
        return Array(signature.prefix(length))
    }
}

/// An `EVP_PKEY_CTX` used under a lock, freed with its owner.
private final class SigningContext: @unchecked Sendable {
    // @unchecked: the context is touched only inside `withLock`, one thread at a time.
    private let pointer: OpaquePointer
    private let lock = Mutex(())

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_CTX_free(pointer) }

    func withLock<Result>(_ body: (OpaquePointer) -> Result) -> Result {
        lock.withLock { _ in body(pointer) }
    }
}
