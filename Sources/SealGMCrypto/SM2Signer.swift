import COpenSSL
import Synchronization

/// An SM2 private key prepared for signing many messages: Z_A computed once, and the OpenSSL
/// objects a signature needs made once, so that each signature costs SM3(Z_A ‖ M) and the
/// signature itself. (``SM2PrivateKey/signature(for:distinguishingID:)`` sets up a context and
/// recomputes Z_A — with its curve-parameter and public-key exports — on every call.) The
/// signatures are the same SM2 with SM3 over the same e: any verifier accepts them.
///
/// A secure element signs with one key over and over; the chip model keeps one of these per seal
/// key (`KeyObjectCache`). Calls are serialized on an internal lock: OpenSSL contexts are not
/// shared between threads.
public final class SM2Signer: Sendable {
    private let key: EVPKey
    private let identity: [UInt8]
    private let context: SigningContext

    /// The largest DER `SEQUENCE { r, s }` of a 256-bit order: two 33-byte INTEGERs (a leading
    /// `00` each) with their headers, and the SEQUENCE header (`ECDSA_size`, what OpenSSL requires
    /// of the output buffer).
    static let maximumSignatureLength = 72

    /// Prepares `key` for signing under `distinguishingID`.
    ///
    /// - Throws: ``GMCryptoError`` `.openSSLFailure` when OpenSSL cannot set up the context.
    public init(key: SM2PrivateKey, distinguishingID: [UInt8] = SM2.defaultDistinguishingID) throws {
        self.key = key.key
        identity = try key.publicKey.identityDigest(distinguishingID: distinguishingID)
        context = try SigningContext(key: key.key)
    }

    /// Signs `message` with SM2-with-SM3: the DER `SEQUENCE { r, s }`, as
    /// ``SM2PrivateKey/signature(for:distinguishingID:)`` gives it.
    ///
    /// - Throws: ``GMCryptoError`` `.openSSLFailure`.
    public func signature(for message: some Collection<UInt8>) throws -> [UInt8] {
        let signature = message.withContiguousStorageIfAvailable { sign($0) } ?? Array(message).withUnsafeBufferPointer { sign($0) }
        guard let signature else { throw GMCryptoError.openSSL(.openSSLFailure, "SM2 signing failed") }
        return signature
    }

    /// e = SM3(Z_A ‖ message) in the kept digest context, then OpenSSL's SM2 signature of e,
    /// written straight into the array returned; `nil` when OpenSSL fails.
    private func sign(_ message: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        context.withLock { objects -> [UInt8]? in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SM3.byteCount) { digest -> [UInt8]? in
                guard let digestBase = digest.baseAddress else { return nil }
                var digestLength: UInt32 = 0
                let hashed = identity.withUnsafeBufferPointer { identity in
                    EVP_DigestInit_ex2(objects.digestContext, nil, nil) == 1
                        && EVP_DigestUpdate(objects.digestContext, identity.baseAddress, identity.count) == 1
                        && EVP_DigestUpdate(objects.digestContext, message.baseAddress, message.count) == 1
                        && EVP_DigestFinal_ex(objects.digestContext, digestBase, &digestLength) == 1
                }
                guard hashed, Int(digestLength) == SM3.byteCount else { return nil }
                var signed = false
                let signature = [UInt8](unsafeUninitializedCapacity: Self.maximumSignatureLength) { buffer, count in
                    var length = buffer.count
                    signed = EVP_PKEY_sign(objects.keyContext, buffer.baseAddress, &length, digestBase, SM3.byteCount) == 1
                        && length <= buffer.count
                    count = signed ? length : 0
                }
                return signed ? signature : nil
            }
        }
    }
}

/// The OpenSSL objects of an ``SM2Signer``, used under a lock and freed with their owner: the
/// signing context of the key (initialised for `EVP_PKEY_sign` once), SM3 fetched from the
/// default provider once (`EVP_sm3()` makes every digest operation fetch it again), and one digest
/// context re-initialised per signature (`EVP_Digest` allocates and frees one per call).
private final class SigningContext: @unchecked Sendable {
    // @unchecked: the pointers are touched only inside `withLock`, one thread at a time.
    struct Objects {
        let keyContext: OpaquePointer
        let digestContext: OpaquePointer
    }

    private let objects: Objects
    private let digest: OpaquePointer
    private let lock = Mutex(())

    init(key: EVPKey) throws {
        guard let digest = EVP_MD_fetch(nil, "SM3", nil) else {
            throw GMCryptoError.openSSL(.openSSLFailure, "OpenSSL has no SM3")
        }
        guard let digestContext = EVP_MD_CTX_new() else {
            EVP_MD_free(digest)
            throw GMCryptoError.openSSL(.openSSLFailure, "no SM3 digest context")
        }
        guard let keyContext = EVP_PKEY_CTX_new(key.pointer, nil) else {
            EVP_MD_CTX_free(digestContext)
            EVP_MD_free(digest)
            throw GMCryptoError.openSSL(.openSSLFailure, "no SM2 signing context")
        }
        self.digest = digest
        objects = Objects(keyContext: keyContext, digestContext: digestContext)
        // From here on deinit frees all three.
        guard EVP_DigestInit_ex2(digestContext, digest, nil) == 1 else {
            throw GMCryptoError.openSSL(.openSSLFailure, "EVP_DigestInit_ex2 failed for SM3")
        }
        guard EVP_PKEY_sign_init(keyContext) == 1 else {
            throw GMCryptoError.openSSL(.openSSLFailure, "EVP_PKEY_sign_init failed")
        }
    }

    deinit {
        EVP_PKEY_CTX_free(objects.keyContext)
        EVP_MD_CTX_free(objects.digestContext)
        EVP_MD_free(digest)
    }

    func withLock<Result>(_ body: (Objects) -> Result) -> Result {
        lock.withLock { _ in body(objects) }
    }
}
