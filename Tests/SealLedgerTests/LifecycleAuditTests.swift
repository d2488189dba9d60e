import Crypto
import Foundation
import SealHostDriver
@testable import SealLedger
import Testing

/// A ledger on a real SQLite file (or a fresh PostgreSQL database) that trusts one issuer key for
/// lifecycle events.
struct EventHarness {
    let backend: StorageBackend
    let directory: URL
    let database: String
    let signer: NoteSigner
    let fixture: StampFixture
    let issuerKey = P256.Signing.PrivateKey()
    let ledger: Ledger

    init(_ backend: StorageBackend = .sqlite) throws {
        self.backend = backend
        directory = try makeScratchDirectory()
        database = try backend.makeLocation(in: directory)
        signer = try LedgerHome.loadOrCreateKey(at: directory.appendingPathComponent("ledger.key").path, origin: "test.sealkit/ledger")
        fixture = try StampFixture()
        ledger = try Ledger(storage: try backend.open(database), signer: signer, stampVerifier: fixture.verifier,
                            issuerTrust: IssuerTrust(keys: [issuerKey.publicKey]))
    }

    func reopen() throws -> Ledger {
        try Ledger(storage: try backend.open(database), signer: signer, stampVerifier: fixture.verifier,
                   issuerTrust: IssuerTrust(keys: [issuerKey.publicKey]))
    }

    func event(_ kind: LifecycleEvent.Kind, finalCounter: UInt32? = nil, seal: SealIdentity? = nil, time: UInt64 = 1_790_000_000,
               key: P256.Signing.PrivateKey? = nil) throws -> SignedLifecycleEvent {
        try SignedLifecycleEvent(signing: LifecycleEvent(kind: kind, chipID: fixture.chipID, time: time, seal: seal, finalCounter: finalCounter),
                                 with: key ?? issuerKey)
    }

    /// The chip's audit entries for `records` (consecutive counters), chained from `previous` as
    /// the chip chains them (SPEC §9.6), and the head hash after the last.
    func auditEntries(_ records: [StampRecord], previous: [UInt8] = [UInt8](repeating: 0, count: 32)) -> (entries: [AuditEntry], head: [UInt8]) {
        var previous = previous
        var entries: [AuditEntry] = []
        for record in records {
            let entry = AuditEntry(counter: record.counter, time: record.metadata.time, documentDigest: record.documentDigest,
                                   metadataDigest: record.metadataDigest, serial: record.serial, expiry: record.expiry,
                                   expirationCode: record.expirationCode, grantSerial: record.grantSerial, previousHash: previous,
                                   signature: record.signature)
            previous = AuditEntry.chainHash(previous: previous, tbs: record.tbs.encoded(), signature: record.signature)
            entries.append(entry)
        }
        return (entries, previous)
    }
}

@Suite("Ledger: lifecycle events, terminated and suspended chips, audit-log pushes")
struct LifecycleAuditTests {
    @Test func theEventEncodingIsStrictAndCarriesTheSealIdentityAsTheChipSignsIt() throws {
        let harness = try EventHarness()
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let record = try harness.fixture.record(counter: 1)
        let personalized = try harness.event(.personalized, seal: record.sealIdentity)
        let bytes = personalized.event.signedBytes
        #expect(Array(bytes.prefix(23)) == Array("SEALKIT-LEDGER-EVENT-V1".utf8))
        #expect(bytes[23] == 2 && Array(bytes[24..<40]) == harness.fixture.chipID)
        #expect(Array(bytes[40..<48]) == [0, 0, 0, 0, 0x6A, 0xB1, 0x3B, 0x80])  // 1,790,000,000 big-endian
        // The identity part is byte for byte the one inside the stamp TBS the chip signed.
        let identity = Array(bytes[48...])
        let tbs = record.tbs.encoded()
        #expect(identity.count == 1 + 16 + 1 + 13 + 32 + 32)
        #expect(tbs.indices.contains { start in start + identity.count <= tbs.count && Array(tbs[start..<(start + identity.count)]) == identity })

        let decoded = try SignedLifecycleEvent(bytes: personalized.bytes)
        #expect(decoded == personalized && decoded.isValidSignature)
        let terminated = try harness.event(.terminated, finalCounter: 0x0102_0304)
        #expect(Array(terminated.event.signedBytes.suffix(4)) == [1, 2, 3, 4])
        #expect(try SignedLifecycleEvent(bytes: terminated.bytes) == terminated)

        // Strict: cut short, trailing bytes, an unknown kind, fields the kind does not have.
        let good = terminated.bytes
        var unknownKind = good
        unknownKind[23] = 9
        for bad in [Array(good.dropLast()), good + [0], unknownKind, Array(good.prefix(30))] {
            #expect(throws: LedgerError(code: .malformedInput, reason: "")) { try SignedLifecycleEvent(bytes: bad) }
        }
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) {
            try LifecycleEvent(kind: .suspended, chipID: harness.fixture.chipID, time: 1, finalCounter: 3)
        }
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) {
            try LifecycleEvent(kind: .personalized, chipID: harness.fixture.chipID, time: 1)
        }
    }

    @Test(arguments: StorageBackend.available)
    func eventsAreAdmittedOnlyFromTheTrustedIssuerAndOnce(backend: StorageBackend) throws {
        let harness = try EventHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let manufactured = try harness.event(.manufactured)
        #expect(harness.ledger.submit(event: manufactured) == .added(index: 0))
        #expect(harness.ledger.submit(event: manufactured) == .duplicate(index: 0))

        let stranger = try harness.event(.activated, key: P256.Signing.PrivateKey())
        guard case .refused(let untrusted) = harness.ledger.submit(event: stranger) else { Issue.record("admitted"); return }
        #expect(untrusted.failedCheck == "issuer-untrusted")
        var forged = try harness.event(.activated)
        forged.event.time += 1  // the signature no longer covers the bytes
        guard case .refused(let badSignature) = harness.ledger.submit(event: forged) else { Issue.record("admitted"); return }
        #expect(badSignature.failedCheck == "issuer-signature")
        #expect(harness.ledger.size == 1)

        let entry = try harness.ledger.entry(at: 0)
        #expect(entry.kind == .lifecycleEvent && entry.chipID == harness.fixture.chipID && entry.bytes == manufactured.bytes)
        #expect(try harness.ledger.lookup(.chipID(harness.fixture.chipID)) == [0])
    }

    @Test(arguments: StorageBackend.available)
    func aTerminatedChipsLaterStampsAreRefusedAndKeptAsEvidence(backend: StorageBackend) async throws {
        let harness = try EventHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let records = try (1...5).map { try harness.fixture.record(counter: UInt32($0)) }
        #expect(await harness.ledger.submit([records[0], records[1]]) == [.added(index: 0), .added(index: 1)])
        #expect(harness.ledger.submit(event: try harness.event(.terminated, finalCounter: 3)) == .added(index: 2))

        // Counter 3 was stamped offline before the termination: admitted. 4 and 5 come after it.
        let outcomes = await harness.ledger.submit([records[2], records[3], records[4], records[3]])
        #expect(outcomes == [.added(index: 3), .refusedAfterTermination(terminationIndex: 2, evidenceIndex: 4),
                             .refusedAfterTermination(terminationIndex: 2, evidenceIndex: 5),
                             .refusedAfterTermination(terminationIndex: 2, evidenceIndex: 4)])
        let evidence = try harness.ledger.entry(at: 4)
        #expect(evidence.kind == .terminatedChipEvidence && evidence.counter == 4)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(evidence.bytes)) as? [String: Any])
        #expect(object["evidence"] as? String == "stamp-after-termination" && object["finalCounter"] as? Int == 3)
        #expect(object["record"] as? String == Data(LedgerLeaf.stampRecordBytes(records[3])).base64EncodedString())
        #expect(try harness.ledger.lookup(.recordHash(LedgerLeaf.stampRecordBytes(records[3]))).isEmpty)

        // The same refusal after a restart points at the same evidence and appends nothing.
        let reopened = try harness.reopen()
        #expect(await reopened.submit([records[3]]) == [.refusedAfterTermination(terminationIndex: 2, evidenceIndex: 4)])
        #expect(await reopened.submit([records[1]]) == [.duplicate(index: 1)])
        #expect(reopened.size == 6)
        // Nothing happens to a chip after its termination.
        guard case .refused(let error) = reopened.submit(event: try harness.event(.resumed)) else { Issue.record("admitted"); return }
        #expect(error.failedCheck == "chip-terminated" && reopened.size == 6)
        #expect(try reopened.history(chipID: harness.fixture.chipID).map(\.kind)
                == [.stampRecord, .stampRecord, .lifecycleEvent, .stampRecord, .terminatedChipEvidence, .terminatedChipEvidence])
        #expect(try reopened.fsck().size == 6)
    }

    @Test(arguments: StorageBackend.available)
    func aSuspendedChipsRecordsAreAdmittedButFlagged(backend: StorageBackend) async throws {
        let harness = try EventHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let records = try (1...3).map { try harness.fixture.record(counter: UInt32($0)) }
        #expect(harness.ledger.submit(event: try harness.event(.activated)) == .added(index: 0))
        #expect(await harness.ledger.submit([records[0]]) == [.added(index: 1)])
        #expect(harness.ledger.submit(event: try harness.event(.suspended, time: 1_790_000_100)) == .added(index: 2))
        #expect(await harness.ledger.submit([records[1]]) == [.addedWhileSuspended(index: 3, suspensionIndex: 2)])
        #expect(harness.ledger.submit(event: try harness.event(.resumed, time: 1_790_000_200)) == .added(index: 4))
        #expect(await harness.ledger.submit([records[2]]) == [.added(index: 5)])
    }

    @Test(arguments: StorageBackend.available)
    func anAuditPushFindsUnreportedStampsAndTheGapsAreTracked(backend: StorageBackend) async throws {
        let harness = try EventHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let chip = harness.fixture.chipID
        let records = try (1...6).map { try harness.fixture.record(counter: UInt32($0), document: Array("doc \($0)".utf8)) }
        // 1, 2 and 5 reach the ledger; 3 and 4 were stamped offline; 6 is not submitted yet.
        #expect(await harness.ledger.submit([records[0], records[1], records[4]]) == [.added(index: 0), .added(index: 1), .added(index: 2)])
        var gaps = try harness.ledger.counterGaps(chipID: chip)
        #expect(gaps.highestCounter == 5 && gaps.recorded == 3 && gaps.gaps == [3...4] && gaps.unreported.isEmpty)

        let (entries, head) = harness.auditEntries(records)
        let push = try AuditPush(chipID: chip, headHash: head, entries: entries)
        #expect(try AuditPush(bytes: push.bytes) == push)
        let outcome = try harness.ledger.submit(audit: push)
        #expect(outcome.index == 3 && !outcome.duplicate && outcome.tamperEvidenceIndex == nil)
        #expect(outcome.unreported == [.init(counter: 3, evidenceIndex: 4), .init(counter: 4, evidenceIndex: 5), .init(counter: 6, evidenceIndex: 6)])
        let evidence = try harness.ledger.entry(at: 5)
        #expect(evidence.kind == .unreportedStampEvidence && evidence.counter == 4)
        #expect(try harness.ledger.entry(at: 3).bytes == push.bytes)
        gaps = try harness.ledger.counterGaps(chipID: chip)
        #expect(gaps.highestCounter == 6 && gaps.gaps == [3...4, 6...6] && gaps.unreported.map(\.counter) == [3, 4, 6])

        // The same push again appends nothing; a longer one later writes evidence only for new stamps.
        #expect(try harness.ledger.submit(audit: push) == AuditOutcome(index: 3, duplicate: true, unreported: outcome.unreported))
        #expect(harness.ledger.size == 7)
        // Stamp 3 is reported late: admitted; it is no longer a gap nor unreported.
        #expect(await harness.ledger.submit([records[2]]) == [.added(index: 7)])
        gaps = try harness.ledger.counterGaps(chipID: chip)
        #expect(gaps.gaps == [4...4, 6...6] && gaps.unreported.map(\.counter) == [4, 6])
        let later = try harness.fixture.record(counter: 7, document: Array("doc 7".utf8))
        let afterThird = harness.auditEntries(Array(records.prefix(3))).head
        let (longer, longerHead) = harness.auditEntries(Array(records[3...]) + [later], previous: afterThird)
        let second = try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: longerHead, entries: longer))
        #expect(second.index == 8 && second.unreported == [.init(counter: 4, evidenceIndex: 5), .init(counter: 6, evidenceIndex: 6),
                                                            .init(counter: 7, evidenceIndex: 9)])
        #expect(try harness.ledger.suspectEvidence(chipID: chip) == nil)
        #expect(try harness.ledger.fsck().size == 10)
    }

    @Test(arguments: StorageBackend.available)
    func aBrokenAuditChainIsTamperEvidenceAndMarksTheChipSuspect(backend: StorageBackend) async throws {
        let harness = try EventHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let chip = harness.fixture.chipID
        let records = try (1...3).map { try harness.fixture.record(counter: UInt32($0), document: Array("doc \($0)".utf8)) }
        #expect(await harness.ledger.submit(records) == [.added(index: 0), .added(index: 1), .added(index: 2)])
        let (entries, head) = harness.auditEntries(records)

        // A link broken in the middle.
        var relinked = entries
        relinked[1].previousHash[0] ^= 1
        let broken = try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: head, entries: relinked))
        #expect(broken.index == nil && broken.tamperEvidenceIndex == 3 && broken.tamperReason?.contains("entry 2") == true)
        #expect(try harness.ledger.suspectEvidence(chipID: chip) == 3)
        let evidence = try harness.ledger.entry(at: 3)
        #expect(evidence.kind == .auditTamperEvidence)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(evidence.bytes)) as? [String: Any])
        #expect(object["evidence"] as? String == "audit-chain-broken" && object["audit"] is String)
        // Reported again: the same evidence, nothing appended.
        #expect(try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: head, entries: relinked)).tamperEvidenceIndex == 3)
        #expect(harness.ledger.size == 4)

        // A head that is not the chain's end.
        var otherHead = head
        otherHead[31] ^= 1
        #expect(try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: otherHead, entries: entries)).tamperEvidenceIndex == 4)

        // A chain that verifies on its own but whose stamp 2 carries another valid signature than
        // the admitted record: two stamps at one counter.
        var resigned = records
        resigned[1].signature = Array(try harness.fixture.sealKey.signature(for: records[1].tbs.encoded()).derRepresentation)
        let (other, otherChainHead) = harness.auditEntries(resigned)
        let differs = try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: otherChainHead, entries: other))
        #expect(differs.tamperEvidenceIndex == 5 && differs.tamperReason?.contains("differs from the record admitted at index 1") == true)

        // An entry the seal key did not sign is refused, and no evidence is written: anyone can send bytes.
        var unsigned = entries
        unsigned[2].signature = Array(try P256.Signing.PrivateKey().signature(for: records[2].tbs.encoded()).derRepresentation)
        let refusal = #expect(throws: LedgerError.self) {
            try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: head, entries: unsigned))
        }
        #expect(refusal?.failedCheck == "audit-signature" && harness.ledger.size == 6)

        // The honest log still goes in.
        let honest = try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: head, entries: entries))
        #expect(honest.index == 6 && honest.unreported.isEmpty && honest.tamperEvidenceIndex == nil)
    }

    @Test(arguments: StorageBackend.available)
    func theLargestPushAndTheEvidenceQuotingItFitInOneEntry(backend: StorageBackend) async throws {
        let harness = try EventHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let chip = harness.fixture.chipID
        let records = try (1...AuditPush.maximumEntries).map { try harness.fixture.record(counter: UInt32($0), document: Array("doc \($0)".utf8)) }
        #expect(await harness.ledger.submit([records[0]]) == [.added(index: 0)])
        let (entries, head) = harness.auditEntries(records)
        var relinked = entries
        relinked[64].previousHash[5] ^= 1
        let broken = try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: head, entries: relinked))
        #expect(broken.tamperEvidenceIndex == 1)
        let honest = try harness.ledger.submit(audit: try AuditPush(chipID: chip, headHash: head, entries: entries))
        #expect(honest.index == 2 && honest.unreported.count == AuditPush.maximumEntries - 1)
        #expect(harness.ledger.size == UInt64(3 + AuditPush.maximumEntries - 1))
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) {
            try AuditPush(chipID: chip, headHash: head, entries: entries + [entries[0]])
        }
    }

    @Test(arguments: StorageBackend.available)
    func anAuditPushNeedsARecordOfTheChipAndChangesNothingOtherwise(backend: StorageBackend) throws {
        let harness = try EventHarness(backend)
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let records = try (1...2).map { try harness.fixture.record(counter: UInt32($0)) }
        let (entries, head) = harness.auditEntries(records)
        let error = #expect(throws: LedgerError.self) {
            try harness.ledger.submit(audit: try AuditPush(chipID: harness.fixture.chipID, headHash: head, entries: entries))
        }
        #expect(error?.failedCheck == "no-admitted-record")
        #expect(harness.ledger.size == 0)
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) {
            try AuditPush(chipID: harness.fixture.chipID, headHash: head, entries: [])
        }
    }
}
