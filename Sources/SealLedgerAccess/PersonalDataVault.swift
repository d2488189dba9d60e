import Foundation
import GRDB
import SealHostDriver
import SealLedger

/// The access layer's own SQLite database (docs/access.md, "Storage"): a file of its own beside the
/// ledger's (`<database>.access.sqlite`), never the log's, so that the log can be copied, mirrored
/// and checked without personal data, and personal data can be erased, kept on other media or
/// backed up under other rules without touching the append-only log.
///
/// Tables (GRDB migrations of this file's own):
/// - `personal_data`: the openings submitted beside an admitted record, one row per record hash,
///   AES-256-GCM sealed (``PersonalDataKeyring``) with the record hash as associated data, and the
///   ID of the key that sealed it;
/// - `record_index`: entry index → record hash, organization, serial, for auditors' listings; derived
///   from the log's leaves, so it can always be rebuilt (``catchUp(with:)``);
/// - `access_log`: one row per entry whose personal data a response returned (who, when, which
///   entry), append-only (triggers refuse updates and deletes).
public final class PersonalDataVault: Sendable {
    private let pool: DatabasePool
    /// The keyring rows are sealed and opened with.
    public let keyring: PersonalDataKeyring
    /// The database file.
    public let path: String

    /// The access database beside a ledger database: `<database>.access.sqlite`.
    public static func defaultPath(ledgerDatabase: String) -> String { ledgerDatabase + ".access.sqlite" }

    /// Opens (creating and migrating if needed) the access database at `path`.
    /// - Throws: ``AccessError`` `.storageFailure`.
    public init(path: String, keyring: PersonalDataKeyring) throws(AccessError) {
        self.path = path
        self.keyring = keyring
        do {
            pool = try AccessDatabase.open(path: path)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("access-v1") { db in
                try db.execute(sql: """
                    CREATE TABLE personal_data (record_hash BLOB PRIMARY KEY, entry_index INTEGER NOT NULL,
                        organization TEXT NOT NULL, key_id TEXT NOT NULL, sealed BLOB NOT NULL, stored_at INTEGER NOT NULL);
                    CREATE TABLE record_index (entry_index INTEGER PRIMARY KEY, record_hash BLOB NOT NULL,
                        organization TEXT NOT NULL, serial TEXT NOT NULL);
                    CREATE INDEX record_index_organization ON record_index(organization, entry_index);
                    CREATE TABLE index_state (id INTEGER PRIMARY KEY CHECK (id = 0), indexed_size INTEGER NOT NULL);
                    INSERT INTO index_state (id, indexed_size) VALUES (0, 0);
                    CREATE TABLE access_log (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, subject TEXT NOT NULL,
                        role TEXT NOT NULL, token_id TEXT NOT NULL, caller_organization TEXT, entry_index INTEGER NOT NULL,
                        record_hash BLOB NOT NULL, record_organization TEXT NOT NULL, request TEXT NOT NULL);
                    CREATE INDEX access_log_organization ON access_log(record_organization, id);
                    CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
                        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
                    CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
                        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
                    """)
            }
            try migrator.migrate(pool)
        } catch {
            throw AccessError(code: .storageFailure, reason: "cannot open the access database \(path): \(error)")
        }
    }

    private func run<T>(_ what: String, _ body: () throws -> T) throws(AccessError) -> T {
        do { return try body() } catch let error as AccessError { throw error } catch {
            throw AccessError(code: .storageFailure, reason: "\(what): \(error)")
        }
    }

    // MARK: Personal data

    /// Checks the openings `record` carries against its signed commitments and stores them, sealed,
    /// for the admitted entry at `entryIndex`; openings already stored for the record are kept
    /// (fields opened before and now are merged). A record without openings stores nothing.
    /// - Throws: ``AccessError`` `.personalDataMismatch` (nothing stored) or `.storageFailure`.
    public func store(_ record: StampRecord, entryIndex: UInt64) throws(AccessError) {
        let openings = PersonalDataOpenings(of: record)
        guard !openings.isEmpty else { return }
        try PersonalDataOpenings.check(record)
        let recordHash = LedgerLeaf.recordHash(LedgerLeaf.stampRecordBytes(record))
        try run("storing personal data") {
            try pool.write { db in
                var merged = openings
                if let row = try Row.fetchOne(db, sql: "SELECT key_id, sealed FROM personal_data WHERE record_hash = ?",
                                              arguments: [Data(recordHash)]) {
                    merged = openings.merging(try self.decode(row, recordHash: recordHash))
                }
                let plaintext = Array(try JSONEncoder.sorted.encode(merged))
                let (keyID, sealed) = try keyring.seal(plaintext, context: recordHash)
                try db.execute(sql: """
                    INSERT OR REPLACE INTO personal_data (record_hash, entry_index, organization, key_id, sealed, stored_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [Data(recordHash), Int64(entryIndex), record.organizationName, keyID, Data(sealed),
                                     Int64(Date().timeIntervalSince1970)])
                try db.execute(sql: "INSERT OR IGNORE INTO record_index (entry_index, record_hash, organization, serial) VALUES (?, ?, ?, ?)",
                               arguments: [Int64(entryIndex), Data(recordHash), record.organizationName, record.serial])
            }
        }
    }

    /// The stored openings of the record with `recordHash`, or nil.
    /// - Throws: ``AccessError`` `.keyUnavailable` when the row's key is not in the keyring or the
    ///   row does not authenticate; `.storageFailure`.
    public func openings(recordHash: [UInt8]) throws(AccessError) -> PersonalDataOpenings? {
        try run("reading personal data") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT key_id, sealed FROM personal_data WHERE record_hash = ?", arguments: [Data(recordHash)])
                    .map { try self.decode($0, recordHash: recordHash) }
            }
        }
    }

    private func decode(_ row: Row, recordHash: [UInt8]) throws -> PersonalDataOpenings {
        let plaintext = try keyring.open(Array(row["sealed"] as Data), keyID: row["key_id"], context: recordHash)
        return try JSONDecoder().decode(PersonalDataOpenings.self, from: Data(plaintext))
    }

    /// How many rows each key sealed, by key ID.
    public func keyUsage() throws(AccessError) -> [String: Int] {
        try run("counting rows by key") {
            try pool.read { db in
                var usage: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT key_id, COUNT(*) AS n FROM personal_data GROUP BY key_id") {
                    usage[row["key_id"]] = row["n"]
                }
                return usage
            }
        }
    }

    /// Re-seals every row not sealed under the keyring's current key with it, in one transaction,
    /// after which the older keys can be dropped from the keyring. Returns how many rows were
    /// re-sealed and how many there are.
    /// - Throws: ``AccessError`` `.keyUnavailable` when a row's key is missing (nothing changes).
    public func rotate() throws(AccessError) -> (resealed: Int, total: Int) {
        let current = keyring.currentKeyID
        return try run("re-sealing personal data") {
            try pool.write { db in
                let rows = try Row.fetchAll(db, sql: "SELECT record_hash, key_id, sealed FROM personal_data WHERE key_id != ?", arguments: [current])
                for row in rows {
                    let recordHash = Array(row["record_hash"] as Data)
                    let plaintext = try keyring.open(Array(row["sealed"] as Data), keyID: row["key_id"], context: recordHash)
                    let (keyID, sealed) = try keyring.seal(plaintext, context: recordHash)
                    try db.execute(sql: "UPDATE personal_data SET key_id = ?, sealed = ? WHERE record_hash = ?",
                                   arguments: [keyID, Data(sealed), Data(recordHash)])
                }
                let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM personal_data") ?? 0
                return (rows.count, total)
            }
        }
    }

    // MARK: Record index

    /// Indexes the log's stamp records up to its current size (organization and serial of each
    /// leaf, decoded by ``LeafRecord``); cheap when nothing is new.
    /// - Throws: ``AccessError`` `.storageFailure`.
    public func catchUp(with ledger: Ledger) throws(AccessError) {
        let size = ledger.size
        try run("indexing the log") {
            try pool.write { db in
                var next = UInt64(try Int64.fetchOne(db, sql: "SELECT indexed_size FROM index_state WHERE id = 0") ?? 0)
                guard next < size else { return }
                let insert = try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO record_index (entry_index, record_hash, organization, serial) VALUES (?, ?, ?, ?)
                    """)
                while next < size {
                    let entry = try ledger.entry(at: next)
                    if entry.kind == .stampRecord, let record = try? LeafRecord.decode(entry.bytes) {
                        try insert.execute(arguments: [Int64(next), Data(entry.recordHash), record.organizationName, record.serial])
                    }
                    next += 1
                }
                try db.execute(sql: "UPDATE index_state SET indexed_size = ? WHERE id = 0", arguments: [Int64(next)])
            }
        }
    }

    /// The indices of `organization`'s stamp records after `after` (exclusive; nil: from the first),
    /// ascending, at most `limit`.
    public func entryIndices(organization: String, after: UInt64?, limit: Int) throws(AccessError) -> [UInt64] {
        try run("listing records") {
            try pool.read { db in
                try Int64.fetchAll(db, sql: """
                    SELECT entry_index FROM record_index WHERE organization = ? AND entry_index > ? ORDER BY entry_index LIMIT ?
                    """, arguments: [organization, after.map { Int64($0) } ?? -1, limit]).map { UInt64($0) }
            }
        }
    }

    // MARK: Access log

    /// Appends one access-log row per entry whose personal data a response is about to return.
    /// The caller returns the data only when this succeeded.
    public func logAccess(by principal: AccessPrincipal, entries: [AccessedEntry], request: String, at time: Date = Date()) throws(AccessError) {
        guard !entries.isEmpty else { return }
        try run("writing the access log") {
            try pool.write { db in
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO access_log (time, subject, role, token_id, caller_organization, entry_index, record_hash,
                        record_organization, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for entry in entries {
                    try insert.execute(arguments: [time.timeIntervalSince1970, principal.subject, principal.role.rawValue, principal.tokenID,
                                                   principal.organization, Int64(entry.index), Data(entry.recordHash), entry.organization, request])
                }
            }
        }
    }

    /// Access-log rows about `organization`'s records (nil: every organization), oldest first,
    /// after row `after`, at most `limit`.
    public func accessLog(organization: String?, after: Int64 = 0, limit: Int = 1000) throws(AccessError) -> [AccessLogRow] {
        try run("reading the access log") {
            try pool.read { db in
                let filter = organization == nil ? "" : "AND record_organization = ?"
                var arguments: StatementArguments = [after]
                if let organization { arguments += [organization] }
                arguments += [limit]
                return try Row.fetchAll(db, sql: "SELECT * FROM access_log WHERE id > ? \(filter) ORDER BY id LIMIT ?", arguments: arguments).map {
                    AccessLogRow(id: $0["id"], time: Date(timeIntervalSince1970: $0["time"]), subject: $0["subject"],
                                 role: $0["role"], tokenID: $0["token_id"], callerOrganization: $0["caller_organization"],
                                 entryIndex: UInt64($0["entry_index"] as Int64), recordHash: Array($0["record_hash"] as Data),
                                 recordOrganization: $0["record_organization"], request: $0["request"])
                }
            }
        }
    }
}

/// An entry whose personal data is being returned: what an access-log row names.
public struct AccessedEntry: Sendable, Hashable {
    /// The leaf index.
    public var index: UInt64
    /// SHA-256 of the leaf.
    public var recordHash: [UInt8]
    /// The record's organization.
    public var organization: String

    /// Creates one.
    public init(index: UInt64, recordHash: [UInt8], organization: String) {
        self.index = index
        self.recordHash = recordHash
        self.organization = organization
    }
}

/// One row of the access log.
public struct AccessLogRow: Sendable, Hashable {
    /// The row's sequence number (ascending).
    public var id: Int64
    /// When the data was returned.
    public var time: Date
    /// The caller's token subject.
    public var subject: String
    /// The caller's role.
    public var role: String
    /// The caller's token ID.
    public var tokenID: String
    /// The caller's organization, for an auditor.
    public var callerOrganization: String?
    /// The entry whose personal data was returned.
    public var entryIndex: UInt64
    /// Its record hash.
    public var recordHash: [UInt8]
    /// Its organization.
    public var recordOrganization: String
    /// The request (method and path, without the query) that returned it.
    public var request: String
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension PersonalDataVault {
    /// Moves the WAL into the database file (tests read the file's bytes).
    package func checkpointForTests() throws(AccessError) {
        try run("checkpointing") { try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) } }
    }

    /// Runs SQL against the access database (tests show the triggers refuse what they refuse).
    package func executeForTests(_ sql: String) throws(AccessError) {
        try run("executing") { try pool.write { db in try db.execute(sql: sql) } }
    }
}
