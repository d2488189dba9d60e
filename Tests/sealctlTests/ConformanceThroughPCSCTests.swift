import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The conformance suite through the machine's pcscd and vpcd, against tokens served by a real
// `sealsim serve --vpcd` on the tray readers that scripts/pcscd.sh configures ("Virtual PCD 35965
// 00 0k" on port 35965 + k, …). Gated by SEALKIT_PCSC_TESTS=1: it needs pcscd, and it leaves the
// readers "Virtual PCD 00 00"/"00 01" (ports 35963/35964) to the other PC/SC tests.

/// `sealsim serve --vpcd HOST:PORT --slots N --state DIR`, stopped (SIGTERM) when released.
final class SimulatorServe {
    let process = Process()
    let state: String

    init(port: UInt16, slots: Int, sandbox: Sandbox) throws {
        state = sandbox.path("sealsim-\(port)")
        process.executableURL = Executable.sealsim.url
        process.arguments = ["serve", "--vpcd", "127.0.0.1:\(port)", "--slots", "\(slots)", "--state", state]
        process.environment = sandbox.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit { stop() }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

@Suite("conformance through pcscd (SEALKIT_PCSC_TESTS=1)", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SEALKIT_PCSC_TESTS"] == "1"))
struct ConformanceThroughPCSCTests {
    /// Waits until `sealctl readers --json` shows a card in every reader of `names`.
    static func waitForCards(_ names: [String], sandbox: Sandbox) async throws {
        for _ in 0..<100 {
            let listing = try await sandbox.run(["readers"])
            let present = names.allSatisfy { name in
                listing.stdout.split(separator: "\n").contains { $0.contains(name) && $0.contains("card present") }
            }
            if present { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw SandboxError("no card in \(names) after 20 s")
    }

    @Test("every case runs through pcscd with the simulator's control socket: 0 skipped, 0 failed")
    func wholeSuiteThroughPCSC() async throws {
        let sandbox = try Sandbox()
        let simulator = try SimulatorServe(port: 35965, slots: 2, sandbox: sandbox)
        defer { simulator.stop() }
        let (underTest, fresh) = ("Virtual PCD 35965 00 00", "Virtual PCD 35965 00 01")
        try await Self.waitForCards([underTest, fresh], sandbox: sandbox)
        let result = try await sandbox.run([
            "conformance", "--reader", underTest, "--vendor-root", Sandbox.vendorRoot, "--simulator-control", simulator.state,
            "--fresh-slot", "1", "--fresh-reader", fresh, "--json", "-",
        ], timeout: .seconds(1_200))
        let report = try #require(try JSONSerialization.jsonObject(with: result.standardOutput) as? [String: Any], "\(result)")
        let summary = try #require(report["totals"] as? [String: Any], "\(report.keys)")
        let cases = try #require(report["results"] as? [[String: Any]])
        let notPassed = cases.filter { $0["result"] as? String != "pass" }.map { "\($0["id"] ?? "?"): \($0["detail"] ?? "")" }
        #expect(notPassed.isEmpty, "\(notPassed.joined(separator: "\n"))")
        #expect(summary["skipped"] as? Int == 0)
        #expect(summary["failed"] as? Int == 0)
        #expect(cases.count >= 100)
        #expect(result.status == 0, "\(result.standardError)")
    }

    @Test("--all-readers validates a tray of two chips in parallel: one report per chip, named by chip ID, and a summary")
    func trayOfTwo() async throws {
        let sandbox = try Sandbox()
        let simulator = try SimulatorServe(port: 35967, slots: 2, sandbox: sandbox)
        defer { simulator.stop() }
        let readers = ["Virtual PCD 35967 00 00", "Virtual PCD 35967 00 01"]
        try await Self.waitForCards(readers, sandbox: sandbox)
        let reports = sandbox.path("tray")
        let result = try await sandbox.run([
            "conformance", "--all-readers", "--readers-matching", "Virtual PCD 35967", "--report-dir", reports,
            "--issuer-key", Sandbox.issuerKey, "--vendor-root", Sandbox.vendorRoot,
        ], timeout: .seconds(900))
        #expect(result.status == 0, "\(result)")

        // One JSON, JUnit and Markdown report per chip, named by the chip ID the report states.
        let files = try FileManager.default.contentsOfDirectory(atPath: reports).sorted()
        let jsonFiles = files.filter { $0.hasSuffix(".json") }
        #expect(jsonFiles.count == 2, "\(files)")
        var chipIDs: [String] = []
        for file in jsonFiles {
            let data = try Data(contentsOf: URL(fileURLWithPath: reports).appendingPathComponent(file))
            let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let chipID = try #require(report["chipID"] as? String, "\(report.keys)")
            #expect(chipID.count == 32)
            #expect(file == chipID + ".json")
            #expect(files.contains(chipID + ".junit.xml") && files.contains(chipID + ".md"))
            let summary = try #require(report["totals"] as? [String: Any])
            #expect(summary["failed"] as? Int == 0)
            #expect((summary["passed"] as? Int ?? 0) > 50)
            chipIDs.append(chipID)
        }
        #expect(Set(chipIDs).count == 2)

        // The summary table: a row per reader with its chip ID, and the tray line.
        let table = try String(contentsOfFile: reports + "/tray.md", encoding: .utf8)
        for reader in readers { #expect(table.contains("| \(reader) |"), "\(table)") }
        for chipID in chipIDs { #expect(table.contains(chipID)) }
        #expect(table.contains("2 chip(s), 0 failed"))
        #expect(result.stdout.contains("2 chip(s), 0 failed"))
    }
}

@Suite("conformance options for the real stacks and the tray")
struct ConformanceOptionTests {
    @Test("misused --all-readers, --simulator-control, --fresh-slot, --report-dir and --readers-matching are usage errors (64)",
          arguments: [
              ["--all-readers", "--reader", "Virtual PCD 00 00"],
              ["--all-readers", "--json", "out.json"],
              ["--all-readers", "--simulator-control", "state", "--fresh-slot", "1", "--fresh-reader", "x"],
              ["--report-dir", "reports"],
              ["--readers-matching", "Virtual"],
              ["--simulator-control", "state", "--fresh-slot", "1", "--fresh-reader", "x"],
              ["--reader", "x", "--simulator-control", "state"],
              ["--reader", "x", "--simulator-control", "state", "--fresh-slot", "-1", "--fresh-reader", "y"],
              ["--reader", "x", "--fresh-slot", "1"],
          ])
    func usageErrors(arguments: [String]) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["conformance"] + arguments)
        #expect(result.status == 64, "\(result)")
        #expect(result.stdout.isEmpty)
    }
}
