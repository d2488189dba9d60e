import Crypto
import SealHostDriver

/// The bytes a ledger leaf holds. Every leaf encoding goes through here, so the record encoding can
/// change in one place (record v2 brings its own canonical bytes).
public enum LedgerLeaf {
    /// The canonical bytes of a stamp record: `StampRecord.jsonData()` as docs/stamp-record.md
    /// defines it (sorted keys, fixed layout; the same record always gives the same bytes).
    /// - Throws: ``LedgerError`` `.malformedInput` when the record cannot be encoded.
    public static func stampRecordBytes(_ record: StampRecord) throws(LedgerError) -> [UInt8] {
        do { return Array(try record.jsonData()) } catch {
            throw LedgerError(code: .malformedInput, reason: "the record cannot be encoded: \(error.message)")
        }
    }

    /// The evidence entry for two different records with the same chip and counter: one JSON object
    /// holding the record admitted first, its index and the conflicting record, both verbatim.
    static func conflictEvidence(admittedIndex: UInt64, admitted: [UInt8], conflicting: [UInt8]) -> [UInt8] {
        Array("{\"admitted\":".utf8) + admitted + Array(",\"admittedIndex\":\(admittedIndex),\"conflicting\":".utf8)
            + conflicting + Array(",\"evidence\":\"chip-counter-conflict\"}".utf8)
    }

    /// SHA-256 of an entry's bytes (a record's hash for lookups).
    public static func recordHash(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}
