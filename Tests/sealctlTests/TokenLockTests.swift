import Foundation
import Testing

/// Issue 8, defect 1: one writer per file-based token.
@Suite("sealctl: one process at a time on a file-based token")
struct TokenLockTests {
    /// The repro, scaled for CI: four concurrent loops of `sealctl stamp` against one
    /// default token, the first of them racing to make it. Every stamp that exits 0 has its own
    /// counter and serial, the counter is their number, the audit log holds them all and the PIN
    /// keeps every try. Nothing fails: the lock's wait (10 s) covers the others' stamps.
    @Test func concurrentStampsOnTheDefaultToken() async throws {
        let sandbox = try Sandbox()
        let document = try sandbox.write("doc.txt", "a contract")
        let loops = 4, stampsPerLoop = 10
        let results = try await withThrowingTaskGroup(of: [CommandResult].self) { group in
            for loop in 0..<loops {
                group.addTask {
                    var results: [CommandResult] = []
                    for index in 0..<stampsPerLoop {
                        // A generous wait: this test is about correctness, not the timeout, on a busy CI box.
                        results.append(try await sandbox.run([
                            "stamp", "--document", document, "--pin", "123456", "--json",
                            "--out", sandbox.path("r-\(loop)-\(index).json"),
                        ], environment: ["SEALKIT_TOKEN_WAIT": "60"]))
                    }
                    return results
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        for result in results {
            #expect(result.status == 0, "\(result)")
            #expect(!result.standardError.contains("File exists"), "\(result)")
        }
        struct Stamped: Decodable { let counter: UInt32; let serial: String }
        let stamped = try results.filter { $0.status == 0 }.map { try $0.decode(Stamped.self) }
        #expect(Set(stamped.map(\.counter)).count == stamped.count, "duplicate counters: \(stamped.map(\.counter).sorted())")
        #expect(Set(stamped.map(\.serial)).count == stamped.count, "duplicate serials")

        let info = try await sandbox.info()
        #expect(info.counter == UInt32(stamped.count))
        #expect(info.pinTriesRemaining == 3)
        let audit = try await sandbox.run(["audit", "--json"])
        #expect(audit.status == 0, "\(audit)")
        struct AuditLog: Decodable {
            struct Entry: Decodable { let counter: UInt32; let serial: String }
            let entries: [Entry]
        }
        let entries = try audit.decode(AuditLog.self).entries
        #expect(Set(entries.map(\.serial)) == Set(stamped.map(\.serial)), "the audit log lost stamps")
        let logged = Set(entries.map(\.counter))
        #expect(logged == Set(stamped.map(\.counter)), "the audit log lost stamps")
    }

    /// Processes racing to make the default token: one makes it, the others wait and use it; none
    /// prints a Foundation error ("File exists", "The file doesn’t exist", "Error Domain=…").
    @Test func racingToMakeTheDefaultToken() async throws {
        for _ in 0..<3 {
            let sandbox = try Sandbox()
            let results = try await withThrowingTaskGroup(of: CommandResult.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await sandbox.run(["info", "--json"], environment: ["SEALKIT_TOKEN_WAIT": "60"]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results {
                #expect(result.status == 0, "\(result)")
                #expect(!result.standardError.contains("Error Domain"), "\(result)")
            }
            let chipIDs = Set(try results.filter { $0.status == 0 }.map { try $0.decode(TokenInfo.self).chipID })
            #expect(chipIDs.count == 1, "several tokens were made: \(chipIDs)")
        }
    }

    /// A second process waits a bounded time (SEALKIT_TOKEN_WAIT), then exits 75 with one line
    /// naming the holder. The holder here is `sealsim serve`, which locks each slot's token file
    /// (the same lock file) for as long as it serves it; it points at a vpcd port nobody listens on
    /// and keeps retrying, which is all this test needs.
    @Test func secondProcessGetsTokenInUse() async throws {
        let sandbox = try Sandbox()
        let state = sandbox.path("served")
        let server = Process()
        server.executableURL = Executable.sealsim.url
        server.arguments = ["serve", "--vpcd", "127.0.0.1:1", "--slots", "1", "--state", state]
        server.environment = sandbox.environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let slot = state + "/slot-0.nvm"
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: slot), server.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(FileManager.default.fileExists(atPath: slot), "sealsim serve made no token")

        let started = ContinuousClock.now
        let second = try await sandbox.run(["info", "--token-state", slot], environment: ["SEALKIT_TOKEN_WAIT": "1"])
        let waited = ContinuousClock.now - started
        #expect(second.status == 75, "\(second)")
        #expect(second.stderrLines.count == 1, "\(second)")
        #expect(second.standardError.contains("in use by another process (pid \(server.processIdentifier))"), "\(second)")
        #expect(waited >= .seconds(1), "gave up after \(waited)")

        server.terminate()
        server.waitUntilExit()
        let after = try await sandbox.run(["info", "--token-state", slot], environment: ["SEALKIT_TOKEN_WAIT": "1"])
        #expect(after.status == 0, "\(after)")
    }

    /// `sealsim manufacture --force` replaces a state file: it waits for the token like every
    /// other writer and exits 75 when another process keeps it open, leaving the file as it was.
    @Test func manufactureForceWaitsForTheToken() async throws {
        let sandbox = try Sandbox()
        let state = sandbox.path("served")
        let server = Process()
        server.executableURL = Executable.sealsim.url
        server.arguments = ["serve", "--vpcd", "127.0.0.1:1", "--slots", "1", "--state", state]
        server.environment = sandbox.environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let slot = state + "/slot-0.nvm"
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: slot), server.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        // The server locks each slot's token before it makes the file (precondition of the test).
        let holder = try await sandbox.run(["info", "--token-state", slot], environment: ["SEALKIT_TOKEN_WAIT": "0"])
        #expect(holder.status == 75, "the server does not hold the token yet: \(holder)")
        let before = try Data(contentsOf: URL(fileURLWithPath: slot))

        let started = ContinuousClock.now
        let manufacture = try await sandbox.run(["manufacture", "--state", slot, "--force"], executable: .sealsim,
                                                environment: ["SEALKIT_TOKEN_WAIT": "1"])
        let waited = ContinuousClock.now - started
        #expect(manufacture.status == 75, "\(manufacture)")
        #expect(manufacture.stderrLines.count == 1, "\(manufacture)")
        #expect(manufacture.standardError.contains("in use by another process (pid \(server.processIdentifier))"), "\(manufacture)")
        #expect(waited >= .seconds(1), "gave up after \(waited)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: slot)) == before, "the served token was replaced")

        server.terminate()
        server.waitUntilExit()
        let after = try await sandbox.run(["manufacture", "--state", slot, "--force"], executable: .sealsim,
                                          environment: ["SEALKIT_TOKEN_WAIT": "1"])
        #expect(after.status == 0, "\(after)")
    }

    /// A folder given as the state file is one clear line, not a Foundation error dump.
    @Test func folderAsStateFile() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["info", "--token-state", sandbox.directory.path])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrLines.count == 1, "\(result)")
        #expect(result.standardError.contains("is a folder, not a token state file"), "\(result)")
    }
}
