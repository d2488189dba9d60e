import Crypto
import SealHostDriver

/// A stamp record as a ledger leaf holds it: the canonical record-v2 bytes
/// (`StampRecord.canonicalBytes`, docs/stamp-record.md "Canonical bytes"), read back far enough to
/// trace an imprint — the signed TBS (serial, expiry, expiration code, document digest, seal), the
/// stamp signature and the seal public key.
public struct LedgerStampEntry: Sendable, Hashable {
    /// The stamp TBS (SPEC §9.3) the seal key signed.
    public let tbs: StampTBS
    /// The stamp signature, DER.
    public let signature: [UInt8]
    /// The seal public key, X9.63 uncompressed.
    public let sealPublicKey: [UInt8]

    /// Parses the leaf bytes.
    /// - Throws: ``ImprintError`` `.malformedEntry`.
    public init(canonicalBytes bytes: [UInt8]) throws(ImprintError) {
        var reader = ByteReader(bytes)
        guard try reader.take(StampRecord.canonicalDomain.count) == StampRecord.canonicalDomain else {
            throw ImprintError(code: .malformedEntry, reason: "the entry is not a stamp record (no SEALKIT-RECORD-V2)")
        }
        let tbsBytes = try reader.take(Int(try reader.u16()))
        var tbsReader = ByteReader(tbsBytes)
        guard try tbsReader.take(StampTBS.domain.count) == StampTBS.domain else {
            throw ImprintError(code: .malformedEntry, reason: "the entry's TBS does not start with SEALKIT-STAMP-V2")
        }
        let chipID = try tbsReader.take(16)
        let counter = UInt32(try tbsReader.bigEndian(4))
        let serial = try tbsReader.text(Int(try tbsReader.u8()))
        let expiry = try tbsReader.bigEndian(8)
        let expirationCode = try tbsReader.text(8)
        let documentDigest = try tbsReader.take(32)
        let metadataDigest = try tbsReader.take(32)
        let organization = try tbsReader.text(Int(try tbsReader.u8()))
        let sealName = try tbsReader.text(Int(try tbsReader.u8()))
        let featureHash = try tbsReader.take(32)
        let imageHash = try tbsReader.take(32)
        let keyID = try tbsReader.take(32)
        let grantSerial = UInt32(try tbsReader.bigEndian(4))
        let seal = SealIdentity(organizationName: organization, sealName: sealName, featureHash: featureHash,
                                sealImageHash: imageHash.allSatisfy { $0 == 0 } ? nil : imageHash)
        tbs = StampTBS(chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: expirationCode,
                       documentDigest: documentDigest, metadataDigest: metadataDigest, seal: seal, keyID: keyID,
                       grantSerial: grantSerial)
        // Exactly the bytes read, re-encoded: nothing skipped, nothing left over.
        guard tbsReader.isAtEnd, tbs.encoded() == tbsBytes else {
            throw ImprintError(code: .malformedEntry, reason: "the entry's TBS is not in the SPEC §9.3 layout")
        }
        signature = try reader.take(Int(try reader.u8()))
        sealPublicKey = try reader.take(65)
    }

    /// Whether `signature` is a valid ECDSA P-256 / SHA-256 signature of the TBS under `sealPublicKey`.
    public var signatureIsValid: Bool {
        guard let key = try? P256.Signing.PublicKey(x963Representation: sealPublicKey),
              let signature = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return key.isValidSignature(signature, for: tbs.encoded())
    }
}

/// Reads fixed-size fields front to back; running out is `.malformedEntry`.
private struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) throws(ImprintError) -> [UInt8] {
        guard count >= 0, bytes.count - offset >= count else {
            throw ImprintError(code: .malformedEntry, reason: "the entry ends early")
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func u8() throws(ImprintError) -> UInt8 { try take(1)[0] }

    mutating func u16() throws(ImprintError) -> UInt16 { UInt16(try bigEndian(2)) }

    /// An unsigned big-endian integer of `count` ≤ 8 bytes.
    mutating func bigEndian(_ count: Int) throws(ImprintError) -> UInt64 {
        try take(count).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    mutating func text(_ count: Int) throws(ImprintError) -> String {
        let raw = try take(count)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw ImprintError(code: .malformedEntry, reason: "a text field of the entry is not UTF-8")
        }
        return text
    }
}
