import Foundation
import Testing

/// `--json` everywhere, with numbers as JSON numbers: decoding into integer fields fails on
/// `"1"`, so these tests fail if a number is printed as a string.
@Suite("sealctl --json")
struct JSONOutputTests {
    @Test func stampPrintsNumbers() async throws {
        struct Out: Decodable { let record: String; let chipID: String; let counter: UInt32; let expiry: UInt64; let serial: String }
        let sandbox = try Sandbox()
        let document = try sandbox.write("doc.txt", "text\n")
        let result = try await sandbox.run(["stamp", "--document", document, "--pin", "123456", "--out", "r.json",
                                            "--time", "1700000000", "--json"])
        #expect(result.status == 0, "\(result)")
        let out = try result.decode(Out.self)
        #expect(out.counter == 1)
        #expect(out.expiry == 1_700_000_000 + 365 * 86_400)
        #expect(!result.stdout.contains("\"counter\" : \"") && !result.stdout.contains("\"expiry\" : \""))
    }

    @Test func infoAuditAndPINStatusPrintNumbers() async throws {
        struct Audit: Decodable { struct Entry: Decodable { let counter: UInt32; let time: UInt64 }; let newestCounter: UInt32; let entries: [Entry] }
        let sandbox = try Sandbox()
        try await sandbox.stamp("doc.txt", "text\n")
        #expect(try await sandbox.info().counter == 1)
        let audit = try await sandbox.run(["audit", "--json"])
        #expect(audit.status == 0, "\(audit)")
        let log = try audit.decode(Audit.self)
        #expect(log.newestCounter == 1 && log.entries.last?.counter == 1)
    }

    @Test func everySubcommandAcceptsJSON() async throws {
        // Each command's help lists --json (conformance: --json FILE, `-` for standard output).
        let sandbox = try Sandbox()
        for command in [["info"], ["stamp"], ["verify"], ["pin", "status"], ["pin", "change"], ["pin", "unblock"],
                        ["lifecycle", "suspend"], ["lifecycle", "resume"], ["lifecycle", "terminate"], ["attest", "read"],
                        ["attest", "verify"], ["export", "certificate"], ["export", "public-key"], ["audit"], ["readers"],
                        ["conformance"], ["sim", "insert"], ["sim", "remove"], ["sim", "reset"], ["sim", "tear"], ["sim", "status"]] {
            let help = try await sandbox.run(command + ["--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("--json"), "\(command) has no --json")
        }
    }
}
