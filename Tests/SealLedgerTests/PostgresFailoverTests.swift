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
import Synchronization
import Testing

@Suite("Two sealledger instances on one PostgreSQL, one killed with SIGKILL mid-batch", .serialized)
struct PostgresFailoverTests {
    @Test(.enabled(if: StorageBackend.postgresServerURL != nil, "SEALKIT_POSTGRES_URL is not set"))
    func everyAcknowledgedIndexSurvivesAndEachSizeHasOneCheckpoint() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try StampFixture()
        let rootFile = directory.appendingPathComponent("vendor-root.pem")
        try Data(try fixture.ca.pem.utf8).write(to: rootFile)
        let database = try StorageBackend.postgres.makeLocation(in: directory)
        // The instances share the database and the log key, nothing else.
        let keyFile = directory.appendingPathComponent("log.key").path
        let vkeyText = try await runProgram(Built.url("sealledger"), ["vkey", "--key", keyFile]).stdout
        let verifier = try NoteVerifier(verifierKey: vkeyText)
        let arguments = ["--database", database, "--key", keyFile, "--vendor-roots", rootFile.path]
        let homes = try (0..<2).map { number in
            let home = directory.appendingPathComponent("instance-\(number)")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            return home
        }
        var servers = [try await ServedLedger.start(directory: homes[0], arguments: arguments),
                       try await ServedLedger.start(directory: homes[1], arguments: arguments)]
        defer { for server in servers where server.process.isRunning { server.stop() } }

        let shared = FailoverShared()
        for round in 0..<4 {
            let victim = round % 2
            shared.stop.store(false, ordering: .relaxed)
            let pid = servers[victim].process.processIdentifier
            let killAfter = Double.random(in: 0.5...2.0)
            let killer = Task.detached {
                try? await Task.sleep(for: .seconds(killAfter))
                kill(pid, SIGKILL)
            }
            // Both instances take batches of 24 at once until the victim is killed; the survivor goes
            // on until the victim's client has seen it die.
            await withTaskGroup(of: Void.self) { group in
                for (number, server) in servers.enumerated() {
                    group.addTask {
                        while !shared.stop.load(ordering: .relaxed) {
                            let batch = (0..<24).compactMap { _ in try? fixture.record(counter: shared.counter.add(1, ordering: .relaxed).newValue) }
                            let body = Data("[".utf8) + batch.compactMap { try? $0.jsonData() }.joined(separator: Data(",".utf8)) + Data("]".utf8)
                            guard let answer = try? await server.request("/v1/entries/batch", method: "POST", body: body), answer.0 == 200 else {
                                if number == victim { shared.stop.store(true, ordering: .relaxed) }
                                break
                            }
                            let results = jsonObject(answer.1)["results"] as? [[String: Any]] ?? []
                            let note = try? await server.checkpoint()
                            shared.observations.withLock { observed in
                                for (record, result) in zip(batch, results) where result["status"] as? String == "added" {
                                    guard let index = result["index"] as? Int else { continue }
                                    observed.acknowledge(UInt64(index), LedgerLeaf.stampRecordBytes(record))
                                    observed.acknowledgedBy[number] += 1
                                }
                                if let note { observed.checkpoint(note, verifier: verifier) }
                            }
                        }
                    }
                }
            }
            await killer.value
            servers[victim].process.waitUntilExit()
            #expect(servers[victim].process.terminationReason == .uncaughtSignal, "round \(round): the instance stopped by itself")
            // The survivor sequences on alone: a batch goes in while the victim is down.
            let survivor = servers[1 - victim]
            let lone = try fixture.record(counter: shared.counter.add(1, ordering: .relaxed).newValue)
            let (status, data) = try await survivor.request("/v1/entries/batch", method: "POST",
                                                            body: Data("[".utf8) + (try lone.jsonData()) + Data("]".utf8))
            #expect(status == 200, "round \(round): the survivor did not take over")
            if let index = (jsonObject(data)["results"] as? [[String: Any]])?.first?["index"] as? Int {
                shared.observations.withLock { $0.acknowledge(UInt64(index), LedgerLeaf.stampRecordBytes(lone)) }
            }
            servers[victim] = try await ServedLedger.start(directory: homes[victim], arguments: arguments)
        }

        let observed = shared.observations.withLock { $0 }
        #expect(observed.duplicates.isEmpty, "one index acknowledged for two different records: \(observed.duplicates)")
        #expect(observed.forks.isEmpty, "two different checkpoints for one size: \(observed.forks)")
        #expect(observed.acknowledged.count >= 48, "the instances acknowledged too little to test anything")
        // Both instances sequenced (they took turns), not one of them all along.
        #expect(observed.acknowledgedBy.allSatisfy { $0 > 0 }, "acknowledged per instance: \(observed.acknowledgedBy)")
        // Every acknowledged index holds its record, read through either instance.
        for (position, (index, bytes)) in observed.acknowledged.enumerated() {
            let server = servers[position % 2]
            let (status, data) = try await server.request("/v1/entries/\(index)")
            #expect(status == 200 && Data(base64Encoded: jsonObject(data)["entry"] as? String ?? "").map(Array.init) == bytes,
                    "acknowledged entry \(index) is missing or different")
        }
        // The instances serve one checkpoint, consistent with every one observed.
        try await Task.sleep(for: .seconds(1))
        let notes = [try await servers[0].checkpoint(), try await servers[1].checkpoint()]
        #expect(notes[0] == notes[1])
        let latest = try Checkpoint.open(notes[0], verifier: verifier)
        for (size, note) in observed.checkpoints where size > 0 && size < latest.size {
            let old = try Checkpoint.open(note, verifier: verifier)
            let (_, data) = try await servers[0].request("/v1/proof/consistency?from=\(size)&to=\(latest.size)")
            let hashes = (jsonObject(data)["hashes"] as? [String] ?? []).compactMap { Data(base64Encoded: $0).map { Array($0) } }
            #expect(throws: Never.self, "checkpoint \(size) is not consistent with \(latest.size)") {
                try MerkleTree.verifyConsistency(oldSize: size, newSize: latest.size, oldRoot: old.rootHash, newRoot: latest.rootHash, proof: hashes)
            }
        }
        for server in servers { server.stop() }
        let fsck = try await runProgram(Built.url("sealledger"), ["fsck", "--database", database, "--key", keyFile])
        #expect(fsck.status == 0, "\(fsck.stderr)")
        #expect(fsck.stdout.hasPrefix("ok: \(latest.size) entries"))
    }
}

/// What the failover test's client tasks share.
private final class FailoverShared: Sendable {
    let stop = Atomic<Bool>(false)
    let counter = Atomic<UInt32>(0)
    let observations = Mutex(FailoverObservations())
}

/// What the clients of the failover test saw: acknowledged indices and served checkpoints.
private struct FailoverObservations: Sendable {
    var acknowledged: [UInt64: [UInt8]] = [:]
    var acknowledgedBy = [0, 0]
    var duplicates: [UInt64] = []
    var checkpoints: [UInt64: String] = [:]
    var forks: [UInt64] = []

    mutating func acknowledge(_ index: UInt64, _ bytes: [UInt8]) {
        if let earlier = acknowledged[index], earlier != bytes { duplicates.append(index) }
        acknowledged[index] = bytes
    }

    mutating func checkpoint(_ note: String, verifier: NoteVerifier) {
        guard let checkpoint = try? Checkpoint.open(note, verifier: verifier) else { return }
        if let earlier = checkpoints[checkpoint.size], earlier != note { forks.append(checkpoint.size) }
        checkpoints[checkpoint.size] = note
    }
}
