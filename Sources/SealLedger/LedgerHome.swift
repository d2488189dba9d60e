import Foundation

/// Where a ledger keeps its files by default, and its log key: made on first use.
package enum LedgerHome {
    /// The default origin (and key name) of a new log.
    package static let defaultOrigin = "sealkit.local/ledger"

    /// `$SEALKIT_HOME/ledger`, else `~/.sealkit/ledger`.
    package static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let home = environment["SEALKIT_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".sealkit").path
        return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent("ledger", isDirectory: true)
    }

    /// The default database file: `<directory>/ledger.sqlite`.
    package static func databasePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        directory(environment: environment).appendingPathComponent("ledger.sqlite").path
    }

    /// The log key beside a database: `<database>.key`.
    package static func keyPath(database: String) -> String { database + ".key" }

    /// Reads the log's private key at `path`, or makes one named `origin` and writes it there
    /// (mode 0600, created exclusively so two first starts cannot make two keys).
    package static func loadOrCreateKey(at path: String, origin: String) throws(LedgerError) -> NoteSigner {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            return try NoteSigner(privateKeyText: text)
        }
        let signer = try NoteSigner(generatingFor: origin)
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
        } catch {
            throw LedgerError(code: .storageFailure, reason: "cannot create the directory of \(path): \(error)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            // Someone else made it first: use theirs.
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return try NoteSigner(privateKeyText: text) }
            throw LedgerError(code: .storageFailure, reason: "cannot create the log key \(path): errno \(errno)")
        }
        let bytes = Array((signer.privateKeyText + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else {
            throw LedgerError(code: .storageFailure, reason: "cannot write the log key \(path)")
        }
        return signer
    }
}
