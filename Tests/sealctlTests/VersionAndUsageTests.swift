import Foundation
import SealHostDriver
import SealProtocol
import Testing

@Suite("sealctl: --version, usage errors, error lines, completion")
struct VersionAndUsageTests {
    @Test(arguments: Executable.allCases)
    func versionIsTheOneSealKitVersion(_ executable: Executable) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["--version"], executable: executable)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == SealKitVersion.current)
    }

    @Test func versionLooksLikeSemanticVersioning() {
        let parts = SealKitVersion.current.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { UInt($0) != nil }, "\(SealKitVersion.current)")
    }

    /// sealsim and sealbench answer a usage error with 64 too, and start nothing.
    @Test(arguments: [
        (Executable.sealsim, ["no-such-command"]),
        (Executable.sealsim, ["serve", "--slots", "x"]),
        (Executable.sealbench, ["--seconds", "0"]),
        (Executable.sealbench, ["--no-such-option"]),
    ])
    func otherExecutablesExit64(_ executable: Executable, _ arguments: [String]) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(arguments, executable: executable)
        #expect(result.status == 64, "\(executable) \(arguments): \(result)")
    }

    /// Every usage error exits 64 (EX_USAGE) and changes nothing on the token.
    @Test(arguments: [
        ["stamp", "--document", "doc.txt", "--pin", "123456", "--out", "r.json", "--latitude", "31.2"],
        ["stamp", "--document", "doc.txt", "--pin", "123456", "--out", "r.json", "--longitude", "121.4"],
        ["stamp", "--document", "doc.txt", "--pin", "123456", "--out", "r.json", "--latitude", "91", "--longitude", "0"],
        ["stamp", "--document", "doc.txt", "--pin", "123456", "--out", "r.json", "--time", "yesterday"],
        ["stamp", "--document", "doc.txt", "--pin", "123456", "--out", "r.json", "--operator", String(repeating: "x", count: 65)],
        ["stamp", "--document", "doc.txt", "--pin", "123456", "--pin-stdin", "--out", "r.json"],
        ["stamp", "--document", "doc.txt", "--out", "r.json"],
        ["stamp", "--document", "doc.txt", "--pin", "12", "--out", "r.json"],
        ["stamp", "--no-such-option"],
        ["verify", "r.json", "--document", "doc.txt"],
        ["verify", "a.json", "b.json", "--document", "doc.txt", "--vendor-root", Sandbox.vendorRoot],
        ["verify", "a.json", "--vendor-root", Sandbox.vendorRoot],
        ["verify", "--vendor-root", Sandbox.vendorRoot],
        ["verify", "a.json", "--document", "doc.txt", "--documents", ".", "--vendor-root", Sandbox.vendorRoot],
        ["verify", "a.json", "--document", "doc.txt", "--vendor-root", Sandbox.vendorRoot, "--at", "soon"],
        ["attest", "--nonce", "xyz"],
        ["attest", "--nonce", String(repeating: "00", count: 33)],
        ["attest", "verify", "att.json"],
        ["lifecycle", "suspend"],
        ["lifecycle", "terminate", "--issuer-key", Sandbox.issuerKey],
        ["pin", "change"],
        ["pin", "unblock", "--new-pin", "1234"],
        ["info", "--reader", "x", "--usbip", "127.0.0.1"],
        ["no-such-command"],
    ])
    func usageErrorsExit64(_ arguments: [String]) async throws {
        let sandbox = try Sandbox()
        try sandbox.write("doc.txt", "a document\n")
        let before = try await sandbox.info()
        let result = try await sandbox.run(arguments)
        #expect(result.status == 64, "\(arguments): \(result)")
        #expect(result.stderrLines.first?.hasPrefix("Error: ") == true, "\(result)")
        let after = try await sandbox.info()
        #expect(after.counter == before.counter)
        #expect(after.lifecycle == before.lifecycle)
        #expect(after.pinTriesRemaining == before.pinTriesRemaining)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("r.json")))
    }

    /// A refusal by the token is the driver's own one-line message, not a rewording.
    @Test func driverErrorIsPrintedAsTheDriverWordsIt() async throws {
        let sandbox = try Sandbox()
        let document = try sandbox.write("doc.txt", "a document\n")
        let result = try await sandbox.run(["stamp", "--document", document, "--pin", "999999", "--out", sandbox.path("r.json")])
        #expect(result.status == 1)
        let expected = SealDriverError(statusWord: StatusWord(rawValue: 0x63C2), command: "VERIFY").message
        #expect(result.standardError == "Error: \(expected)\n", "\(result)")
    }

    @Test func runtimeErrorsAreOneLineAndExit1() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["stamp", "--document", sandbox.path("missing.txt"), "--pin", "123456", "--out", "r.json"])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1 && result.stderrLines[0].contains("missing.txt"), "\(result)")
    }

    /// 75 (EX_TEMPFAIL) when the token cannot be reached: nothing listens on the USB/IP port.
    @Test func unreachableTokenExits75() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["info", "--usbip", "127.0.0.1:9", "--vendor-root", Sandbox.vendorRoot])
        #expect(result.status == 75, "\(result)")
        #expect(result.stderrLines.count == 1)
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScripts(_ shell: String) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["--generate-completion-script", shell])
        #expect(result.status == 0)
        for word in ["sealctl", "lifecycle", "attest", "export", "public-key", "pin-stdin"] {
            #expect(result.stdout.contains(word), "\(shell) completion lacks \(word)")
        }
    }
}
