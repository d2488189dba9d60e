import COpenSSL

// The raw forms a secure element stores: a 32-byte private scalar and the 65-byte uncompressed
// point (X9.63), the same shapes SealKit's chip keeps for P-256 keys. OpenSSL parses and derives
// everything; the only arithmetic here is the range check of the scalar.

extension SM2 {
    /// The order n of the SM2 curve's base point (GB/T 32918.5), big-endian.
    static let order: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
    ]

    /// Whether `scalar` (32 bytes, big-endian) is a valid SM2 private key: 1 ≤ d ≤ n − 2
    /// (GB/T 32918.1 §6.1; d = n − 1 is excluded because SM2 signing divides by 1 + d).
    public static func isValidPrivateScalar(_ scalar: [UInt8]) -> Bool {
        guard scalar.count == 32, scalar.contains(where: { $0 != 0 }) else { return false }
        // scalar + 1 < n, compared as big-endian numbers without overflow: scalar < n − 1.
        var limit = order
        limit[31] -= 1 // n is odd, so n − 1 only changes the last byte
        return scalar.lexicographicallyPrecedes(limit)
    }

    /// DER `AlgorithmIdentifier` prefix of an SM2 SubjectPublicKeyInfo (id-ecPublicKey with the
    /// sm2 curve OID 1.2.156.10197.1.301), up to the BIT STRING holding the 65-byte point.
    static let subjectPublicKeyInfoPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D, 0x03, 0x42, 0x00,
    ]
}

extension SM2PublicKey {
    /// Reads a 65-byte uncompressed point `04 ‖ x ‖ y` (X9.63), as the chip stores it.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidKey` unless the bytes are a point on the SM2 curve.
    public init(x963Representation: [UInt8]) throws {
        guard x963Representation.count == 65, x963Representation.first == 0x04 else {
            throw GMCryptoError(code: .invalidKey, reason: "an SM2 point is 65 bytes starting 04, got \(x963Representation.count)")
        }
        try self.init(derRepresentation: SM2.subjectPublicKeyInfoPrefix + x963Representation)
    }

    /// The 65-byte uncompressed point `04 ‖ x ‖ y`.
    public var x963Representation: [UInt8] {
        let der = derRepresentation
        guard der.count == SM2.subjectPublicKeyInfoPrefix.count + 65 else { return [] }
        return Array(der.suffix(65))
    }
}

extension SM2PrivateKey {
    /// Reads a 32-byte big-endian private scalar; OpenSSL derives the public key.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidKey` unless 1 ≤ scalar ≤ n − 2 (``SM2/isValidPrivateScalar(_:)``).
    public init(rawRepresentation scalar: [UInt8]) throws {
        guard SM2.isValidPrivateScalar(scalar) else {
            throw GMCryptoError(code: .invalidKey, reason: "not an SM2 private scalar in [1, n-2]")
        }
        // SEC 1 ECPrivateKey { version 1, privateKey, [0] sm2 curve } without the public key:
        // OpenSSL computes the public point when it decodes it.
        let der: [UInt8] = [0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20] + scalar
            + [0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D]
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw GMCryptoError.openSSL(.invalidKey, "OpenSSL refused the SM2 scalar") }
        let key = EVPKey(owning: parsed)
        guard key.isSM2 else { throw GMCryptoError(code: .notSM2Key, reason: "the key did not load as an SM2 key") }
        self.key = key
    }

    /// The 32-byte big-endian private scalar (what a chip stores in its NVM).
    public var rawRepresentation: [UInt8] {
        var number: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(key.pointer, OSSL_PKEY_PARAM_PRIV_KEY, &number) == 1, let number else { return [] }
        defer { BN_clear_free(number) }
        var scalar = [UInt8](repeating: 0, count: 32)
        guard BN_bn2binpad(number, &scalar, 32) == 32 else { return [] }
        return scalar
    }
}
