import Crypto

/// The exact bytes the seal key signs for a stamp (SPEC §9.3).
public struct StampTBS: Hashable, Sendable {
    /// The domain separator every TBS starts with, `"SEALKIT-STAMP-V1"`.
    public static let domain = Array("SEALKIT-STAMP-V1".utf8)

    /// The 16-byte chip ID.
    public var chipID: [UInt8]
    /// The stamp's signature counter.
    public var counter: UInt32
    /// The watermark serial (SPEC §10.1).
    public var serial: String
    /// Expiry, seconds since the epoch: metadata time plus the watermark validity.
    public var expiry: UInt64
    /// The 8-digit expiration code (SPEC §10.2).
    public var expirationCode: String
    /// SHA-256 of the document.
    public var documentDigest: [UInt8]
    /// SHA-256 of the metadata encoding (``StampMetadata/digest()``).
    public var metadataDigest: [UInt8]
    /// The physical-feature hash of the personalization.
    public var featureHash: [UInt8]
    /// SHA-256 of the seal public key.
    public var keyID: [UInt8]
    /// The serial of the remote-authority grant used, 0 when none.
    public var grantSerial: UInt32

    /// Creates a TBS from its fields.
    public init(
        chipID: [UInt8], counter: UInt32, serial: String, expiry: UInt64, expirationCode: String,
        documentDigest: [UInt8], metadataDigest: [UInt8], featureHash: [UInt8], keyID: [UInt8], grantSerial: UInt32
    ) {
        self.chipID = chipID
        self.counter = counter
        self.serial = serial
        self.expiry = expiry
        self.expirationCode = expirationCode
        self.documentDigest = documentDigest
        self.metadataDigest = metadataDigest
        self.featureHash = featureHash
        self.keyID = keyID
        self.grantSerial = grantSerial
    }

    /// The byte layout of SPEC §9.3.
    public func encoded() -> [UInt8] {
        var out = Self.domain
        out.reserveCapacity(220)
        out += chipID
        out.appendBigEndian(counter)
        out.append(UInt8(truncatingIfNeeded: serial.utf8.count))
        out += serial.utf8
        out.appendBigEndian(expiry)
        out += expirationCode.utf8
        out += documentDigest
        out += metadataDigest
        out += featureHash
        out += keyID
        out.appendBigEndian(grantSerial)
        return out
    }
}

/// The key ID of a seal public key: SHA-256 of its 65-byte X9.63 form (SPEC §9.3).
package func sealKeyID(publicKeyX963 key: [UInt8]) -> [UInt8] {
    Array(SHA256.hash(data: key))
}

/// The bytes the issuer signs in EXTERNAL AUTHENTICATE (SPEC §9.1).
package func issuerAuthenticationTBS(chipID: [UInt8], challenge: [UInt8]) -> [UInt8] {
    Array("SEALKIT-ISSUER-AUTH-V1".utf8) + chipID + challenge
}
