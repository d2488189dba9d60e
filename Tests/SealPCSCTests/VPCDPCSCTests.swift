import SealPCSC
import SealSimulatorServers
import SealHostDriver
import SealProtocol
import SealFirmware
import Foundation
import SealSimulatedToken
import Testing

// The card server against the real pcscd + vpcd, through opensc-tool. Needs pcscd running with
// the vpcd readers (scripts/pcscd.sh start) and nothing else on slot 0's port, so it only runs
// with SEALKIT_PCSC_TESTS=1. SEALKIT_VPCD_PORT (default 35963) and SEALKIT_VPCD_READER (default
// "Virtual PCD 00 00") select another vpcd; PCSCLITE_CSOCK_NAME another pcscd socket.

@Suite("vpcd card server through pcscd", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SEALKIT_PCSC_TESTS"] == "1"))
struct VPCDPCSCTests {
    static let environment = ProcessInfo.processInfo.environment
    static let reader = environment["SEALKIT_VPCD_READER"] ?? "Virtual PCD 00 00"
    static let port = environment["SEALKIT_VPCD_PORT"].flatMap { UInt16($0) } ?? 35963

    /// Runs opensc-tool on the reader; its exit status and output.
    static func openscTool(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["opensc-tool", "-r", reader] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// opensc-tool, retried for up to 5 s until `accept` holds (pcscd notices a card within ~400 ms).
    static func openscTool(_ arguments: [String], until accept: ((status: Int32, output: String)) -> Bool) async throws -> (status: Int32, output: String) {
        var result = try openscTool(arguments)
        for _ in 0..<25 where !accept(result) {
            try await Task.sleep(for: .milliseconds(200))
            result = try openscTool(arguments)
        }
        return result
    }

    @Test("opensc-tool reads the seal ATR, selects the applet, and sees the token removed and back")
    func openscToolSession() async throws {
        let state = URL(fileURLWithPath: "/tmp/sealkit-vpcd-pcsc-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: state) }
        var configuration = VPCDCardServer.Configuration(stateDirectory: state, basePort: Self.port, slots: 1)
        configuration.reinsertDelayMilliseconds = 1_000
        let server = try await VPCDCardServer.start(configuration: configuration) { _ in }
        defer { server.stop() }

        let atr = try await Self.openscTool(["-a"]) { $0.status == 0 }
        #expect(atr.output.contains("3b:8a:81:01:80:73:80:00:c0:54:53:45:41:4c:f6"), "\(atr.output)")
        let select = try Self.openscTool(["-s", "00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01"])
        #expect(select.output.contains("SW1=0x90, SW2=0x00"), "\(select.output)")

        let client = SimulatorControlClient(stateDirectory: state)
        try client.remove(slot: 0)
        let removed = try await Self.openscTool(["-a"]) { $0.status != 0 }
        #expect(removed.status != 0, "the card is still seen after removal: \(removed.output)")
        try client.insert(slot: 0)
        let back = try await Self.openscTool(["-a"]) { $0.status == 0 }
        #expect(back.output.contains("3b:8a:81:01:80:73:80:00:c0:54:53:45:41:4c:f6"), "\(back.output)")
    }
}
