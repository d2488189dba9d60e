import Foundation
import GRDB

/// A webhook delivery owed: one alert to one endpoint, until the endpoint answers 2xx.
public struct AlertDelivery: Sendable, Hashable {
    /// The delivery's row.
    public var id: Int64
    /// The alert to deliver.
    public var alert: LedgerAlert
    /// The endpoint URL.
    public var endpoint: String
    /// How many attempts failed so far.
    public var attempts: Int
}

/// Where alerts, the log scan cursor and owed webhook deliveries are kept durably (docs/alerts.md,
/// "Storage"). Small on purpose, like ``LedgerStorage``, so that a PostgreSQL implementation can
/// stand beside ``SQLiteAlertStore``. ``append(_:scannedThrough:endpoints:at:)`` is atomic and
/// durable before it returns: the alerts, the cursor and the deliveries they owe are all stored or
/// none is.
public protocol AlertStore: Sendable {
    /// Stores drafts as alerts (those whose deduplication key is stored already are skipped), moves
    /// the scan cursor to `scannedThrough` when given, and owes one delivery of each new alert to
    /// each of `endpoints` — one transaction. Returns the new alerts, ascending.
    func append(_ drafts: [LedgerAlert.Draft], scannedThrough: UInt64?, endpoints: [String], at time: Date) throws(LedgerError) -> [LedgerAlert]
    /// The log size up to which entries have been scanned for alerts (0 for a new store).
    func scannedSize() throws(LedgerError) -> UInt64
    /// Alerts with an ID above `after`, ascending, at most `limit`; only the chip's when `chipID` is
    /// given, only the organization's when `organization` is given.
    func alerts(after: UInt64, limit: Int, chipID: [UInt8]?, organization: String?) throws(LedgerError) -> [LedgerAlert]
    /// The highest alert ID (0 when there is none).
    func latestID() throws(LedgerError) -> UInt64
    /// Owed deliveries whose next attempt is due at `now`, oldest first, at most `limit`.
    func dueDeliveries(now: Date, limit: Int) throws(LedgerError) -> [AlertDelivery]
    /// When the next owed delivery is due, or nil when none is owed.
    func nextDeliveryDue() throws(LedgerError) -> Date?
    /// Records a delivery's outcome: delivered (owed no more), or failed with the next attempt's time.
    func recordAttempt(delivery id: Int64, delivered: Bool, nextAttempt: Date?, outcome: String) throws(LedgerError)
}

/// ``AlertStore`` on its own SQLite file beside the ledger's (`<database>.alerts.sqlite`), through
/// GRDB in WAL mode with `synchronous=FULL`. Its own file keeps the log's storage untouched and lets
/// alerts be kept, copied or purged under their own rules.
///
/// Tables: `alerts` (one row per alert; a unique deduplication key), `scan_state` (the cursor) and
/// `deliveries` (alert × endpoint, attempts, next attempt, delivered time).
public final class SQLiteAlertStore: AlertStore {
    private let pool: DatabasePool
    /// The database file.
    public let path: String

    /// The alert database beside a ledger database: `<database>.alerts.sqlite`.
    public static func defaultPath(ledgerDatabase: String) -> String { ledgerDatabase + ".alerts.sqlite" }

    /// Opens (creating and migrating if needed) the alert database at `path`.
    /// - Throws: ``LedgerError`` `.storageFailure`.
    public init(path: String) throws(LedgerError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            pool = try DatabasePool(path: path, configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("alerts-v1") { db in
                try db.execute(sql: """
                    CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, chip_id BLOB, entry_index INTEGER,
                        raised_at REAL NOT NULL, authenticated INTEGER NOT NULL, organization TEXT, detail TEXT NOT NULL,
                        dedup_key TEXT UNIQUE);
                    CREATE INDEX alerts_chip ON alerts(chip_id, id) WHERE chip_id IS NOT NULL;
                    CREATE INDEX alerts_organization ON alerts(organization, id) WHERE organization IS NOT NULL;
                    CREATE TABLE scan_state (id INTEGER PRIMARY KEY CHECK (id = 0), scanned_size INTEGER NOT NULL);
                    INSERT INTO scan_state (id, scanned_size) VALUES (0, 0);
                    CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER NOT NULL REFERENCES alerts(id),
                        endpoint TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
                        delivered_at REAL, last_outcome TEXT, UNIQUE (alert_id, endpoint));
                    CREATE INDEX deliveries_due ON deliveries(next_attempt) WHERE delivered_at IS NULL;
                    """)
            }
            try migrator.migrate(pool)
        } catch {
            throw LedgerError(code: .storageFailure, reason: "cannot open the alert database \(path): \(error)")
        }
    }

    private func run<T>(_ what: String, _ body: () throws -> T) throws(LedgerError) -> T {
        do { return try body() } catch let error as LedgerError { throw error } catch {
            throw LedgerError(code: .storageFailure, reason: "\(what): \(error)")
        }
    }

    /// See ``AlertStore/append(_:scannedThrough:endpoints:at:)``.
    public func append(_ drafts: [LedgerAlert.Draft], scannedThrough: UInt64?, endpoints: [String], at time: Date) throws(LedgerError) -> [LedgerAlert] {
        try run("storing alerts") {
            try pool.write { db in
                var stored: [LedgerAlert] = []
                let insert = try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO alerts (kind, chip_id, entry_index, raised_at, authenticated, organization, detail, dedup_key)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let owe = try db.cachedStatement(sql: "INSERT OR IGNORE INTO deliveries (alert_id, endpoint, next_attempt) VALUES (?, ?, ?)")
                for draft in drafts {
                    let detail = String(decoding: try JSONEncoder.sortedKeys.encode(draft.detail), as: UTF8.self)
                    try insert.execute(arguments: [draft.kind.rawValue, draft.chipID.map { Data($0) }, draft.entryIndex.map { Int64($0) },
                                                   time.timeIntervalSince1970, draft.authenticated, draft.organization, detail,
                                                   draft.deduplicationKey])
                    guard db.changesCount == 1 else { continue }
                    let id = db.lastInsertedRowID
                    for endpoint in endpoints { try owe.execute(arguments: [id, endpoint, time.timeIntervalSince1970]) }
                    stored.append(LedgerAlert(id: UInt64(id), kind: draft.kind, chipID: draft.chipID, entryIndex: draft.entryIndex,
                                              raisedAt: time, authenticated: draft.authenticated, detail: draft.detail,
                                              organization: draft.organization))
                }
                if let scannedThrough {
                    try db.execute(sql: "UPDATE scan_state SET scanned_size = MAX(scanned_size, ?) WHERE id = 0", arguments: [Int64(scannedThrough)])
                }
                return stored
            }
        }
    }

    /// See ``AlertStore/scannedSize()``.
    public func scannedSize() throws(LedgerError) -> UInt64 {
        try run("reading the scan cursor") {
            try pool.read { db in UInt64(try Int64.fetchOne(db, sql: "SELECT scanned_size FROM scan_state WHERE id = 0") ?? 0) }
        }
    }

    private static func alert(_ row: Row) throws -> LedgerAlert {
        let detailText: String = row["detail"]
        let detail = try JSONDecoder().decode([String: LedgerAlert.DetailValue].self, from: Data(detailText.utf8))
        guard let kind = LedgerAlert.Kind(rawValue: row["kind"]) else {
            throw LedgerError(code: .storageFailure, reason: "alert \(row["id"] as Int64) has an unknown kind")
        }
        return LedgerAlert(id: UInt64(row["id"] as Int64), kind: kind, chipID: (row["chip_id"] as Data?).map { Array($0) },
                           entryIndex: (row["entry_index"] as Int64?).map { UInt64($0) },
                           raisedAt: Date(timeIntervalSince1970: row["raised_at"]), authenticated: row["authenticated"],
                           detail: detail, organization: row["organization"])
    }

    /// See ``AlertStore/alerts(after:limit:chipID:organization:)``.
    public func alerts(after: UInt64, limit: Int, chipID: [UInt8]?, organization: String?) throws(LedgerError) -> [LedgerAlert] {
        try run("reading alerts") {
            try pool.read { db in
                var sql = "SELECT * FROM alerts WHERE id > ?"
                var arguments: StatementArguments = [Int64(clamping: after)]
                if let chipID {
                    sql += " AND chip_id = ?"
                    arguments += [Data(chipID)]
                }
                if let organization {
                    sql += " AND organization = ?"
                    arguments += [organization]
                }
                sql += " ORDER BY id LIMIT ?"
                arguments += [max(0, limit)]
                return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.alert)
            }
        }
    }

    /// See ``AlertStore/latestID()``.
    public func latestID() throws(LedgerError) -> UInt64 {
        try run("reading the latest alert") {
            try pool.read { db in UInt64(try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM alerts") ?? 0) }
        }
    }

    /// See ``AlertStore/dueDeliveries(now:limit:)``.
    public func dueDeliveries(now: Date, limit: Int) throws(LedgerError) -> [AlertDelivery] {
        try run("reading owed deliveries") {
            try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT d.id AS delivery_id, d.endpoint, d.attempts, a.* FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                    WHERE d.delivered_at IS NULL AND d.next_attempt <= ? ORDER BY d.next_attempt, d.id LIMIT ?
                    """, arguments: [now.timeIntervalSince1970, limit]).map { row in
                    AlertDelivery(id: row["delivery_id"], alert: try Self.alert(row), endpoint: row["endpoint"], attempts: row["attempts"])
                }
            }
        }
    }

    /// See ``AlertStore/nextDeliveryDue()``.
    public func nextDeliveryDue() throws(LedgerError) -> Date? {
        try run("reading owed deliveries") {
            try pool.read { db in
                try Double.fetchOne(db, sql: "SELECT MIN(next_attempt) FROM deliveries WHERE delivered_at IS NULL").map { Date(timeIntervalSince1970: $0) }
            }
        }
    }

    /// See ``AlertStore/recordAttempt(delivery:delivered:nextAttempt:outcome:)``.
    public func recordAttempt(delivery id: Int64, delivered: Bool, nextAttempt: Date?, outcome: String) throws(LedgerError) {
        try run("recording a delivery attempt") {
            try pool.write { db in
                if delivered {
                    try db.execute(sql: "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_outcome = ? WHERE id = ?",
                                   arguments: [Date().timeIntervalSince1970, outcome, id])
                } else {
                    try db.execute(sql: "UPDATE deliveries SET attempts = attempts + 1, next_attempt = ?, last_outcome = ? WHERE id = ?",
                                   arguments: [(nextAttempt ?? Date()).timeIntervalSince1970, outcome, id])
                }
            }
        }
    }
}

extension JSONEncoder {
    /// An encoder that sorts object keys (stable stored text).
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
