#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSealKit
import SealProtocol

/// Stamp metadata from C: the JSON object of `sealkit_token_stamp_digest` or the
/// `sealkit_metadata` struct. Values are range-checked here so that a bad argument fails with
/// `SEALKIT_E_INVALID_ARGUMENT` before anything is sent to the token.
enum MetadataInput {
    /// The keys of the record's `metadata` object (docs/stamp-record.md), all optional here.
    private struct Fields: Decodable {
        var time: UInt64?
        var latitudeMicrodegrees: Int32?
        var longitudeMicrodegrees: Int32?
        var operatorID: String?
        var organizationUnit: String?
        var approvalNode: String?
        var deviceFingerprint: String?
    }

    private static let keys: Set<String> = [
        "time", "latitudeMicrodegrees", "longitudeMicrodegrees", "operatorID", "organizationUnit",
        "approvalNode", "deviceFingerprint",
    ]

    /// Metadata from the JSON object; `nil` means the current time and nothing else.
    static func decode(json: String?) throws(CLibraryError) -> StampMetadata {
        guard let json else { return try validated(StampMetadata(time: now())) }
        let fields: Fields = try JSONInput.decode(Fields.self, from: json, what: "metadata", allowedKeys: keys)
        var metadata = StampMetadata(time: fields.time ?? now())
        metadata.latitudeMicrodegrees = fields.latitudeMicrodegrees
        metadata.longitudeMicrodegrees = fields.longitudeMicrodegrees
        metadata.operatorID = fields.operatorID
        metadata.organizationUnit = fields.organizationUnit
        metadata.approvalNode = fields.approvalNode
        if let hex = fields.deviceFingerprint {
            guard let bytes = bytesFromHex(hex) else { throw .invalidArgument("metadata deviceFingerprint is not hex") }
            metadata.deviceFingerprint = bytes
        }
        return try validated(metadata)
    }

    /// Metadata from the struct; `nil` means the current time and nothing else.
    static func decode(fields: sealkit_metadata?) throws(CLibraryError) -> StampMetadata {
        guard let fields else { return try validated(StampMetadata(time: now())) }
        var metadata = StampMetadata(time: fields.time == 0 ? now() : fields.time)
        if fields.has_location != 0 {
            metadata.latitudeMicrodegrees = fields.latitude_microdegrees
            metadata.longitudeMicrodegrees = fields.longitude_microdegrees
        }
        metadata.operatorID = try optionalStringArgument(fields.operator_id, "metadata operator_id")
        metadata.organizationUnit = try optionalStringArgument(fields.organization_unit, "metadata organization_unit")
        metadata.approvalNode = try optionalStringArgument(fields.approval_node, "metadata approval_node")
        if fields.device_fingerprint != nil || fields.device_fingerprint_length != 0 {
            guard fields.device_fingerprint_length > 0 else {
                throw .invalidArgument("metadata device_fingerprint is set but device_fingerprint_length is 0")
            }
            metadata.deviceFingerprint = try bytesArgument(fields.device_fingerprint, count: fields.device_fingerprint_length,
                                                           "metadata device_fingerprint")
        }
        return try validated(metadata)
    }

    private static func validated(_ metadata: StampMetadata) throws(CLibraryError) -> StampMetadata {
        do {
            try metadata.validate()
        } catch {
            throw .invalidArgument("metadata: \(error.reason)")
        }
        return metadata
    }

    private static func now() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970))
    }
}

/// Strict JSON input from C: an object with only known keys, each of the right type.
enum JSONInput {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The keys present in a JSON object.
    private struct KeyList: Decodable {
        let keys: [String]
        init(from decoder: any Decoder) throws {
            keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        }
    }

    /// Decodes `json` as `T` after checking it is an object whose keys all lie in `allowedKeys`,
    /// so that a misspelt key is an error rather than silently ignored.
    static func decode<T: Decodable>(_ type: T.Type, from json: String, what: String,
                                     allowedKeys: Set<String>) throws(CLibraryError) -> T {
        let data = Data(json.utf8)
        do {
            let unknown = try JSONDecoder().decode(KeyList.self, from: data).keys.filter { !allowedKeys.contains($0) }
            if let key = unknown.sorted().first {
                throw CLibraryError.invalidArgument(
                    "\(what) JSON has an unknown key \"\(key)\" (known: \(allowedKeys.sorted().joined(separator: ", ")))")
            }
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as CLibraryError {
            throw error
        } catch let error as DecodingError {
            throw .invalidArgument("\(what) JSON: \(describe(error))")
        } catch {
            throw .invalidArgument("\(what) JSON: \(error)")
        }
    }

    /// One line naming the key and what was wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the top level" : codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) is not \(typeName(type)) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) is null, expected \(typeName(type))"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is any FixedWidthInteger.Type: "an integer in range"
        default: "a \(type)"
        }
    }
}
