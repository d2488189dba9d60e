import SealPCSC
import SealSimulatorServers
import SealFirmware
import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Synchronization
import Testing
import X509

// The simulated seal behind the real pcscd + vpcd, driven by tools nobody here wrote (pcsc_scan,
// scriptor) and by the driver's own PC/SC backend, including a token removed mid-session. Needs
// pcscd with the vpcd readers (scripts/pcscd.sh start) and nothing else on vpcd slot 1 (TCP 35964,
// reader "Virtual PCD 00 01"), so it runs only with SEALKIT_PCSC_TESTS=1 (scripts/test.sh sets it).
// Slot 0 belongs to VPCDPCSCTests, which may run at the same time.

@Suite("Interoperability through pcscd", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SEALKIT_PCSC_TESTS"] == "1"))
struct PCSCInteropTests {
    static let reader = "Virtual PCD 00 01"
    static let port: UInt16 = 35964
    static let sealATR = "3B 8A 81 01 80 73 80 00 C0 54 53 45 41 4C F6"
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Serves one simulated token on vpcd slot 1 for the duration of `body`.
    static func withServedToken<T>(_ body: (URL) async throws -> T) async throws -> T {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-interop-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: state) }
        var configuration = VPCDCardServer.Configuration(stateDirectory: state, basePort: port, slots: 1)
        configuration.reinsertDelayMilliseconds = 500
        // A previous test's token may still look present until pcscd polls (~400 ms).
        try await waitForCard(present: false)
        let server = try await VPCDCardServer.start(configuration: configuration) { _ in }
        defer { server.stop() }
        try await waitForCard(present: true)
        return try await body(state)
    }

    /// Polls pcscd (every 100 ms, at most 5 s) until the reader shows the card present or absent.
    static func waitForCard(present: Bool) async throws {
        for _ in 0..<50 {
            let readers = try await PCSCReaders.list()
            if readers.first(where: { $0.name == reader })?.isCardPresent == present { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(reader) did not become \(present ? "present" : "absent") within 5 s")
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("PCSCTransport connects, transmits inside a transaction, resets and disconnects")
    func transportExchangesAPDUs() async throws {
        try await Self.withServedToken { _ in
            let reader = try #require(try await PCSCReaders.list().first { $0.name == Self.reader && $0.isCardPresent })
            let transport = PCSCTransport(readerName: reader.name)
            let atr = try await transport.connect()
            #expect(atr == reader.atr)
            let select: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x09] + SealApplet.aid + [0x00]
            let answer = try await transport.withTransaction {
                try await transport.transmit(select)
            }
            #expect(answer.suffix(2) == [0x90, 0x00])
            #expect(try await transport.reset() == atr)
            // After the reset the applet is deselected (SPEC §2.3): GET DATA answers 6D00.
            #expect(try await transport.transmit([0x00, 0xCA, 0x01, 0x02, 0x00]) == [0x6D, 0x00])
            await transport.disconnect()
            await #expect(throws: SealDriverError(code: .notConnected, reason: "")) {
                try await transport.transmit(select)
            }
        }
    }

    @Test("pcsc_scan lists the reader and the seal token with its ATR")
    func pcscScanSeesTheToken() async throws {
        try await Self.withServedToken { _ in
            let result = try Self.run("pcsc_scan", ["-c", "-t", "1"])
            #expect(result.output.contains(Self.reader), "\(result.output)")
            #expect(result.output.contains("ATR: \(Self.sealATR)"), "\(result.output)")
        }
    }

    @Test("scriptor runs Fixtures/scripts/seal-basic.scriptor with the documented answers")
    func scriptorRunsTheShippedScript() async throws {
        try await Self.withServedToken { _ in
            let script = Self.repositoryRoot.appendingPathComponent("Fixtures/scripts/seal-basic.scriptor").path
            let result = try Self.run("scriptor", ["-r", Self.reader, script])
            #expect(result.status == 0, "\(result.output)")
            let output = result.output.replacingOccurrences(of: "\n", with: " ")
            for expected in ["OK: \(Self.sealATR)", "< 6F 1E 84 09 F0 53 45 41 4C 4B 49 54 01", "< 07 90 00", "< 6C 04",
                             "< 00 00 00 00 90 00", "< 63 C3", "< 6D 00", "< 69 85"] {
                #expect(output.contains(expected), "scriptor output lacks \(expected): \(result.output)")
            }
        }
    }

    @Test("a stamp made through PC/SC verifies offline, and a removed token gives a SealDriverError, not a hang")
    func stampThenRemoval() async throws {
        try await Self.withServedToken { state in
            let transport = PCSCTransport(readerName: Self.reader)
            let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
            try await token.connect()
            try await token.verifyPIN(TestCredentials.defaultPIN)
            let document = Array("Contract no. 42 through PC/SC\n".utf8)
            let record = try await token.stamp(document: document, metadata: StampMetadata(time: UInt64(Date().timeIntervalSince1970)))
            let verifier = try StampVerifier(trustedRootsPEM: TestCredentials.vendorRootCertificatePEM)
            let report = await verifier.verify(record, document: document)
            #expect(report.isValid, "\(report.failures)")

            try SimulatorControlClient(stateDirectory: state).remove(slot: 0)
            // Right after the socket closes pcscd may still think the card is there: the command
            // fails as "no response" or "card removed" — either way a SealDriverError, and quickly.
            do {
                _ = try await token.info()
                Issue.record("a command to a removed token succeeded")
            } catch let error as SealDriverError {
                #expect(error.code == .cardRemoved || error.code == .noResponse, "\(error)")
            }
            try await Self.waitForCard(present: false)
            do {
                try await token.connect()
                Issue.record("connect to an empty reader succeeded")
            } catch let error as SealDriverError {
                #expect(error.code == .cardRemoved, "\(error)")
                // The PC/SC error is kept underneath, its description in the reason.
                let underlying = try #require(error.underlyingError as? PCSCError, "\(error)")
                #expect(underlying.code == .noCard || underlying.code == .cardRemoved, "\(underlying)")
                #expect(error.reason == underlying.description)
            }
            await token.close()
            #expect(await transport.isConnected == false)
        }
    }

    @Test("a reader pcscd does not know surfaces as a SealDriverError through SealToken")
    func unknownReaderThroughTheToken() async {
        let token = SealToken(transport: PCSCTransport(readerName: "No Such Reader 09 09"), secureChannel: .testVendorRoot)
        let error = await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) { try await token.connect() }
        #expect((error?.underlyingError as? PCSCError)?.code == .readerNotFound, "\(String(describing: error))")
        #expect(error?.message.contains(Self.reader) == true, "\(String(describing: error))")
        await token.close()
    }

    /// The built `sealctl`, next to this test executable in the build products directory
    /// (`SEALKIT_BIN_DIR` overrides it, as for Tests/sealctlTests).
    static var sealctl: URL? {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["SEALKIT_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: override, isDirectory: true))
        } else {
            candidates.append(Bundle.main.bundleURL)
            if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
                candidates.append(executable.deletingLastPathComponent())
            }
            candidates += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        }
        return candidates.map { $0.appendingPathComponent("sealctl") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Issue 8: two processes stamping through one shared reader, while a third application (this
    /// test) keeps selecting the applet, which clears the PIN (SPEC §1.2), as another process's
    /// connect does. Each stamp selects, verifies the PIN and stamps inside one PC/SC transaction,
    /// so no SELECT can land between VERIFY and STAMP: every stamp succeeds, counters distinct.
    /// (pcsc-lite lets a waiting application in only every 100 ms, so the old two-transaction
    /// sequence rarely loses here; StampWithPINTests shows that loss deterministically.)
    @Test("two sealctl processes stamping through one reader never interleave")
    func twoProcessesStampThroughOneReader() async throws {
        let sealctl = try #require(Self.sealctl, "sealctl is not built next to the tests")
        try await Self.withServedToken { state in
            let document = state.appendingPathComponent("doc.txt")
            try Data("a contract".utf8).write(to: document)
            let loops = 2, stampsPerLoop = 10
            let reselector = PCSCTransport(readerName: Self.reader)
            _ = try await reselector.connect()
            let stampingDone = Mutex(false)
            let reselecting = Task {
                let select: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x09] + SealApplet.aid + [0x00]
                var selects = 0
                while !stampingDone.withLock({ $0 }) {
                    if let answer = try? await reselector.transmit(select), answer.suffix(2) == [0x90, 0x00] { selects += 1 }
                    try? await Task.sleep(for: .milliseconds(1))
                }
                return selects
            }
            let outcomes = try await withThrowingTaskGroup(of: [(Int32, String)].self) { group in
                for loop in 0..<loops {
                    group.addTask {
                        var outcomes: [(Int32, String)] = []
                        for index in 0..<stampsPerLoop {
                            let process = Process()
                            process.executableURL = sealctl
                            process.arguments = ["stamp", "--reader", Self.reader, "--vendor-root",
                                                 Self.repositoryRoot.appendingPathComponent("Fixtures/test-vendor-ca/ca-cert.pem").path,
                                                 "--document", document.path, "--pin", "123456",
                                                 "--json", "--out", state.appendingPathComponent("r-\(loop)-\(index).json").path]
                            let pipe = Pipe()
                            process.standardOutput = pipe
                            process.standardError = pipe
                            try process.run()
                            let data = pipe.fileHandleForReading.readDataToEndOfFile()
                            process.waitUntilExit()
                            outcomes.append((process.terminationStatus, String(decoding: data, as: UTF8.self)))
                        }
                        return outcomes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            stampingDone.withLock { $0 = true }
            let selects = await reselecting.value
            await reselector.close()
            #expect(selects > 0)
            struct Stamped: Decodable { let counter: UInt32; let serial: String }
            var counters: [UInt32] = []
            for (status, output) in outcomes {
                #expect(status == 0, "\(output)")
                if status == 0, let stamped = try? JSONDecoder().decode(Stamped.self, from: Data(output.utf8)) {
                    counters.append(stamped.counter)
                }
            }
            #expect(counters.count == loops * stampsPerLoop)
            #expect(Set(counters).count == counters.count, "duplicate counters: \(counters.sorted())")
        }
    }
}
