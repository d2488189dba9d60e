import Foundation
import GRDB

/// ``LedgerStorage`` on one SQLite file through GRDB: a `DatabasePool` in WAL mode, so readers
/// (proofs, tiles, lookups) never wait for the sequencer, and `synchronous=FULL`, so a committed
/// batch survives power loss. The file and its directory are created on first use.
///
/// Tables: `entries` (index, kind, bytes, lookup keys; a unique (chip, counter) index over stamp
/// records enforces one entry per stamp), `tiles` (level, index, hashes; partial tiles rewritten as
/// they grow), `checkpoints` (every signed checkpoint, by size) and `suspects`.
public final class SQLiteStorage: LedgerStorage {
    private let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating if needed) the database at `path`.
    /// - Throws: ``LedgerError`` `.storageFailure`.
    public init(path: String) throws(LedgerError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try pool.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS entries (
                        idx INTEGER PRIMARY KEY, kind INTEGER NOT NULL, bytes BLOB NOT NULL, record_hash BLOB NOT NULL,
                        chip_id BLOB, counter INTEGER, serial TEXT, document_digest BLOB);
                    CREATE UNIQUE INDEX IF NOT EXISTS entries_stamp ON entries(chip_id, counter) WHERE kind = 0;
                    CREATE INDEX IF NOT EXISTS entries_record_hash ON entries(record_hash);
                    CREATE INDEX IF NOT EXISTS entries_serial ON entries(serial) WHERE serial IS NOT NULL;
                    CREATE INDEX IF NOT EXISTS entries_document ON entries(document_digest) WHERE document_digest IS NOT NULL;
                    CREATE INDEX IF NOT EXISTS entries_chip ON entries(chip_id, kind) WHERE chip_id IS NOT NULL;
                    CREATE TABLE IF NOT EXISTS tiles (level INTEGER NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL,
                        PRIMARY KEY (level, idx)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS suspects (chip_id BLOB PRIMARY KEY, evidence_idx INTEGER NOT NULL);
                    """)
            }
        } catch {
            throw LedgerError(code: .storageFailure, reason: "cannot open the ledger database \(path): \(error)")
        }
    }

    private func run<T>(_ what: String, _ body: () throws -> T) throws(LedgerError) -> T {
        do { return try body() } catch let error as LedgerError { throw error } catch {
            throw LedgerError(code: .storageFailure, reason: "\(what): \(error)")
        }
    }

    /// See ``LedgerStorage/latest()``.
    public func latest() throws(LedgerError) -> (size: UInt64, checkpoint: String)? {
        try run("reading the latest checkpoint") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
                    .map { (UInt64(($0["size"] as Int64)), $0["note"] as String) }
            }
        }
    }

    /// See ``LedgerStorage/commit(_:)``. One write transaction.
    public func commit(_ batch: SequencedBatch) throws(LedgerError) {
        try run("committing a batch") {
            try pool.write { db in
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO entries (idx, kind, bytes, record_hash, chip_id, counter, serial, document_digest)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for e in batch.entries {
                    try insert.execute(arguments: [Int64(e.index), e.kind.rawValue, Data(e.bytes), Data(e.recordHash),
                                                   e.chipID.map { Data($0) }, e.counter.map { Int64($0) }, e.serial,
                                                   e.documentDigest.map { Data($0) }])
                }
                let tile = try db.cachedStatement(sql: "INSERT OR REPLACE INTO tiles (level, idx, hashes) VALUES (?, ?, ?)")
                for t in batch.tiles { try tile.execute(arguments: [t.level, Int64(t.index), Data(t.hashes)]) }
                for s in batch.suspects {
                    try db.execute(sql: "INSERT OR IGNORE INTO suspects (chip_id, evidence_idx) VALUES (?, ?)",
                                   arguments: [Data(s.chipID), Int64(s.evidenceIndex)])
                }
                try db.execute(sql: "INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?, ?)",
                               arguments: [Int64(batch.size), batch.checkpoint])
            }
        }
    }

    /// See ``LedgerStorage/tile(level:index:)``.
    public func tile(level: Int, index: UInt64) throws(LedgerError) -> [UInt8]? {
        try run("reading a tile") {
            try pool.read { db in
                try Data.fetchOne(db, sql: "SELECT hashes FROM tiles WHERE level = ? AND idx = ?", arguments: [level, Int64(index)])
                    .map { Array($0) }
            }
        }
    }

    private static func entry(_ row: Row) -> StoredEntry {
        StoredEntry(index: UInt64(row["idx"] as Int64), kind: StoredEntry.Kind(rawValue: row["kind"]) ?? .stampRecord,
                    bytes: Array(row["bytes"] as Data), chipID: (row["chip_id"] as Data?).map { Array($0) },
                    counter: (row["counter"] as Int64?).map { UInt32(truncatingIfNeeded: $0) }, serial: row["serial"],
                    documentDigest: (row["document_digest"] as Data?).map { Array($0) })
    }

    /// See ``LedgerStorage/entries(start:count:)``.
    public func entries(start: UInt64, count: Int) throws(LedgerError) -> [StoredEntry] {
        try run("reading entries") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                                 arguments: [Int64(start), Int64(start) + Int64(count)]).map(Self.entry)
            }
        }
    }

    /// See ``LedgerStorage/stampEntry(chipID:counter:)``.
    public func stampEntry(chipID: [UInt8], counter: UInt32) throws(LedgerError) -> StoredEntry? {
        try run("looking up a stamp") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM entries WHERE kind = 0 AND chip_id = ? AND counter = ?",
                                 arguments: [Data(chipID), Int64(counter)]).map(Self.entry)
            }
        }
    }

    /// See ``LedgerStorage/lookup(_:)``.
    public func lookup(_ key: LookupKey) throws(LedgerError) -> [UInt64] {
        let (column, value): (String, any DatabaseValueConvertible) = switch key {
        case .recordHash(let hash): ("record_hash", Data(hash))
        case .serial(let serial): ("serial", serial)
        case .documentDigest(let digest): ("document_digest", Data(digest))
        case .chipID(let chipID): ("chip_id", Data(chipID))
        }
        return try run("looking up entries") {
            try pool.read { db in
                try Int64.fetchAll(db, sql: "SELECT idx FROM entries WHERE \(column) = ? ORDER BY idx", arguments: [value]).map { UInt64($0) }
            }
        }
    }

    /// See ``LedgerStorage/suspectEvidence(chipID:)``.
    public func suspectEvidence(chipID: [UInt8]) throws(LedgerError) -> UInt64? {
        try run("reading suspects") {
            try pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT evidence_idx FROM suspects WHERE chip_id = ?", arguments: [Data(chipID)]).map { UInt64($0) }
            }
        }
    }
}

extension SQLiteStorage {
    /// See ``LedgerStorage/chipEntries(chipID:kinds:)``.
    public func chipEntries(chipID: [UInt8], kinds: [StoredEntry.Kind]) throws(LedgerError) -> [StoredEntry] {
        guard !kinds.isEmpty else { return [] }
        let placeholders = kinds.map { _ in "?" }.joined(separator: ", ")
        let values: [(any DatabaseValueConvertible)?] = [Data(chipID)] + kinds.map { $0.rawValue }
        let arguments = StatementArguments(values)
        return try run("reading a chip's entries") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM entries WHERE chip_id = ? AND kind IN (\(placeholders)) ORDER BY idx",
                                 arguments: arguments).map(Self.entry)
            }
        }
    }

    /// The baseline for the append benchmark: the same entry bytes inserted into a bare table of a
    /// fresh database at `path`, `batch` rows per transaction, with the same journal (WAL) and
    /// synchronous (FULL) settings and no tree work. Returns the seconds taken.
    package static func rawInsertSeconds(path: String, entries: [[UInt8]], batch: Int) throws(LedgerError) -> Double {
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let pool = try DatabasePool(path: path, configuration: configuration)
            try pool.write { db in try db.execute(sql: "CREATE TABLE raw (idx INTEGER PRIMARY KEY, bytes BLOB NOT NULL)") }
            let start = ContinuousClock.now
            var index = 0
            while index < entries.count {
                let end = min(index + batch, entries.count)
                try pool.write { db in
                    let insert = try db.cachedStatement(sql: "INSERT INTO raw (idx, bytes) VALUES (?, ?)")
                    for i in index..<end { try insert.execute(arguments: [i, Data(entries[i])]) }
                }
                index = end
            }
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        } catch {
            throw LedgerError(code: .storageFailure, reason: "raw insert baseline: \(error)")
        }
    }
}
