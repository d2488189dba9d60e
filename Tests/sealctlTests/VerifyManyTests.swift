import Foundation
import Testing

@Suite("sealctl verify of many records")
struct VerifyManyTests {
    /// Three stamped documents in docs/, their records in records/, the third document changed after stamping.
    func threeRecordsOneTampered() async throws -> Sandbox {
        let sandbox = try Sandbox()
        try FileManager.default.createDirectory(atPath: sandbox.path("records"), withIntermediateDirectories: true)
        for name in ["alpha", "beta", "gamma"] {
            let document = try sandbox.write("docs/\(name).txt", "document \(name)\n")
            let result = try await sandbox.run(["stamp", "--document", document, "--pin", "123456",
                                                "--out", sandbox.path("records/\(name).seal.json")])
            #expect(result.status == 0, "\(result)")
        }
        try sandbox.write("docs/gamma.txt", "document gamma, changed\n")
        return sandbox
    }

    @Test func documentDirectoryMatchedByName() async throws {
        let sandbox = try await threeRecordsOneTampered()
        let records = ["alpha", "beta", "gamma"].map { "records/\($0).seal.json" }
        let result = try await sandbox.run(["verify"] + records + ["--documents", "docs", "--vendor-root", Sandbox.vendorRoot])
        #expect(result.status == 1, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("VALID") && $0.contains("alpha.seal.json") })
        #expect(lines.contains { $0.hasPrefix("VALID") && $0.contains("beta.seal.json") })
        #expect(lines.contains { $0.hasPrefix("INVALID") && $0.contains("gamma.seal.json") && $0.contains("document-digest") })
        #expect(lines.last?.hasPrefix("3 records: 2 valid, 1 invalid") == true, "\(result)")
    }

    @Test func jsonLinesParseInOrderWithASummary() async throws {
        let sandbox = try await threeRecordsOneTampered()
        let records = ["gamma", "alpha", "beta"].map { "records/\($0).seal.json" }
        let result = try await sandbox.run(["verify"] + records + ["--documents", "docs", "--vendor-root", Sandbox.vendorRoot, "--json"])
        #expect(result.status == 1)
        let lines = try result.jsonLines()
        #expect(lines.count == 4, "\(result)")
        #expect(lines.prefix(3).map { $0["record"] as? String } == records, "outcomes follow the order given")
        #expect(lines.prefix(3).map { $0["valid"] as? Bool } == [false, true, true])
        #expect((lines[1]["counter"] as? NSNumber)?.intValue == 1, "counter is a JSON number")
        let summary = try #require(lines[3]["summary"] as? [String: Any])
        #expect((summary["records"] as? NSNumber)?.intValue == 3)
        #expect((summary["valid"] as? NSNumber)?.intValue == 2)
        #expect((summary["invalid"] as? NSNumber)?.intValue == 1)
        #expect((summary["parallel"] as? NSNumber)?.intValue == min(ProcessInfo.processInfo.activeProcessorCount, 3))
    }

    @Test func allValidExitsZero() async throws {
        let sandbox = try await threeRecordsOneTampered()
        let result = try await sandbox.run(["verify", "records/alpha.seal.json", "records/beta.seal.json",
                                            "--document", "docs/alpha.txt", "--document", "docs/beta.txt",
                                            "--vendor-root", Sandbox.vendorRoot])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("2 records: 2 valid, 0 invalid"))
    }

    @Test func documentsPairInTheOrderGiven() async throws {
        let sandbox = try await threeRecordsOneTampered()
        // Swapped documents: both records fail their digest check.
        let result = try await sandbox.run(["verify", "records/alpha.seal.json", "records/beta.seal.json",
                                            "--document", "docs/beta.txt", "--document", "docs/alpha.txt",
                                            "--vendor-root", Sandbox.vendorRoot])
        #expect(result.status == 1)
        #expect(result.stdout.contains("2 records: 0 valid, 2 invalid"), "\(result)")
    }

    @Test func manifest() async throws {
        let sandbox = try await threeRecordsOneTampered()
        try sandbox.write("manifest.tsv", """
            # record\tdocument
            records/alpha.seal.json\tdocs/alpha.txt
            records/beta.seal.json docs/beta.txt

            records/gamma.seal.json\tdocs/gamma.txt
            records/missing.seal.json\tdocs/alpha.txt

            """)
        let result = try await sandbox.run(["verify", "--manifest", sandbox.path("manifest.tsv"), "--vendor-root", Sandbox.vendorRoot, "--json"])
        #expect(result.status == 1)
        let lines = try result.jsonLines()
        #expect(lines.count == 5, "\(result)")
        #expect(lines.prefix(4).map { $0["valid"] as? Bool } == [true, true, false, false])
        #expect((lines[3]["error"] as? String)?.contains("missing.seal.json") == true)
        #expect(((lines[4]["summary"] as? [String: Any])?["valid"] as? NSNumber)?.intValue == 2)
    }

    @Test func oneRecordShowsEveryCheck() async throws {
        let sandbox = try await threeRecordsOneTampered()
        let valid = try await sandbox.run(["verify", "records/alpha.seal.json", "--document", "docs/alpha.txt", "--vendor-root", Sandbox.vendorRoot])
        #expect(valid.status == 0)
        #expect(valid.stdout.contains("ok   stamp-signature") && valid.stdout.contains("VALID: stamp #1"), "\(valid)")
        let invalid = try await sandbox.run(["verify", "records/gamma.seal.json", "--document", "docs/gamma.txt", "--vendor-root", Sandbox.vendorRoot])
        #expect(invalid.status == 1)
        #expect(invalid.stdout.contains("FAIL document-digest") && invalid.stdout.contains("INVALID: document-digest"), "\(invalid)")
    }
}
