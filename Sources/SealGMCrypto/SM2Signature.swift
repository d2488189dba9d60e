import COpenSSL

/// Conversions between the two encodings of an SM2 signature that real files carry: DER
/// `SEQUENCE { r INTEGER, s INTEGER }` (the standard's) and 64 bytes of r‖s (GM/T 0009 raw form,
/// written by some vendors).
public enum SM2Signature {
    /// The length of a raw r‖s signature.
    public static let rawByteCount = 64

    /// Converts 64 bytes of r‖s (each 32 bytes, big-endian) into DER.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidSignatureEncoding` unless `raw` is 64 bytes.
    public static func derFromRaw(_ raw: some Collection<UInt8>) throws -> [UInt8] {
        let raw = Array(raw)
        guard raw.count == rawByteCount else {
            throw GMCryptoError(code: .invalidSignatureEncoding, reason: "r‖s is \(raw.count) bytes, not 64")
        }
        guard let signature = ECDSA_SIG_new() else { throw GMCryptoError.openSSL(.openSSLFailure, "ECDSA_SIG_new failed") }
        defer { ECDSA_SIG_free(signature) }
        let r = BN_bin2bn(raw, 32, nil)
        let s = raw[32...].withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, 32, nil) }
        guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r); BN_free(s)
            throw GMCryptoError.openSSL(.openSSLFailure, "ECDSA_SIG_set0 failed")
        }
        var output: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_ECDSA_SIG(signature, &output)
        guard length > 0, let output else { throw GMCryptoError.openSSL(.openSSLFailure, "i2d_ECDSA_SIG failed") }
        defer { sealkit_openssl_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }

    /// Converts a DER signature into 64 bytes of r‖s.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidSignatureEncoding` unless `der` is exactly one DER
    ///   `SEQUENCE { r, s }` with r and s of at most 32 bytes.
    public static func rawFromDER(_ der: some Collection<UInt8>) throws -> [UInt8] {
        let der = Array(der)
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            let signature = d2i_ECDSA_SIG(nil, &cursor, buffer.count)
            if let signature, let base = buffer.baseAddress, let end = cursor, end - base != buffer.count {
                ECDSA_SIG_free(signature)
                return nil
            }
            return signature
        }
        guard let parsed else {
            throw GMCryptoError.openSSL(.invalidSignatureEncoding, "not a DER SEQUENCE { r, s }")
        }
        defer { ECDSA_SIG_free(parsed) }
        var raw = [UInt8](repeating: 0, count: rawByteCount)
        guard let r = ECDSA_SIG_get0_r(parsed), let s = ECDSA_SIG_get0_s(parsed),
              BN_bn2binpad(r, &raw, 32) == 32,
              raw.withUnsafeMutableBufferPointer({ BN_bn2binpad(s, $0.baseAddress.map { $0 + 32 }, 32) }) == 32 else {
            throw GMCryptoError(code: .invalidSignatureEncoding, reason: "r or s is longer than 32 bytes")
        }
        return raw
    }

    /// Whether `bytes` is exactly one DER `SEQUENCE { r INTEGER, s INTEGER }` as OpenSSL reads it.
    public static func isDER(_ bytes: some Collection<UInt8>) -> Bool {
        (try? rawFromDER(bytes)) != nil
    }
}
