import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealHostDriver
import SealLedger
import SealTestSupport
import Testing

@Suite("sealledger over HTTP, checked by Go's sumdb packages and sealctl", .serialized)
struct ServerInteropTests {
    @Test func goVerifiesTheServedLedgerAndSealctlProvesARecord() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try StampFixture()
        let rootFile = directory.appendingPathComponent("vendor-root.pem")
        try Data(try fixture.ca.pem.utf8).write(to: rootFile)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let server = try await ServedLedger.start(directory: directory, arguments: ["--database", database, "--vendor-roots", rootFile.path, "--max-body", "1000000"])
        defer { server.stop() }

        // A second server on the same database is refused: one sequencer per log.
        let second = try await runProgram(Built.url("sealledger"), ["serve", "--listen", "127.0.0.1:0", "--database", database, "--vendor-roots", rootFile.path])
        #expect(second.status == 1 && second.stderr.contains("in use"), "\(second.stderr)")

        let records = try (1...300).map { try fixture.record(counter: UInt32($0), document: Array("document \($0)".utf8)) }
        func batch(_ slice: ArraySlice<StampRecord>) throws -> Data {
            Data("[".utf8) + (try slice.map { try $0.jsonData() }).joined(separator: Data(",".utf8)) + Data("]".utf8)
        }
        // 100 in one batch; keep that checkpoint as the "old" one.
        var (status, data) = try await server.request("/v1/entries/batch", method: "POST", body: try batch(records[0..<100]))
        #expect(status == 200, "\(String(decoding: data, as: UTF8.self))")
        #expect((jsonObject(data)["results"] as? [[String: Any]])?.count == 100)
        let oldNote = try await server.checkpoint()
        let oldFile = directory.appendingPathComponent("old.checkpoint")
        try Data(oldNote.utf8).write(to: oldFile)

        // Bad input: 4xx with a JSON error, and the checkpoint does not move.
        let badRequests: [(Data, String?, Int)] = [
            (Data("{not json".utf8), "application/json", 400),
            (try records[100].jsonData(), "text/plain", 415),
            (try records[100].jsonData(), nil, 415),
            (Data(repeating: 0x20, count: 1_500_000), "application/json", 413),
            (Data("[]".utf8), "application/json", 400),
        ]
        for (body, type, expected) in badRequests {
            let path = body.first == UInt8(ascii: "[") ? "/v1/entries/batch" : "/v1/entries"
            let (status, data) = try await server.request(path, method: "POST", body: body, contentType: type)
            #expect(status == expected, "\(path) \(type ?? "no type"): \(String(decoding: data, as: UTF8.self))")
            #expect((jsonObject(data)["error"] as? [String: Any])?["code"] != nil)
        }
        var forged = records[100]
        forged.signature[10] ^= 1
        (status, data) = try await server.request("/v1/entries", method: "POST", body: try forged.jsonData())
        #expect(status == 422)
        #expect((jsonObject(data)["error"] as? [String: Any])?["failedCheck"] as? String == "stamp-signature")
        #expect(try await server.checkpoint() == oldNote)

        // The rest: two batches and single submissions.
        (status, _) = try await server.request("/v1/entries/batch", method: "POST", body: try batch(records[100..<250]))
        #expect(status == 200)
        for record in records[250..<300] {
            (status, data) = try await server.request("/v1/entries", method: "POST", body: try record.jsonData())
            #expect(status == 200 && jsonObject(data)["status"] as? String == "added")
        }
        (status, data) = try await server.request("/v1/entries", method: "POST", body: try records[7].jsonData())
        #expect(jsonObject(data)["status"] as? String == "duplicate" && jsonObject(data)["index"] as? Int == 7)
        (status, data) = try await server.request("/v1/lookup?serial=\(records[42].serial)")
        #expect(jsonObject(data)["indices"] as? [Int] == [42])
        // A second key is refused, not ignored (it went unchecked before: schemathesis ST201).
        (status, _) = try await server.request("/v1/lookup?serial=\(records[42].serial)&chipID=%5C3~")
        #expect(status == 400)
        (status, _) = try await server.request("/tile/0/000.p/255")
        #expect(status == 200)
        (status, _) = try await server.request("/tile/0/001")
        #expect(status == 404)
        (status, _) = try await server.request("/tile/0/01")
        #expect(status == 400)

        // Go's note and tlog packages check it all.
        let vkey = try await runProgram(Built.url("sealledger"), ["vkey", "--database", database]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(vkey.hasPrefix("sealkit.local/ledger+"))
        let goBinary = try await buildGoChecker(in: directory)
        let go = try await runProgram(goBinary, ["-url", server.base, "-vkey", vkey, "-old", oldFile.path])
        #expect(go.status == 0 && go.stdout == "ok 300\n", "Go disagrees: \(go.stdout) \(go.stderr)")
        // Go does refuse a key that is not the log's.
        let otherKey = try NoteSigner(generatingFor: "sealkit.local/ledger").verifier.verifierKey
        let refused = try await runProgram(goBinary, ["-url", server.base, "-vkey", otherKey])
        #expect(refused.status == 1 && refused.stdout.contains("note.Open"), "\(refused.stdout)")

        // sealctl: submit (already there), prove, verify offline.
        let recordFile = directory.appendingPathComponent("r42.seal.json")
        try records[42].jsonData().write(to: recordFile)
        let sealctl = Built.url("sealctl")
        let submitted = try await runProgram(sealctl, ["ledger", "submit", recordFile.path, "--ledger", server.base])
        #expect(submitted.status == 0 && submitted.stdout.contains("duplicate at index 42"), "\(submitted)")
        let proofFile = directory.appendingPathComponent("r42.tlog-proof")
        let proved = try await runProgram(sealctl, ["ledger", "prove", recordFile.path, "--out", proofFile.path, "--ledger", server.base, "--log-key", vkey])
        #expect(proved.status == 0, "\(proved)")
        server.stop()
        // Offline now: the server is gone.
        let verified = try await runProgram(sealctl, ["ledger", "verify-proof", recordFile.path, "--proof", proofFile.path, "--log-key", vkey])
        #expect(verified.status == 0 && verified.stdout.contains("is entry 42 of sealkit.local/ledger at size 300"), "\(verified)")
        let verifiedJSON = try await runProgram(sealctl, ["ledger", "verify-proof", recordFile.path, "--proof", proofFile.path, "--log-key", vkey, "--json"])
        let verdict = jsonObject(Data(verifiedJSON.stdout.utf8))
        #expect(verifiedJSON.status == 0 && verdict["valid"] as? Bool == true && verdict["index"] as? Int == 42, "\(verifiedJSON)")
        let otherRecord = directory.appendingPathComponent("r43.seal.json")
        try records[43].jsonData().write(to: otherRecord)
        let wrong = try await runProgram(sealctl, ["ledger", "verify-proof", otherRecord.path, "--proof", proofFile.path, "--log-key", vkey])
        #expect(wrong.status == 1 && wrong.stderr.contains("invalid"), "\(wrong)")
        let wrongJSON = try await runProgram(sealctl, ["ledger", "verify-proof", otherRecord.path, "--proof", proofFile.path, "--log-key", vkey, "--json"])
        #expect(wrongJSON.status == 1 && jsonObject(Data(wrongJSON.stdout.utf8))["valid"] as? Bool == false, "\(wrongJSON)")
        let wrongKey = try await runProgram(sealctl, ["ledger", "verify-proof", recordFile.path, "--proof", proofFile.path, "--log-key", otherKey])
        #expect(wrongKey.status == 1, "\(wrongKey)")

        let fsck = try await runProgram(Built.url("sealledger"), ["fsck", "--database", database])
        #expect(fsck.status == 0 && fsck.stdout.hasPrefix("ok: 300 entries"), "\(fsck)")
    }
}

/// Builds Tests/SealLedgerTests/go/ledgercheck.go offline against Debian's golang-golang-x-mod-dev
/// (GOPATH mode: /usr/share/gocode holds golang.org/x/mod).
func buildGoChecker(in directory: URL) async throws -> URL {
    let go = ["/usr/bin/go", "/usr/lib/go/bin/go"].first { FileManager.default.isExecutableFile(atPath: $0) }
    let goPath = try #require(go, "Go is not installed: apt-get install golang-go golang-golang-x-mod-dev (scripts/test.sh does)")
    let output = directory.appendingPathComponent("ledgercheck")
    let source = repositoryRoot.appendingPathComponent("Tests/SealLedgerTests/go/ledgercheck.go")
    let build = try await runProgram(URL(fileURLWithPath: goPath), ["build", "-o", output.path, source.path], environment: [
        "GOPATH": "/usr/share/gocode", "GO111MODULE": "off", "GOFLAGS": "", "GOPROXY": "off",
        "GOCACHE": directory.appendingPathComponent("gocache").path,
    ])
    #expect(build.status == 0, "go build: \(build.stderr)")
    return output
}
