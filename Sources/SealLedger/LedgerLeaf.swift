import Foundation
import Crypto
import SealHostDriver

/// The bytes a ledger leaf holds. Every leaf encoding goes through here, so the record encoding can
/// change in one place (record v2 brings its own canonical bytes).
public enum LedgerLeaf {
    /// The leaf bytes of a stamp record: its canonical record-v2 bytes (`StampRecord.canonicalBytes`,
    /// docs/stamp-record.md). They hold everything the record proves and nothing personal (the
    /// personal fields are in it only as salted commitments), so a leaf, which can never be deleted,
    /// never holds personal data; the same stamp with or without its openings is the same leaf.
    public static func stampRecordBytes(_ record: StampRecord) -> [UInt8] {
        record.canonicalBytes
    }

    /// The evidence entry for two different records with the same chip and counter: one JSON object
    /// holding the leaf bytes of the record admitted first (base64), its index and the leaf bytes of
    /// the conflicting record, both verbatim.
    static func conflictEvidence(admittedIndex: UInt64, admitted: [UInt8], conflicting: [UInt8]) -> [UInt8] {
        let admittedText = Data(admitted).base64EncodedString(), conflictingText = Data(conflicting).base64EncodedString()
        return Array("{\"admitted\":\"\(admittedText)\",\"admittedIndex\":\(admittedIndex),\"conflicting\":\"\(conflictingText)\",\"evidence\":\"chip-counter-conflict\"}".utf8)
    }

    /// The evidence entry for a stamp record refused because its chip was terminated below its
    /// counter: the record's leaf bytes verbatim, its counter, and the termination event's index and
    /// final counter. Keys sorted, so the same refusal gives the same bytes.
    static func terminatedChipEvidence(record: [UInt8], counter: UInt32, terminationIndex: UInt64, finalCounter: UInt32) -> [UInt8] {
        Array("{\"counter\":\(counter),\"evidence\":\"stamp-after-termination\",\"finalCounter\":\(finalCounter),\"record\":\"\(Data(record).base64EncodedString())\",\"terminationIndex\":\(terminationIndex)}".utf8)
    }

    /// The evidence entry for a stamp the chip's audit log holds and no admitted record reports:
    /// the chip ID, the counter, the audit entry (READ AUDIT LOG encoding, base64) and the index of
    /// the audit push that showed it.
    static func unreportedStampEvidence(chipID: [UInt8], entry: AuditEntry, auditIndex: UInt64) -> [UInt8] {
        Array("{\"auditEntry\":\"\(Data(entry.encoded()).base64EncodedString())\",\"auditIndex\":\(auditIndex),\"chipID\":\"\(hexUpper(chipID))\",\"counter\":\(entry.counter),\"evidence\":\"unreported-stamp\"}".utf8)
    }

    /// The tamper evidence entry for an audit push that does not verify: the push's bytes verbatim
    /// and what failed.
    static func auditTamperEvidence(push: [UInt8], reason: String) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: ["audit": Data(push).base64EncodedString(), "evidence": "audit-chain-broken",
                                                                  "reason": reason], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }

    /// SHA-256 of an entry's bytes (a record's hash for lookups).
    public static func recordHash(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}

/// Upper-case hex, as the HTTP interface writes chip IDs and hashes.
func hexUpper(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }
