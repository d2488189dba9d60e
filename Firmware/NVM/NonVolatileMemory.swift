/// A model of a secure element's EEPROM/flash with a commit journal, as applet
/// runtimes (e.g. Java Card) implement persistent-object atomicity.
///
/// ## Records
/// Persistent data is a set of records addressed by a `UInt16` id, each holding a
/// byte string of at most 65 535 bytes. A record costs `recordOverhead` bytes plus
/// its value against ``capacity`` (the id and length a real record header holds).
///
/// ## Transactions and physical write points
/// Every change goes through the journal, so it is all-or-nothing under power loss.
/// A transaction touching k distinct records (rewrites of one record within a
/// transaction coalesce; an erase counts as a record write) costs `2k + 2`
/// *physical write points*, performed in `commitTransaction()`:
///
/// 1. k journal-entry writes — the new values, in ascending id order;
/// 2. 1 commit-marker write — the commit point;
/// 3. k apply writes — the new values copied into the record area;
/// 4. 1 journal-clear write.
///
/// Journal entries are written at commit time, not as `write(_:_:)` is called,
/// so that `abortTransaction()` costs no physical write at all (the pending
/// changes only ever lived in RAM). A `write(_:_:)` or `erase(_:)` outside a
/// transaction is an implicit one-record transaction: 4 write points. Committing
/// a transaction with no changes performs no writes.
///
/// ## Power loss
/// `armTear(atWrite:)` cuts power at a chosen write point. The cut write does not
/// take effect (a cut apply write leaves a half-written record, which the committed
/// journal supersedes), the call throws ``NVMError/Code/powerLost``, RAM state (the
/// open transaction) is lost, and every mutating call throws `powerLost` until
/// `powerOn()`. Recovery rolls a committed journal forward and discards an
/// uncommitted one, so afterwards the contents are exactly the state before the
/// transaction or exactly the state after it — after if and only if the commit
/// marker was written. Recovery's own writes are write points too, and can be torn;
/// it is idempotent, so the next `powerOn()` simply redoes it.
///
/// ## Persistence
/// The ``NVMBackingStore`` holds the durable image. It is stored once per committed
/// transaction, right after the commit-marker write: the image then holds the
/// journal with its marker set, i.e. exactly the chip's memory at the commit point.
/// Because stores are atomic, the durable image is always either the previous commit
/// point or this one, and loading it (``init(capacity:backing:)``) runs the same
/// recovery. The image is also stored after every recovery in `powerOn()`, and by
/// `init` when the loaded image carried a journal, so the stored journal is cleared;
/// those stores go through ``NVMBackingStore/storeRecovered(snapshot:)``, which a store
/// may keep in memory until the next commit (recovery is idempotent, so the durable
/// image recovers to the same contents).
///
/// Not thread-safe: confine an instance to one isolation domain (the chip is
/// single-threaded too).
///
/// ## Cost
/// A STAMP reads about twenty records and commits one transaction of three or four, so reads and
/// commits are kept lean: records with ids below `0x400` are read from a table indexed by id (no
/// hashing), the open transaction's changes are a short array sorted by id (no hashing, no sort at
/// commit), the journal keeps its capacity between commits, and the state below is
/// declared `@exclusivity(unchecked)`. Every access to it is in this file, none overlaps another
/// (no accessor yields it to a caller, no closure runs during an access to it), and the instance
/// is confined to one isolation domain, so the runtime's dynamic exclusivity check (a thread-local
/// lookup per access, about fifty per STAMP) could never fire.
public final class NonVolatileMemory {
    /// Bytes each record costs against ``capacity`` on top of its value (id + length).
    static let recordOverhead = 4
    /// The largest value a single record can hold (its length field is 16 bits).
    static let maximumValueSize = Int(UInt16.max)

    /// Physical write points a transaction touching `records` distinct records costs.
    static func writePoints(forTransactionOf records: Int) -> Int {
        records <= 0 ? 0 : 2 * records + 2
    }

    /// Bytes available to records (see `recordOverhead`). The journal is modelled
    /// as a separate area and does not count against it.
    public let capacity: Int

    /// Physical write points reached since `init` began (including any recovery
    /// `init` ran, and including a write point that was torn). Monotonic.
    @exclusivity(unchecked) private(set) var physicalWriteCount = 0

    /// `true` after a tear until a successful `powerOn()`.
    @exclusivity(unchecked) private(set) var isPoweredDown = false

    /// Whether a transaction is open.
    @exclusivity(unchecked) private(set) var isInTransaction = false

    /// The error of the last durable store that failed at a commit, until the next commit stores
    /// successfully or ``clearLastStoreFailure()`` is called: lets the chip's host say why a
    /// command was answered `6581` (a read-only state file, a full disk).
    @exclusivity(unchecked) private(set) var lastStoreFailure: NVMError?

    /// Forgets ``lastStoreFailure`` (the chip calls it before each command).
    func clearLastStoreFailure() {
        lastStoreFailure = nil
    }

    /// Bytes used by the committed records (`recordOverhead` + value size each).
    /// Pending writes of an open transaction are not included.
    public var usedBytes: Int { committedBytes }

    private let backing: NVMBackingStore
    /// The simulated NVM array: record area, journal, commit marker.
    @exclusivity(unchecked) private var cells: NVMImage
    /// The record area's values for ids below ``directIDCount``, kept equal to `cells.records`
    /// (written wherever it is): a read indexes this instead of hashing the id, as a chip reads
    /// EEPROM at an address. The applet's records all sit there (`RecordID`).
    @exclusivity(unchecked) private var directRecords = [[UInt8]?](repeating: nil, count: directIDCount)
    private static let directIDCount = 0x400
    /// Changes of the open transaction (RAM only), one per record, in ascending id order (the
    /// order the journal is written in); empty when no transaction is open. A transaction touches
    /// a handful of records, so a sorted array beats a hashed dictionary here.
    @exclusivity(unchecked) private var pending: [NVMJournalEntry] = []
    /// Usage of the committed contents.
    @exclusivity(unchecked) private var committedBytes = 0
    /// Usage of the contents as seen inside the open transaction.
    @exclusivity(unchecked) private var pendingBytes = 0
    /// Write points left until the armed tear fires (1 = the next one); `nil` if disarmed.
    @exclusivity(unchecked) private var tearCountdown: Int?

    /// Opens the memory over `backing`: loads the stored image if there is one and runs
    /// recovery (rolling a committed journal forward, discarding an uncommitted one).
    ///
    /// - Parameters:
    ///   - capacity: Bytes available to records; must not be negative.
    ///   - backing: The durable store. Nothing is stored if it is empty and stays so.
    /// - Throws: ``NVMError/Code/corruptImage`` if the stored image is invalid,
    ///   ``NVMError/Code/capacityExceeded`` if its records do not fit `capacity`
    ///   (or `capacity` is negative), ``NVMError/Code/storageFailure`` if the store
    ///   cannot be read, or the recovered image cannot be written back.
    public init(capacity: Int = 64 * 1024, backing: NVMBackingStore) throws(NVMError) {
        guard capacity >= 0 else {
            throw NVMError(.capacityExceeded, "capacity must not be negative (got \(capacity))")
        }
        self.capacity = capacity
        self.backing = backing

        let loaded: [UInt8]?
        do {
            loaded = try backing.load()
        } catch let error as NVMError where error.code == .corruptImage {
            // A store that parses what it holds (FileBackingStore's log) reports a bad file as such.
            throw error
        } catch {
            throw Self.storageError(error, "cannot load the NVM image")
        }
        cells = try loaded.map { bytes throws(NVMError) in try NVMImage(decoding: bytes) } ?? NVMImage()
        for (id, value) in cells.records where Int(id) < Self.directIDCount {
            directRecords[Int(id)] = value
        }

        let hadJournal = cells.journalCommitted || !cells.journal.isEmpty
        try recover()
        guard committedBytes <= capacity else {
            throw NVMError(
                .capacityExceeded,
                "stored image holds \(committedBytes) bytes of records but capacity is \(capacity)")
        }
        if hadJournal {
            try persist("cannot store the NVM image after recovery")
        }
    }

    // MARK: - Records

    /// The value of record `id`, or `nil` if it does not exist.
    ///
    /// Inside a transaction this includes the transaction's own pending writes and
    /// erases. While powered down it returns the committed contents — what recovery
    /// will produce — and never a half-written record.
    func read(_ id: UInt16) -> [UInt8]? {
        if isInTransaction, case .found(let index) = pendingPosition(of: id) { return pending[index].change.value }
        return committedValue(id)
    }

    /// Creates or replaces record `id`.
    ///
    /// Inside a transaction the change is pending until `commitTransaction()` and
    /// costs no physical write. Outside, it is an implicit one-record transaction
    /// (atomic under power loss; 4 write points, one durable store).
    ///
    /// - Throws: ``NVMError/Code/capacityExceeded`` (no state change) if the value is
    ///   longer than `maximumValueSize` or the records would exceed ``capacity``;
    ///   ``NVMError/Code/powerLost`` if powered down or torn;
    ///   ``NVMError/Code/storageFailure`` if the durable store fails (no state change).
    func write(_ id: UInt16, _ value: [UInt8]) throws(NVMError) {
        try requirePower()
        guard value.count <= Self.maximumValueSize else {
            throw NVMError(
                .capacityExceeded,
                "record \(id): value of \(value.count) bytes exceeds the \(Self.maximumValueSize)-byte record limit")
        }
        let base = isInTransaction ? pendingBytes : committedBytes
        let projected = base - Self.footprint(read(id)) + Self.recordOverhead + value.count
        guard projected <= capacity else {
            throw NVMError(
                .capacityExceeded,
                "record \(id): writing \(value.count) bytes would use \(projected) of \(capacity) bytes")
        }
        if isInTransaction {
            setPending(id, .write(value))
            pendingBytes = projected
        } else {
            try commitChanges([NVMJournalEntry(id: id, change: .write(value))], resultingBytes: projected)
        }
    }

    /// Removes record `id`. Erasing a record that does not exist is a no-op (and, outside
    /// a transaction, performs no physical write).
    ///
    /// - Throws: ``NVMError/Code/powerLost`` if powered down or torn;
    ///   ``NVMError/Code/storageFailure`` if the durable store fails (no state change).
    func erase(_ id: UInt16) throws(NVMError) {
        try requirePower()
        let current = read(id)
        guard current != nil else { return }
        let base = isInTransaction ? pendingBytes : committedBytes
        let projected = base - Self.footprint(current)
        if isInTransaction {
            // A record created earlier in this transaction just disappears from it; a
            // committed record needs an erase entry in the journal.
            if committedValue(id) == nil {
                if case .found(let index) = pendingPosition(of: id) { pending.remove(at: index) }
            } else {
                setPending(id, .erase)
            }
            pendingBytes = projected
        } else {
            try commitChanges([NVMJournalEntry(id: id, change: .erase)], resultingBytes: projected)
        }
    }

    /// The committed contents (pending writes of an open transaction excluded).
    func snapshot() -> [UInt16: [UInt8]] {
        var contents = cells.records
        if cells.journalCommitted {
            for entry in cells.journal {
                contents[entry.id] = entry.change.value
            }
        }
        return contents
    }

    // MARK: - Transactions

    /// Opens a transaction: until commit or abort, writes and erases are pending in RAM.
    ///
    /// - Throws: ``NVMError/Code/transactionInProgress`` if one is already open
    ///   (transactions do not nest); ``NVMError/Code/powerLost`` if powered down.
    func beginTransaction() throws(NVMError) {
        try requirePower()
        guard !isInTransaction else {
            throw NVMError(.transactionInProgress, "a transaction is already open; transactions do not nest")
        }
        isInTransaction = true
        pendingBytes = committedBytes
    }

    /// Commits the open transaction atomically (see the type's discussion for the
    /// `2k + 2` write points). The transaction is closed whatever the outcome.
    ///
    /// - Throws: ``NVMError/Code/noTransaction`` if none is open;
    ///   ``NVMError/Code/powerLost`` if powered down or torn (the changes survive
    ///   `powerOn()` iff the commit marker was written);
    ///   ``NVMError/Code/storageFailure`` if the durable store fails — the commit did
    ///   not happen and the contents are as before the transaction.
    func commitTransaction() throws(NVMError) {
        try requirePower()
        guard isInTransaction else {
            throw NVMError(.noTransaction, "commitTransaction() without beginTransaction()")
        }
        let resultingBytes = pendingBytes
        var changes: [NVMJournalEntry] = []
        swap(&changes, &pending)
        closeTransaction()
        defer {
            // The array goes back, emptied, so the next transaction reuses its storage.
            changes.removeAll(keepingCapacity: true)
            if pending.isEmpty { swap(&changes, &pending) }
        }
        try commitChanges(changes, resultingBytes: resultingBytes)
    }

    /// Discards the open transaction's pending changes. Costs no physical write, since
    /// nothing reached the journal yet. Does nothing if no transaction is open.
    func abortTransaction() {
        closeTransaction()
        pendingBytes = committedBytes
    }

    // MARK: - Power

    /// Cuts power at the `n`-th physical write point from now (1-based; values below 1
    /// mean the next one). Replaces any tear already armed. Fires once, then disarms.
    func armTear(atWrite n: Int) {
        tearCountdown = max(1, n)
    }

    /// Cancels an armed tear.
    func disarmTear() {
        tearCountdown = nil
    }

    /// Powers the chip (back) on and runs recovery: rolls a committed journal forward,
    /// discards an uncommitted one, drops any open transaction, then stores the
    /// recovered image. Called while powered on, it acts as a reset.
    ///
    /// - Throws: ``NVMError/Code/powerLost`` if an armed tear cuts a recovery write, or
    ///   ``NVMError/Code/storageFailure`` if the recovered image cannot be stored; in
    ///   both cases the chip stays powered down and `powerOn()` can be retried, as
    ///   recovery is idempotent.
    func powerOn() throws(NVMError) {
        closeTransaction()
        isPoweredDown = true
        try recover()
        try persist("cannot store the NVM image after recovery")
        isPoweredDown = false
    }

    // MARK: - Internals

    private func requirePower() throws(NVMError) {
        guard !isPoweredDown else {
            throw NVMError(.powerLost, "the chip is powered down; call powerOn() to recover")
        }
    }

    /// The committed value of a record, ignoring any open transaction. A committed
    /// journal (present only between a tear and recovery) takes precedence over the
    /// record area, which may hold a half-written value.
    private func committedValue(_ id: UInt16) -> [UInt8]? {
        if cells.journalCommitted, let entry = cells.journal.last(where: { $0.id == id }) {
            return entry.change.value
        }
        return Int(id) < Self.directIDCount ? directRecords[Int(id)] : cells.records[id]
    }

    /// Where record `id`'s change is, or would go, in `pending` (sorted by id).
    private enum PendingPosition {
        case found(Int)
        case insert(Int)
    }

    private func pendingPosition(of id: UInt16) -> PendingPosition {
        var index = 0
        while index < pending.count {
            let pendingID = pending[index].id
            if pendingID == id { return .found(index) }
            if pendingID > id { break }
            index += 1
        }
        return .insert(index)
    }

    /// Records `change` of record `id` in the open transaction, replacing an earlier one.
    private func setPending(_ id: UInt16, _ change: NVMJournalEntry.Change) {
        switch pendingPosition(of: id) {
        case .found(let index): pending[index].change = change
        case .insert(let index): pending.insert(NVMJournalEntry(id: id, change: change), at: index)
        }
    }

    /// Ends the open transaction in RAM (its changes dropped; their storage kept for the next).
    private func closeTransaction() {
        isInTransaction = false
        pending.removeAll(keepingCapacity: true)
    }

    private static func footprint(_ value: [UInt8]?) -> Int {
        value.map { recordOverhead + $0.count } ?? 0
    }

    /// Runs the journal protocol for `entries`, one per record in ascending id order (see the
    /// type's discussion).
    private func commitChanges(
        _ entries: [NVMJournalEntry], resultingBytes: Int
    ) throws(NVMError) {
        guard !entries.isEmpty else { return }
        // Ascending id order makes the write sequence — and so every tear point —
        // deterministic, which the tear tests depend on.
        cells.journal.reserveCapacity(entries.count)
        for entry in entries {
            try physicalWrite { cells.journal.append(entry) }
        }
        try physicalWrite { cells.journalCommitted = true }

        // The durable commit point. Stored before applying so that a process that
        // dies anywhere after the marker reloads a committed journal and rolls it
        // forward — matching what powerOn() does for a tear in the same place.
        do {
            try backing.store(snapshot: NVMSnapshot(cells))
        } catch {
            // The store is atomic, so the durable image is still the previous one;
            // undo the marker and journal in the model so memory and store agree.
            cells.journal.removeAll()
            cells.journalCommitted = false
            let failure = Self.storageError(error, "commit failed; the transaction was not applied")
            lastStoreFailure = failure
            throw failure
        }
        lastStoreFailure = nil
        committedBytes = resultingBytes
        pendingBytes = resultingBytes

        for entry in entries {
            try physicalWrite(torn: { tearApply(entry) }) { apply(entry) }
        }
        try physicalWrite {
            cells.journal.removeAll(keepingCapacity: true)
            cells.journalCommitted = false
        }
    }

    /// Brings the cells to a clean state: roll forward a committed journal, discard an
    /// uncommitted one. Every step is idempotent, so a torn recovery can be rerun.
    private func recover() throws(NVMError) {
        if cells.journalCommitted {
            for entry in cells.journal {
                try physicalWrite(torn: { tearApply(entry) }) { apply(entry) }
            }
            try physicalWrite {
                cells.journal.removeAll()
                cells.journalCommitted = false
            }
        } else if !cells.journal.isEmpty {
            try physicalWrite { cells.journal.removeAll() }
        }
        // No half-written record can remain: apply writes only happen under a
        // committed journal, which is cleared only after every apply write landed.
        committedBytes = cells.records.values.reduce(0) { $0 + Self.recordOverhead + $1.count }
        pendingBytes = committedBytes
    }

    private func apply(_ entry: NVMJournalEntry) {
        setRecord(entry.id, entry.change.value)
    }

    /// Writes the record area (and its direct copy).
    private func setRecord(_ id: UInt16, _ value: [UInt8]?) {
        cells.records[id] = value
        if Int(id) < Self.directIDCount { directRecords[Int(id)] = value }
    }

    /// A cut apply write: the record area holds the first half of the new value (an
    /// erase that is cut leaves the record as it was). Only the committed journal
    /// makes this recoverable.
    private func tearApply(_ entry: NVMJournalEntry) {
        if case .write(let value) = entry.change {
            setRecord(entry.id, Array(value.prefix(value.count / 2)))
        }
    }

    /// One physical write point: counts it, and either performs `effect` or, if the
    /// armed tear fires here, performs `torn` instead, powers down and throws.
    private func physicalWrite(torn: () -> Void = {}, _ effect: () -> Void) throws(NVMError) {
        physicalWriteCount += 1
        if let countdown = tearCountdown {
            if countdown <= 1 {
                tearCountdown = nil
                torn()
                closeTransaction()
                pendingBytes = committedBytes
                isPoweredDown = true
                throw NVMError(.powerLost, "power cut at physical write \(physicalWriteCount)")
            }
            tearCountdown = countdown - 1
        }
        effect()
    }

    /// Stores the image recovery produced (see the type's discussion).
    private func persist(_ context: String) throws(NVMError) {
        do {
            try backing.storeRecovered(snapshot: NVMSnapshot(cells))
        } catch {
            throw Self.storageError(error, context)
        }
    }

    private static func storageError(_ error: any Error, _ context: String) -> NVMError {
        if let nvmError = error as? NVMError, nvmError.code == .storageFailure {
            return NVMError(.storageFailure, "\(context): \(nvmError.reason)")
        }
        return NVMError(.storageFailure, "\(context): \(error)")
    }
}
