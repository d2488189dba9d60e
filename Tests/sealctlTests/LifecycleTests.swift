import Foundation
import Testing

@Suite("sealctl lifecycle")
struct LifecycleTests {
    struct Change: Decodable { let chipID: String; let previous: String; let lifecycle: String }

    @Test func suspendAndResume() async throws {
        let sandbox = try Sandbox()
        let chipID = try await sandbox.info().chipID
        let suspend = try await sandbox.run(["lifecycle", "suspend", "--issuer-key", Sandbox.issuerKey, "--json"])
        #expect(suspend.status == 0, "\(suspend)")
        let change = try suspend.decode(Change.self)
        #expect(change.chipID == chipID && change.previous == "ACTIVE" && change.lifecycle == "SUSPENDED")
        #expect(try await sandbox.info().lifecycle == "SUSPENDED")
        await #expect(throws: SandboxError.self) { try await sandbox.stamp("doc.txt", "text\n") }

        let again = try await sandbox.run(["lifecycle", "suspend", "--issuer-key", Sandbox.issuerKey])
        #expect(again.status == 1 && again.standardError.contains("already SUSPENDED"), "\(again)")

        let resume = try await sandbox.run(["lifecycle", "resume", "--issuer-key", Sandbox.issuerKey])
        #expect(resume.status == 0, "\(resume)")
        #expect(resume.stdout.contains("SUSPENDED → ACTIVE"))
        #expect(try await sandbox.info().lifecycle == "ACTIVE")
        try await sandbox.stamp("doc.txt", "text\n")
    }

    @Test func wrongIssuerKeyChangesNothing() async throws {
        let sandbox = try Sandbox()
        _ = try await sandbox.info()
        let result = try await sandbox.run(["lifecycle", "suspend", "--issuer-key", Sandbox.otherKey])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrLines.count == 1)
        #expect(try await sandbox.info().lifecycle == "ACTIVE")
    }

    @Test func terminateWithoutATerminalNeedsYes() async throws {
        let sandbox = try Sandbox()
        _ = try await sandbox.info()
        let refused = try await sandbox.run(["lifecycle", "terminate", "--issuer-key", Sandbox.issuerKey], stdin: "yes\n")
        #expect(refused.status == 64, "\(refused)")
        #expect(refused.standardError.contains("--yes"))
        let active = try await sandbox.info()
        #expect(active.lifecycle == "ACTIVE")

        let terminated = try await sandbox.run(["lifecycle", "terminate", "--issuer-key", Sandbox.issuerKey, "--yes"])
        #expect(terminated.status == 0, "\(terminated)")
        let info = try await sandbox.info()
        #expect(info.lifecycle == "TERMINATED")
        // Protocol v2 (SPEC §6): termination erases the private key; the public key stays readable
        // so that the audit log of a terminated token can still be checked.
        #expect(info.sealPublicKey != nil && info.sealPublicKey == active.sealPublicKey, "the public key outlives termination")
        await #expect(throws: SandboxError.self) { try await sandbox.stamp("doc.txt", "text\n") }
        let export = try await sandbox.run(["export", "public-key"])
        #expect(export.status == 0 && String(decoding: export.standardOutput, as: UTF8.self).contains("BEGIN PUBLIC KEY"), "\(export)")
    }

    /// On a terminal terminate asks; anything but "yes" keeps the token.
    @Test func terminateAsksOnATerminal() async throws {
        let sandbox = try Sandbox()
        let chipID = try await sandbox.info().chipID
        let declined = try PseudoTerminal(.sealctl, ["lifecycle", "terminate", "--issuer-key", Sandbox.issuerKey], sandbox: sandbox)
        #expect(declined.read(until: "Type \"yes\" to terminate: "), "\(declined.text)")
        #expect(declined.text.contains(chipID))
        declined.type("no\r")
        #expect(declined.finish() == 1, "\(declined.text)")
        #expect(try await sandbox.info().lifecycle == "ACTIVE")

        let confirmed = try PseudoTerminal(.sealctl, ["lifecycle", "terminate", "--issuer-key", Sandbox.issuerKey], sandbox: sandbox)
        #expect(confirmed.read(until: "Type \"yes\" to terminate: "))
        confirmed.type("yes\r")
        #expect(confirmed.finish() == 0, "\(confirmed.text)")
        #expect(try await sandbox.info().lifecycle == "TERMINATED")
    }
}
