import Foundation
import SealConformance
import SealHostDriver
import SealProtocol
import Testing

/// A token that answers every APDU with one status word and counts connections.
actor ScriptedTransport: CardTransport {
    nonisolated let name = "scripted"
    private(set) var connects = 0
    private(set) var disconnects = 0
    private(set) var sent: [[UInt8]] = []

    func connect() async throws -> [UInt8] {
        connects += 1
        return [0x3B, 0x8A, 0x81, 0x01, 0x80, 0x73, 0x80, 0x00, 0xC0, 0x54, 0x53, 0x45, 0x41, 0x4C, 0xF6]
    }

    func reset() async throws -> [UInt8] { try await connect() }
    func disconnect() async { disconnects += 1 }

    func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        sent.append(apdu)
        return [0x6D, 0x00]
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

struct SomeError: Error {}

@Suite("Conformance runner")
struct RunnerTests {
    @Test func runnerCatchesEverythingAndReports() async throws {
        let transport = ScriptedTransport()
        let target = ConformanceTarget(name: "scripted", openToken: { transport }, pin: "1234", puk: "12345678")
        let cases = [
            ConformanceCase(id: "SEAL-TST-001", title: "passes", specSection: "§2.3") { ctx in
                try expectSW(try await ctx.card.send([0x00, 0xCA, 0x01, 0x01, 0x00]), .insNotSupported, "GET DATA before SELECT")
                await ctx.note("fine")
            },
            ConformanceCase(id: "SEAL-TST-002", title: "fails an expectation", specSection: "§8.1") { ctx in
                try expectSW(try await ctx.card.send([0x00, 0xCA, 0x01, 0x01, 0x00]), .success, "GET DATA")
            },
            ConformanceCase(id: "SEAL-TST-003", title: "driver error", specSection: "§11") { _ in
                throw SealDriverError(code: .noResponse, reason: "mute")
            },
            ConformanceCase(id: "SEAL-TST-004", title: "any error", specSection: "§11", level: .optional) { _ in throw SomeError() },
            ConformanceCase(id: "SEAL-TST-005", title: "needs the issuer key", specSection: "§8.4", requirements: [.issuerKey]) { _ in
                Issue.record("must not run")
            },
            ConformanceCase(id: "SEAL-TST-006", title: "skips itself", specSection: "§8.6") { _ in throw ConformanceSkip("not here") },
            ConformanceCase(id: "SEAL-TST-007", title: "cleanup fails", specSection: "§8.6") { ctx in
                await ctx.onCleanup { throw SomeError() }
            },
        ]
        let log = ProgressLog()
        let report = await ConformanceRunner(cases: cases).run(target: target) { log.add($0.progressLine) }

        #expect(report.results.map(\.outcome) == [.pass, .fail, .fail, .fail, .skip, .skip, .fail])
        #expect(report.summaryLine == "1 passed, 4 failed, 2 skipped")
        #expect(!report.allMandatoryPassed)
        #expect(report.results[0].detail == "fine")
        #expect(report.results[1].detail.contains("expected SW 9000, got 6D00 — command 00 CA 01 01 00"))
        #expect(report.results[2].detail.contains("noResponse"))
        #expect(report.results[4].detail.contains(".issuerKey"))
        #expect(report.results[5].detail == "not here")
        #expect(report.results[6].detail.contains("cleanup failed"))
        #expect(report.atrHex == "3B8A810180738000C0545345414CF6")
        #expect(report.chipIDHex.isEmpty)
        #expect(log.all.count == cases.count)
        #expect(log.all[0].hasPrefix("[PASS] SEAL-TST-001 §2.3 passes ("))
        // One connection for the metadata plus one per case that ran; each disconnected.
        let connects = await transport.connects
        let disconnects = await transport.disconnects
        #expect(connects == 1 + 6)  // all but SEAL-TST-005 opened the token
        #expect(disconnects == connects)
    }

    @Test func offeredRequirements() {
        let open: @Sendable () async throws -> any CardTransport = { ScriptedTransport() }
        let bare = ConformanceTarget(name: "bare", openToken: open, pin: "1234", puk: "12345678")
        #expect(bare.offeredRequirements.isEmpty)
        #expect(bare.missingReason(.faultInjection)?.contains("simulator") == true)
        let full = ConformanceTarget(name: "sim", openToken: open, pin: "1234", puk: "12345678",
                                     issuerSigner: P256IssuerSigner(privateKey: .init()), makeFreshToken: open,
                                     makeRemoteAuthorizationToken: { (ScriptedTransport(), .init(), "1234") }, isSimulator: true)
        #expect(full.offeredRequirements == Set(ConformanceRequirement.allCases))
    }
}
