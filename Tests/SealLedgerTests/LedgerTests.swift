import Crypto
import Foundation
import SealHostDriver
@testable import SealLedger
import Testing

/// A ledger on a real SQLite file in a scratch directory, or on a fresh PostgreSQL database.
struct LedgerHarness {
    let backend: StorageBackend
    let directory: URL
    /// The SQLite file or the PostgreSQL URL.
    let database: String
    let keyPath: String
    let signer: NoteSigner
    let fixture: StampFixture
    let ledger: Ledger

    init(_ backend: StorageBackend = .sqlite) throws {
        self.backend = backend
        directory = try makeScratchDirectory()
        database = try backend.makeLocation(in: directory)
        keyPath = LedgerHome.keyPath(database: directory.appendingPathComponent("ledger/ledger.sqlite").path)
        signer = try LedgerHome.loadOrCreateKey(at: keyPath, origin: "test.sealkit/ledger")
        fixture = try StampFixture()
        ledger = try Ledger(storage: try backend.open(database), signer: signer, stampVerifier: fixture.verifier)
    }

    func reopen() throws -> Ledger {
        try Ledger(storage: try backend.open(database), signer: signer, stampVerifier: fixture.verifier)
    }
}

@Suite("Ledger on SQLite and PostgreSQL: admission, sequencing, proofs, fsck")
struct LedgerTests {
    @Test(arguments: StorageBackend.available)
    func aNewLedgerSignsTheEmptyTreeAndKeepsItsKey(backend: StorageBackend) throws {
        let harness = try LedgerHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        if backend == .sqlite { #expect(FileManager.default.fileExists(atPath: harness.database)) }
        let checkpoint = try Checkpoint.open(harness.ledger.checkpointNote, origin: "test.sealkit/ledger", verifier: harness.signer.verifier)
        #expect(checkpoint.size == 0 && checkpoint.rootHash == MerkleTree.emptyRoot)
        // Opened again: the stored empty tree, not a second one.
        #expect(try harness.reopen().checkpointNote == harness.ledger.checkpointNote)
        let again = try LedgerHome.loadOrCreateKey(at: harness.keyPath, origin: "ignored")
        #expect(again.verifier == harness.signer.verifier)
        let attributes = try FileManager.default.attributesOfItem(atPath: harness.keyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test(arguments: StorageBackend.available)
    func recordsAreAdmittedOncePerChipAndCounterAndProvable(backend: StorageBackend) async throws {
        let harness = try LedgerHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let records = try (1...5).map { try harness.fixture.record(counter: UInt32($0), document: Array("doc \($0)".utf8)) }
        let first = await harness.ledger.submit(Array(records.prefix(3)))
        #expect(first == [.added(index: 0), .added(index: 1), .added(index: 2)])
        let oldNote = harness.ledger.checkpointNote
        // The same record again, in a batch with new ones: same index, nothing appended for it.
        let second = await harness.ledger.submit([records[1], records[3], records[4], records[3]])
        #expect(second == [.duplicate(index: 1), .added(index: 3), .added(index: 4), .duplicate(index: 3)])
        #expect(harness.ledger.size == 5)

        let old = try Checkpoint.open(oldNote, verifier: harness.signer.verifier)
        let new = try Checkpoint.open(harness.ledger.checkpointNote, verifier: harness.signer.verifier)
        #expect(old.size == 3 && new.size == 5)
        for (index, record) in records.enumerated() {
            let leaf = MerkleTree.leafHash(LedgerLeaf.stampRecordBytes(record))
            let proof = try harness.ledger.inclusionProof(index: UInt64(index), size: new.size)
            try MerkleTree.verifyInclusion(leafHash: leaf, index: UInt64(index), size: new.size, proof: proof, root: new.rootHash)
            #expect(try harness.ledger.entry(at: UInt64(index)).bytes == LedgerLeaf.stampRecordBytes(record))
            #expect(try harness.ledger.lookup(.serial(record.serial)) == [UInt64(index)])
            #expect(try harness.ledger.lookup(.documentDigest(record.documentDigest)) == [UInt64(index)])
            #expect(try harness.ledger.lookup(.recordHash(LedgerLeaf.recordHash(LedgerLeaf.stampRecordBytes(record)))) == [UInt64(index)])
        }
        let consistency = try harness.ledger.consistencyProof(oldSize: old.size, newSize: new.size)
        try MerkleTree.verifyConsistency(oldSize: old.size, newSize: new.size, oldRoot: old.rootHash, newRoot: new.rootHash, proof: consistency)

        // Reopened from the file: the same tree, the same checkpoint, and it goes on.
        let reopened = try harness.reopen()
        #expect(reopened.checkpointNote == harness.ledger.checkpointNote)
        #expect(try reopened.fsck() == new)
        let more = await reopened.submit([try harness.fixture.record(counter: 6)])
        #expect(more == [.added(index: 5)])
        #expect(await reopened.submit([records[0]]) == [.duplicate(index: 0)])
    }

    @Test(arguments: StorageBackend.available)
    func aDifferentRecordForAnAdmittedCounterBecomesEvidenceAndMarksTheChip(backend: StorageBackend) async throws {
        let harness = try LedgerHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let original = try harness.fixture.record(counter: 9)
        let clone = try harness.fixture.record(counter: 9, operatorID: "someone-else")
        #expect(await harness.ledger.submit([original]) == [.added(index: 0)])
        #expect(try harness.ledger.suspectEvidence(chipID: harness.fixture.chipID) == nil)
        #expect(await harness.ledger.submit([clone]) == [.conflict(admittedIndex: 0, evidenceIndex: 1)])
        #expect(try harness.ledger.suspectEvidence(chipID: harness.fixture.chipID) == 1)
        let evidence = try harness.ledger.entry(at: 1)
        #expect(evidence.kind == .conflictEvidence)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(evidence.bytes)) as? [String: Any])
        #expect(object["evidence"] as? String == "chip-counter-conflict")
        #expect(object["admittedIndex"] as? Int == 0)
        let admittedText = try #require(object["admitted"] as? String)
        let conflictingText = try #require(object["conflicting"] as? String)
        let admitted = try #require(Data(base64Encoded: admittedText))
        let conflicting = try #require(Data(base64Encoded: conflictingText))
        #expect(Array(admitted) == original.canonicalBytes)
        #expect(Array(conflicting) == clone.canonicalBytes)
        #expect(original.canonicalBytes != clone.canonicalBytes)
        // Reported again: the same evidence entry, nothing new; the original stays the stamp entry.
        #expect(await harness.ledger.submit([clone]) == [.conflict(admittedIndex: 0, evidenceIndex: 1)])
        #expect(harness.ledger.size == 2)
        #expect(try harness.ledger.lookup(.serial(original.serial)) == [0])
        _ = try harness.ledger.fsck()
    }

    @Test(arguments: StorageBackend.available)
    func aRecordThatFailsVerificationIsRefusedByNameAndChangesNothing(backend: StorageBackend) async throws {
        let harness = try LedgerHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        var forged = try harness.fixture.record(counter: 1)
        forged.documentDigest[0] ^= 1
        let strangerChip = try StampFixture(chip: 99).record(counter: 1)
        let valid = try harness.fixture.record(counter: 2)
        let before = harness.ledger.checkpointNote
        let outcomes = await harness.ledger.submit([forged, strangerChip])
        guard case .refused(let signature) = outcomes[0], case .refused(let chain) = outcomes[1] else {
            Issue.record("expected two refusals, got \(outcomes)")
            return
        }
        #expect(signature.code == .recordRefused && signature.failedCheck == "stamp-signature")
        #expect(chain.failedCheck == "device-certificate-chain")
        #expect(harness.ledger.checkpointNote == before)
        #expect(harness.ledger.size == 0)
        // A refused record in a batch does not hold back the others.
        #expect(await harness.ledger.submit([forged, valid]).last == .added(index: 0))
    }

    @Test(arguments: StorageBackend.available)
    func concurrentSubmissionsShareCommitsAndEachGetsItsOwnIndex(backend: StorageBackend) async throws {
        let harness = try LedgerHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let records = try (1...64).map { try harness.fixture.record(counter: UInt32($0)) }
        let ledger = harness.ledger
        // Each record alone, all at once, and record 1 a second time among them.
        let outcomes = await withTaskGroup(of: (Int, AdmissionOutcome).self) { group in
            for (position, record) in (records + [records[0]]).enumerated() {
                group.addTask { (position, await ledger.submit([record])[0]) }
            }
            var outcomes = [AdmissionOutcome?](repeating: nil, count: records.count + 1)
            for await (position, outcome) in group { outcomes[position] = outcome }
            return outcomes
        }
        var indexOf: [Int: UInt64] = [:]
        for (position, outcome) in outcomes.prefix(records.count).enumerated() {
            switch outcome {
            case .added(let index)?, .duplicate(let index)?: indexOf[position] = index
            default: Issue.record("record \(position): \(String(describing: outcome))")
            }
        }
        #expect(Set(indexOf.values) == Set(0..<64))
        // Record 1 went in twice at once: one of the two was added, the other found it, same index.
        let index0 = try #require(indexOf[0])
        #expect(Set([outcomes[0], outcomes[64]]) == Set([.added(index: index0), .duplicate(index: index0)]))
        #expect(ledger.size == 64)
        let checkpoint = try ledger.fsck()
        for (position, index) in indexOf {
            #expect(try ledger.entry(at: index).bytes == LedgerLeaf.stampRecordBytes(records[position]))
            try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(LedgerLeaf.stampRecordBytes(records[position])), index: index,
                                           size: checkpoint.size, proof: try ledger.inclusionProof(index: index), root: checkpoint.rootHash)
        }
    }

    @Test(arguments: StorageBackend.available)
    func fsckFindsALeafChangedInTheDatabase(backend: StorageBackend) async throws {
        let harness = try LedgerHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        _ = try harness.ledger.appendPreverified((0..<700).map { Array("synthetic \($0)".utf8) })
        let checkpoint = try harness.ledger.fsck()
        #expect(checkpoint.size == 700)
        // Rewrite one leaf behind the ledger's back, with the sqlite3 or psql command line tool.
        let process = Process()
        switch backend {
        case .sqlite:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            process.arguments = [harness.database, "UPDATE entries SET bytes = X'00' WHERE idx = 300"]
        case .postgres:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
            process.arguments = [harness.database, "-q", "-c", "UPDATE entries SET bytes = '\\x00' WHERE idx = 300"]
        }
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(throws: LedgerError(code: .inconsistentTree, reason: "")) { try harness.reopen().fsck() }
    }

    @Test(arguments: StorageBackend.available)
    func tilesAreServedAtTheirWidthsAndRebuildTheRoot(backend: StorageBackend) throws {
        let harness = try LedgerHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let leaves = (0..<600).map { Array("entry \($0)".utf8) }
        _ = try harness.ledger.appendPreverified(Array(leaves.prefix(250)))
        _ = try harness.ledger.appendPreverified(Array(leaves.suffix(350)))
        let full = try harness.ledger.tile(TileID(level: 0, index: 1, count: 256))
        #expect(full == (256..<512).flatMap { MerkleTree.leafHash(leaves[$0]) })
        #expect(try harness.ledger.tile(TileID(level: 0, index: 2, count: 88)) == (512..<600).flatMap { MerkleTree.leafHash(leaves[$0]) })
        #expect(try harness.ledger.tile(TileID(level: 0, index: 2, count: 10)).count == 320)
        #expect(try harness.ledger.tile(TileID(level: 1, index: 0, count: 2)).count == 64)
        #expect(throws: LedgerError(code: .notFound, reason: "")) { try harness.ledger.tile(TileID(level: 0, index: 2, count: 89)) }
        #expect(throws: LedgerError(code: .notFound, reason: "")) { try harness.ledger.tile(TileID(level: 0, index: 2, count: 256)) }
        #expect(throws: LedgerError(code: .notFound, reason: "")) { try harness.ledger.tile(TileID(level: 1, index: 0, count: 3)) }
        let bundle = try harness.ledger.tile(TileID(level: nil, index: 2, count: 88))
        #expect(try EntryBundle.decode(bundle) == Array(leaves[512..<600]))
        let checkpoint = try Checkpoint.open(harness.ledger.checkpointNote, verifier: harness.signer.verifier)
        #expect(checkpoint.rootHash == MerkleTree.rootHash(leafHashes: leaves.map(MerkleTree.leafHash)))
    }

    @Test func aTlogProofVerifiesOfflineAndOnlyForItsRecordAndKey() async throws {
        let harness = try LedgerHarness()
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let records = try (1...4).map { try harness.fixture.record(counter: UInt32($0)) }
        _ = await harness.ledger.submit(records)
        let entry = LedgerLeaf.stampRecordBytes(records[2])
        let proof = TlogProof(index: 2, hashes: try harness.ledger.inclusionProof(index: 2), checkpointNote: harness.ledger.checkpointNote)
        let parsed = try TlogProof(text: proof.text)
        #expect(parsed == proof)
        #expect(proof.text.hasPrefix("c2sp.org/tlog-proof@v1\nindex 2\n"))
        #expect(try parsed.verify(entry: entry, verifier: harness.signer.verifier).size == 4)
        #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
            try parsed.verify(entry: LedgerLeaf.stampRecordBytes(records[1]), verifier: harness.signer.verifier)
        }
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) {
            try parsed.verify(entry: entry, verifier: try NoteSigner(generatingFor: "test.sealkit/ledger").verifier)
        }
        let withExtra = TlogProof(index: 2, hashes: proof.hashes, checkpointNote: proof.checkpointNote, extra: [1, 2, 3])
        #expect(try TlogProof(text: withExtra.text) == withExtra)
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) { try TlogProof(text: "c2sp.org/tlog-proof@v2\nindex 2\n\n" + proof.checkpointNote) }
    }
}
