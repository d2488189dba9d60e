import Crypto
import Foundation
import SealTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealHostDriver
import SealLedger
import Testing

@Suite("sealledger over HTTP: lifecycle events, terminated chips, audit pushes, bad input", .serialized)
struct LifecycleServerTests {
    @Test func eventsTerminationAuditPushesAndBadInputOverHTTP() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try StampFixture()
        let rootFile = directory.appendingPathComponent("vendor-root.pem")
        try Data(try fixture.ca.pem.utf8).write(to: rootFile)
        let issuer = P256.Signing.PrivateKey()
        let issuerKeyFile = directory.appendingPathComponent("issuer-key.pem"), issuerRootFile = directory.appendingPathComponent("issuer.pub.pem")
        try Data(issuer.pemRepresentation.utf8).write(to: issuerKeyFile)
        try Data(issuer.publicKey.pemRepresentation.utf8).write(to: issuerRootFile)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let server = try await ServedLedger.start(directory: directory, arguments: [
            "--database", database, "--vendor-roots", rootFile.path, "--issuer-root", issuerRootFile.path, "--max-body", "1000000",
        ])
        defer { server.stop() }
        let chip = fixture.chipID.map { String(format: "%02X", $0) }.joined()
        let records = try (1...4).map { try fixture.record(counter: UInt32($0), document: Array("document \($0)".utf8)) }
        let batch = Data("[".utf8) + (try records[0..<2].map { try $0.jsonData() }).joined(separator: Data(",".utf8)) + Data("]".utf8)
        var (status, data) = try await server.request("/v1/entries/batch", method: "POST", body: batch)
        #expect(status == 200, "\(String(decoding: data, as: UTF8.self))")

        // Events through sealctl: the configured issuer's are admitted, the TEST issuer's are not.
        let sealctl = Built.url("sealctl")
        let record = records[0]
        let personalized = try await runProgram(sealctl, [
            "ledger", "event", "personalized", "--chip", chip, "--issuer-key", issuerKeyFile.path, "--ledger", server.base,
            "--organization", record.organizationName, "--seal-name", record.sealName,
            "--feature-hash", record.featureHash.map { String(format: "%02x", $0) }.joined(),
        ])
        #expect(personalized.status == 0 && personalized.stdout.contains("added at index 2"), "\(personalized)")
        let testIssuer = repositoryRoot.appendingPathComponent("Fixtures/test-issuer/issuer-key.pem").path
        let untrusted = try await runProgram(sealctl, ["ledger", "event", "activated", "--chip", chip, "--issuer-key", testIssuer, "--ledger", server.base])
        #expect(untrusted.status == 1 && untrusted.stderr.contains("issuer-untrusted"), "\(untrusted)")
        let terminated = try await runProgram(sealctl, [
            "ledger", "event", "terminated", "--final-counter", "2", "--chip", chip, "--issuer-key", issuerKeyFile.path,
            "--ledger", server.base, "--json",
        ])
        #expect(terminated.status == 0 && jsonObject(Data(terminated.stdout.utf8))["index"] as? Int == 3, "\(terminated)")

        // A record above the final counter: 422 naming the check, and evidence written.
        (status, data) = try await server.request("/v1/entries", method: "POST", body: try records[2].jsonData())
        #expect(status == 422, "\(String(decoding: data, as: UTF8.self))")
        #expect((jsonObject(data)["error"] as? [String: Any])?["failedCheck"] as? String == "chip-terminated")
        #expect(jsonObject(data)["evidenceIndex"] as? Int == 4)
        let both = Data("[".utf8) + (try records[2...3].map { try $0.jsonData() }).joined(separator: Data(",".utf8)) + Data("]".utf8)
        (status, data) = try await server.request("/v1/entries/batch", method: "POST", body: both)
        let results = jsonObject(data)["results"] as? [[String: Any]] ?? []
        #expect(status == 200 && results.map { $0["status"] as? String } == ["refused", "refused"])
        #expect(results.map { $0["evidenceIndex"] as? Int } == [4, 5])

        // An audit push of stamps 1–3: stamp 3 has no record (it was refused).
        var previous = [UInt8](repeating: 0, count: 32)
        var entries: [String] = []
        for record in records[0..<3] {
            let entry = AuditEntry(counter: record.counter, time: record.metadata.time, documentDigest: record.documentDigest,
                                   metadataDigest: record.metadataDigest, serial: record.serial, expiry: record.expiry,
                                   expirationCode: record.expirationCode, grantSerial: 0, previousHash: previous, signature: record.signature)
            previous = AuditEntry.chainHash(previous: previous, tbs: record.tbs.encoded(), signature: record.signature)
            entries.append(Data(entry.encoded()).base64EncodedString())
        }
        let head = previous.map { String(format: "%02X", $0) }.joined()
        func push(_ entries: [String], head: String) throws -> Data {
            try JSONSerialization.data(withJSONObject: ["chipID": chip, "headHash": head, "entries": entries])
        }
        (status, data) = try await server.request("/v1/audit", method: "POST", body: try push(entries, head: head))
        #expect(status == 200, "\(String(decoding: data, as: UTF8.self))")
        #expect(jsonObject(data)["index"] as? Int == 6)
        #expect((jsonObject(data)["unreported"] as? [[String: Any]])?.map { $0["counter"] as? Int } == [3])
        (status, data) = try await server.request("/v1/audit", method: "POST", body: try push(entries, head: head))
        #expect(status == 200 && jsonObject(data)["status"] as? String == "duplicate")
        (status, data) = try await server.request("/v1/audit", method: "POST", body: try push([entries[0], entries[2]], head: head))
        #expect(status == 422 && (jsonObject(data)["error"] as? [String: Any])?["failedCheck"] as? String == "audit-chain")
        #expect(jsonObject(data)["evidenceIndex"] as? Int == 8)

        // Bad input on the new routes: 4xx with a JSON error, and nothing changes.
        let before = try await server.checkpoint()
        let badRequests: [(String, Data, String?, Int)] = [
            ("/v1/events", Data("{not json".utf8), "application/json", 400),
            ("/v1/events", Data("[1]".utf8), "application/json", 400),
            ("/v1/events", Data("{\"event\":\"not base64!\"}".utf8), "application/json", 400),
            ("/v1/events", Data("{\"event\":\"AAAA\"}".utf8), "application/json", 400),
            ("/v1/events", Data("{\"event\":\"AAAA\"}".utf8), "text/plain", 415),
            ("/v1/events", Data("{\"event\":\"AAAA\"}".utf8), nil, 415),
            ("/v1/events", Data(repeating: 0x20, count: 1_500_000), "application/json", 413),
            ("/v1/audit", Data("{\"chipID\":".utf8), "application/json", 400),
            ("/v1/audit", try push([], head: head), "application/json", 400),
            ("/v1/audit", try push(["AAAA"], head: head), "application/json", 400),
            ("/v1/audit", try JSONSerialization.data(withJSONObject: ["chipID": "00", "headHash": head, "entries": entries]), "application/json", 400),
            ("/v1/audit", try push(entries, head: head), "application/x-www-form-urlencoded", 415),
            ("/v1/audit", Data(repeating: 0x20, count: 1_500_000), "application/json", 413),
        ]
        for (path, body, type, expected) in badRequests {
            let (status, data) = try await server.request(path, method: "POST", body: body, contentType: type)
            #expect(status == expected, "\(path) \(type ?? "no type"): \(String(decoding: data, as: UTF8.self))")
            #expect((jsonObject(data)["error"] as? [String: Any])?["code"] is String)
        }
        // Entries the seal key did not sign: 422, and no evidence (anyone can send bytes).
        var unsigned = try AuditEntry(decoding: Array(try #require(Data(base64Encoded: entries[0]))))
        unsigned.signature = Array(try P256.Signing.PrivateKey().signature(for: records[0].tbs.encoded()).derRepresentation)
        (status, data) = try await server.request("/v1/audit", method: "POST",
                                                  body: try push([Data(unsigned.encoded()).base64EncodedString()], head: head))
        #expect(status == 422 && (jsonObject(data)["error"] as? [String: Any])?["failedCheck"] as? String == "audit-signature",
                "\(String(decoding: data, as: UTF8.self))")
        #expect(try await server.checkpoint() == before)

        // The chip's history, gaps and lookup.
        (status, data) = try await server.request("/v1/chips/\(chip)/history")
        let history = jsonObject(data)
        #expect(status == 200 && history["lifecycle"] as? String == "terminated" && history["suspectEvidenceIndex"] as? Int == 8)
        #expect((history["entries"] as? [[String: Any]])?.map { $0["kind"] as? String } == [
            "stamp-record", "stamp-record", "lifecycle-event", "lifecycle-event", "terminated-chip-evidence", "terminated-chip-evidence",
            "audit-log", "unreported-stamp-evidence", "audit-tamper-evidence",
        ])
        let event = (history["entries"] as? [[String: Any]])?[2] ?? [:]
        #expect(event["event"] as? String == "personalized" && event["organizationName"] as? String == record.organizationName)
        (status, data) = try await server.request("/v1/chips/\(chip)/gaps")
        let gaps = jsonObject(data)
        #expect(gaps["highestCounter"] as? Int == 3 && gaps["recorded"] as? Int == 2)
        #expect((gaps["gaps"] as? [[String: Any]])?.map { [$0["first"] as? Int, $0["last"] as? Int] } == [[3, 3]])
        (status, data) = try await server.request("/v1/lookup?chipID=\(chip)")
        #expect(jsonObject(data)["indices"] as? [Int] == Array(0...8))
        (status, _) = try await server.request("/v1/chips/not-hex/history")
        #expect(status == 400)
        (status, data) = try await server.request("/v1/entries/3")
        #expect(jsonObject(data)["kind"] as? String == "lifecycle-event")

        let shown = try await runProgram(sealctl, ["ledger", "history", chip, "--ledger", server.base])
        #expect(shown.status == 0 && shown.stdout.contains("lifecycle terminated") && shown.stdout.contains("SUSPECT: evidence at index 8")
                && shown.stdout.contains("gaps: 3...3") && shown.stdout.contains("unreported stamps (in the chip's audit log, no record): 3"), "\(shown)")
    }

    @Test func sealctlPushesASimulatedTokensAuditLogAndReportsLifecycleChanges() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("ledger.sqlite").path
        // No roots given: the TEST vendor root and the TEST issuer key, as `sealledger serve` defaults.
        let server = try await ServedLedger.start(directory: directory, arguments: ["--database", database])
        defer { server.stop() }
        let sealctl = Built.url("sealctl")
        let home = ["SEALKIT_HOME": directory.appendingPathComponent("home").path]
        let document = directory.appendingPathComponent("contract.txt")
        try Data("a contract\n".utf8).write(to: document)
        var files: [String] = []
        for counter in 1...3 {
            let out = directory.appendingPathComponent("r\(counter).seal.json").path
            let stamped = try await runProgram(sealctl, ["stamp", "--document", document.path, "--pin", "123456", "--out", out], environment: home)
            #expect(stamped.status == 0, "\(stamped)")
            files.append(out)
        }
        let submitted = try await runProgram(sealctl, ["ledger", "submit", files[0], files[2], "--ledger", server.base])
        #expect(submitted.status == 0, "\(submitted)")

        let pushed = try await runProgram(sealctl, ["audit", "--push", server.base], environment: home)
        #expect(pushed.status == 0 && pushed.stdout.contains("pushed to the ledger: added at index 2")
                && pushed.stdout.contains("unreported stamps (no record in the ledger): 2"), "\(pushed)")
        let again = try await runProgram(sealctl, ["audit", "--push", server.base, "--json"], environment: home)
        let againJSON = jsonObject(Data(again.stdout.utf8))
        #expect(again.status == 0 && (againJSON["entries"] as? [Any])?.count == 3, "\(again)")
        #expect((againJSON["ledger"] as? [String: Any])?["status"] as? String == "duplicate"
                && (againJSON["ledger"] as? [String: Any])?["index"] as? Int == 2, "\(again)")

        let issuerKey = repositoryRoot.appendingPathComponent("Fixtures/test-issuer/issuer-key.pem").path
        let suspended = try await runProgram(sealctl, ["lifecycle", "suspend", "--issuer-key", issuerKey, "--ledger", server.base], environment: home)
        #expect(suspended.status == 0 && suspended.stdout.contains("ledger: suspended event added"), "\(suspended)")
        let late = try await runProgram(sealctl, ["ledger", "submit", files[1], "--ledger", server.base])
        #expect(late.status == 0, "\(late)")
        let ended = try await runProgram(sealctl, ["lifecycle", "terminate", "--yes", "--issuer-key", issuerKey, "--ledger", server.base],
                                         environment: home)
        #expect(ended.status == 0 && ended.stdout.contains("ledger: terminated event added"), "\(ended)")

        let shown = try await runProgram(sealctl, ["ledger", "history", try chipID(files[0]), "--ledger", server.base, "--json"])
        let answer = jsonObject(Data(shown.stdout.utf8))
        let history = answer["history"] as? [String: Any] ?? [:], gaps = answer["gaps"] as? [String: Any] ?? [:]
        let entries = history["entries"] as? [[String: Any]] ?? []
        #expect(history["lifecycle"] as? String == "terminated", "\(shown)")
        #expect(entries.map { $0["kind"] as? String } == ["stamp-record", "stamp-record", "audit-log", "unreported-stamp-evidence",
                                                          "lifecycle-event", "stamp-record", "lifecycle-event"])
        #expect(entries[5]["flag"] as? String == "chip-suspended" && entries[5]["counter"] as? Int == 2)
        #expect(entries[6]["finalCounter"] as? Int == 3)
        #expect(gaps["highestCounter"] as? Int == 3 && (gaps["gaps"] as? [Any])?.isEmpty == true && (gaps["unreported"] as? [Any])?.isEmpty == true)
    }

    private func chipID(_ recordFile: String) throws -> String {
        let record = try StampRecord(jsonData: try Data(contentsOf: URL(fileURLWithPath: recordFile)))
        return record.chipID.map { String(format: "%02X", $0) }.joined()
    }
}
