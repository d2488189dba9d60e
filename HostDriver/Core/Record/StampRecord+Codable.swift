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
        case signature, organizationName, sealName, sealImageHash, attestation, deviceCertificate, personalData
        case timestampToken
    }

    private enum AttestationKeys: String, CodingKey {
        case statement, signature
    }

    private enum MetadataKeys: String, CodingKey {
        case time, documentName, organizationUnit, approvalNode
        case locationCommitment, operatorBiometricReferenceCommitment, operatorIDCommitment, deviceFingerprintCommitment

        static func commitment(_ field: StampMetadata.PersonalField) -> MetadataKeys {
            switch field {
            case .location: .locationCommitment
            case .operatorBiometricReference: .operatorBiometricReferenceCommitment
            case .operatorID: .operatorIDCommitment
            case .deviceFingerprint: .deviceFingerprintCommitment
            }
        }
    }

    private enum PersonalDataKeys: String, CodingKey {
        case location, operatorBiometricReference, operatorID, deviceFingerprint

        init(_ field: StampMetadata.PersonalField) {
            switch field {
            case .location: self = .location
            case .operatorBiometricReference: self = .operatorBiometricReference
            case .operatorID: self = .operatorID
            case .deviceFingerprint: self = .deviceFingerprint
            }
        }
    }

    private enum OpeningKeys: String, CodingKey {
        case value, salt, latitudeMicrodegrees, longitudeMicrodegrees
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
        sealImageHash = container.contains(.sealImageHash) ? try container.decodeHex(forKey: .sealImageHash, length: 32...32) : nil

        let fields = try container.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        var metadata = StampMetadata(time: try fields.decodeInteger(UInt64.self, forKey: .time))
        metadata.documentName = try fields.decodeIfPresent(String.self, forKey: .documentName)
        metadata.organizationUnit = try fields.decodeIfPresent(String.self, forKey: .organizationUnit)
        metadata.approvalNode = try fields.decodeIfPresent(String.self, forKey: .approvalNode)
        for field in StampMetadata.PersonalField.allCases where fields.contains(MetadataKeys.commitment(field)) {
            metadata.withheldCommitments[field] = try fields.decodeHex(forKey: MetadataKeys.commitment(field), length: 32...32)
        }
        // The openings of the personal fields, when the record still carries them.
        if container.contains(.personalData) {
            let personal = try container.nestedContainer(keyedBy: PersonalDataKeys.self, forKey: .personalData)
            for field in StampMetadata.PersonalField.allCases where personal.contains(PersonalDataKeys(field)) {
                let opening = try personal.nestedContainer(keyedBy: OpeningKeys.self, forKey: PersonalDataKeys(field))
                switch field {
                case .location:
                    metadata.latitudeMicrodegrees = try opening.decodeInteger(Int32.self, forKey: .latitudeMicrodegrees)
                    metadata.longitudeMicrodegrees = try opening.decodeInteger(Int32.self, forKey: .longitudeMicrodegrees)
                case .operatorID:
                    metadata.operatorID = try opening.decode(String.self, forKey: .value)
                case .operatorBiometricReference:
                    metadata.operatorBiometricReference = try opening.decodeHex(forKey: .value, length: 32...32)
                case .deviceFingerprint:
                    metadata.deviceFingerprint = try opening.decodeHex(forKey: .value, length: 1...64)
                }
                metadata.salts[field] = try opening.decodeHex(forKey: .salt, length: StampMetadata.saltLength...StampMetadata.saltLength)
                // A shown commitment that the opening reproduces says nothing more: drop it, so
                // that a record survives a JSON round trip unchanged. One that differs stays,
                // for the verifier's personal-data check to report.
                if let shown = metadata.withheldCommitments[field], let plaintext = metadata.plaintextBytes(field),
                   let salt = metadata.salts[field],
                   StampMetadata.commitment(field: field, salt: salt, plaintext: plaintext) == shown {
                    metadata.withheldCommitments[field] = nil
                }
            }
        }
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

        if let token = try container.decodeIfPresent(String.self, forKey: .timestampToken) {
            guard let der = Data(base64Encoded: token), !der.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .timestampToken, in: container,
                                                       debugDescription: "timestampToken is not base64")
            }
            timestampToken = Array(der)
        }
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
        try container.encodeIfPresent(sealImageHash.map { hexString($0) }, forKey: .sealImageHash)

        var fields = container.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        try fields.encode(metadata.time, forKey: .time)
        try fields.encodeIfPresent(metadata.documentName, forKey: .documentName)
        try fields.encodeIfPresent(metadata.organizationUnit, forKey: .organizationUnit)
        try fields.encodeIfPresent(metadata.approvalNode, forKey: .approvalNode)
        for field in StampMetadata.PersonalField.allCases {
            // The commitment shown is the one the record carries; a held plaintext's own
            // commitment only when the record was built from plaintexts.
            if let commitment = metadata.withheldCommitments[field] ?? metadata.commitment(for: field) {
                try fields.encode(hexString(commitment), forKey: MetadataKeys.commitment(field))
            }
        }
        let opened = StampMetadata.PersonalField.allCases.filter { metadata.holdsPlaintext($0) && metadata.salts[$0] != nil }
        if !opened.isEmpty {
            var personal = container.nestedContainer(keyedBy: PersonalDataKeys.self, forKey: .personalData)
            for field in opened {
                var opening = personal.nestedContainer(keyedBy: OpeningKeys.self, forKey: PersonalDataKeys(field))
                switch field {
                case .location:
                    try opening.encodeIfPresent(metadata.latitudeMicrodegrees, forKey: .latitudeMicrodegrees)
                    try opening.encodeIfPresent(metadata.longitudeMicrodegrees, forKey: .longitudeMicrodegrees)
                case .operatorID:
                    try opening.encodeIfPresent(metadata.operatorID, forKey: .value)
                case .operatorBiometricReference:
                    try opening.encodeIfPresent(metadata.operatorBiometricReference.map { hexString($0) }, forKey: .value)
                case .deviceFingerprint:
                    try opening.encodeIfPresent(metadata.deviceFingerprint.map { hexString($0) }, forKey: .value)
                }
                try opening.encode(hexString(metadata.salts[field] ?? []), forKey: .salt)
            }
        }

        var attestation = container.nestedContainer(keyedBy: AttestationKeys.self, forKey: .attestation)
        try attestation.encode(hexString(attestationStatement), forKey: .statement)
        try attestation.encode(hexString(attestationSignature), forKey: .signature)

        try container.encode(Data(deviceCertificate).base64EncodedString(), forKey: .deviceCertificate)
        try container.encodeIfPresent(timestampToken.map { Data($0).base64EncodedString() }, forKey: .timestampToken)
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
