import Foundation
import SealHostDriver
import Synchronization

/// What became of one submitted lifecycle event.
public enum EventOutcome: Sendable, Hashable {
    /// Appended at this index.
    case added(index: UInt64)
    /// The same event was already in the log at this index; nothing was appended.
    case duplicate(index: UInt64)
    /// Not admitted; nothing was appended. The error's `failedCheck` names why: `issuer-untrusted`,
    /// `issuer-signature` or `chip-terminated`.
    case refused(LedgerError)
}

/// The counters of a chip the ledger has no stamp record for.
public struct CounterGaps: Sendable, Hashable {
    /// The highest counter the ledger knows the chip reached: from its records, its audit pushes
    /// and its termination's final counter (0 when none).
    public var highestCounter: UInt32
    /// How many of the counters 1…``highestCounter`` have an admitted record.
    public var recorded: Int
    /// The maximal runs of counters in 1…``highestCounter`` with no admitted record, ascending:
    /// stamps made offline and not (yet) submitted, or never made available.
    public var gaps: [ClosedRange<UInt32>]
    /// The stamps of those gaps that the chip's pushed audit log shows (unreported stamps).
    public var unreported: [AuditOutcome.UnreportedStamp]
}

/// A chip's lifecycle as its admitted events tell it.
struct ChipLifecycle {
    /// The termination event's index and final counter, once terminated.
    var termination: (index: UInt64, finalCounter: UInt32)?
    /// The suspension event's index while the latest of activated, suspended and resumed is a suspension.
    var suspensionIndex: UInt64?
    /// The latest event's kind.
    var latest: LifecycleEvent.Kind?

    /// Folds the chip's lifecycle-event entries, in index order.
    init(_ entries: [StoredEntry]) {
        for entry in entries where entry.kind == .lifecycleEvent {
            // Admitted events were decoded before they were stored; one that no longer decodes is
            // skipped rather than trusted (fsck reports changed leaves).
            guard let event = try? SignedLifecycleEvent(bytes: entry.bytes).event else { continue }
            latest = event.kind
            switch event.kind {
            case .terminated: termination = (entry.index, event.finalCounter ?? 0)
            case .suspended: suspensionIndex = entry.index
            case .activated, .resumed: suspensionIndex = nil
            case .manufactured, .personalized: break
            }
        }
    }
}

extension Ledger {
    /// Admits a lifecycle event: its signer must be a key of ``issuerTrust`` and its signature must
    /// verify; the same event again returns its index; no event is admitted for a chip after its
    /// termination. The entry is committed with a new checkpoint in one durable transaction.
    public func submit(event: SignedLifecycleEvent) -> EventOutcome {
        if let failed = issuerTrust.failedCheck(event) {
            let reason = failed == "issuer-untrusted" ? "the event's signer is not a trusted issuer key" : "the issuer signature does not verify"
            return .refused(LedgerError(code: .recordRefused, reason: reason, failedCheck: failed))
        }
        let bytes = event.bytes
        let storage = self.storage
        do throws(LedgerError) {
            return try sequencing { (state: inout Sequencer) throws(LedgerError) -> EventOutcome in
                if let index = try storage.lookup(.recordHash(LedgerLeaf.recordHash(bytes))).first { return .duplicate(index: index) }
                let lifecycle = ChipLifecycle(try storage.chipEntries(chipID: event.event.chipID, kinds: [.lifecycleEvent]))
                if let termination = lifecycle.termination {
                    return .refused(LedgerError(code: .recordRefused, reason: "the chip was terminated by entry \(termination.index)",
                                                failedCheck: "chip-terminated"))
                }
                let entry = StoredEntry(index: state.edge.size, kind: .lifecycleEvent, bytes: bytes, chipID: event.event.chipID,
                                        counter: event.event.finalCounter, serial: nil, documentDigest: nil)
                try self.commit([entry], suspects: [], state: &state)
                return .added(index: entry.index)
            }
        } catch {
            return .refused(error)
        }
    }

    /// Checks and records a push of the chip's audit log (docs/ledger.md, "Audit-log pushes").
    ///
    /// The seal key and identity come from the chip's admitted records (the record of a pushed
    /// counter, else any); the chain is checked with the host driver's audit-chain check (SPEC §9.6)
    /// against the pushed head, and each pushed entry with a record must carry that record's stamp
    /// signature. When all holds, the push is appended, with one `unreported-stamp` evidence entry
    /// per pushed stamp that has no record and no such entry yet. Otherwise one tamper evidence
    /// entry holding the push is appended and the chip is marked suspect. One commit either way;
    /// the same push again appends nothing.
    /// - Throws: ``LedgerError`` `.recordRefused` with `failedCheck` `no-admitted-record` when the
    ///   ledger holds no record of the chip to take its seal key from, or `audit-signature` when an
    ///   entry's signature does not verify under that key (nothing is written: unsigned bytes prove
    ///   nothing about the chip); `.entryTooLarge`; storage errors.
    public func submit(audit push: AuditPush) throws(LedgerError) -> AuditOutcome {
        let bytes = push.bytes
        guard bytes.count <= EntryBundle.maximumEntrySize else {
            throw LedgerError(code: .entryTooLarge, reason: "the push is \(bytes.count) bytes; entries hold at most 65,535")
        }
        let storage = self.storage
        let chipID = push.chipID
        return try sequencing { (state: inout Sequencer) throws(LedgerError) -> AuditOutcome in
            let knownUnreported = try storage.chipEntries(chipID: chipID, kinds: [.unreportedStampEvidence])
            var unreportedIndex: [UInt32: UInt64] = [:]
            for entry in knownUnreported { if let counter = entry.counter, unreportedIndex[counter] == nil { unreportedIndex[counter] = entry.index } }
            func pushedUnreported() -> [AuditOutcome.UnreportedStamp] {
                push.entries.compactMap { entry -> AuditOutcome.UnreportedStamp? in
                    guard let index = unreportedIndex[entry.counter] else { return nil }
                    return AuditOutcome.UnreportedStamp(counter: entry.counter, evidenceIndex: index)
                }
            }
            if let index = try storage.lookup(.recordHash(LedgerLeaf.recordHash(bytes))).first {
                return AuditOutcome(index: index, duplicate: true, unreported: pushedUnreported())
            }

            var records: [UInt32: (index: UInt64, view: StampLeafView)] = [:]
            for entry in push.entries {
                if let stored = try storage.stampEntry(chipID: chipID, counter: entry.counter) {
                    records[entry.counter] = (stored.index, try StampLeafView(bytes: stored.bytes))
                }
            }
            var context = records.values.min { $0.index < $1.index }?.view
            if context == nil, let any = try storage.chipEntries(chipID: chipID, kinds: [.stampRecord]).last {
                context = try StampLeafView(bytes: any.bytes)
            }
            guard let context else {
                throw LedgerError(code: .recordRefused, reason: "the ledger holds no record of this chip to take its seal key from: submit one first",
                                  failedCheck: "no-admitted-record")
            }

            // The seal's own algorithm (an SM2 seal signs its audit entries with SM2), judged by the
            // verifier the ledger admits that seal's records with.
            guard let signatureVerifier = stampVerifier.signatureVerifier(for: context.sealKeyAlgorithm) else {
                throw LedgerError(code: .recordRefused, reason: "the chip's seal key is \(context.sealKeyAlgorithm) and this ledger has no "
                                  + "\(context.sealKeyAlgorithm) signature verifier", failedCheck: "audit-signature")
            }
            var failure: String?
            do throws(SealDriverError) {
                try SealToken.verifyAuditChain(push.entries, chipID: chipID, seal: context.seal, sealPublicKey: context.sealPublicKey,
                                               headHash: push.headHash, signatureVerifier: signatureVerifier)
            } catch {
                failure = error.reason
                // Which kind of failure: an entry the seal key did not sign proves nothing about the
                // chip — anyone can send bytes — so it is refused without evidence; only a chain of
                // genuine entries that does not hold is tamper evidence. Each entry's signature is
                // checked alone with the same driver check (a one-entry chain linked from zeros: the
                // TBS does not include the link), only on this path.
                let keyID = sealKeyID(publicKeyX963: context.sealPublicKey)
                for entry in push.entries {
                    var alone = entry
                    alone.previousHash = [UInt8](repeating: 0, count: 32)
                    let tbs = entry.tbs(chipID: chipID, seal: context.seal, keyID: keyID).encoded()
                    let head = AuditEntry.chainHash(previous: alone.previousHash, tbs: tbs, signature: entry.signature)
                    do throws(SealDriverError) {
                        try SealToken.verifyAuditChain([alone], chipID: chipID, seal: context.seal, sealPublicKey: context.sealPublicKey,
                                                       headHash: head, signatureVerifier: signatureVerifier)
                    } catch {
                        throw LedgerError(code: .recordRefused, reason: "audit entry \(entry.counter) is not signed by the chip's seal key",
                                          failedCheck: "audit-signature")
                    }
                }
            }
            if failure == nil, let entry = push.entries.first(where: { entry in
                   records[entry.counter].map { $0.view.signature != entry.signature } ?? false
               }), let record = records[entry.counter] {
                failure = "audit entry \(entry.counter) differs from the record admitted at index \(record.index)"
            }

            var next = state.edge.size
            if let failure {
                let evidence = LedgerLeaf.auditTamperEvidence(push: bytes, reason: failure)
                guard evidence.count <= EntryBundle.maximumEntrySize else {
                    throw LedgerError(code: .entryTooLarge, reason: "the evidence entry would be \(evidence.count) bytes")
                }
                if let written = try storage.lookup(.recordHash(LedgerLeaf.recordHash(evidence))).first {
                    return AuditOutcome(index: nil, duplicate: true, unreported: [], tamperEvidenceIndex: written, tamperReason: failure)
                }
                let entry = StoredEntry(index: next, kind: .auditTamperEvidence, bytes: evidence, chipID: chipID,
                                        counter: nil, serial: nil, documentDigest: nil)
                try self.commit([entry], suspects: [(chipID, next)], state: &state)
                return AuditOutcome(index: nil, duplicate: false, unreported: [], tamperEvidenceIndex: next, tamperReason: failure)
            }

            let auditIndex = next
            var entries = [StoredEntry(index: next, kind: .auditLog, bytes: bytes, chipID: chipID,
                                       counter: push.entries.last?.counter, serial: nil, documentDigest: nil)]
            next += 1
            var unreported: [AuditOutcome.UnreportedStamp] = []
            for entry in push.entries where records[entry.counter] == nil {
                if let index = unreportedIndex[entry.counter] {
                    unreported.append(.init(counter: entry.counter, evidenceIndex: index))
                    continue
                }
                entries.append(StoredEntry(index: next, kind: .unreportedStampEvidence,
                                           bytes: LedgerLeaf.unreportedStampEvidence(chipID: chipID, entry: entry, auditIndex: auditIndex),
                                           chipID: chipID, counter: entry.counter, serial: nil, documentDigest: nil))
                unreported.append(.init(counter: entry.counter, evidenceIndex: next))
                next += 1
            }
            try self.commit(entries, suspects: [], state: &state)
            return AuditOutcome(index: auditIndex, duplicate: false, unreported: unreported)
        }
    }

    /// Every entry about a chip, in index order: its records, lifecycle events, audit pushes and
    /// evidence (the seal's history).
    public func history(chipID: [UInt8]) throws(LedgerError) -> [StoredEntry] {
        try storage.chipEntries(chipID: chipID, kinds: [.stampRecord, .conflictEvidence, .lifecycleEvent, .auditLog,
                                                         .terminatedChipEvidence, .unreportedStampEvidence, .auditTamperEvidence])
    }

    /// The chip's counters with no admitted record (offline stamping, or stamps never submitted),
    /// and which of them its pushed audit log shows.
    public func counterGaps(chipID: [UInt8]) throws(LedgerError) -> CounterGaps {
        let entries = try storage.chipEntries(chipID: chipID, kinds: [.stampRecord, .lifecycleEvent, .auditLog, .unreportedStampEvidence])
        var recorded = Set<UInt32>()
        var highest: UInt32 = 0
        var unreportedIndex: [UInt32: UInt64] = [:]
        for entry in entries {
            guard let counter = entry.counter else { continue }
            switch entry.kind {
            case .stampRecord: recorded.insert(counter)
            case .unreportedStampEvidence: if unreportedIndex[counter] == nil { unreportedIndex[counter] = entry.index }
            default: break
            }
            highest = max(highest, counter)
        }
        // From the sorted recorded counters, not by walking 1…highest (a counter may be near 2³²).
        var gaps: [ClosedRange<UInt32>] = []
        var expected: UInt64 = 1
        for counter in recorded.sorted() {
            if UInt64(counter) > expected { gaps.append(UInt32(expected)...(counter - 1)) }
            expected = UInt64(counter) + 1
        }
        if UInt64(highest) >= expected { gaps.append(UInt32(expected)...highest) }
        let unreported = unreportedIndex.filter { !recorded.contains($0.key) }.sorted { $0.key < $1.key }
            .map { AuditOutcome.UnreportedStamp(counter: $0.key, evidenceIndex: $0.value) }
        return CounterGaps(highestCounter: highest, recorded: recorded.count, gaps: gaps, unreported: unreported)
    }
}
