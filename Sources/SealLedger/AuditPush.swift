import Foundation
import SealHostDriver
import SealProtocol

/// A run of one chip's audit-log entries (SPEC §9.6) pushed to the ledger by `sealctl audit --push`,
/// with the audit head the chip reported. The ledger checks the chain under the seal key its
/// admitted records establish and compares each entry with the record of its counter
/// (docs/ledger.md, "Audit-log pushes"). Its ``bytes`` are the ledger leaf.
public struct AuditPush: Sendable, Hashable {
    /// The domain separator and version the leaf starts with, `"SEALKIT-LEDGER-AUDIT-V1"`.
    public static let domain = Array("SEALKIT-LEDGER-AUDIT-V1".utf8)
    /// The most entries one push holds: a chip retains 64; at about 250 bytes an entry, 128 keep the
    /// push and the tamper evidence that quotes it in base64 within one 65,535-byte entry.
    public static let maximumEntries = 128

    /// The 16-byte chip ID.
    public var chipID: [UInt8]
    /// The audit head hash the chip reported (GET DATA `0109`): the chain hash of the newest entry.
    public var headHash: [UInt8]
    /// The entries, oldest first, as READ AUDIT LOG returns them.
    public var entries: [AuditEntry]

    /// Creates a push.
    /// - Throws: ``LedgerError`` `.malformedInput` unless the chip ID is 16 bytes, the head 32 and
    ///   there are 1 to ``maximumEntries`` entries.
    public init(chipID: [UInt8], headHash: [UInt8], entries: [AuditEntry]) throws(LedgerError) {
        guard chipID.count == 16, headHash.count == 32 else {
            throw LedgerError(code: .malformedInput, reason: "the chip ID is 16 bytes and the head hash 32")
        }
        guard (1...Self.maximumEntries).contains(entries.count) else {
            throw LedgerError(code: .malformedInput, reason: "a push holds 1 to \(Self.maximumEntries) audit entries")
        }
        self.chipID = chipID
        self.headHash = headHash
        self.entries = entries
    }

    /// `domain ‖ chipID (16) ‖ headHash (32) ‖ count u16 ‖ (len u16 ‖ entry)…`, each entry in its
    /// READ AUDIT LOG encoding (SPEC §8.14).
    public var bytes: [UInt8] {
        var out = Self.domain + chipID + headHash + bigEndian(UInt16(truncatingIfNeeded: entries.count))
        for entry in entries {
            let encoded = entry.encoded()
            out += bigEndian(UInt16(truncatingIfNeeded: encoded.count)) + encoded
        }
        return out
    }

    /// Strictly decodes a push leaf.
    /// - Throws: ``LedgerError`` `.malformedInput`.
    public init(bytes: [UInt8]) throws(LedgerError) {
        var reader = ByteReader(bytes)
        guard try reader.take(Self.domain.count, "domain") == Self.domain else {
            throw LedgerError(code: .malformedInput, reason: "not a SEALKIT-LEDGER-AUDIT-V1 push")
        }
        let chipID = try reader.take(16, "chip ID"), head = try reader.take(32, "head hash")
        let count = try reader.uint16("entry count")
        var entries: [AuditEntry] = []
        for _ in 0..<count {
            let length = try reader.uint16("entry length")
            let encoded = try reader.take(length, "audit entry")
            do { entries.append(try AuditEntry(decoding: encoded)) } catch {
                throw LedgerError(code: .malformedInput, reason: "audit entry: \(error)")
            }
        }
        guard reader.isAtEnd else { throw LedgerError(code: .malformedInput, reason: "bytes after the last entry") }
        try self.init(chipID: chipID, headHash: head, entries: entries)
    }
}

/// What the ledger made of an audit push.
public struct AuditOutcome: Sendable, Hashable {
    /// A stamp in the chip's log with no record in the ledger, and the evidence entry that says so.
    public struct UnreportedStamp: Sendable, Hashable {
        /// The stamp's counter.
        public var counter: UInt32
        /// The index of the `unreported-stamp` evidence entry.
        public var evidenceIndex: UInt64
    }

    /// The push's own entry (new or, for ``duplicate``, the earlier one); `nil` when the chain was broken.
    public var index: UInt64?
    /// The same push was in the log already; nothing was appended.
    public var duplicate: Bool
    /// The pushed stamps the ledger holds no record of (written now or by an earlier push).
    public var unreported: [UnreportedStamp]
    /// When the chain did not verify or disagreed with an admitted record: the tamper evidence
    /// entry's index (the chip is then suspect).
    public var tamperEvidenceIndex: UInt64?
    /// What failed, with ``tamperEvidenceIndex``.
    public var tamperReason: String?
}

/// The fields of a stamp-record leaf (`StampRecord.canonicalBytes`) that audit checks need: the
/// seal identity and key the chip signs with, and the stamp's signature.
struct StampLeafView {
    var chipID: [UInt8]
    var counter: UInt32
    var seal: SealIdentity
    var signature: [UInt8]
    var sealPublicKey: [UInt8]
    /// The seal key's algorithm, from the attestation statement's key policy (SPEC §9.4), as
    /// ``StampRecord/sealKeyAlgorithm`` reads it: the leaf was admitted only after its attestation
    /// signature verified, so the statement is the chip's.
    var sealKeyAlgorithm: SealKeyAlgorithm

    /// Parses `"SEALKIT-RECORD-V2" ‖ u16 len ‖ TBS ‖ u8 len ‖ signature ‖ sealPublicKey (65) ‖ …`
    /// and the §9.3 TBS inside it.
    init(bytes: [UInt8]) throws(LedgerError) {
        var reader = ByteReader(bytes)
        guard try reader.take(StampRecord.canonicalDomain.count, "record domain") == StampRecord.canonicalDomain else {
            throw LedgerError(code: .malformedInput, reason: "not a record-v2 leaf")
        }
        var tbs = ByteReader(try reader.take(try reader.uint16("TBS length"), "TBS"))
        signature = try reader.take(Int(try reader.take(1, "signature length")[0]), "signature")
        sealPublicKey = try reader.take(65, "seal public key")
        _ = try reader.take(try reader.uint16("metadata length"), "metadata")
        let statement = try reader.take(try reader.uint16("attestation statement length"), "attestation statement")
        sealKeyAlgorithm = (try? AttestationStatement(decoding: statement))?.keyPolicy.sealKeyAlgorithm ?? .p256
        guard try tbs.take(StampTBS.domain.count, "TBS domain") == StampTBS.domain else {
            throw LedgerError(code: .malformedInput, reason: "not a v2 stamp TBS")
        }
        chipID = try tbs.take(16, "chip ID")
        counter = try tbs.uint32("counter")
        _ = try tbs.take(Int(try tbs.take(1, "serial length")[0]), "serial")
        _ = try tbs.take(8 + 8 + 32 + 32, "expiry, code and digests")
        let organization = try tbs.string("organization name"), name = try tbs.string("seal name")
        let feature = try tbs.take(32, "feature hash"), image = try tbs.take(32, "seal image hash")
        seal = SealIdentity(organizationName: organization, sealName: name, featureHash: feature,
                            sealImageHash: image == [UInt8](repeating: 0, count: 32) ? nil : image)
    }
}
