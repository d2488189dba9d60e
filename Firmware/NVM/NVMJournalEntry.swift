/// One record change: as held in an open transaction, and as written to the journal.
struct NVMJournalEntry: Equatable, Sendable {
    /// What happens to the record.
    enum Change: Equatable, Sendable {
        /// The record is created or replaced with this value.
        case write([UInt8])
        /// The record is removed.
        case erase

        /// The record's value after the change; `nil` for an erase.
        var value: [UInt8]? {
            switch self {
            case .write(let value): return value
            case .erase: return nil
            }
        }
    }

    /// The record id.
    var id: UInt16
    /// The change to apply to it.
    var change: Change
}
