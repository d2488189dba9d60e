import Foundation
import SealHostDriver
import SealProtocol
import Synchronization

/// Raises the ledger's alerts (docs/alerts.md) and stores them in an ``AlertStore``.
///
/// Alerts about the log are derived from its entries alone, after they are committed: the store
/// keeps a cursor (the log size scanned so far) in the same transaction as the alerts it found, so
/// ``catchUp()`` — which the server runs after every admission, before it answers, and once at
/// start — raises each alert at least once, even when the process died between the log's commit
/// and the alerts' (the next start scans from the cursor), and never twice (each derived alert has
/// a deduplication key). Reports of failed verifications come from outside and are stored as they
/// arrive (``report(_:)``).
public final class AlertMonitor: Sendable {
    /// The log watched.
    public let ledger: Ledger
    /// Where alerts are kept.
    public let store: any AlertStore
    /// The pattern checks' thresholds.
    public let policy: AlertPolicy
    /// The grants the ledger knows, for `grant-misuse`.
    public let grants: GrantBook
    /// The webhook endpoints each new alert is owed to.
    public let endpoints: [String]
    private let locations: @Sendable (_ recordHash: [UInt8]) -> StampLocation?
    private let scanLock = Mutex<Void>(())
    private let latest: Mutex<UInt64>

    /// A monitor of `ledger` storing into `store`. `locations` gives a stamp's opened location by
    /// record hash (nil: not held; the ledger core keeps no personal data, the access layer's vault
    /// does); without it impossible travel cannot be checked.
    /// - Throws: ``LedgerError`` when the store cannot be read.
    public init(ledger: Ledger, store: any AlertStore, policy: AlertPolicy = AlertPolicy(), grants: GrantBook = GrantBook(),
                endpoints: [String] = [], locations: @escaping @Sendable ([UInt8]) -> StampLocation? = { _ in nil }) throws(LedgerError) {
        self.ledger = ledger
        self.store = store
        self.policy = policy
        self.grants = grants
        self.endpoints = endpoints
        self.locations = locations
        latest = Mutex(try store.latestID())
    }

    /// The highest alert ID raised so far (listeners compare it with what they sent).
    public var latestAlertID: UInt64 { latest.withLock { $0 } }

    /// Scans the entries committed since the last scan and stores the alerts they raise, with the
    /// new cursor, in one transaction. Returns the new alerts.
    /// - Throws: ``LedgerError`` when the log or the store cannot be read or written (the cursor
    ///   stays, so the next call scans the same entries again).
    @discardableResult
    public func catchUp() throws(LedgerError) -> [LedgerAlert] {
        try scanLock.withLock { (_: inout Void) throws(LedgerError) -> [LedgerAlert] in
            let from = try store.scannedSize()
            let to = ledger.size
            guard from < to else { return [] }
            var context = ScanContext(storage: ledger.storage)
            var drafts: [LedgerAlert.Draft] = []
            var start = from
            while start < to {
                let count = Int(min(UInt64(256), to - start))
                for entry in try ledger.storage.entries(start: start, count: count) {
                    drafts += try detect(entry, context: &context)
                }
                start += UInt64(count)
            }
            let stored = try store.append(drafts, scannedThrough: to, endpoints: endpoints, at: Date())
            if let last = stored.last { latest.withLock { $0 = max($0, last.id) } }
            for alert in stored { LedgerMetrics.alertRaised(kind: alert.kind.rawValue) }
            return stored
        }
    }

    /// A failed verification reported from outside (`POST /v1/verification-reports`).
    public struct VerificationReport: Sendable, Hashable {
        /// The record as reported (its personal data is not kept).
        public var record: StampRecord
        /// The name of the check that failed.
        public var failedCheck: String
        /// What the reporter saw.
        public var detail: String
        /// The document digest the reporter checked against, when given.
        public var documentDigest: [UInt8]?
        /// Whether the reporter presented a valid bearer token.
        public var authenticated: Bool
        /// Who reported it (the token's subject), when authenticated.
        public var reporter: String?

        /// Creates a report.
        public init(record: StampRecord, failedCheck: String, detail: String, documentDigest: [UInt8]?, authenticated: Bool, reporter: String?) {
            self.record = record
            self.failedCheck = failedCheck
            self.detail = detail
            self.documentDigest = documentDigest
            self.authenticated = authenticated
            self.reporter = reporter
        }
    }

    /// Stores a `verification-failed` alert for `report`: the record's chip, hash, serial and
    /// counter (never its personal data), the entry that holds it when the ledger does, the failed
    /// check and the reporter's detail (at most 512 characters).
    /// - Throws: ``LedgerError`` from the store.
    public func report(_ report: VerificationReport) throws(LedgerError) -> LedgerAlert {
        let recordHash = LedgerLeaf.recordHash(LedgerLeaf.stampRecordBytes(report.record))
        let entryIndex = try ledger.lookup(.recordHash(recordHash)).first
        var detail: [String: LedgerAlert.DetailValue] = [
            "failedCheck": .text(String(report.failedCheck.prefix(64))), "detail": .text(String(report.detail.prefix(512))),
            "recordHash": .text(hexString(recordHash)), "serial": .text(report.record.serial),
            "counter": .integer(Int64(report.record.counter)), "inLedger": .flag(entryIndex != nil),
        ]
        if let digest = report.documentDigest { detail["documentDigest"] = .text(hexString(digest)) }
        if let reporter = report.reporter { detail["reporter"] = .text(String(reporter.prefix(128))) }
        let draft = LedgerAlert.Draft(kind: .verificationFailed, chipID: report.record.chipID, entryIndex: entryIndex,
                                      authenticated: report.authenticated, detail: detail,
                                      organization: report.record.organizationName, deduplicationKey: nil)
        let stored = try scanLock.withLock { (_: inout Void) throws(LedgerError) -> [LedgerAlert] in
            try store.append([draft], scannedThrough: nil, endpoints: endpoints, at: Date())
        }
        guard let alert = stored.first else { throw LedgerError(code: .storageFailure, reason: "the report was not stored") }
        latest.withLock { $0 = max($0, alert.id) }
        LedgerMetrics.alertRaised(kind: alert.kind.rawValue)
        return alert
    }

    // MARK: Detection

    /// What one scan has read about each chip: its stamp records and lifecycle events, oldest first.
    struct ScanContext {
        let storage: any LedgerStorage
        var chips: [[UInt8]: [StoredEntry]] = [:]
        var facts: [UInt64: StampLeafFacts] = [:]

        mutating func entries(of chipID: [UInt8]) throws(LedgerError) -> [StoredEntry] {
            if let cached = chips[chipID] { return cached }
            let entries = try storage.chipEntries(chipID: chipID, kinds: [.stampRecord, .lifecycleEvent])
            chips[chipID] = entries
            return entries
        }

        mutating func facts(of entry: StoredEntry) -> StampLeafFacts? {
            if let cached = facts[entry.index] { return cached }
            guard let parsed = try? StampLeafFacts(bytes: entry.bytes) else { return nil }
            facts[entry.index] = parsed
            return parsed
        }

        /// The organization of the chip's first admitted record, if any.
        mutating func organization(of chipID: [UInt8]) throws(LedgerError) -> String? {
            for entry in try entries(of: chipID) where entry.kind == .stampRecord {
                if let facts = facts(of: entry) { return facts.organization }
            }
            return nil
        }
    }

    private func detect(_ entry: StoredEntry, context: inout ScanContext) throws(LedgerError) -> [LedgerAlert.Draft] {
        guard let chipID = entry.chipID else { return [] }
        func draft(_ kind: LedgerAlert.Kind, _ detail: [String: LedgerAlert.DetailValue], organization: String?,
                   key: String = "") -> LedgerAlert.Draft {
            LedgerAlert.Draft(kind: kind, chipID: chipID, entryIndex: entry.index, authenticated: true, detail: detail,
                              organization: organization, deduplicationKey: "\(kind.rawValue)/\(entry.index)\(key)")
        }
        let evidence = (try? JSONSerialization.jsonObject(with: Data(entry.bytes))) as? [String: Any] ?? [:]
        func integer(_ name: String) -> LedgerAlert.DetailValue? { (evidence[name] as? NSNumber).map { .integer($0.int64Value) } }
        switch entry.kind {
        case .conflictEvidence:
            var detail: [String: LedgerAlert.DetailValue] = ["reason": .text("duplicate-counter"), "evidenceIndex": .integer(Int64(entry.index))]
            if let admitted = integer("admittedIndex") { detail["admittedIndex"] = admitted }
            if let text = evidence["admitted"] as? String, let bytes = Data(base64Encoded: text), let facts = try? StampLeafFacts(bytes: Array(bytes)) {
                detail["counter"] = .integer(Int64(facts.counter))
            }
            return [draft(.cloneEvidence, detail, organization: try context.organization(of: chipID))]
        case .terminatedChipEvidence:
            var detail: [String: LedgerAlert.DetailValue] = ["evidenceIndex": .integer(Int64(entry.index))]
            for name in ["counter", "finalCounter", "terminationIndex"] { if let value = integer(name) { detail[name] = value } }
            return [draft(.stampByTerminatedSeal, detail, organization: try context.organization(of: chipID))]
        case .unreportedStampEvidence:
            var detail: [String: LedgerAlert.DetailValue] = ["evidenceIndex": .integer(Int64(entry.index))]
            for name in ["counter", "auditIndex"] { if let value = integer(name) { detail[name] = value } }
            return [draft(.unreportedStamp, detail, organization: try context.organization(of: chipID))]
        case .auditTamperEvidence:
            var detail: [String: LedgerAlert.DetailValue] = ["evidenceIndex": .integer(Int64(entry.index))]
            if let reason = evidence["reason"] as? String { detail["reason"] = .text(String(reason.prefix(512))) }
            return [draft(.auditTamper, detail, organization: try context.organization(of: chipID))]
        case .stampRecord:
            return try detectInRecord(entry, chipID: chipID, context: &context, draft: draft)
        case .lifecycleEvent, .auditLog:
            return []
        }
    }

    private func detectInRecord(_ entry: StoredEntry, chipID: [UInt8], context: inout ScanContext,
                                draft: (LedgerAlert.Kind, [String: LedgerAlert.DetailValue], String?, String) -> LedgerAlert.Draft)
        throws(LedgerError) -> [LedgerAlert.Draft] {
        guard let facts = context.facts(of: entry) else { return [] }
        let earlier = try context.entries(of: chipID).filter { $0.index < entry.index }
        var drafts: [LedgerAlert.Draft] = []
        let counter = LedgerAlert.DetailValue.integer(Int64(facts.counter))

        // Suspended when admitted: the chip's latest lifecycle event before this entry.
        if let suspension = ChipLifecycle(earlier.filter { $0.kind == .lifecycleEvent }).suspensionIndex {
            drafts.append(draft(.stampBySuspendedSeal, ["counter": counter, "suspensionIndex": .integer(Int64(suspension))], facts.organization, ""))
        }

        let earlierStamps = earlier.filter { $0.kind == .stampRecord }.compactMap { other in context.facts(of: other).map { (other.index, $0) } }

        // The counter running backwards in time: a higher counter claimed earlier, or a lower one later.
        let tolerance = policy.clockTolerance
        if let (otherIndex, other) = earlierStamps.first(where: { _, other in
            (other.counter > facts.counter && other.time + tolerance < facts.time)
                || (other.counter < facts.counter && facts.time + tolerance < other.time)
        }) {
            drafts.append(draft(.counterRegression, [
                "counter": counter, "time": .integer(Int64(clamping: facts.time)), "otherIndex": .integer(Int64(otherIndex)),
                "otherCounter": .integer(Int64(other.counter)), "otherTime": .integer(Int64(clamping: other.time)),
            ], facts.organization, ""))
        }

        // The grant, when the ledger knows it (a record carries only its serial).
        if facts.grantSerial != 0, let grant = grants.grant(chipID: chipID, serial: facts.grantSerial) {
            var problems: [String] = []
            if facts.counter < grant.firstCounter || facts.counter > grant.lastCounter {
                problems.append("counter \(facts.counter) outside \(grant.firstCounter)…\(grant.lastCounter)")
            }
            if facts.time < grant.notBefore { problems.append("stamped at \(facts.time), before notBefore \(grant.notBefore)") }
            if facts.time > grant.notAfter { problems.append("stamped at \(facts.time), after notAfter \(grant.notAfter)") }
            if grant.kind == .document, let digest = grant.documentDigest, digest != facts.documentDigest {
                problems.append("the document is not the granted one")
            }
            let uses = earlierStamps.filter { $0.1.grantSerial == facts.grantSerial }.count + 1
            let limit = grant.kind == .document ? 1 : Int(grant.maxStamps)
            if uses > limit { problems.append("use \(uses) of a grant for \(limit)") }
            if !problems.isEmpty {
                drafts.append(draft(.grantMisuse, [
                    "counter": counter, "grantSerial": .integer(Int64(facts.grantSerial)), "use": .integer(Int64(uses)),
                    "reason": .text(problems.joined(separator: "; ")),
                ], facts.organization, ""))
            }
        }

        // Impossible travel, from the openings the access layer holds (the leaf holds commitments only).
        if let here = locations(entry.recordHash) {
            var worst: (index: UInt64, counter: UInt32, km: Double, hours: Double, speed: Double)?
            // The stamps nearest in claimed time are where an impossible journey shows; 16 bound the
            // vault reads per record however many stamps the seal made.
            let nearest = earlierStamps.sorted { a, b in
                max(a.1.time, facts.time) - min(a.1.time, facts.time) < max(b.1.time, facts.time) - min(b.1.time, facts.time)
            }.prefix(16)
            for (otherIndex, other) in nearest {
                guard let otherEntry = earlier.first(where: { $0.index == otherIndex }), let there = locations(otherEntry.recordHash) else { continue }
                let km = here.distanceKm(to: there)
                guard km > policy.minimumDistanceKm else { continue }
                let seconds = Double(max(facts.time, other.time) - min(facts.time, other.time))
                let hours = max(seconds, 1) / 3600
                let speed = km / hours
                if speed > policy.maximumSpeedKmh, speed > worst?.speed ?? 0 { worst = (otherIndex, other.counter, km, seconds / 3600, speed) }
            }
            if let worst {
                drafts.append(draft(.impossibleTravel, [
                    "counter": counter, "otherIndex": .integer(Int64(worst.index)), "otherCounter": .integer(Int64(worst.counter)),
                    "distanceKm": .number((worst.km * 10).rounded() / 10), "hours": .number((worst.hours * 1000).rounded() / 1000),
                    "speedKmh": .number(worst.speed.rounded()), "maximumSpeedKmh": .number(policy.maximumSpeedKmh),
                ], facts.organization, ""))
            }
        }
        return drafts
    }
}

/// What the alert checks read from a stamp-record leaf (`StampRecord.canonicalBytes`): its chip,
/// counter, document, organization, grant serial and claimed time.
struct StampLeafFacts: Sendable {
    var chipID: [UInt8]
    var counter: UInt32
    var documentDigest: [UInt8]
    var organization: String
    var grantSerial: UInt32
    var time: UInt64

    /// Parses `"SEALKIT-RECORD-V2" ‖ u16 len ‖ TBS ‖ u8 len ‖ signature ‖ sealPublicKey (65) ‖ u16 len ‖ metadata ‖ …`.
    init(bytes: [UInt8]) throws(LedgerError) {
        var reader = ByteReader(bytes)
        guard try reader.take(StampRecord.canonicalDomain.count, "record domain") == StampRecord.canonicalDomain else {
            throw LedgerError(code: .malformedInput, reason: "not a record-v2 leaf")
        }
        var tbs = ByteReader(try reader.take(try reader.uint16("TBS length"), "TBS"))
        _ = try reader.take(Int(try reader.take(1, "signature length")[0]), "signature")
        _ = try reader.take(65, "seal public key")
        let metadataEncoding = try reader.take(try reader.uint16("metadata length"), "metadata")
        guard try tbs.take(StampTBS.domain.count, "TBS domain") == StampTBS.domain else {
            throw LedgerError(code: .malformedInput, reason: "not a v2 stamp TBS")
        }
        chipID = try tbs.take(16, "chip ID")
        counter = try tbs.uint32("counter")
        _ = try tbs.take(Int(try tbs.take(1, "serial length")[0]), "serial")
        _ = try tbs.take(8 + 8, "expiry and code")
        documentDigest = try tbs.take(32, "document digest")
        _ = try tbs.take(32, "metadata digest")
        organization = try tbs.string("organization name")
        _ = try tbs.string("seal name")
        _ = try tbs.take(32 + 32 + 32, "feature, image and key hashes")
        grantSerial = try tbs.uint32("grant serial")
        do { time = try StampMetadata(decoding: metadataEncoding).time } catch {
            throw LedgerError(code: .malformedInput, reason: "the leaf's metadata does not decode")
        }
    }
}
