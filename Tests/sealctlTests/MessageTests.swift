import Foundation
import Testing

/// Issue 8, defect 6: messages that say what happened and what to do, in one line.
@Suite("sealctl messages (issue 8)")
struct MessageTests {
    /// A DER vendor root is the same root as its PEM; an empty or text file is refused, not taken as
    /// zero roots (under which every record would fail for another reason).
    @Test func vendorRootAsDERAndFilesWithoutACertificate() async throws {
        let sandbox = try Sandbox()
        let record = try await sandbox.stamp("doc.txt", "a contract")
        let pem = try String(contentsOfFile: Sandbox.vendorRoot, encoding: .utf8)
        let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let der = try #require(Data(base64Encoded: base64))
        let derPath = sandbox.path("root.der")
        try der.write(to: URL(fileURLWithPath: derPath))

        let withDER = try await sandbox.run(["verify", record, "--document", sandbox.path("doc.txt"), "--vendor-root", derPath])
        #expect(withDER.status == 0, "\(withDER)")
        for (name, contents) in [("empty.pem", ""), ("text.pem", "not a certificate\n")] {
            let path = try sandbox.write(name, contents)
            let result = try await sandbox.run(["verify", record, "--document", sandbox.path("doc.txt"), "--vendor-root", path])
            #expect(result.status == 1, "\(result)")
            #expect(result.stderrLines.count == 1, "\(result)")
            #expect(result.standardError.contains(path), "\(result)")
        }
    }

    /// The try that blocks the PIN says it is blocked now and names the command that unblocks it;
    /// the next one says it is blocked, with the same command.
    @Test func blockingThePINNamesTheUnblockCommand() async throws {
        let sandbox = try Sandbox()
        let document = try sandbox.write("doc.txt", "a contract")
        var last = try await sandbox.run(["stamp", "--document", document, "--pin", "000000", "--out", sandbox.path("r.json")])
        for _ in 0..<2 {
            last = try await sandbox.run(["stamp", "--document", document, "--pin", "000000", "--out", sandbox.path("r.json")])
        }
        #expect(last.status == 1, "\(last)")
        #expect(last.standardError.contains("the PIN is now blocked"), "\(last)")
        #expect(last.standardError.contains("sealctl pin unblock"), "\(last)")
        #expect(!last.standardError.contains("0 tries left"), "\(last)")
        let blocked = try await sandbox.run(["stamp", "--document", document, "--pin", "123456", "--out", sandbox.path("r.json")])
        #expect(blocked.status == 1, "\(blocked)")
        #expect(blocked.standardError.contains("the PIN is blocked; unblock it with the PUK (`sealctl pin unblock`"), "\(blocked)")
        #expect(blocked.stderrLines.count == 1, "\(blocked)")
    }
}
