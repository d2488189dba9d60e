import Foundation
import GRDB

/// The IDs (`jti`) of revoked bearer tokens (docs/access.md, "Revoking a token"), kept in the access
/// database (table `revoked_token`) so a revocation survives restarts and reaches a running server
/// at once: ``AccessTokenAuthority/verify(_:)`` asks on every request, and `sealledger token revoke`
/// writes the same table while the server runs.
///
/// A revoked ID stays revoked: rows are never deleted (a trigger refuses it). Tokens are not stored,
/// so any well-formed ID may be revoked, including one not issued yet.
public final class TokenRevocations: Sendable {
    private let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens the access database at `path` (``PersonalDataVault/defaultPath(ledgerDatabase:)``),
    /// creating the file and the table when missing. Needs no personal-data key.
    /// - Throws: ``AccessError`` `.storageFailure`.
    public init(path: String) throws(AccessError) {
        self.path = path
        do {
            pool = try AccessDatabase.open(path: path)
            // Not one of the vault's migrations: the table is created here, by whichever opens first.
            try pool.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS revoked_token (token_id TEXT PRIMARY KEY, revoked_at REAL NOT NULL, revoked_by TEXT NOT NULL);
                    CREATE TRIGGER IF NOT EXISTS revoked_token_no_delete BEFORE DELETE ON revoked_token
                        BEGIN SELECT RAISE(ABORT, 'a revocation is permanent'); END;
                    """)
            }
        } catch {
            throw AccessError(code: .storageFailure, reason: "cannot open the token revocations in \(path): \(error)")
        }
    }

    /// Whether `tokenID` is a token ID this ledger could have issued: 1 to 128 letters, digits and hyphens.
    public static func isWellFormed(_ tokenID: String) -> Bool {
        !tokenID.isEmpty && tokenID.utf8.count <= 128
            && tokenID.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
    }

    /// Revokes `tokenID` (durably: committed with synchronous writes before this returns). Returns
    /// false when it was already revoked.
    /// - Throws: ``AccessError`` `.malformedInput` for an ID that is not well formed; `.storageFailure`.
    @discardableResult
    public func revoke(_ tokenID: String, by subject: String, at time: Date = Date()) throws(AccessError) -> Bool {
        guard Self.isWellFormed(tokenID) else {
            throw AccessError(code: .malformedInput, reason: "a token ID (jti) is 1 to 128 letters, digits and hyphens")
        }
        do {
            return try pool.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO revoked_token (token_id, revoked_at, revoked_by) VALUES (?, ?, ?)",
                               arguments: [tokenID.lowercased(), time.timeIntervalSince1970, subject])
                return db.changesCount == 1
            }
        } catch {
            throw AccessError(code: .storageFailure, reason: "cannot record the revocation: \(error)")
        }
    }

    /// Whether `tokenID` was revoked.
    /// - Throws: ``AccessError`` `.storageFailure`.
    public func isRevoked(_ tokenID: String) throws(AccessError) -> Bool {
        do {
            return try pool.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM revoked_token WHERE token_id = ?", arguments: [tokenID.lowercased()]) ?? false
            }
        } catch {
            throw AccessError(code: .storageFailure, reason: "cannot read the token revocations: \(error)")
        }
    }
}
