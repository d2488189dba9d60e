#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SealProtocol

/// Everything needed to verify one stamp offline: the signed values, the seal's identity, the
/// chip's attestation of the seal key and the device certificate that anchors it to the vendor CA.
///
/// ``SealToken/stamp(documentDigest:metadata:grant:)`` produces records; ``StampVerifier`` checks
/// them. The JSON form (``jsonData()``, ``init(jsonData:)``) is a stable file format described in
/// `docs/stamp-record.md`: keys sorted, pretty-printed, byte strings as uppercase hex except the
/// device certificate (base64 DER).
///
/// A record is plain data; nothing is checked when it is built or decoded beyond the JSON types
/// and the byte-string lengths. Use ``StampVerifier`` to trust one.
public struct StampRecord: Hashable, Sendable {
    /// The format version this driver writes and reads.
    public static let currentFormatVersion = 2

    /// The record format version (``currentFormatVersion``).
    public var formatVersion: Int
    /// The 16-byte chip ID.
    public var chipID: [UInt8]
    /// The signature counter value of this stamp (SPEC §8.13).
    public var counter: UInt32
    /// The 19-character watermark serial (SPEC §10.1).
    public var serial: String
    /// The watermark expiry, seconds since 1970-01-01T00:00:00Z.
    public var expiry: UInt64
    /// The 8-digit expiration code (SPEC §10.2).
    public var expirationCode: String
    /// SHA-256 of the stamped document.
    public var documentDigest: [UInt8]
    /// The stamp metadata.
    public var metadata: StampMetadata
    /// The exact value of template `A1` sent to the chip (the canonical encoding of ``metadata``).
    public var metadataEncoding: [UInt8]
    /// SHA-256 of ``metadataEncoding``.
    public var metadataDigest: [UInt8]
    /// The 32-byte physical-feature hash of the seal.
    public var featureHash: [UInt8]
    /// SHA-256 of ``sealPublicKey``.
    public var keyID: [UInt8]
    /// The seal public key, X9.63 uncompressed (65 bytes).
    public var sealPublicKey: [UInt8]
    /// The serial of the remote authorization grant used, 0 when none.
    public var grantSerial: UInt32
    /// The seal key's DER ECDSA signature over the stamp TBS (SPEC §9.3).
    public var signature: [UInt8]
    /// The seal's organization name (from personalization).
    public var organizationName: String
    /// The seal's name (from personalization).
    public var sealName: String
    /// SHA-256 of the seal's image (from personalization), when one was personalized.
    public var sealImageHash: [UInt8]?
    /// The attestation statement bytes (SPEC §9.4), fetched after the stamp with nonce
    /// `attestationNonce(signature:)`.
    public var attestationStatement: [UInt8]
    /// The device key's DER ECDSA signature over ``attestationStatement``.
    public var attestationSignature: [UInt8]
    /// The chip's device certificate, X.509 DER (SPEC §12).
    public var deviceCertificate: [UInt8]
    /// An RFC 3161 time-stamp token (DER `ContentInfo`) over SHA-256 of ``signature``, when the
    /// stamp was time-stamped (``RFC3161TimestampToken``). Not part of ``canonicalBytes``: it is
    /// evidence about the stamp added beside it, and may be added after the stamp was made.
    public var timestampToken: [UInt8]? = nil

    /// Creates a record from its fields.
    package init(
        formatVersion: Int = StampRecord.currentFormatVersion,
        chipID: [UInt8], counter: UInt32, serial: String, expiry: UInt64, expirationCode: String,
        documentDigest: [UInt8], metadata: StampMetadata, metadataEncoding: [UInt8], metadataDigest: [UInt8],
        featureHash: [UInt8], keyID: [UInt8], sealPublicKey: [UInt8], grantSerial: UInt32, signature: [UInt8],
        organizationName: String, sealName: String, sealImageHash: [UInt8]? = nil,
        attestationStatement: [UInt8], attestationSignature: [UInt8], deviceCertificate: [UInt8]
    ) {
        self.formatVersion = formatVersion
        self.chipID = chipID
        self.counter = counter
        self.serial = serial
        self.expiry = expiry
        self.expirationCode = expirationCode
        self.documentDigest = documentDigest
        self.metadata = metadata
        self.metadataEncoding = metadataEncoding
        self.metadataDigest = metadataDigest
        self.featureHash = featureHash
        self.keyID = keyID
        self.sealPublicKey = sealPublicKey
        self.grantSerial = grantSerial
        self.signature = signature
        self.organizationName = organizationName
        self.sealName = sealName
        self.sealImageHash = sealImageHash
        self.attestationStatement = attestationStatement
        self.attestationSignature = attestationSignature
        self.deviceCertificate = deviceCertificate
    }

    /// What the record shows about the seal; every part of it is signed in the TBS (SPEC §9.3).
    public var sealIdentity: SealIdentity {
        SealIdentity(organizationName: organizationName, sealName: sealName, featureHash: featureHash,
                     sealImageHash: sealImageHash)
    }

    /// The bytes the seal key signed, rebuilt from the record (SPEC §9.3).
    public var tbs: StampTBS {
        StampTBS(chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: expirationCode,
                 documentDigest: documentDigest, metadataDigest: metadataDigest, seal: sealIdentity,
                 keyID: keyID, grantSerial: grantSerial)
    }

    /// The domain separator of ``canonicalBytes``, `"SEALKIT-RECORD-V2"`.
    public static let canonicalDomain = Array("SEALKIT-RECORD-V2".utf8)

    /// The canonical record-v2 bytes (`docs/stamp-record.md`, "Canonical bytes"): everything the
    /// record proves and nothing personal, in one unambiguous byte string. A transparency ledger
    /// uses them as its leaves.
    ///
    /// ```
    /// "SEALKIT-RECORD-V2" ‖ u16 len ‖ TBS (SPEC §9.3) ‖ u8 len ‖ signature ‖ sealPublicKey (65)
    ///   ‖ u16 len ‖ metadataEncoding ‖ u16 len ‖ attestation statement ‖ u8 len ‖ attestation signature
    ///   ‖ u16 len ‖ device certificate (DER)
    /// ```
    ///
    /// The personal data openings, the JSON field views and any timestamp token are not part of
    /// it: removing the personal data (``withoutPersonalData()``) leaves the bytes unchanged.
    public var canonicalBytes: [UInt8] {
        let tbsBytes = tbs.encoded()
        var out = Self.canonicalDomain
        out.reserveCapacity(out.count + tbsBytes.count + metadataEncoding.count + attestationStatement.count
                            + deviceCertificate.count + 240)
        func u16(_ bytes: [UInt8]) {
            out.appendBigEndian(UInt16(truncatingIfNeeded: bytes.count))
            out += bytes
        }
        func u8(_ bytes: [UInt8]) {
            out.append(UInt8(truncatingIfNeeded: bytes.count))
            out += bytes
        }
        u16(tbsBytes)
        u8(signature)
        out += sealPublicKey
        u16(metadataEncoding)
        u16(attestationStatement)
        u8(attestationSignature)
        u16(deviceCertificate)
        return out
    }

    /// The same record without the personal data openings (operator ID, biometric reference,
    /// location, device fingerprint): the signed commitments stay, so it still verifies.
    public func withoutPersonalData() -> StampRecord {
        var copy = self
        copy.metadata = metadata.withoutPersonalData
        return copy
    }

    /// The attestation nonce that binds an attestation to a stamp: SHA-256 of the stamp signature.
    ///
    /// The token fetches the attestation after the stamp with this nonce, so the statement's counter
    /// is at least the stamp's and the statement provably post-dates the signature.
    package static func attestationNonce(signature: [UInt8]) -> [UInt8] {
        sha256(signature)
    }

    // MARK: JSON

    /// The JSON file form: sorted keys, pretty-printed, slashes unescaped.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/malformedRecord`` if a value cannot be
    ///   encoded (not expected for a record built by the driver).
    public func jsonData() throws(SealDriverError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            return try encoder.encode(self)
        } catch {
            throw SealDriverError.malformedRecord(field: Self.path(of: error), "cannot encode: \(error)")
        }
    }

    /// Decodes the JSON file form.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/malformedRecord`` whose
    ///   ``SealDriverError/field`` is the path of the field that is wrong (e.g.
    ///   `"metadata.latitudeMicrodegrees"`, `"attestation.signature"`; empty when the text is not
    ///   JSON): a missing key, a wrong type, malformed hex or base64, a byte string of the wrong
    ///   length, an unsupported ``formatVersion``, or a key that appears twice in one object
    ///   (compared after unescaping, so `"a"` and `"\u0061"` are the same key).
    public init(jsonData: Data) throws(SealDriverError) {
        do {
            self = try JSONDecoder().decode(StampRecord.self, from: jsonData)
        } catch {
            throw SealDriverError.malformedRecord(field: Self.path(of: error), Self.explanation(of: error))
        }
        // The decoder keeps the first of two equal keys, other readers the last: refuse the record
        // rather than let two verifiers read different values from it.
        if let duplicate = JSONDuplicateKeys.first(in: jsonData) {
            throw SealDriverError.malformedRecord(field: duplicate.path, "\(duplicate.path) appears twice")
        }
    }

    /// The dotted path of the field a coding error is about (`""` for the document itself).
    private static func path(of error: any Error) -> String {
        let codingPath: [any CodingKey]
        switch error {
        case DecodingError.keyNotFound(let key, let context): codingPath = context.codingPath + [key]
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.dataCorrupted(let context):
            codingPath = context.codingPath
        case EncodingError.invalidValue(_, let context): codingPath = context.codingPath
        default: codingPath = []
        }
        var path = ""
        for key in codingPath {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path
    }

    /// What is wrong, in words (without Foundation's type names).
    private static func explanation(of error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _):
            return "\(key.stringValue) is missing"
        case DecodingError.typeMismatch(let type, let context):
            let field = context.codingPath.last?.stringValue ?? "the record"
            return "\(field) is not \(Self.jsonType(type))"
        case DecodingError.valueNotFound(let type, let context):
            let field = context.codingPath.last?.stringValue ?? "the record"
            return "\(field) is null, expected \(Self.jsonType(type))"
        case DecodingError.dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the text is not JSON" }
            return context.debugDescription
        default:
            return "\(error)"
        }
    }

    private static func jsonType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is any BinaryInteger.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}
