import Foundation
import SealHostDriver
import SealImprint
import SealLedger
import Testing

/// A log of three entries built with SealLedger's Merkle tree and signed-note types, the example
/// record at index 1, as a ledger would serve it.
struct SmallLog {
    let signer: NoteSigner
    let entries: [[UInt8]]
    let note: String

    init(record: StampRecord, origin: String = "sealkit.local/ledger") throws {
        signer = try NoteSigner(generatingFor: origin)
        entries = [Array("first".utf8), record.canonicalBytes, Array("third".utf8)]
        let root = MerkleTree.rootHash(leafHashes: entries.map(MerkleTree.leafHash))
        note = try signer.sign(Checkpoint(origin: origin, size: UInt64(entries.count), rootHash: root).text)
    }

    func proof(index: UInt64) throws -> [MerkleHash] {
        let leaves = entries.map(MerkleTree.leafHash)
        return try MerkleTree.inclusionProof(index: index, size: UInt64(entries.count)) { (level: Int, index: UInt64) throws(LedgerError) -> MerkleHash in
            let width = 1 << level, start = Int(index) * width
            return MerkleTree.rootHash(leafHashes: Array(leaves[start..<min(leaves.count, start + width)]))
        }
    }
}

@Suite("How trace decides (docs/imprint.md)")
struct TraceVerifierTests {
    let record: StampRecord
    let log: SmallLog
    let beforeExpiry: UInt64

    init() throws {
        record = try exampleRecord()
        log = try SmallLog(record: record)
        beforeExpiry = record.expiry - 86_400
    }

    private func trace(_ payload: TracePayload, entry: [UInt8]? = nil, note: String? = nil, key: NoteVerifier? = nil,
                       witnesses: WitnessPolicy? = nil, document: [UInt8]? = nil, now: UInt64? = nil) throws -> TraceReport {
        TraceVerifier.verify(payload: payload, entry: entry ?? log.entries[Int(payload.index)], inclusionProof: try log.proof(index: payload.index),
                             checkpointNote: note ?? log.note, logKey: key ?? log.signer.verifier, witnesses: witnesses,
                             documentDigest: document, now: now ?? beforeExpiry)
    }

    @Test func aWitnessQuorumOnTheCheckpoint() throws {
        let payload = try payload(for: record, index: 1)
        let witnesses = try (1...3).map { try CosignatureSigner(generatingFor: "witness\($0).example") }
        let checkpointText = try SignedNote(parsing: log.note).text
        // Two of the three cosign the log's checkpoint (C2SP tlog-cosignature lines appended).
        let cosigned = log.note + (try witnesses[0].cosign(checkpointText: checkpointText, time: 1_800_000_100))
            + (try witnesses[1].cosign(checkpointText: checkpointText, time: 1_800_000_050))
        let twoOfThree = try WitnessPolicy(witnesses: witnesses.map(\.verifier), quorum: 2)
        let report = try trace(payload, note: cosigned, witnesses: twoOfThree)
        #expect(report.verdict == .genuine)
        #expect(report.checks[0].detail.contains("cosigned by 2 of 3") && report.checks[0].detail.contains("earliest at 1800000050"))
        // Three required: not proven. The log's signature alone: not proven under a policy.
        let all = try WitnessPolicy(witnesses: witnesses.map(\.verifier), quorum: 3)
        #expect(try trace(payload, note: cosigned, witnesses: all).firstFailure?.id == "checkpoint-signature")
        #expect(try trace(payload, witnesses: twoOfThree).verdict == .invalid)
        // A cosignature line by a trusted witness that does not verify (over another checkpoint).
        let other = Checkpoint(origin: "sealkit.local/ledger", size: 2, rootHash: [UInt8](repeating: 7, count: 32)).text
        let forgedLine = try witnesses[2].cosign(checkpointText: other, time: 1_800_000_000)
        #expect(try trace(payload, note: cosigned + forgedLine, witnesses: twoOfThree).verdict == .invalid)
    }

    @Test func aGenuineImprintOnItsDocument() throws {
        let report = try trace(try payload(for: record, index: 1), document: record.documentDigest)
        #expect(report.verdict == .genuine, "\(report.checks)")
        #expect(report.checks.map(\.id) == TraceVerifier.checkIDs)
        #expect(report.checks.allSatisfy { $0.outcome == .passed })
        #expect(report.checkpoint?.size == 3 && report.entry?.tbs.serial == record.serial)
        // Without a document: genuine, the document check skipped.
        let alone = try trace(try payload(for: record, index: 1))
        #expect(alone.verdict == .genuine && alone.checks[8].outcome == .skipped)
    }

    @Test func aCopiedImprintAndAnExpiredOne() throws {
        let payload = try payload(for: record, index: 1)
        let otherDocument = [UInt8](repeating: 0xAB, count: 32)
        let copied = try trace(payload, document: otherDocument)
        #expect(copied.verdict == .copied)
        #expect(copied.firstFailure?.id == "document-digest")
        let expired = try trace(payload, document: record.documentDigest, now: record.expiry + 1)
        #expect(expired.verdict == .expired && expired.firstFailure?.id == "not-expired")
        // At the expiry second itself it is still valid (now ≤ expiry, as stamp-record.md's check 12).
        #expect(try trace(payload, document: record.documentDigest, now: record.expiry).verdict == .genuine)
        // Both at once: copied wins.
        #expect(try trace(payload, document: otherDocument, now: record.expiry + 1).verdict == .copied)
    }

    @Test func whatTheLedgerDoesNotProveIsInvalid() throws {
        let good = try payload(for: record, index: 1)
        func expectInvalid(_ report: TraceReport, _ check: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(report.verdict == .invalid && report.firstFailure?.id == check, "\(report.checks)", sourceLocation: sourceLocation)
            #expect(report.checks.count == TraceVerifier.checkIDs.count, sourceLocation: sourceLocation)
        }
        // Another log's key; a checkpoint of another origin.
        expectInvalid(try trace(good, key: try NoteSigner(generatingFor: "sealkit.local/ledger").verifier), "checkpoint-signature")
        expectInvalid(try trace(try payload(for: record, index: 1, origin: "other.example/log")), "checkpoint-origin")
        // The payload points at another entry, or names another hash.
        expectInvalid(try trace(try payload(for: record, index: 2)), "record-hash")
        var hash = good.recordHash
        hash[0] ^= 1
        let wrongHash = try TracePayload(ledgerURL: good.ledgerURL, origin: good.origin, index: 1, recordHash: hash,
                                         serial: good.serial, expirationCode: good.expirationCode)
        expectInvalid(try trace(wrongHash), "record-hash")
        // A proof that does not lead to the signed root: the entry is not in the log.
        let report = TraceVerifier.verify(payload: good, entry: log.entries[1], inclusionProof: try log.proof(index: 0),
                                          checkpointNote: log.note, logKey: log.signer.verifier, documentDigest: nil, now: beforeExpiry)
        expectInvalid(report, "inclusion-proof")
        // An imprint whose printed serial or code is not the record's (the QR was re-made).
        let serial = try TracePayload(ledgerURL: good.ledgerURL, origin: good.origin, index: 1, recordHash: good.recordHash,
                                      serial: "AAAAAA-AAAAAA-AAAAAA-0000001-A", expirationCode: good.expirationCode)
        expectInvalid(try trace(serial), "serial")
        let code = try TracePayload(ledgerURL: good.ledgerURL, origin: good.origin, index: 1, recordHash: good.recordHash,
                                    serial: good.serial, expirationCode: "00000000")
        expectInvalid(try trace(code), "expiration-code")
        // A leaf that is not a stamp record (conflict evidence, say), hashed into the payload.
        let other = try TracePayload(ledgerURL: good.ledgerURL, origin: good.origin, index: 0,
                                     recordHash: LedgerLeaf.recordHash(log.entries[0]), serial: good.serial, expirationCode: good.expirationCode)
        expectInvalid(try trace(other), "entry-format")
    }
}
