import COpenSSL

// The SM2 signature's message digest e = SM3(Z_A ‖ M) (GB/T 32918.2 §6.1, steps A1–A2), which
// interfaces such as GM/T 0016's SKF_ECCSignData hand to a key instead of the message. OpenSSL
// computes Z_A inside EVP_DigestSign but exports neither it nor e, so they are composed here from
// SM3 and the curve parameters OpenSSL holds for the SM2 group; the signature itself stays
// OpenSSL's (EVP_PKEY_sign/verify, which take e directly for an SM2 key).

extension SM2PublicKey {
    /// Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2 §5.5): the digest of
    /// the signer's distinguishing ID, the curve and this key, which every SM2 signature covers.
    ///
    /// - Parameter distinguishingID: ID_A, at most 8 191 bytes (ENTL_A is its length in bits, two bytes).
    /// - Throws: ``GMCryptoError`` `.invalidKey` for an ID that is too long; `.openSSLFailure` when
    ///   OpenSSL cannot give the curve parameters.
    public func identityDigest(distinguishingID: [UInt8] = SM2.defaultDistinguishingID) throws -> [UInt8] {
        guard distinguishingID.count <= 8191 else {
            throw GMCryptoError(code: .invalidKey, reason: "an SM2 distinguishing ID is at most 8191 bytes")
        }
        let bits = distinguishingID.count * 8
        let point = x963Representation
        guard point.count == 65 else { throw GMCryptoError(code: .invalidKey, reason: "the key has no uncompressed point") }
        let input = [UInt8(bits >> 8), UInt8(bits & 0xFF)] + distinguishingID + (try SM2.curveParameters()) + point.dropFirst()
        return SM3.hash(input)
    }

    /// e = SM3(Z_A ‖ message): the 32 bytes an SM2 signature over `message` by this key signs.
    ///
    /// - Throws: as ``identityDigest(distinguishingID:)``.
    public func signedDigest(for message: some Collection<UInt8>,
                             distinguishingID: [UInt8] = SM2.defaultDistinguishingID) throws -> [UInt8] {
        SM3.hash(try identityDigest(distinguishingID: distinguishingID) + Array(message))
    }

    /// Whether `signature` (DER) is this key's SM2 signature of the digest e (32 bytes, from
    /// ``signedDigest(for:distinguishingID:)``): the check of a signature made over a digest, as
    /// a GM/T 0016 token makes it.
    public func isValidSignature(_ signature: [UInt8], forDigest digest: [UInt8]) -> Bool {
        guard digest.count == SM3.byteCount, let context = EVP_PKEY_CTX_new(key.pointer, nil) else { return false }
        defer { EVP_PKEY_CTX_free(context) }
        let result = EVP_PKEY_verify_init(context) == 1
            ? EVP_PKEY_verify(context, signature, signature.count, digest, digest.count) : -1
        ERR_clear_error()
        return result == 1
    }
}

extension SM2 {
    /// a ‖ b ‖ x_G ‖ y_G of the SM2 curve, 32 bytes each, read from OpenSSL's SM2 group.
    static func curveParameters() throws -> [UInt8] {
        guard let group = EC_GROUP_new_by_curve_name(NID_sm2) else {
            throw GMCryptoError.openSSL(.openSSLFailure, "OpenSSL has no SM2 group")
        }
        defer { EC_GROUP_free(group) }
        guard let p = BN_new(), let a = BN_new(), let b = BN_new() else {
            throw GMCryptoError.openSSL(.openSSLFailure, "BN_new failed")
        }
        defer { BN_free(p); BN_free(a); BN_free(b) }
        var output = [UInt8](repeating: 0, count: 64)
        guard EC_GROUP_get_curve(group, p, a, b, nil) == 1,
              BN_bn2binpad(a, &output, 32) == 32 else {
            throw GMCryptoError.openSSL(.openSSLFailure, "cannot read the SM2 curve")
        }
        try output.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, BN_bn2binpad(b, base + 32, 32) == 32 else {
                throw GMCryptoError.openSSL(.openSSLFailure, "cannot read the SM2 curve")
            }
        }
        var generator = [UInt8](repeating: 0, count: 65)
        guard let point = EC_GROUP_get0_generator(group),
              EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, &generator, 65, nil) == 65 else {
            throw GMCryptoError.openSSL(.openSSLFailure, "cannot read the SM2 generator")
        }
        return output + generator.dropFirst()
    }
}
