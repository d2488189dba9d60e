import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The conformance suite over USB/IP, against tokens served by a real `sealsim serve --usbip`:
// SealKit's USB/IP client imports device 1-1 (the token under test) and 1-2 (the fresh-token
// slot), and the server's control socket swaps fresh tokens into 1-2, tears them and power-cycles
// them while the device stays attached. Needs no kernel module and no pcscd.

/// `sealsim serve --usbip 127.0.0.1:PORT --slots N --state DIR` on a free port, stopped (SIGTERM)
/// when released.
final class USBIPSimulatorServe {
    let process = Process()
    let state: String
    let port: UInt16

    init(slots: Int, sandbox: Sandbox) throws {
        port = try Self.freePort()
        state = sandbox.path("sealsim-usbip")
        process.executableURL = Executable.sealsim.url
        process.arguments = ["serve", "--usbip", "127.0.0.1:\(port)", "--slots", "\(slots)", "--state", state]
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

    /// Waits until the control socket answers `status` (the server listens before it opens it).
    func waitUntilServing(sandbox: Sandbox) async throws -> String {
        for _ in 0..<300 {
            let status = try await sandbox.run(["sim", "status", "--usbip", "--state", state])
            if status.status == 0 { return status.stdout }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw SandboxError("sealsim serve --usbip did not come up on port \(port)")
    }

    /// A TCP port nobody listens on now (bound to port 0, then released).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SandboxError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw SandboxError("cannot bind a loopback port") }
        return UInt16(bigEndian: address.sin_port)
    }
}

@Suite("conformance over USB/IP", .serialized)
struct ConformanceThroughUSBIPTests {
    @Test("every case runs over USB/IP with the simulator's control socket: 0 skipped, 0 failed")
    func wholeSuiteOverUSBIP() async throws {
        let sandbox = try Sandbox()
        let simulator = try USBIPSimulatorServe(slots: 2, sandbox: sandbox)
        defer { simulator.stop() }
        let status = try await simulator.waitUntilServing(sandbox: sandbox)
        #expect(status.hasPrefix("mode=usbip usbip=127.0.0.1:\(simulator.port) slot0="), "\(status)")

        let started = ContinuousClock.now
        let result = try await sandbox.run([
            "conformance", "--usbip", "127.0.0.1:\(simulator.port)/1-1", "--vendor-root", Sandbox.vendorRoot, "--simulator-control", simulator.state,
            "--fresh-slot", "1", "--json", "-",
        ], timeout: .seconds(1_200))
        let elapsed = ContinuousClock.now - started
        let report = try #require(try JSONSerialization.jsonObject(with: result.standardOutput) as? [String: Any], "\(result)")
        let summary = try #require(report["totals"] as? [String: Any], "\(report.keys)")
        let cases = try #require(report["results"] as? [[String: Any]])
        let notPassed = cases.filter { $0["result"] as? String != "pass" }.map { "\($0["id"] ?? "?"): \($0["detail"] ?? "")" }
        #expect(notPassed.isEmpty, "\(notPassed.joined(separator: "\n"))")
        #expect(summary["skipped"] as? Int == 0)
        #expect(summary["failed"] as? Int == 0)
        #expect(cases.count >= 200)
        #expect(result.status == 0, "\(result.standardError)")
        print("conformance over USB/IP: \(cases.count) cases, \(summary["passed"] ?? "?") passed, \(summary["skipped"] ?? "?") skipped in \(elapsed)")

        // The fresh tokens lived in memory: the slot files are the tokens the server made.
        let after = try await sandbox.run(["sim", "status", "--usbip", "--state", simulator.state, "--json"])
        #expect(after.status == 0, "\(after)")
        #expect(after.stdout.contains("\"transport\" : \"usbip\""), "\(after)")
    }

    @Test("the fresh-token device must differ from the device under test")
    func freshDeviceIsNotTheDeviceUnderTest() async throws {
        let sandbox = try Sandbox()
        let simulator = try USBIPSimulatorServe(slots: 2, sandbox: sandbox)
        defer { simulator.stop() }
        _ = try await simulator.waitUntilServing(sandbox: sandbox)
        let result = try await sandbox.run([
            "conformance", "--usbip", "127.0.0.1:\(simulator.port)/1-1", "--vendor-root", Sandbox.vendorRoot, "--simulator-control", simulator.state, "--fresh-slot", "0",
        ])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrLines.count == 1, "\(result)")
        #expect(result.standardError.contains("is the device under test"), "\(result)")
    }
}

@Suite("conformance options over USB/IP")
struct ConformanceUSBIPOptionTests {
    @Test("misused --fresh-usbip, --fresh-reader and --fresh-slot over USB/IP are usage errors (64)",
          arguments: [
              ["--usbip", "127.0.0.1:1/1-1", "--simulator-control", "state"],
              ["--usbip", "127.0.0.1:1/1-1", "--simulator-control", "state", "--fresh-slot", "-1"],
              ["--usbip", "127.0.0.1:1/1-1", "--simulator-control", "state", "--fresh-slot", "1", "--fresh-reader", "x"],
              ["--reader", "x", "--simulator-control", "state", "--fresh-slot", "1", "--fresh-reader", "y", "--fresh-usbip", "h/1-2"],
              ["--usbip", "127.0.0.1:1/1-1", "--fresh-usbip", "127.0.0.1:1/1-2"],
              ["--usbip", "127.0.0.1:1/1-1", "--simulator-control", "state", "--fresh-slot", "1", "--fresh-usbip", "127.0.0.1:1"],
          ])
    func usageErrors(arguments: [String]) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["conformance"] + arguments)
        #expect(result.status == 64, "\(result)")
        #expect(result.stdout.isEmpty)
    }
}
