import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sealctl` on a default token whose state is on read-only media.
@Suite("sealctl on a read-only token")
struct ReadOnlyTokenCLITests {
    /// `chmod`, and as root (whom `chmod` does not stop) `chattr +i`/`-i` too.
    static func setReadOnly(_ readOnly: Bool, _ paths: [(String, mode_t)]) throws {
        for (path, mode) in readOnly ? paths : paths.reversed() {
            if readOnly { #expect(chmod(path, mode) == 0) }
            if geteuid() == 0 {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["chattr", readOnly ? "+i" : "-i", path]
                try process.run()
                process.waitUntilExit()
                try #require(process.terminationStatus == 0, "chattr failed: root needs it to make \(path) read-only")
            }
            if !readOnly { #expect(chmod(path, mode) == 0) }
        }
    }

    @Test func infoWorksAndAStampFailsInOneLineChangingNothing() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.run(["info"]).status == 0)
        let tokens = sandbox.path("home/tokens")
        let state = tokens + "/default.nvm"
        let before = try Data(contentsOf: URL(fileURLWithPath: state))
        try Self.setReadOnly(true, [(state, 0o444), (tokens, 0o555)])
        defer { try? Self.setReadOnly(false, [(state, 0o600), (tokens, 0o755)]) }

        let info = try await sandbox.run(["info"])
        #expect(info.status == 0, "\(info)")
        #expect(info.stdout.contains("Counter") || info.stdout.contains("counter"), "\(info)")

        let document = try sandbox.write("doc.txt", "text\n")
        let stamp = try await sandbox.run(["stamp", "--document", document, "--pin", "123456", "--out", sandbox.path("r.json")])
        #expect(stamp.status != 0, "\(stamp)")
        #expect(stamp.stderrLines.count == 1, "\(stamp)")
        #expect(stamp.standardError.contains("read-only"), "\(stamp)")
        #expect(stamp.standardError.contains("storage is read-only"), "\(stamp)")
        #expect(!stamp.standardError.contains("reader connection"), "\(stamp)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: state)) == before)
    }
}
