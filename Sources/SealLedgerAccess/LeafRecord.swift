import SealHostDriver
import SealProtocol

/// Rebuilds a stamp record from its ledger leaf, the canonical record-v2 bytes
/// (`StampRecord.canonicalBytes`, docs/stamp-record.md "Canonical bytes").
///
/// The rebuilt record holds everything the leaf proves, with the personal fields as commitments
/// only; the time-stamp token, which the leaf does not hold, is absent. Decoding is checked by
/// re-encoding: a leaf is accepted only if the record rebuilt from it has exactly its bytes.
public enum LeafRecord {
    /// Decodes canonical record bytes.
    /// - Throws: ``AccessError`` `.malformedInput` when the bytes are not a canonical record.
    public static func decode(_ bytes: [UInt8]) throws(AccessError) -> StampRecord {
        var reader = ByteReader(bytes)
        guard let record = reader.record(), reader.isAtEnd, record.canonicalBytes == bytes else {
            throw AccessError(code: .malformedInput, reason: "the leaf is not a canonical record-v2 encoding")
        }
        return record
    }
}

private struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func integer(_ size: Int) -> UInt64? {
        take(size).map { $0.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
    }

    mutating func prefixed(_ lengthSize: Int) -> [UInt8]? {
        guard let length = integer(lengthSize) else { return nil }
        return take(Int(length))
    }

    mutating func text(_ lengthSize: Int) -> String? {
        prefixed(lengthSize).flatMap { String(validating: $0, as: UTF8.self) }
    }

    mutating func record() -> StampRecord? {
        guard take(StampRecord.canonicalDomain.count) == StampRecord.canonicalDomain,
              let tbsBytes = prefixed(2), let tbs = Self.tbs(tbsBytes),
              let signature = prefixed(1), let sealPublicKey = take(65), let metadataEncoding = prefixed(2),
              let metadata = try? StampMetadata(decoding: metadataEncoding),
              let statement = prefixed(2), let attestationSignature = prefixed(1), let certificate = prefixed(2)
        else { return nil }
        return StampRecord(
            chipID: tbs.chipID, counter: tbs.counter, serial: tbs.serial, expiry: tbs.expiry, expirationCode: tbs.expirationCode,
            documentDigest: tbs.documentDigest, metadata: metadata, metadataEncoding: metadataEncoding,
            metadataDigest: tbs.metadataDigest, featureHash: tbs.seal.featureHash, keyID: tbs.keyID, sealPublicKey: sealPublicKey,
            grantSerial: tbs.grantSerial, signature: signature, organizationName: tbs.seal.organizationName,
            sealName: tbs.seal.sealName, sealImageHash: tbs.seal.sealImageHash,
            attestationStatement: statement, attestationSignature: attestationSignature, deviceCertificate: certificate)
    }

    /// The §9.3 TBS; its expiration code is 8 ASCII digits (§10.2), the only field without a length.
    private static func tbs(_ bytes: [UInt8]) -> StampTBS? {
        var reader = ByteReader(bytes)
        guard reader.take(StampTBS.domain.count) == StampTBS.domain,
              let chipID = reader.take(16), let counter = reader.integer(4), let serial = reader.text(1),
              let expiry = reader.integer(8), let code = reader.take(8).flatMap({ String(validating: $0, as: UTF8.self) }),
              let documentDigest = reader.take(32), let metadataDigest = reader.take(32),
              let organization = reader.text(1), let sealName = reader.text(1),
              let featureHash = reader.take(32), let imageHash = reader.take(32),
              let keyID = reader.take(32), let grantSerial = reader.integer(4), reader.isAtEnd
        else { return nil }
        let seal = SealIdentity(organizationName: organization, sealName: sealName, featureHash: featureHash,
                                sealImageHash: imageHash.allSatisfy { $0 == 0 } ? nil : imageHash)
        return StampTBS(chipID: chipID, counter: UInt32(counter), serial: serial, expiry: expiry, expirationCode: code,
                        documentDigest: documentDigest, metadataDigest: metadataDigest, seal: seal, keyID: keyID,
                        grantSerial: UInt32(grantSerial))
    }
}
