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

    /// SHA-256 of an entry's bytes (a record's hash for lookups).
    public static func recordHash(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}
