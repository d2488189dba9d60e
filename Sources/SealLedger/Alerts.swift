import Foundation
import SealHostDriver
import SealProtocol

/// An alert the ledger raised (docs/alerts.md): something about a seal that someone must look at —
/// a failed verification reported from outside, evidence the ledger wrote (a cloned chip, an
/// unreported stamp, a stamp of a terminated seal, a tampered audit log), or a pattern among a
/// chip's admitted records (a stamp while suspended, a counter that runs backwards in time, a grant
/// used beyond its bounds, two stamps farther apart than travel allows).
///
/// Its JSON form (``jsonObject()``) is the member list of the HTTP interface, `GET /v1/alerts`,
/// the server-sent events and the webhooks all carry.
public struct LedgerAlert: Sendable, Hashable {
    /// What an alert is about; the raw value is its name in the HTTP interface.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        /// A document or record failed verification, as reported to `POST /v1/verification-reports`.
        case verificationFailed = "verification-failed"
        /// Two different records for one (chip, counter): the ledger's conflict evidence; a clone
        /// or a duplicated counter.
        case cloneEvidence = "clone-evidence"
        /// A record whose counter is higher than another record's of the chip but whose claimed time
        /// is earlier (beyond ``AlertPolicy/clockTolerance``): the counter ran backwards in time.
        case counterRegression = "counter-regression"
        /// A stamp in the chip's pushed audit log that no admitted record reports.
        case unreportedStamp = "unreported-stamp"
        /// A record above a terminated chip's final counter (refused; evidence written).
        case stampByTerminatedSeal = "stamp-by-terminated-seal"
        /// A record admitted while the chip's latest lifecycle event is a suspension.
        case stampBySuspendedSeal = "stamp-by-suspended-seal"
        /// A record whose grant serial names a known grant it does not satisfy, or that was used
        /// more often than the grant allows.
        case grantMisuse = "grant-misuse"
        /// Two stamps of one seal farther apart than ``AlertPolicy/maximumSpeedKmh`` allows in the
        /// time between their claimed times.
        case impossibleTravel = "impossible-travel"
        /// A pushed audit log whose chain does not verify or disagrees with an admitted record.
        case auditTamper = "audit-tamper"
    }

    /// A value in an alert's ``detail``.
    public enum DetailValue: Sendable, Hashable, Codable {
        /// Text.
        case text(String)
        /// A whole number.
        case integer(Int64)
        /// A measurement.
        case number(Double)
        /// A yes or no.
        case flag(Bool)

        /// Encodes the bare JSON value.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .flag(let value): try container.encode(value)
            }
        }

        /// Decodes a bare JSON string, number or boolean.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) { self = .flag(value) } else if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) { self = .number(value) } else {
                self = .text(try container.decode(String.self))
            }
        }

        /// The value as a JSON object member (`JSONSerialization`).
        var jsonValue: Any {
            switch self {
            case .text(let value): value
            case .integer(let value): NSNumber(value: value)
            case .number(let value): NSNumber(value: value)
            case .flag(let value): NSNumber(value: value)
            }
        }
    }

    /// An alert before the store numbers it.
    public struct Draft: Sendable, Hashable {
        /// What it is about.
        public var kind: Kind
        /// The chip it concerns, when known.
        public var chipID: [UInt8]?
        /// The log entry that caused it, when there is one.
        public var entryIndex: UInt64?
        /// Whether the cause came from an authenticated caller (entries the ledger admitted are).
        public var authenticated: Bool
        /// What happened, as named values (no personal data: never a plaintext or a coordinate).
        public var detail: [String: DetailValue]
        /// The organization whose auditor may read it (the chip's records' `organizationName`).
        public var organization: String?
        /// A key that makes raising it idempotent: an alert derived from the log is stored once
        /// however often the log is scanned (`nil`: always stored, as for reports).
        public var deduplicationKey: String?

        /// Creates a draft.
        public init(kind: Kind, chipID: [UInt8]?, entryIndex: UInt64?, authenticated: Bool, detail: [String: DetailValue],
                    organization: String?, deduplicationKey: String?) {
            self.kind = kind
            self.chipID = chipID
            self.entryIndex = entryIndex
            self.authenticated = authenticated
            self.detail = detail
            self.organization = organization
            self.deduplicationKey = deduplicationKey
        }
    }

    /// The alert's number: ascending in the order alerts were raised (the SSE event ID).
    public var id: UInt64
    /// What it is about.
    public var kind: Kind
    /// The 16-byte chip ID it concerns, when known.
    public var chipID: [UInt8]?
    /// The log entry that caused it, when there is one.
    public var entryIndex: UInt64?
    /// When the ledger raised it.
    public var raisedAt: Date
    /// Whether the cause came from an authenticated caller; `false` marks an anonymous report.
    public var authenticated: Bool
    /// What happened.
    public var detail: [String: DetailValue]
    /// The organization whose auditor may read it; not part of the JSON form.
    public var organization: String?

    /// Creates an alert.
    public init(id: UInt64, kind: Kind, chipID: [UInt8]?, entryIndex: UInt64?, raisedAt: Date, authenticated: Bool,
                detail: [String: DetailValue], organization: String?) {
        self.id = id
        self.kind = kind
        self.chipID = chipID
        self.entryIndex = entryIndex
        self.raisedAt = raisedAt
        self.authenticated = authenticated
        self.detail = detail
        self.organization = organization
    }

    /// `{"id", "kind", "chipID" (32 hex or null), "entryIndex" (or null), "raisedAt" (RFC 3339),
    /// "authenticated", "detail": {...}}`.
    public func jsonObject() -> [String: Any] {
        [
            "id": NSNumber(value: id), "kind": kind.rawValue,
            "chipID": chipID.map { hexString($0) as Any } ?? NSNull(),
            "entryIndex": entryIndex.map { NSNumber(value: $0) as Any } ?? NSNull(),
            "raisedAt": Self.timestamp(raisedAt), "authenticated": authenticated,
            "detail": detail.mapValues(\.jsonValue),
        ]
    }

    /// The JSON form's bytes, keys sorted (what a webhook signs and an SSE event carries).
    public func jsonData() -> Data {
        (try? JSONSerialization.data(withJSONObject: jsonObject(), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-12-06T15:04:05.123Z`.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// The thresholds of the pattern checks (docs/alerts.md, "Kinds").
public struct AlertPolicy: Sendable, Hashable {
    /// The fastest a seal may travel between two stamps, km/h (default 1000: an airliner).
    public var maximumSpeedKmh: Double
    /// Distances up to this many km never raise impossible travel (GPS noise; default 1).
    public var minimumDistanceKm: Double
    /// How much earlier a higher counter's claimed time may be before it is a regression, seconds
    /// (hosts' clocks differ; default 300).
    public var clockTolerance: UInt64

    /// The defaults: 1000 km/h, 1 km, 300 s.
    public init(maximumSpeedKmh: Double = 1000, minimumDistanceKm: Double = 1, clockTolerance: UInt64 = 300) {
        self.maximumSpeedKmh = maximumSpeedKmh
        self.minimumDistanceKm = minimumDistanceKm
        self.clockTolerance = clockTolerance
    }
}

/// A stamp's opened location, in microdegrees (the `personalData.location` opening).
public struct StampLocation: Sendable, Hashable {
    /// Latitude, microdegrees.
    public var latitudeMicrodegrees: Int32
    /// Longitude, microdegrees.
    public var longitudeMicrodegrees: Int32

    /// Creates a location.
    public init(latitudeMicrodegrees: Int32, longitudeMicrodegrees: Int32) {
        self.latitudeMicrodegrees = latitudeMicrodegrees
        self.longitudeMicrodegrees = longitudeMicrodegrees
    }

    /// The great-circle distance in km (haversine on a sphere of radius 6371.0088 km, the IUGG mean).
    public func distanceKm(to other: StampLocation) -> Double {
        let radians = Double.pi / 180 / 1_000_000
        let lat1 = Double(latitudeMicrodegrees) * radians, lat2 = Double(other.latitudeMicrodegrees) * radians
        let dLat = lat2 - lat1, dLon = Double(Int64(other.longitudeMicrodegrees) - Int64(longitudeMicrodegrees)) * radians
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat1) * cos(lat2) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * 6371.0088 * asin(min(1, a.squareRoot()))
    }
}

/// The remote-authorization grants the ledger knows (SPEC §9.5): what the authority issued, by chip
/// and serial. A record carries only its grant's serial; with the grant known, the ledger checks the
/// record against it (docs/alerts.md, "grant-misuse").
public struct GrantBook: Sendable, Hashable {
    private var grants: [[UInt8]: AuthorizationGrant]

    /// A book of `(chipID, grant)` pairs.
    public init(_ entries: [(chipID: [UInt8], grant: AuthorizationGrant)] = []) {
        var grants: [[UInt8]: AuthorizationGrant] = [:]
        for entry in entries { grants[entry.chipID + bigEndian(entry.grant.serial)] = entry.grant }
        self.grants = grants
    }

    /// Reads `[{"chipID": "32 hex", "grant": <grant JSON as sealctl stamp --grant reads it>}, ...]`.
    /// - Throws: ``LedgerError`` `.malformedInput`.
    public init(json data: Data) throws(LedgerError) {
        struct Item: Decodable { var chipID: String; var grant: AuthorizationGrant }
        let items: [Item]
        do { items = try JSONDecoder().decode([Item].self, from: data) } catch {
            throw LedgerError(code: .malformedInput, reason: "not a grant list [{chipID, grant}]: \(error)")
        }
        var entries: [(chipID: [UInt8], grant: AuthorizationGrant)] = []
        for item in items {
            guard let chipID = bytesFromHexText(item.chipID), chipID.count == 16 else {
                throw LedgerError(code: .malformedInput, reason: "chipID \(item.chipID) is not 32 hex digits")
            }
            entries.append((chipID, item.grant))
        }
        self.init(entries)
    }

    /// The grant of `chipID` with `serial`, if known.
    public func grant(chipID: [UInt8], serial: UInt32) -> AuthorizationGrant? { grants[chipID + bigEndian(serial)] }

    /// How many grants the book holds.
    public var count: Int { grants.count }
}

/// Bytes from hex text of either case; nil unless every pair is hex.
func bytesFromHexText(_ text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    var index = 0
    while index < digits.count {
        guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
        out.append(byte)
        index += 2
    }
    return out
}
