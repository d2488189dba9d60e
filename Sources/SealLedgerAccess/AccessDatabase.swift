import Foundation
import GRDB

/// The access database file (docs/access.md) as both of its users open it: the personal-data vault
/// and the token revocations share one file, written by the server and by `sealledger` commands
/// while it runs.
enum AccessDatabase {
    /// Opens (creating when missing) the SQLite file at `path`: mode 0600, since it holds personal
    /// data even sealed (SQLite gives its -wal and -shm the same mode); a 10 s busy timeout, since the
    /// server and `sealledger keys rotate` or `token revoke` may write at the same time; and
    /// `synchronous = FULL`, so a committed write survives power loss. Throws what Foundation or
    /// GRDB throws; callers wrap it in their own ``AccessError``.
    static func open(path: String) throws -> DatabasePool {
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        return try DatabasePool(path: path, configuration: configuration)
    }
}
