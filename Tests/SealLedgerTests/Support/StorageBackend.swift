import Foundation
import SealLedger
import SealLedgerPostgres
import Testing

/// The storage backends the storage-behaviour tests run on: SQLite always, PostgreSQL when
/// `SEALKIT_POSTGRES_URL` names a server (scripts/test.sh starts one with scripts/postgres.sh).
enum StorageBackend: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    /// The PostgreSQL server tests create their databases on, if any.
    static var postgresServerURL: String? {
        ProcessInfo.processInfo.environment["SEALKIT_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// SQLite, and PostgreSQL when a server is configured.
    static var available: [StorageBackend] { postgresServerURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    /// A new, empty store's location: a SQLite file in `directory`, or a fresh PostgreSQL database.
    func makeLocation(in directory: URL) throws -> String {
        switch self {
        case .sqlite:
            return directory.appendingPathComponent("ledger/ledger.sqlite").path
        case .postgres:
            let server = try #require(Self.postgresServerURL)
            let name = "ledger_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            return try PostgresStorage.createDatabase(serverURL: server, name: name)
        }
    }

    /// Opens the store at `location` (from ``makeLocation(in:)``).
    func open(_ location: String) throws -> any LedgerStorage {
        switch self {
        case .sqlite: try SQLiteStorage(path: location)
        case .postgres: try PostgresStorage(url: location)
        }
    }
}
