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
                       document: [UInt8]? = nil, now: UInt64? = nil) throws -> TraceReport {
        TraceVerifier.verify(payload: payload, entry: entry ?? log.entries[Int(payload.index)], inclusionProof: try log.proof(index: payload.index),
                             checkpointNote: note ?? log.note, logKey: key ?? log.signer.verifier, documentDigest: document,
                             now: now ?? beforeExpiry)
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
