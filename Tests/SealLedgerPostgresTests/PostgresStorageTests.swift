import Foundation
import SealHostDriver
@testable import SealLedger
import SealLedgerPostgres
import SealTestSupport
import X509
import Synchronization
import Testing

/// The PostgreSQL server these tests create their databases on (scripts/postgres.sh starts one).
private let serverURL = ProcessInfo.processInfo.environment["SEALKIT_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

private func freshDatabase() throws -> String {
    let server = try #require(serverURL)
    return try PostgresStorage.createDatabase(serverURL: server,
                                              name: "pgstorage_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
}

private func entry(_ index: UInt64) -> StoredEntry {
    StoredEntry(index: index, kind: .stampRecord, bytes: Array("leaf \(index)".utf8), chipID: nil, counter: nil, serial: nil, documentDigest: nil)
}

@Suite("PostgreSQL storage: URLs, the commit fence, several instances on one database")
struct PostgresStorageTests {
    @Test func aURLThatIsNotPostgresIsRefusedWithoutConnecting() {
        for url in ["http://user@host/db", "postgres://host/db", "postgres:///db", "/var/lib/ledger.sqlite"] {
            #expect(throws: LedgerError(code: .malformedInput, reason: ""), "\(url)") { try PostgresStorage(url: url) }
        }
        #expect(PostgresStorage.isPostgresURL("postgresql://u@h:1/d") && !PostgresStorage.isPostgresURL("ledger.sqlite"))
    }

    @Test(.enabled(if: serverURL != nil, "SEALKIT_POSTGRES_URL is not set"))
    func aServerThatIsNotThereIsAStorageFailure() throws {
        // Port 1 on loopback: nothing listens there.
        #expect(throws: LedgerError(code: .storageFailure, reason: "")) { try PostgresStorage(url: "postgres://nobody@127.0.0.1:1/none") }
    }

    @Test(.enabled(if: serverURL != nil, "SEALKIT_POSTGRES_URL is not set"))
    func aCommitOnAStaleTreeOrASecondCheckpointForASizeIsRefusedAndChangesNothing() throws {
        let url = try freshDatabase()
        let first = try PostgresStorage(url: url)
        let second = try PostgresStorage(url: url)
        try first.commit(SequencedBatch(entries: [], tiles: [], checkpoint: "empty\n", size: 0, suspects: []))
        try first.commit(SequencedBatch(entries: [entry(0), entry(1)], tiles: [], checkpoint: "two\n", size: 2, suspects: []))
        // An instance that still believes the tree is empty: its batch grows size 0, and is refused.
        #expect(throws: LedgerError(code: .storageFailure, reason: "")) {
            try second.commit(SequencedBatch(entries: [entry(0)], tiles: [], checkpoint: "stale\n", size: 1, suspects: []))
        }
        // A second, different checkpoint for size 2 (an empty batch): the plain INSERT refuses it.
        #expect(throws: LedgerError(code: .storageFailure, reason: "")) {
            try second.commit(SequencedBatch(entries: [], tiles: [], checkpoint: "other two\n", size: 2, suspects: []))
        }
        #expect(try second.latest()?.size == 2 && second.latest()?.checkpoint == "two\n")
        #expect(try second.entries(start: 0, count: 10).map(\.bytes) == [Array("leaf 0".utf8), Array("leaf 1".utf8)])
        // The pooled connection that failed inside its transaction was rolled back and serves on.
        try second.commit(SequencedBatch(entries: [entry(2)], tiles: [], checkpoint: "three\n", size: 3, suspects: []))
        #expect(try first.latest()?.size == 3)
    }

    @Test(.enabled(if: serverURL != nil, "SEALKIT_POSTGRES_URL is not set"))
    func instancesStartingTogetherCreateTheSchemaOnceAndShareOneEmptyTree() async throws {
        let url = try freshDatabase()
        let signer = try NoteSigner(generatingFor: "test.sealkit/pg")
        let notes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await offThePool {
                        try Ledger(storage: try PostgresStorage(url: url), signer: signer, stampVerifier: StampVerifier(trustedRoots: [Certificate]())).checkpointNote
                    }
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(notes.count == 1)
    }

    @Test(.enabled(if: serverURL != nil, "SEALKIT_POSTGRES_URL is not set"))
    func twoInstancesAppendingAtOnceTakeTurnsAndBuildOneTree() async throws {
        let url = try freshDatabase()
        let signer = try NoteSigner(generatingFor: "test.sealkit/pg")
        let ledgers = try (0..<2).map { _ in
            try Ledger(storage: try PostgresStorage(url: url), signer: signer, stampVerifier: StampVerifier(trustedRoots: [Certificate]()))
        }
        // Each instance appends 20 batches of 37 leaves from its own thread, interleaving with the other.
        let firsts = try await withThrowingTaskGroup(of: [(UInt64, [[UInt8]])].self) { group in
            for (number, ledger) in ledgers.enumerated() {
                group.addTask {
                    try await offThePool {
                        try (0..<20).map { batch in
                            let leaves = (0..<37).map { Array("instance \(number) batch \(batch) leaf \($0)".utf8) }
                            return (try ledger.appendPreverified(leaves), leaves)
                        }
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        // Every batch got its own consecutive range; together they tile [0, 1480) exactly.
        let ranges = firsts.map { $0.0..<($0.0 + 37) }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(ranges.count == 40 && ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 1480)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        for ledger in ledgers { try ledger.refresh() }
        #expect(ledgers[0].size == 1480 && ledgers[0].checkpointNote == ledgers[1].checkpointNote)
        for (first, leaves) in firsts {
            #expect(try ledgers[1].entry(at: first + 36).bytes == leaves[36])
        }
        let checkpoint = try ledgers[1].fsck()
        #expect(checkpoint.size == 1480)
        #expect(checkpoint.rootHash == MerkleTree.rootHash(leafHashes: try ledgers[0].storage.entries(start: 0, count: 1480).map { MerkleTree.leafHash($0.bytes) }))
    }
}

