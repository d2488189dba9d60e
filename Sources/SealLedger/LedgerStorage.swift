/// What the sequencer writes in one durable step: new entries, the tiles they changed and the
/// checkpoint that covers them. A backend commits all of it or none of it, so a checkpoint never
/// names leaves that are not stored, and an index is acknowledged only after this returns.
public struct SequencedBatch: Sendable {
    /// The new entries, with consecutive indices starting at the old tree size.
    public var entries: [StoredEntry]
    /// Every tile whose bytes changed: (level, index) and all its hashes, concatenated.
    public var tiles: [(level: Int, index: UInt64, hashes: [UInt8])]
    /// The signed checkpoint note of the new tree size.
    public var checkpoint: String
    /// The new tree size.
    public var size: UInt64
    /// Chips found cloned or tampered with in this batch: chip ID and the evidence entry's index.
    public var suspects: [(chipID: [UInt8], evidenceIndex: UInt64)]
}

/// One stored log entry and the keys it can be looked up by.
public struct StoredEntry: Sendable, Hashable {
    /// What the entry is.
    public enum Kind: Int, Sendable {
        /// An admitted stamp record; the bytes are its canonical record bytes.
        case stampRecord = 0
        /// Evidence the ledger wrote itself: two different records for one (chip, counter).
        case conflictEvidence = 1
        /// A lifecycle event signed by a trusted issuer (``SignedLifecycleEvent/bytes``); `counter`
        /// holds a termination's final counter.
        case lifecycleEvent = 2
        /// Audit-log entries pushed from the chip (``AuditPush/bytes``); `counter` holds the newest.
        case auditLog = 3
        /// Evidence: a stamp record from a terminated chip above the termination's final counter,
        /// refused; `counter` holds the record's counter.
        case terminatedChipEvidence = 4
        /// Evidence: a stamp in the chip's audit log that no admitted record reports; `counter` holds it.
        case unreportedStampEvidence = 5
        /// Evidence: a pushed audit log whose chain does not verify or disagrees with an admitted
        /// record (tamper evidence; the chip is marked suspect).
        case auditTamperEvidence = 6

        /// The kind's name in the HTTP interface, e.g. `lifecycle-event`.
        public var name: String {
            switch self {
            case .stampRecord: "stamp-record"
            case .conflictEvidence: "conflict-evidence"
            case .lifecycleEvent: "lifecycle-event"
            case .auditLog: "audit-log"
            case .terminatedChipEvidence: "terminated-chip-evidence"
            case .unreportedStampEvidence: "unreported-stamp-evidence"
            case .auditTamperEvidence: "audit-tamper-evidence"
            }
        }
    }

    /// The leaf index.
    public var index: UInt64
    /// What the entry is.
    public var kind: Kind
    /// The leaf bytes (RFC 9162 hashes `0x00 ‖ bytes`).
    public var bytes: [UInt8]
    /// For stamp records: the chip ID, counter, serial and document digest, the lookup keys.
    public var chipID: [UInt8]?
    /// The stamp counter, for stamp records.
    public var counter: UInt32?
    /// The watermark serial, for stamp records.
    public var serial: String?
    /// The stamped document's SHA-256, for stamp records.
    public var documentDigest: [UInt8]?

    /// Creates an entry (storage backends build them from their rows).
    public init(index: UInt64, kind: Kind, bytes: [UInt8], chipID: [UInt8]?, counter: UInt32?, serial: String?, documentDigest: [UInt8]?) {
        self.index = index
        self.kind = kind
        self.bytes = bytes
        self.chipID = chipID
        self.counter = counter
        self.serial = serial
        self.documentDigest = documentDigest
    }

    /// SHA-256 of the leaf bytes: the record hash entries are looked up by.
    public var recordHash: [UInt8] { LedgerLeaf.recordHash(bytes) }
}

/// A key to look stamp entries up by.
public enum LookupKey: Sendable, Hashable {
    /// SHA-256 of the entry's bytes.
    case recordHash([UInt8])
    /// The watermark serial.
    case serial(String)
    /// The stamped document's SHA-256.
    case documentDigest([UInt8])
    /// The 16-byte chip ID: every entry about the chip (records, events, audit pushes, evidence).
    case chipID([UInt8])
}

/// The storage a ledger runs on, as small as Tessera's: the sequencer appends batches durably;
/// readers read tiles, entries and the latest checkpoint. Implementations must make
/// ``commit(_:)`` atomic and durable before it returns.
public protocol LedgerStorage: Sendable {
    /// The latest committed tree size and checkpoint note (`nil` for a new, empty store).
    func latest() throws(LedgerError) -> (size: UInt64, checkpoint: String)?
    /// Commits a batch atomically and durably.
    func commit(_ batch: SequencedBatch) throws(LedgerError)
    /// The stored bytes (all hashes so far) of tile `index` at `level`, or `nil`.
    func tile(level: Int, index: UInt64) throws(LedgerError) -> [UInt8]?
    /// Entries `[start, start + count)` that exist, in order.
    func entries(start: UInt64, count: Int) throws(LedgerError) -> [StoredEntry]
    /// The stamp record entry for (chip, counter), if one was admitted.
    func stampEntry(chipID: [UInt8], counter: UInt32) throws(LedgerError) -> StoredEntry?
    /// Indices of the entries with this key, ascending.
    func lookup(_ key: LookupKey) throws(LedgerError) -> [UInt64]
    /// Whether a chip has been marked suspect, and by which evidence entry.
    func suspectEvidence(chipID: [UInt8]) throws(LedgerError) -> UInt64?
    /// The entries about a chip whose kind is one of `kinds`, in index order (its lifecycle events,
    /// its records' counters, its audit pushes and evidence). Added with lifecycle events and audit
    /// pushes; a backend indexes (chip ID, kind).
    func chipEntries(chipID: [UInt8], kinds: [StoredEntry.Kind]) throws(LedgerError) -> [StoredEntry]
    /// Whether other processes may append to the store too (several servers on one PostgreSQL).
    /// A ledger on a shared store re-reads the tree edge before each batch and on ``Ledger/refresh()``.
    /// Default: `false` (one process owns the store, as ``SQLiteStorage``'s file lock ensures).
    var isShared: Bool { get }
    /// Runs `body`, one sequencing step, as the only sequencer among every process sharing the
    /// store. Default: runs `body` (a store that is not shared has one sequencer already).
    func exclusively<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T
}

extension LedgerStorage {
    /// See ``LedgerStorage/isShared``: `false`.
    public var isShared: Bool { false }
    /// See ``LedgerStorage/exclusively(_:)``: runs `body`.
    public func exclusively<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T { try body() }
}
