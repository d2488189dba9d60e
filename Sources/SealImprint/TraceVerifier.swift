import Foundation
import Crypto
import SealLedger

/// One check of a trace, in the order ``TraceVerifier`` runs them (docs/imprint.md, "How trace decides").
public struct TraceCheck: Sendable, Hashable {
    /// A check's outcome.
    public enum Outcome: String, Sendable, Hashable {
        /// The check passed.
        case passed
        /// The check failed.
        case failed
        /// The check did not run: its input is missing (no document) or an earlier check failed.
        case skipped
    }

    /// The check's stable ID, e.g. `inclusion-proof`.
    public let id: String
    /// Its outcome.
    public let outcome: Outcome
    /// What was compared, for people.
    public let detail: String
}

/// What a trace concludes.
public enum TraceVerdict: String, Sendable, Hashable {
    /// The ledger proves the payload's record, and (with a document) the stamp is this document's and
    /// has not expired.
    case genuine
    /// The payload is not proven by the ledger: a bad checkpoint signature or origin, an entry that
    /// is not the payload's record, a proof that does not verify, or a serial or expiration code
    /// that is not the record's. A forged or altered imprint.
    case invalid
    /// The record is genuine but stamps another document: the imprint was copied onto this one.
    case copied
    /// The record is genuine (and, with a document, this document's) but its watermark has expired.
    case expired
}

/// A trace's checks and verdict.
public struct TraceReport: Sendable {
    /// The payload traced.
    public let payload: TracePayload
    /// Every check, in order.
    public let checks: [TraceCheck]
    /// The checkpoint the proof leads to, when its signature verified.
    public let checkpoint: Checkpoint?
    /// The record read from the entry, when it parsed.
    public let entry: LedgerStampEntry?
    /// The conclusion.
    public let verdict: TraceVerdict

    /// The first failed check, if any.
    public var firstFailure: TraceCheck? { checks.first { $0.outcome == .failed } }
}

/// Decides a trace offline from what the ledger served: a pure function of its inputs (no network,
/// no clock).
public enum TraceVerifier {
    /// The check IDs, in order.
    public static let checkIDs = ["checkpoint-signature", "checkpoint-origin", "record-hash", "inclusion-proof", "entry-format",
                                  "stamp-signature", "serial", "expiration-code", "document-digest", "not-expired"]

    /// Checks `payload` against the ledger's entry at its index, the inclusion proof of that entry
    /// and the signed checkpoint, under the log's key; with `documentDigest` (SHA-256 of the
    /// document the imprint is on), that the record stamps that document; and that its watermark
    /// has not expired at `now` (seconds since 1970). With `witnesses`, the checkpoint must also carry
    /// valid cosignatures by at least the policy's quorum of its trusted witnesses (C2SP
    /// tlog-cosignature): the log then cannot show this imprint's verifier a tree it hid from them.
    public static func verify(payload: TracePayload, entry: [UInt8], inclusionProof: [MerkleHash], checkpointNote: String,
                              logKey: NoteVerifier, witnesses: WitnessPolicy? = nil, documentDigest: [UInt8]?,
                              now: UInt64) -> TraceReport {
        var checks: [TraceCheck] = []
        var checkpoint: Checkpoint?
        var parsed: LedgerStampEntry?
        func record(_ id: String, _ passed: Bool, _ detail: String) { checks.append(TraceCheck(id: id, outcome: passed ? .passed : .failed, detail: detail)) }
        func finish(_ verdict: TraceVerdict) -> TraceReport {
            for id in checkIDs.dropFirst(checks.count) { checks.append(TraceCheck(id: id, outcome: .skipped, detail: "an earlier check failed")) }
            return TraceReport(payload: payload, checks: checks, checkpoint: checkpoint, entry: parsed, verdict: verdict)
        }

        do throws(LedgerError) {
            if let witnesses {
                checkpoint = try witnesses.open(checkpointNote, logVerifier: logKey)
                let cosigners = try witnesses.cosigners(of: SignedNote(parsing: checkpointNote))
                let earliest = cosigners.map(\.time).min().map { ", the earliest at \($0)" } ?? ""
                record("checkpoint-signature", true,
                       "signed by \(logKey.name), cosigned by \(cosigners.count) of \(witnesses.witnesses.count) trusted witnesses (quorum \(witnesses.quorum))\(earliest)")
            } else {
                checkpoint = try Checkpoint.open(checkpointNote, verifier: logKey)
                record("checkpoint-signature", true, "signed by \(logKey.name)")
            }
        } catch {
            record("checkpoint-signature", false, error.reason)
            return finish(.invalid)
        }
        guard let checkpoint else { return finish(.invalid) }
        record("checkpoint-origin", checkpoint.origin == payload.origin,
               checkpoint.origin == payload.origin ? checkpoint.origin : "the checkpoint is for '\(checkpoint.origin)', the payload names '\(payload.origin)'")
        guard checks.last?.outcome == .passed else { return finish(.invalid) }

        let hash = Array(SHA256.hash(data: entry))
        record("record-hash", hash == payload.recordHash,
               hash == payload.recordHash ? "SHA-256 of entry \(payload.index) is the payload's" : "entry \(payload.index) hashes to \(hex(hash)), the payload names \(hex(payload.recordHash))")
        guard checks.last?.outcome == .passed else { return finish(.invalid) }

        do throws(LedgerError) {
            try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(entry), index: payload.index, size: checkpoint.size,
                                           proof: inclusionProof, root: checkpoint.rootHash)
            record("inclusion-proof", true, "entry \(payload.index) is in the tree of size \(checkpoint.size)")
        } catch {
            record("inclusion-proof", false, error.reason)
            return finish(.invalid)
        }

        do throws(ImprintError) {
            parsed = try LedgerStampEntry(canonicalBytes: entry)
            record("entry-format", true, "a stamp record")
        } catch {
            record("entry-format", false, error.reason)
            return finish(.invalid)
        }
        guard let stamp = parsed else { return finish(.invalid) }
        record("stamp-signature", stamp.signatureIsValid, stamp.signatureIsValid ? "the seal key signed the TBS" : "the stamp signature does not verify")
        guard checks.last?.outcome == .passed else { return finish(.invalid) }
        record("serial", stamp.tbs.serial == payload.serial,
               stamp.tbs.serial == payload.serial ? stamp.tbs.serial : "the record's serial is \(stamp.tbs.serial), the imprint shows \(payload.serial)")
        guard checks.last?.outcome == .passed else { return finish(.invalid) }
        record("expiration-code", stamp.tbs.expirationCode == payload.expirationCode,
               stamp.tbs.expirationCode == payload.expirationCode ? stamp.tbs.expirationCode
                   : "the record's expiration code is \(stamp.tbs.expirationCode), the imprint shows \(payload.expirationCode)")
        guard checks.last?.outcome == .passed else { return finish(.invalid) }

        var copied = false
        if let documentDigest {
            copied = documentDigest != stamp.tbs.documentDigest
            record("document-digest", !copied, copied
                   ? "the imprint's serial \(stamp.tbs.serial) stamps document \(hex(stamp.tbs.documentDigest)), not this one (\(hex(documentDigest)))"
                   : "the record stamps this document")
        } else {
            checks.append(TraceCheck(id: "document-digest", outcome: .skipped, detail: "no document given"))
        }
        let expired = now > stamp.tbs.expiry
        record("not-expired", !expired, expired ? "expired at \(stamp.tbs.expiry), now is \(now)" : "valid until \(stamp.tbs.expiry)")
        return finish(copied ? .copied : expired ? .expired : .genuine)
    }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }
