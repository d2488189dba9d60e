#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SealProtocol

/// The JSON layout of a ``StampRecord`` (see `docs/stamp-record.md`).
///
/// Byte strings are uppercase hex (decoding accepts either case), except `deviceCertificate`, which
/// is base64 DER. Fixed-size byte strings are length-checked when decoding.
extension StampRecord: Codable {
    private enum CodingKeys: String, CodingKey {
        case formatVersion, chipID, counter, serial, expiry, expirationCode, documentDigest
        case metadata, metadataEncoding, metadataDigest, featureHash, keyID, sealPublicKey, grantSerial
        case signature, organizationName, sealName, attestation, deviceCertificate
    }

    private enum AttestationKeys: String, CodingKey {
        case statement, signature
    }

    private enum MetadataKeys: String, CodingKey {
        case time, latitudeMicrodegrees, longitudeMicrodegrees, operatorID, deviceFingerprint
        case organizationUnit, approvalNode
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decodeInteger(Int.self, forKey: .formatVersion)
        guard version == StampRecord.currentFormatVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .formatVersion, in: container,
                debugDescription: "unsupported stamp record format version \(version); this driver reads \(StampRecord.currentFormatVersion)")
        }
        formatVersion = version
        chipID = try container.decodeHex(forKey: .chipID, length: 16...16)
        counter = try container.decodeInteger(UInt32.self, forKey: .counter)
        serial = try container.decode(String.self, forKey: .serial)
        expiry = try container.decodeInteger(UInt64.self, forKey: .expiry)
        expirationCode = try container.decode(String.self, forKey: .expirationCode)
        documentDigest = try container.decodeHex(forKey: .documentDigest, length: 32...32)
        metadataEncoding = try container.decodeHex(forKey: .metadataEncoding, length: 1...1024)
        metadataDigest = try container.decodeHex(forKey: .metadataDigest, length: 32...32)
        featureHash = try container.decodeHex(forKey: .featureHash, length: 32...32)
        keyID = try container.decodeHex(forKey: .keyID, length: 32...32)
        sealPublicKey = try container.decodeHex(forKey: .sealPublicKey, length: 65...65)
        grantSerial = try container.decodeInteger(UInt32.self, forKey: .grantSerial)
        signature = try container.decodeHex(forKey: .signature, length: 8...72)
        organizationName = try container.decode(String.self, forKey: .organizationName)
        sealName = try container.decode(String.self, forKey: .sealName)

        let fields = try container.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        var metadata = StampMetadata(time: try fields.decodeInteger(UInt64.self, forKey: .time))
        metadata.latitudeMicrodegrees = try fields.decodeIntegerIfPresent(Int32.self, forKey: .latitudeMicrodegrees)
        metadata.longitudeMicrodegrees = try fields.decodeIntegerIfPresent(Int32.self, forKey: .longitudeMicrodegrees)
        metadata.operatorID = try fields.decodeIfPresent(String.self, forKey: .operatorID)
        if fields.contains(.deviceFingerprint) {
            metadata.deviceFingerprint = try fields.decodeHex(forKey: .deviceFingerprint, length: 1...64)
        }
        metadata.organizationUnit = try fields.decodeIfPresent(String.self, forKey: .organizationUnit)
        metadata.approvalNode = try fields.decodeIfPresent(String.self, forKey: .approvalNode)
        self.metadata = metadata

        let attestation = try container.nestedContainer(keyedBy: AttestationKeys.self, forKey: .attestation)
        attestationStatement = try attestation.decodeHex(forKey: .statement, length: 1...512)
        attestationSignature = try attestation.decodeHex(forKey: .signature, length: 8...72)

        let certificate = try container.decode(String.self, forKey: .deviceCertificate)
        guard let der = Data(base64Encoded: certificate), !der.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .deviceCertificate, in: container,
                                                   debugDescription: "deviceCertificate is not base64")
        }
        deviceCertificate = Array(der)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(hexString(chipID), forKey: .chipID)
        try container.encode(counter, forKey: .counter)
        try container.encode(serial, forKey: .serial)
        try container.encode(expiry, forKey: .expiry)
        try container.encode(expirationCode, forKey: .expirationCode)
        try container.encode(hexString(documentDigest), forKey: .documentDigest)
        try container.encode(hexString(metadataEncoding), forKey: .metadataEncoding)
        try container.encode(hexString(metadataDigest), forKey: .metadataDigest)
        try container.encode(hexString(featureHash), forKey: .featureHash)
        try container.encode(hexString(keyID), forKey: .keyID)
        try container.encode(hexString(sealPublicKey), forKey: .sealPublicKey)
        try container.encode(grantSerial, forKey: .grantSerial)
        try container.encode(hexString(signature), forKey: .signature)
        try container.encode(organizationName, forKey: .organizationName)
        try container.encode(sealName, forKey: .sealName)

        var fields = container.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        try fields.encode(metadata.time, forKey: .time)
        try fields.encodeIfPresent(metadata.latitudeMicrodegrees, forKey: .latitudeMicrodegrees)
        try fields.encodeIfPresent(metadata.longitudeMicrodegrees, forKey: .longitudeMicrodegrees)
        try fields.encodeIfPresent(metadata.operatorID, forKey: .operatorID)
        try fields.encodeIfPresent(metadata.deviceFingerprint.map { hexString($0) }, forKey: .deviceFingerprint)
        try fields.encodeIfPresent(metadata.organizationUnit, forKey: .organizationUnit)
        try fields.encodeIfPresent(metadata.approvalNode, forKey: .approvalNode)

        var attestation = container.nestedContainer(keyedBy: AttestationKeys.self, forKey: .attestation)
        try attestation.encode(hexString(attestationStatement), forKey: .statement)
        try attestation.encode(hexString(attestationSignature), forKey: .signature)

        try container.encode(Data(deviceCertificate).base64EncodedString(), forKey: .deviceCertificate)
    }
}

extension KeyedDecodingContainer {
    /// Decodes an integer field. swift-foundation's decoder throws its own internal error for a
    /// number outside `T`'s range (reported as "not valid JSON" without a coding path); this names
    /// the field instead.
    fileprivate func decodeInteger<T: FixedWidthInteger & Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        do {
            return try decode(T.self, forKey: key)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "\(key.stringValue) is not an integer in \(T.min)...\(T.max)")
        }
    }

    /// ``decodeInteger(_:forKey:)`` for an optional field.
    fileprivate func decodeIntegerIfPresent<T: FixedWidthInteger & Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeInteger(T.self, forKey: key)
    }

    /// Decodes a hex string field whose byte length must lie in `length`.
    fileprivate func decodeHex(forKey key: Key, length: ClosedRange<Int>) throws -> [UInt8] {
        let text = try decode(String.self, forKey: key)
        guard let bytes = bytesFromHex(text), !text.contains(" "), !text.contains(":") else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(key.stringValue) is not hex")
        }
        guard length.contains(bytes.count) else {
            let expected = length.count == 1 ? "\(length.lowerBound)" : "\(length.lowerBound)...\(length.upperBound)"
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "\(key.stringValue) must be \(expected) bytes, got \(bytes.count)")
        }
        return bytes
    }
}
