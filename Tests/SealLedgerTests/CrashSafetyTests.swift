import Foundation
import SealTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import SealHostDriver
import SealLedger
import Testing

@Suite("sealledger killed with SIGKILL during batched appends", .serialized)
struct CrashSafetyTests {
    @Test func noAcknowledgedEntryIsLostAndNoTwoSignedCheckpointsDisagree() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try StampFixture()
        let rootFile = directory.appendingPathComponent("vendor-root.pem")
        try Data(try fixture.ca.pem.utf8).write(to: rootFile)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let arguments = ["--database", database, "--vendor-roots", rootFile.path]
        let vkeyText = try await runProgram(Built.url("sealledger"), ["vkey", "--database", database]).stdout
        let verifier = try NoteVerifier(verifierKey: vkeyText)

        var acknowledged: [UInt64: StampRecord] = [:]
        var checkpoints: [Checkpoint] = []
        var counter: UInt32 = 0
        for round in 0..<6 {
            let server = try await ServedLedger.start(directory: directory, arguments: arguments)
            // Everything acknowledged before this start is still there, at its index.
            for (index, record) in acknowledged {
                let (_, data) = try await server.request("/v1/lookup?recordHash=\(upperHex(LedgerLeaf.recordHash(LedgerLeaf.stampRecordBytes(record))))")
                #expect(jsonObject(data)["indices"] as? [Int] == [Int(index)], "round \(round): entry \(index) lost")
            }
            // The new checkpoint extends every one signed before it.
            let latest = try Checkpoint.open(try await server.checkpoint(), verifier: verifier)
            for old in checkpoints where old.size > 0 {
                let (status, data) = try await server.request("/v1/proof/consistency?from=\(old.size)&to=\(latest.size)")
                #expect(status == 200)
                let hashes = (jsonObject(data)["hashes"] as? [String] ?? []).compactMap { Data(base64Encoded: $0).map { Array($0) } }
                #expect(throws: Never.self, "round \(round): checkpoint \(old.size) is not consistent with \(latest.size)") {
                    try MerkleTree.verifyConsistency(oldSize: old.size, newSize: latest.size, oldRoot: old.rootHash,
                                                     newRoot: latest.rootHash, proof: old.size == latest.size ? [] : hashes)
                }
            }
            checkpoints.append(latest)

            // Batches of 32 go in one after another until the process is killed at a random moment.
            let killAfter = Double.random(in: 0.3...1.2)
            let pid = server.process.processIdentifier
            let killer = Task.detached {
                try? await Task.sleep(for: .seconds(killAfter))
                kill(pid, SIGKILL)
            }
            while server.process.isRunning {
                let batch = try (0..<32).map { _ in
                    counter += 1
                    return try fixture.record(counter: counter)
                }
                let body = Data("[".utf8) + (try batch.map { try $0.jsonData() }).joined(separator: Data(",".utf8)) + Data("]".utf8)
                guard let answer = try? await server.request("/v1/entries/batch", method: "POST", body: body), answer.0 == 200 else { break }
                let results = jsonObject(answer.1)["results"] as? [[String: Any]] ?? []
                for (record, result) in zip(batch, results) where result["status"] as? String == "added" {
                    if let index = result["index"] as? Int { acknowledged[UInt64(index)] = record }
                }
                if let note = try? await server.checkpoint(), let checkpoint = try? Checkpoint.open(note, verifier: verifier) {
                    checkpoints.append(checkpoint)
                }
            }
            await killer.value
            server.process.waitUntilExit()
            #expect(server.process.terminationReason == .uncaughtSignal, "round \(round): the server stopped by itself")
        }
        #expect(acknowledged.count >= 32, "the server acknowledged too little to test anything")
        let fsck = try await runProgram(Built.url("sealledger"), ["fsck", "--database", database])
        #expect(fsck.status == 0, "\(fsck.stderr)")
    }
}

private func upperHex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }
