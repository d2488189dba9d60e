import Foundation
import SealHostDriver
import SealProtocol

/// The openings of a record's personal fields (plaintext and salt of each commitment), in the
/// shape of the record file's `personalData` object (docs/stamp-record.md): what the vault stores,
/// encrypted, beside a leaf that holds only the commitments.
public struct PersonalDataOpenings: Codable, Sendable, Hashable {
    /// An opening whose value is text (the operator ID) or hex bytes (biometric reference, device fingerprint).
    public struct Value: Codable, Sendable, Hashable {
        /// The plaintext: UTF-8 text, or uppercase hex of bytes.
        public var value: String
        /// The 16-byte salt, uppercase hex.
        public var salt: String
    }

    /// The location opening.
    public struct Location: Codable, Sendable, Hashable {
        /// Latitude in microdegrees.
        public var latitudeMicrodegrees: Int32
        /// Longitude in microdegrees.
        public var longitudeMicrodegrees: Int32
        /// The 16-byte salt, uppercase hex.
        public var salt: String
    }

    /// The location, when opened.
    public var location: Location?
    /// The operator's biometric reference, when opened.
    public var operatorBiometricReference: Value?
    /// The operator's ID, when opened.
    public var operatorID: Value?
    /// The device fingerprint, when opened.
    public var deviceFingerprint: Value?

    /// Whether no field is opened.
    public var isEmpty: Bool { location == nil && operatorBiometricReference == nil && operatorID == nil && deviceFingerprint == nil }

    /// The opened field names, in canonical order.
    public var fieldNames: [String] {
        [location.map { _ in "location" }, operatorBiometricReference.map { _ in "operatorBiometricReference" },
         operatorID.map { _ in "operatorID" }, deviceFingerprint.map { _ in "deviceFingerprint" }].compactMap { $0 }
    }

    /// The openings a record carries (its held plaintexts and their salts); empty when it carries none.
    public init(of record: StampRecord) {
        let metadata = record.metadata
        func salt(_ field: StampMetadata.PersonalField) -> String? { metadata.salts[field].map { hexString($0) } }
        if let lat = metadata.latitudeMicrodegrees, let lon = metadata.longitudeMicrodegrees, let s = salt(.location) {
            location = Location(latitudeMicrodegrees: lat, longitudeMicrodegrees: lon, salt: s)
        }
        if let value = metadata.operatorBiometricReference, let s = salt(.operatorBiometricReference) {
            operatorBiometricReference = Value(value: hexString(value), salt: s)
        }
        if let value = metadata.operatorID, let s = salt(.operatorID) { operatorID = Value(value: value, salt: s) }
        if let value = metadata.deviceFingerprint, let s = salt(.deviceFingerprint) {
            deviceFingerprint = Value(value: hexString(value), salt: s)
        }
    }

    /// Fields opened here or in `other` (the same commitments open to the same values, so a field in
    /// both is the same).
    public func merging(_ other: PersonalDataOpenings) -> PersonalDataOpenings {
        var merged = self
        merged.location = location ?? other.location
        merged.operatorBiometricReference = operatorBiometricReference ?? other.operatorBiometricReference
        merged.operatorID = operatorID ?? other.operatorID
        merged.deviceFingerprint = deviceFingerprint ?? other.deviceFingerprint
        return merged
    }

    /// Puts the openings into `record` (built from a leaf, so holding only commitments).
    /// - Throws: ``AccessError`` `.malformedInput` for a salt or value that is not hex of its size.
    public func applied(to record: StampRecord) throws(AccessError) -> StampRecord {
        var record = record
        var metadata = record.metadata
        func bytes(_ hex: String, _ sizes: ClosedRange<Int>, _ what: String) throws(AccessError) -> [UInt8] {
            guard let value = bytesFromHex(hex), sizes.contains(value.count) else {
                throw AccessError(code: .malformedInput, reason: "the stored \(what) is not hex of \(sizes) bytes")
            }
            return value
        }
        if let location {
            metadata.latitudeMicrodegrees = location.latitudeMicrodegrees
            metadata.longitudeMicrodegrees = location.longitudeMicrodegrees
            metadata.salts[.location] = try bytes(location.salt, 16...16, "location salt")
        }
        if let opening = operatorBiometricReference {
            metadata.operatorBiometricReference = try bytes(opening.value, 32...32, "biometric reference")
            metadata.salts[.operatorBiometricReference] = try bytes(opening.salt, 16...16, "biometric salt")
        }
        if let opening = operatorID {
            metadata.operatorID = opening.value
            metadata.salts[.operatorID] = try bytes(opening.salt, 16...16, "operator ID salt")
        }
        if let opening = deviceFingerprint {
            metadata.deviceFingerprint = try bytes(opening.value, 1...64, "device fingerprint")
            metadata.salts[.deviceFingerprint] = try bytes(opening.salt, 16...16, "device fingerprint salt")
        }
        for field in StampMetadata.PersonalField.allCases where metadata.holdsPlaintext(field) {
            metadata.withheldCommitments[field] = nil
        }
        record.metadata = metadata
        return record
    }

    /// Checks every opening of `record` against the commitment signed in its metadata encoding
    /// (SPEC §9.2.1), independently of the verifier that admitted it.
    /// - Throws: ``AccessError`` `.personalDataMismatch` naming the first field that does not open
    ///   (never its value).
    public static func check(_ record: StampRecord) throws(AccessError) {
        guard let signed = try? StampMetadata(decoding: record.metadataEncoding) else {
            throw AccessError(code: .personalDataMismatch, reason: "the record's metadata encoding does not decode")
        }
        for field in StampMetadata.PersonalField.allCases where record.metadata.holdsPlaintext(field) {
            guard let plaintext = record.metadata.plaintextBytes(field), let salt = record.metadata.salts[field],
                  salt.count == StampMetadata.saltLength else {
                throw AccessError(code: .personalDataMismatch, reason: "\(field.rawValue): incomplete opening")
            }
            guard let committed = signed.withheldCommitments[field] else {
                throw AccessError(code: .personalDataMismatch, reason: "\(field.rawValue): opened but not committed")
            }
            guard StampMetadata.commitment(field: field, salt: salt, plaintext: plaintext) == committed else {
                throw AccessError(code: .personalDataMismatch, reason: "\(field.rawValue): does not open its signed commitment")
            }
        }
    }
}
