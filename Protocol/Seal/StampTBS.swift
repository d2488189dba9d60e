import Crypto

/// The exact bytes the seal key signs for a stamp (SPEC §9.3).
public struct StampTBS: Hashable, Sendable {
    public static let domain = Array("SEALKIT-STAMP-V1".utf8)

    public var chipID: [UInt8]
    public var counter: UInt32
    public var serial: String
    public var expiry: UInt64
    public var expirationCode: String
    public var documentDigest: [UInt8]
    public var metadataDigest: [UInt8]
    public var featureHash: [UInt8]
    public var keyID: [UInt8]
    public var grantSerial: UInt32

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
public func issuerAuthenticationTBS(chipID: [UInt8], challenge: [UInt8]) -> [UInt8] {
    Array("SEALKIT-ISSUER-AUTH-V1".utf8) + chipID + challenge
}
