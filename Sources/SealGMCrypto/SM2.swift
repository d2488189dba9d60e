import COpenSSL

/// SM2 digital signatures (GB/T 32918.2) with SM3, computed by OpenSSL.
///
/// An SM2 signature covers SM3(Z_A ‖ M), where Z_A hashes the signer's distinguishing ID with the
/// curve and the public key. OpenSSL computes Z_A from the ID given to `EVP_PKEY_CTX_set1_id`;
/// OpenSSL 3.0 has no default ID, so every call here sets one (by default ``defaultDistinguishingID``,
/// the ID of GB/T 35276 that every real e-seal file uses).
public enum SM2 {
    /// `1234567812345678`, the default distinguishing ID of GB/T 35276.
    public static let defaultDistinguishingID: [UInt8] = Array("1234567812345678".utf8)
}

/// An SM2 public key.
public struct SM2PublicKey: Sendable {
    let key: EVPKey

    init(checking key: EVPKey) throws {
        guard key.isSM2 else { throw GMCryptoError(code: .notSM2Key, reason: "the key is not on the SM2 curve") }
        self.key = key
    }

    /// Reads a DER SubjectPublicKeyInfo.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidKey` or `.notSM2Key`.
    public init(derRepresentation: [UInt8]) throws {
        var pointer: UnsafePointer<UInt8>? = nil
        let parsed: OpaquePointer? = derRepresentation.withUnsafeBufferPointer { buffer in
            pointer = buffer.baseAddress
            let pkey = d2i_PUBKEY(nil, &pointer, buffer.count)
            // d2i_PUBKEY ignores bytes after the value: refuse them, a key has exactly one encoding.
            if let pkey, let base = buffer.baseAddress, let end = pointer, end - base != buffer.count {
                EVP_PKEY_free(pkey)
                return nil
            }
            return pkey
        }
        guard let parsed else { throw GMCryptoError.openSSL(.invalidKey, "not a DER SubjectPublicKeyInfo") }
        try self.init(checking: EVPKey(owning: parsed))
    }

    /// Reads a PEM `PUBLIC KEY`.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidKey` or `.notSM2Key`.
    public init(pemRepresentation: String) throws {
        let parsed = try withMemoryBIO(Array(pemRepresentation.utf8)) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        guard let parsed else { throw GMCryptoError.openSSL(.invalidKey, "not a PEM public key") }
        try self.init(checking: EVPKey(owning: parsed))
    }

    /// The DER SubjectPublicKeyInfo.
    public var derRepresentation: [UInt8] {
        var output: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PUBKEY(key.pointer, &output)
        guard length > 0, let output else { return [] }
        defer { sealkit_openssl_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }

    /// The PEM `PUBLIC KEY`, as `openssl pkey -pubin` reads it.
    public var pemRepresentation: String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PUBKEY(bio, key.pointer) == 1 else { return "" }
        return String(decoding: readAll(bio), as: UTF8.self)
    }

    /// Whether `signature` is a valid SM2-with-SM3 signature over `message` by this key.
    ///
    /// - Parameters:
    ///   - signature: DER `SEQUENCE { r INTEGER, s INTEGER }` (see ``SM2Signature`` for r‖s).
    ///   - message: The signed bytes (hashed here with Z_A).
    ///   - distinguishingID: The signer's ID that Z_A covers.
    public func isValidSignature(_ signature: [UInt8], for message: some Collection<UInt8>,
                                 distinguishingID: [UInt8] = SM2.defaultDistinguishingID) -> Bool {
        let message = Array(message)
        let result = withDigestContext(key, distinguishingID: distinguishingID, signing: false) { context in
            EVP_DigestVerify(context, signature, signature.count, message, message.count)
        }
        ERR_clear_error()
        return result == 1
    }
}

/// An SM2 private key, generated or read by OpenSSL.
public struct SM2PrivateKey: Sendable {
    let key: EVPKey

    /// Generates a new key.
    ///
    /// - Throws: ``GMCryptoError`` `.openSSLFailure` if OpenSSL cannot generate one.
    public init() throws {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else {
            throw GMCryptoError.openSSL(.openSSLFailure, "no SM2 key context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var generated: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_generate(context, &generated) == 1, let generated else {
            throw GMCryptoError.openSSL(.openSSLFailure, "SM2 key generation failed")
        }
        key = EVPKey(owning: generated)
    }

    /// Reads a PEM private key (`PRIVATE KEY` or `EC PRIVATE KEY`, unencrypted) on the SM2 curve.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidKey` or `.notSM2Key`.
    public init(pemRepresentation: String) throws {
        let parsed = try withMemoryBIO(Array(pemRepresentation.utf8)) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let parsed else { throw GMCryptoError.openSSL(.invalidKey, "not an unencrypted PEM private key") }
        let key = EVPKey(owning: parsed)
        guard key.isSM2 else { throw GMCryptoError(code: .notSM2Key, reason: "the key is not on the SM2 curve") }
        self.key = key
    }

    /// The unencrypted PKCS #8 PEM `PRIVATE KEY`, as `openssl pkey` reads it.
    public var pemRepresentation: String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil) == 1 else { return "" }
        return String(decoding: readAll(bio), as: UTF8.self)
    }

    /// The matching public key.
    public var publicKey: SM2PublicKey {
        get throws {
            var output: UnsafeMutablePointer<UInt8>? = nil
            let length = i2d_PUBKEY(key.pointer, &output)
            guard length > 0, let output else { throw GMCryptoError.openSSL(.openSSLFailure, "i2d_PUBKEY failed") }
            defer { sealkit_openssl_free(output) }
            return try SM2PublicKey(derRepresentation: Array(UnsafeBufferPointer(start: output, count: Int(length))))
        }
    }

    /// Signs `message` with SM2-with-SM3: the DER `SEQUENCE { r, s }` (70 to 72 bytes).
    ///
    /// - Parameters:
    ///   - message: The bytes to sign (hashed here with Z_A).
    ///   - distinguishingID: The signer's ID that Z_A covers.
    /// - Throws: ``GMCryptoError`` `.openSSLFailure`.
    public func signature(for message: some Collection<UInt8>,
                          distinguishingID: [UInt8] = SM2.defaultDistinguishingID) throws -> [UInt8] {
        let message = Array(message)
        var signature = [UInt8](repeating: 0, count: 80)
        var length = signature.count
        let result = withDigestContext(key, distinguishingID: distinguishingID, signing: true) { context in
            EVP_DigestSign(context, &signature, &length, message, message.count)
        }
        guard result == 1 else { throw GMCryptoError.openSSL(.openSSLFailure, "SM2 signing failed") }
        return Array(signature.prefix(length))
    }
}

/// Runs `body` with an SM3 digest context bound to `key` and the distinguishing ID; returns -1 when
/// the context cannot be set up.
private func withDigestContext(_ key: EVPKey, distinguishingID: [UInt8], signing: Bool,
                               _ body: (OpaquePointer) -> Int32) -> Int32 {
    guard let keyContext = EVP_PKEY_CTX_new(key.pointer, nil) else { return -1 }
    // EVP_MD_CTX_set_pkey_ctx does not take ownership: the key context is freed here, after the
    // digest context that uses it (defers run in reverse order).
    defer { EVP_PKEY_CTX_free(keyContext) }
    guard let digestContext = EVP_MD_CTX_new() else { return -1 }
    defer { EVP_MD_CTX_free(digestContext) }
    guard EVP_PKEY_CTX_set1_id(keyContext, distinguishingID, Int32(distinguishingID.count)) == 1 else { return -1 }
    EVP_MD_CTX_set_pkey_ctx(digestContext, keyContext)
    let initialised = signing
        ? EVP_DigestSignInit(digestContext, nil, EVP_sm3(), nil, key.pointer)
        : EVP_DigestVerifyInit(digestContext, nil, EVP_sm3(), nil, key.pointer)
    guard initialised == 1 else { return -1 }
    return body(digestContext)
}
