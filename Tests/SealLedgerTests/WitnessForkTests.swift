import Foundation
import SealTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealLedger
import Testing

/// Posts an add-checkpoint body (the same client the ledger uses, through URLSession).
let testWitnessTransport: WitnessTransport = { url, body in
    guard let target = URL(string: url) else { throw LedgerError(code: .malformedInput, reason: "not a URL: \(url)") }
    var request = URLRequest(url: target, timeoutInterval: 10)
    request.httpMethod = "POST"
    request.httpBody = Data(body.utf8)
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as? HTTPURLResponse
    return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Content-Type") ?? "", String(decoding: data, as: UTF8.self))
}

@Suite("Three witnesses on loopback against a log that rewrites history", .serialized)
struct WitnessForkTests {
    @Test func theWitnessesRefuseARewrittenHistoryAndAClientDetectsTheFork() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logKey = try NoteSigner(generatingFor: "example.com/ledger")

        // Three witnesses trusting the log key, each with its own state file and key made on first use.
        var witnesses: [ServedLedger] = []
        defer { witnesses.forEach { $0.stop() } }
        var endpoints: [WitnessEndpoint] = []
        for n in 1...3 {
            let home = directory.appendingPathComponent("w\(n)")
            let store = ["--database", home.appendingPathComponent("witness.sqlite").path, "--name", "example.com/w\(n)"]
            let vkey = try await runProgram(Built.url("sealledger"), ["witness", "vkey"] + store)
            #expect(vkey.status == 0, "\(vkey.stderr)")
            let process = try await ServedLedger.start(directory: home, command: ["witness", "serve"], arguments: ["--log-key", logKey.verifier.verifierKey] + store)
            witnesses.append(process)
            endpoints.append(WitnessEndpoint(url: process.base + "/add-checkpoint",
                                             verifier: try CosignatureVerifier(verifierKey: vkey.stdout)))
        }
        let policy = try WitnessPolicy(witnesses: endpoints.map(\.verifier), quorum: 2)

        // The honest log: 10 entries, cosigned by all three; a client keeps that checkpoint.
        let honest = try makeLedger(directory, "honest", signer: logKey, leaves: syntheticLeaves(10))
        let publisher = try WitnessPublisher(ledger: honest, witnesses: endpoints, quorum: 2, transport: testWitnessTransport)
        #expect(await publisher.publish() == 3, "\(publisher.lastAnswers)")
        let clientNote = try #require(publisher.published)
        let clientCheckpoint = try policy.open(clientNote, logVerifier: logKey.verifier)
        #expect(clientCheckpoint.size == 10)
        // The log grows to 15: every witness now holds 15 (the publisher sends old 10 and the proof).
        _ = try honest.appendPreverified(Array(syntheticLeaves(15).suffix(5)))
        #expect(await publisher.publish() == 3, "\(publisher.lastAnswers)")
        #expect(try policy.open(try #require(publisher.published), logVerifier: logKey.verifier).size == 15)

        // The rewrite: the same key and origin, a different entry at index 3, grown to 20.
        let fork = try makeLedger(directory, "fork", signer: logKey, leaves: syntheticLeaves(20, replacing: [3]))
        let forkNote = fork.checkpointNote
        _ = try Checkpoint.open(forkNote, verifier: logKey.verifier)    // validly signed by the log's key
        for endpoint in endpoints {
            // Stale old size: 409 with the size the witness cosigned last.
            let stale = try await testWitnessTransport(endpoint.url, AddCheckpointRequest(oldSize: 10, proof: try fork.consistencyProof(oldSize: 10, newSize: 20), checkpointNote: forkNote).body)
            #expect(stale.status == 409 && stale.contentType == "text/x.tlog.size" && stale.body == "15\n", "\(stale)")
            // From the size it holds, with the rewritten log's own proof: 422.
            let inconsistent = try await testWitnessTransport(endpoint.url, AddCheckpointRequest(oldSize: 15, proof: try fork.consistencyProof(oldSize: 15, newSize: 20), checkpointNote: forkNote).body)
            #expect(inconsistent.status == 422, "\(inconsistent)")
        }
        // The rewritten log's own publisher (it follows the 409 to 15, then gets 422) collects nothing.
        let forkPublisher = try WitnessPublisher(ledger: fork, witnesses: endpoints, quorum: 2, transport: testWitnessTransport)
        #expect(await forkPublisher.publish() == 0, "\(forkPublisher.lastAnswers)")
        #expect(forkPublisher.published == nil)
        #expect(forkPublisher.lastAnswers.values.allSatisfy { $0.hasPrefix("422") }, "\(forkPublisher.lastAnswers)")
        // Same size, other root (a rewrite that did not grow): 409.
        let sameSize = try makeLedger(directory, "same-size", signer: logKey, leaves: syntheticLeaves(15, replacing: [3]))
        let equal = try await testWitnessTransport(endpoints[0].url, AddCheckpointRequest(oldSize: 15, proof: [], checkpointNote: sameSize.checkpointNote).body)
        #expect(equal.status == 409 && equal.body == "15\n", "\(equal)")

        // The client holding the size-10 checkpoint: the rewritten log's checkpoint has no witness
        // quorum, and its consistency proof from 10 does not lead from the root the client holds.
        #expect(throws: LedgerError(code: .quorumNotMet, reason: "")) { try policy.open(forkNote, logVerifier: logKey.verifier) }
        let forkCheckpoint = try Checkpoint.open(forkNote, verifier: logKey.verifier)
        #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
            try MerkleTree.verifyConsistency(oldSize: 10, newSize: 20, oldRoot: clientCheckpoint.rootHash, newRoot: forkCheckpoint.rootHash,
                                             proof: try fork.consistencyProof(oldSize: 10, newSize: 20))
        }
        // While the honest log's proof from 10 does.
        let honestNow = try Checkpoint.open(honest.checkpointNote, verifier: logKey.verifier)
        try MerkleTree.verifyConsistency(oldSize: 10, newSize: honestNow.size, oldRoot: clientCheckpoint.rootHash, newRoot: honestNow.rootHash,
                                         proof: try honest.consistencyProof(oldSize: 10, newSize: honestNow.size))

        // k of n: with one witness down the honest log still publishes (2 of 3); with two down it does not.
        _ = try honest.appendPreverified(Array(syntheticLeaves(18).suffix(3)))
        witnesses[2].stop()
        #expect(await publisher.publish() == 2, "\(publisher.lastAnswers)")
        #expect(try policy.open(try #require(publisher.published), logVerifier: logKey.verifier).size == 18)
        _ = try honest.appendPreverified(Array(syntheticLeaves(19).suffix(1)))
        witnesses[1].stop()
        #expect(await publisher.publish() == 1, "\(publisher.lastAnswers)")
        #expect(try policy.open(try #require(publisher.published), logVerifier: logKey.verifier).size == 18, "the last quorum-cosigned checkpoint stays published")
    }

    @Test func sealledgerServePublishesTheQuorumCosignedCheckpoint() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("ledger/ledger.sqlite").path
        let vkey = try await runProgram(Built.url("sealledger"), ["vkey", "--database", database])
        #expect(vkey.status == 0, "\(vkey.stderr)")
        var processes: [ServedLedger] = []
        defer { processes.forEach { $0.stop() } }
        var options: [String] = []
        var verifiers: [CosignatureVerifier] = []
        for n in 1...3 {
            let home = directory.appendingPathComponent("w\(n)")
            let store = ["--database", home.appendingPathComponent("witness.sqlite").path, "--name", "example.com/w\(n)"]
            let witnessKey = try await runProgram(Built.url("sealledger"), ["witness", "vkey"] + store)
            let process = try await ServedLedger.start(directory: home, command: ["witness", "serve"], arguments: ["--log-key", vkey.stdout] + store)
            processes.append(process)
            options += ["--witness", "\(process.base)=\(witnessKey.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"]
            verifiers.append(try CosignatureVerifier(verifierKey: witnessKey.stdout))
        }
        let server = try await ServedLedger.start(directory: directory, arguments: ["--database", database, "--quorum", "2"] + options)
        processes.append(server)
        let logVerifier = try NoteVerifier(verifierKey: vkey.stdout)
        let policy = try WitnessPolicy(witnesses: verifiers, quorum: 3)
        // The server asks its witnesses at start: the empty tree's checkpoint is served cosigned.
        var served = ""
        let deadline = Date().addingTimeInterval(20)
        repeat {
            let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: server.base + "/checkpoint")))
            served = String(decoding: data, as: UTF8.self)
            if (try? policy.open(served, logVerifier: logVerifier)) != nil { break }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        #expect(try policy.open(served, logVerifier: logVerifier).size == 0, "\(served)")

        let usage = try await runProgram(Built.url("sealledger"), ["serve", "--database", database + "2", "--quorum", "4", "--listen", "127.0.0.1:0"] + options)
        #expect(usage.status == 64, "\(usage.stderr)")
    }
}
