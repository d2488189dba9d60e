import Crypto

/// Everything a stamp shows about the seal itself (SPEC §9.3): signed in every stamp TBS, so a
/// record whose shown organization, name, image hash or feature hash differs fails its signature.
public struct SealIdentity: Hashable, Sendable {
    /// The organization the seal belongs to, 1–64 UTF-8 bytes.
    public var organizationName: String
    /// The seal's name, 1–64 UTF-8 bytes.
    public var sealName: String
    /// SHA-256 of the seal's physical features, 32 bytes.
    public var featureHash: [UInt8]
    /// SHA-256 of the seal's image, 32 bytes, when one was personalized.
    public var sealImageHash: [UInt8]?

    /// Creates an identity from its fields.
    public init(organizationName: String, sealName: String, featureHash: [UInt8], sealImageHash: [UInt8]? = nil) {
        self.organizationName = organizationName
        self.sealName = sealName
        self.featureHash = featureHash
        self.sealImageHash = sealImageHash
    }

    /// `len(org) ‖ org ‖ len(name) ‖ name ‖ featureHash ‖ sealImageHash (zeros when none)`.
    func append(to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: organizationName.utf8.count))
        out.appendUTF8(organizationName)
        out.append(UInt8(truncatingIfNeeded: sealName.utf8.count))
        out.appendUTF8(sealName)
        out += featureHash
        if let sealImageHash {
            out += sealImageHash
        } else {
            out.append(contentsOf: repeatElement(0, count: 32))
        }
    }

    /// The length of ``append(to:)``'s bytes.
    var encodedLength: Int {
        2 + organizationName.utf8.count + sealName.utf8.count + featureHash.count + (sealImageHash?.count ?? 32)
    }
}

/// The exact bytes the seal key signs for a stamp (SPEC §9.3).
public struct StampTBS: Hashable, Sendable {
    /// The domain separator every TBS starts with, `"SEALKIT-STAMP-V2"`.
    public static let domain = Array("SEALKIT-STAMP-V2".utf8)

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
    /// The seal's organization, name, feature hash and image hash.
    public var seal: SealIdentity
    /// SHA-256 of the seal public key.
    public var keyID: [UInt8]
    /// The serial of the remote-authority grant used, 0 when none.
    public var grantSerial: UInt32

    /// Creates a TBS from its fields.
    public init(
        chipID: [UInt8], counter: UInt32, serial: String, expiry: UInt64, expirationCode: String,
        documentDigest: [UInt8], metadataDigest: [UInt8], seal: SealIdentity, keyID: [UInt8], grantSerial: UInt32
    ) {
        self.chipID = chipID
        self.counter = counter
        self.serial = serial
        self.expiry = expiry
        self.expirationCode = expirationCode
        self.documentDigest = documentDigest
        self.metadataDigest = metadataDigest
        self.seal = seal
        self.keyID = keyID
        self.grantSerial = grantSerial
    }

    /// The byte layout of SPEC §9.3.
    public func encoded() -> [UInt8] {
        let head = Self.chipPart(chipID: chipID)
        let tail = Self.sealPart(seal: seal, keyID: keyID)
        var out: [UInt8] = []
        // Exactly the size: one allocation, never a copy.
        out.reserveCapacity(head.count + Self.stampPartLength(serial: serial, expirationCode: expirationCode)
                            + documentDigest.count + metadataDigest.count + tail.count + 4)
        Self.append(chipPart: head, counter: counter, serial: serial, expiry: expiry, expirationCode: expirationCode,
                    documentDigest: documentDigest[...], metadataDigest: metadataDigest, sealPart: tail,
                    grantSerial: grantSerial, to: &out)
        return out
    }

    // The TBS in three kinds of parts, so that a chip can keep the parts that are the same in every
    // stamp it makes (its ID, its seal and key) and write only the rest: `encoded()` is made of
    // the same functions, so the bytes cannot differ.

    /// The start of every TBS a chip makes: the domain and the chip ID.
    package static func chipPart(chipID: [UInt8]) -> [UInt8] {
        domain + chipID
    }

    /// The seal's identity and the key ID, which follow the metadata digest in every TBS under one
    /// personalization.
    package static func sealPart(seal: SealIdentity, keyID: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(seal.encodedLength + keyID.count)
        seal.append(to: &out)
        out += keyID
        return out
    }

    /// Bytes of the counter, serial, expiry and expiration code.
    package static func stampPartLength(serial: String, expirationCode: String) -> Int {
        4 + 1 + serial.utf8.count + 8 + expirationCode.utf8.count
    }

    /// Appends a whole TBS (SPEC §9.3) to `out`: `chipPart` ‖ counter ‖ serial ‖ expiry ‖ code ‖
    /// document digest ‖ metadata digest ‖ `sealPart` ‖ grant serial.
    package static func append(
        chipPart: [UInt8], counter: UInt32, serial: String, expiry: UInt64, expirationCode: String,
        documentDigest: ArraySlice<UInt8>, metadataDigest: [UInt8], sealPart: [UInt8], grantSerial: UInt32,
        to out: inout [UInt8]
    ) {
        out += chipPart
        out.appendBigEndian(counter)
        out.append(UInt8(truncatingIfNeeded: serial.utf8.count))
        out.appendUTF8(serial)
        out.appendBigEndian(expiry)
        out.appendUTF8(expirationCode)
        out += documentDigest
        out += metadataDigest
        out += sealPart
        out.appendBigEndian(grantSerial)
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
