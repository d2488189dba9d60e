import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SealLedger
import Synchronization

/// `LedgerStorage` on PostgreSQL through postgres-nio, for several stateless server instances on
/// one database (docs/ledger.md, "PostgreSQL at scale").
///
/// The tables and indices are SQLite's (`SQLiteStorage`): `entries` with its lookup keys and the
/// unique (chip, counter) index over stamp records, `tiles`, `checkpoints` (every signed checkpoint,
/// by size), `suspects` and the (chip, kind) index; they are created on first use.
///
/// Sequencing across processes: ``exclusively(_:)`` holds a session-level advisory lock for one
/// batch, so exactly one instance sequences at a time and it re-reads the tree edge first (the
/// ledger does that for ``isShared`` stores). ``commit(_:)`` is one transaction that also fences:
/// under a transaction-level advisory lock it checks that the stored tree is the one the batch
/// grows, and inserts the checkpoint with a plain INSERT, so even an instance that lost its
/// session lock (a broken connection) can neither append on a stale tree nor store a second
/// checkpoint for a size.
///
/// Why synchronous: `LedgerStorage` is synchronous (the SQLite backend blocks on fsync). This
/// backend blocks the calling thread on postgres-nio's `EventLoopFuture`s, which run on an event
/// loop group of its own: never a thread of Swift's cooperative pool (whose tasks could be the
/// ones a blocked pool thread waits for) nor an event loop of the HTTP server, so waiting cannot
/// deadlock; it costs the waiting thread a network round trip, as an fsync costs SQLite's.
public final class PostgresStorage: LedgerStorage {
    /// Where the database is, parsed from a `postgres://` URL.
    public let configuration: PostgresConnection.Configuration
    /// The database server's host name, for messages.
    public let host: String
    private let group: MultiThreadedEventLoopGroup
    private let idle = Mutex<[PostgresConnection]>([])
    private let nextConnectionID = Atomic<Int>(0)
    private let logger: Logger

    /// The advisory lock key of the sequencer (`pg_advisory_lock`); one log per database.
    static let sequencerLock: Int64 = 0x5EA1_1ED6_0000_0001
    /// The advisory lock key that serializes commits (`pg_advisory_xact_lock`), the fence.
    static let commitLock: Int64 = 0x5EA1_1ED6_0000_0002
    /// The advisory lock key under which the schema is created, so instances starting together
    /// do not race on `CREATE TABLE IF NOT EXISTS`.
    static let schemaLock: Int64 = 0x5EA1_1ED6_0000_0003

    /// Whether `text` names a PostgreSQL database (`postgres://` or `postgresql://`).
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Connects to the database `url` names (`postgres://user[:password]@host[:port]/database`,
    /// no TLS: a loopback or private network) and creates the schema if it is missing.
    /// - Throws: `LedgerError` `.malformedInput` for a URL that is not of that shape,
    ///   `.storageFailure` when the database cannot be reached.
    public init(url: String) throws(LedgerError) {
        guard Self.isPostgresURL(url), let components = URLComponents(string: url), let host = components.host, !host.isEmpty,
              let user = components.user, !user.isEmpty else {
            throw LedgerError(code: .malformedInput, reason: "a PostgreSQL URL is postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, not \(url)")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.host = host
        configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: .disable)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "sealledger.postgres")
        logger.logLevel = .error
        self.logger = logger
        try createSchema()
    }

    deinit {
        for connection in idle.withLock({ $0 }) { _ = try? connection.close().wait() }
        group.shutdownGracefully { _ in }
    }

    /// Several instances may append: the ledger re-reads the tree edge before sequencing.
    public var isShared: Bool { true }

    private func connect() throws(LedgerError) -> PostgresConnection {
        do {
            return try PostgresConnection.connect(on: group.next(), configuration: configuration,
                                                  id: nextConnectionID.add(1, ordering: .relaxed).newValue, logger: logger).wait()
        } catch {
            throw LedgerError(code: .storageFailure, reason: "cannot connect to PostgreSQL at \(host): \(String(reflecting: error))")
        }
    }

    /// Runs `body` on a pooled connection (a new one when none is idle). A connection that broke is
    /// closed and dropped; one that failed inside a transaction is rolled back before reuse.
    private func withConnection<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws(LedgerError) -> T {
        let connection: PostgresConnection
        if let pooled = idle.withLock({ $0.popLast() }) { connection = pooled } else { connection = try connect() }
        do {
            let result = try body(connection)
            idle.withLock { $0.append(connection) }
            return result
        } catch {
            if !connection.isClosed, (try? connection.query("ROLLBACK", logger: logger).wait()) != nil {
                idle.withLock { $0.append(connection) }
            } else {
                _ = try? connection.close().wait()
            }
            if let error = error as? LedgerError { throw error }
            throw LedgerError(code: .storageFailure, reason: "\(what): \(String(reflecting: error))")
        }
    }

    private func run(_ connection: PostgresConnection, _ query: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(query, logger: logger).wait()
    }

    private func createSchema() throws(LedgerError) {
        try withConnection("creating the ledger schema") { connection in
            _ = try run(connection, "BEGIN")
            _ = try run(connection, "SELECT pg_advisory_xact_lock(\(Self.schemaLock))")
            for statement in [
                """
                CREATE TABLE IF NOT EXISTS entries (
                    idx BIGINT PRIMARY KEY, kind INTEGER NOT NULL, bytes BYTEA NOT NULL, record_hash BYTEA NOT NULL,
                    chip_id BYTEA, counter BIGINT, serial TEXT, document_digest BYTEA)
                """,
                "CREATE UNIQUE INDEX IF NOT EXISTS entries_stamp ON entries(chip_id, counter) WHERE kind = 0",
                "CREATE INDEX IF NOT EXISTS entries_record_hash ON entries(record_hash)",
                "CREATE INDEX IF NOT EXISTS entries_serial ON entries(serial) WHERE serial IS NOT NULL",
                "CREATE INDEX IF NOT EXISTS entries_document ON entries(document_digest) WHERE document_digest IS NOT NULL",
                "CREATE INDEX IF NOT EXISTS entries_chip ON entries(chip_id, kind) WHERE chip_id IS NOT NULL",
                "CREATE TABLE IF NOT EXISTS tiles (level INTEGER NOT NULL, idx BIGINT NOT NULL, hashes BYTEA NOT NULL, PRIMARY KEY (level, idx))",
                "CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS suspects (chip_id BYTEA PRIMARY KEY, evidence_idx BIGINT NOT NULL)",
            ] {
                _ = try run(connection, PostgresQuery(unsafeSQL: statement))
            }
            _ = try run(connection, "COMMIT")
        }
    }

    /// Runs `body` as the only sequencer of the database: a session-level `pg_advisory_lock` on a
    /// connection of its own, held for the one batch and released after (or with the session, when
    /// the process dies). Waiting instances queue on the lock in PostgreSQL.
    public func exclusively<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        let connection: PostgresConnection
        if let pooled = idle.withLock({ $0.popLast() }) { connection = pooled } else { connection = try connect() }
        do {
            _ = try run(connection, "SELECT pg_advisory_lock(\(Self.sequencerLock))")
        } catch {
            _ = try? connection.close().wait()
            throw LedgerError(code: .storageFailure, reason: "taking the sequencer lock: \(String(reflecting: error))")
        }
        let result: Result<T, LedgerError>
        do throws(LedgerError) { result = .success(try body()) } catch { result = .failure(error) }
        if (try? run(connection, "SELECT pg_advisory_unlock(\(Self.sequencerLock))")) != nil {
            idle.withLock { $0.append(connection) }
        } else {
            // The session ends, and the lock with it.
            _ = try? connection.close().wait()
        }
        return try result.get()
    }

    /// See `LedgerStorage/latest()`.
    public func latest() throws(LedgerError) -> (size: UInt64, checkpoint: String)? {
        try withConnection("reading the latest checkpoint") { connection in
            guard let row = try run(connection, "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").first else { return nil }
            let (size, note) = try row.decode((Int64, String).self)
            return (UInt64(size), note)
        }
    }

    /// See `LedgerStorage/commit(_:)`. One transaction; fenced (the type's discussion).
    public func commit(_ batch: SequencedBatch) throws(LedgerError) {
        let oldSize = batch.size - UInt64(batch.entries.count)
        try withConnection("committing a batch") { connection in
            _ = try run(connection, "BEGIN")
            _ = try run(connection, "SELECT pg_advisory_xact_lock(\(Self.commitLock))")
            let stored = try run(connection, "SELECT size FROM checkpoints ORDER BY size DESC LIMIT 1").first.map { try $0.decode(Int64.self) }
            guard UInt64(stored ?? 0) == oldSize else {
                throw LedgerError(code: .storageFailure,
                                  reason: "stale tree: the batch grows size \(oldSize), the database holds \(stored.map { String($0) } ?? "nothing")")
            }
            // Multi-row INSERTs (at most 1,000 rows each; 8 parameters a row stays far below 65,535).
            for chunkStart in stride(from: 0, to: batch.entries.count, by: 1_000) {
                let chunk = batch.entries[chunkStart..<min(chunkStart + 1_000, batch.entries.count)]
                var binds = PostgresBindings(capacity: chunk.count * 8)
                var rows: [String] = []
                for (offset, entry) in chunk.enumerated() {
                    let p = offset * 8
                    rows.append("($\(p + 1), $\(p + 2), $\(p + 3), $\(p + 4), $\(p + 5), $\(p + 6), $\(p + 7), $\(p + 8))")
                    binds.append(Int64(entry.index))
                    binds.append(entry.kind.rawValue)
                    binds.append(ByteBuffer(bytes: entry.bytes))
                    binds.append(ByteBuffer(bytes: entry.recordHash))
                    binds.append(entry.chipID.map { ByteBuffer(bytes: $0) })
                    binds.append(entry.counter.map { Int64($0) })
                    binds.append(entry.serial)
                    binds.append(entry.documentDigest.map { ByteBuffer(bytes: $0) })
                }
                _ = try run(connection, PostgresQuery(unsafeSQL: """
                    INSERT INTO entries (idx, kind, bytes, record_hash, chip_id, counter, serial, document_digest)
                    VALUES \(rows.joined(separator: ", "))
                    """, binds: binds))
            }
            if !batch.tiles.isEmpty {
                var binds = PostgresBindings(capacity: batch.tiles.count * 3)
                var rows: [String] = []
                for (offset, tile) in batch.tiles.enumerated() {
                    rows.append("($\(offset * 3 + 1), $\(offset * 3 + 2), $\(offset * 3 + 3))")
                    binds.append(tile.level)
                    binds.append(Int64(tile.index))
                    binds.append(ByteBuffer(bytes: tile.hashes))
                }
                _ = try run(connection, PostgresQuery(unsafeSQL: """
                    INSERT INTO tiles (level, idx, hashes) VALUES \(rows.joined(separator: ", "))
                    ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes
                    """, binds: binds))
            }
            for suspect in batch.suspects {
                _ = try run(connection, """
                    INSERT INTO suspects (chip_id, evidence_idx) VALUES (\(ByteBuffer(bytes: suspect.chipID)), \(Int64(suspect.evidenceIndex)))
                    ON CONFLICT (chip_id) DO NOTHING
                    """)
            }
            // A plain INSERT: a second, different checkpoint for one size fails the transaction.
            _ = try run(connection, "INSERT INTO checkpoints (size, note) VALUES (\(Int64(batch.size)), \(batch.checkpoint))")
            _ = try run(connection, "COMMIT")
        }
    }

    /// See `LedgerStorage/tile(level:index:)`.
    public func tile(level: Int, index: UInt64) throws(LedgerError) -> [UInt8]? {
        try withConnection("reading a tile") { connection in
            try run(connection, "SELECT hashes FROM tiles WHERE level = \(level) AND idx = \(Int64(index))").first
                .map { Array(try $0.decode(Data.self)) }
        }
    }

    private static let entryColumns = "idx, kind, bytes, chip_id, counter, serial, document_digest"

    private static func entry(_ row: PostgresRow) throws -> StoredEntry {
        let (index, kind, bytes, chipID, counter, serial, digest) = try row.decode((Int64, Int, Data, Data?, Int64?, String?, Data?).self)
        return StoredEntry(index: UInt64(index), kind: StoredEntry.Kind(rawValue: kind) ?? .stampRecord, bytes: Array(bytes),
                           chipID: chipID.map { Array($0) }, counter: counter.map { UInt32(truncatingIfNeeded: $0) },
                           serial: serial, documentDigest: digest.map { Array($0) })
    }

    /// See `LedgerStorage/entries(start:count:)`.
    public func entries(start: UInt64, count: Int) throws(LedgerError) -> [StoredEntry] {
        try withConnection("reading entries") { connection in
            try run(connection, PostgresQuery(unsafeSQL: "SELECT \(Self.entryColumns) FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                                              binds: Self.binds(Int64(start), Int64(start) + Int64(count)))).map(Self.entry)
        }
    }

    /// See `LedgerStorage/stampEntry(chipID:counter:)`.
    public func stampEntry(chipID: [UInt8], counter: UInt32) throws(LedgerError) -> StoredEntry? {
        try withConnection("looking up a stamp") { connection in
            try run(connection, PostgresQuery(unsafeSQL: "SELECT \(Self.entryColumns) FROM entries WHERE kind = 0 AND chip_id = $1 AND counter = $2",
                                              binds: Self.binds(ByteBuffer(bytes: chipID), Int64(counter)))).first.map(Self.entry)
        }
    }

    /// See `LedgerStorage/lookup(_:)`.
    public func lookup(_ key: LookupKey) throws(LedgerError) -> [UInt64] {
        let query: PostgresQuery = switch key {
        case .recordHash(let hash): "SELECT idx FROM entries WHERE record_hash = \(ByteBuffer(bytes: hash)) ORDER BY idx"
        case .serial(let serial): "SELECT idx FROM entries WHERE serial = \(serial) ORDER BY idx"
        case .documentDigest(let digest): "SELECT idx FROM entries WHERE document_digest = \(ByteBuffer(bytes: digest)) ORDER BY idx"
        case .chipID(let chipID): "SELECT idx FROM entries WHERE chip_id = \(ByteBuffer(bytes: chipID)) ORDER BY idx"
        }
        return try withConnection("looking up entries") { connection in
            try run(connection, query).map { UInt64(try $0.decode(Int64.self)) }
        }
    }

    /// See `LedgerStorage/suspectEvidence(chipID:)`.
    public func suspectEvidence(chipID: [UInt8]) throws(LedgerError) -> UInt64? {
        try withConnection("reading suspects") { connection in
            try run(connection, "SELECT evidence_idx FROM suspects WHERE chip_id = \(ByteBuffer(bytes: chipID))").first.map { UInt64(try $0.decode(Int64.self)) }
        }
    }

    /// See `LedgerStorage/chipEntries(chipID:kinds:)`.
    public func chipEntries(chipID: [UInt8], kinds: [StoredEntry.Kind]) throws(LedgerError) -> [StoredEntry] {
        guard !kinds.isEmpty else { return [] }
        return try withConnection("reading a chip's entries") { connection in
            try run(connection, "SELECT \(unescaped: Self.entryColumns) FROM entries WHERE chip_id = \(ByteBuffer(bytes: chipID)) AND kind = ANY(\(kinds.map(\.rawValue))) ORDER BY idx")
                .map(Self.entry)
        }
    }

    private static func binds(_ first: some PostgresNonThrowingEncodable, _ second: some PostgresNonThrowingEncodable) -> PostgresBindings {
        var binds = PostgresBindings(capacity: 2)
        binds.append(first)
        binds.append(second)
        return binds
    }

    /// Empties every table of the ledger (tests and benchmarks that reuse one database).
    package func dropAll() throws(LedgerError) {
        try withConnection("emptying the ledger tables") { connection in
            _ = try run(connection, "TRUNCATE entries, tiles, checkpoints, suspects")
        }
    }
}

extension PostgresStorage {
    /// Creates an empty database `name` on the server `url` names and returns its URL (tests and
    /// the benchmark give each run a database of its own).
    package static func createDatabase(serverURL url: String, name: String) throws(LedgerError) -> String {
        guard Self.isPostgresURL(url), var components = URLComponents(string: url), let host = components.host, let user = components.user,
              name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw LedgerError(code: .malformedInput, reason: "cannot create database \(name) at \(url)")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        do {
            let connection = try PostgresConnection.connect(
                on: group.next(),
                configuration: .init(host: host, port: components.port ?? 5432, username: user, password: components.password,
                                     database: database.isEmpty ? nil : database, tls: .disable),
                id: 0, logger: Logger(label: "sealledger.postgres")).wait()
            defer { _ = try? connection.close().wait() }
            _ = try connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "sealledger.postgres")).wait()
        } catch {
            throw LedgerError(code: .storageFailure, reason: "creating database \(name): \(String(reflecting: error))")
        }
        components.path = "/" + name
        return components.string ?? url
    }
}
