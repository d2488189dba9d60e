import Foundation
import SealHostDriver
import Synchronization

/// What became of one submitted stamp record.
public enum AdmissionOutcome: Sendable, Hashable {
    /// Appended at this index.
    case added(index: UInt64)
    /// The same record was already in the log at this index; nothing was appended.
    case duplicate(index: UInt64)
    /// Another record with the same chip and counter is at `admittedIndex`: this one was not admitted,
    /// an evidence entry holding both was appended at `evidenceIndex`, and the chip is now suspect.
    case conflict(admittedIndex: UInt64, evidenceIndex: UInt64)
    /// Verification failed; nothing was appended. The error names the failed check.
    case refused(LedgerError)
    /// Appended at `index`, flagged: the chip's latest lifecycle event, at `suspensionIndex`, is a
    /// suspension (the record may have been made offline before it; the flag says only that it
    /// reached the ledger while the seal was suspended).
    case addedWhileSuspended(index: UInt64, suspensionIndex: UInt64)
    /// Refused: the chip's termination event at `terminationIndex` gives a final counter below this
    /// record's. Evidence holding the record was appended at `evidenceIndex` (or had been, when the
    /// same record was refused before).
    case refusedAfterTermination(terminationIndex: UInt64, evidenceIndex: UInt64)
}

/// A transparency log of stamp records: admission, sequencing, checkpoints, proofs and tiles
/// over a ``LedgerStorage``.
///
/// A submitted record is verified by `StampVerifier` under the configured vendor roots, then
/// sequenced: one entry per (chip ID, counter). Each batch is committed with the tiles it changes
/// and a freshly signed checkpoint in one durable transaction; indices are returned only after
/// that. Appends are serialized (one sequencer); reads run concurrently with them.
public final class Ledger: Sendable {
    /// The log's origin, the first line of its checkpoints and its key's name.
    public let origin: String
    /// The key that verifies the log's checkpoints.
    public let verifier: NoteVerifier
    let storage: any LedgerStorage
    /// The issuer keys lifecycle events are admitted from.
    public let issuerTrust: IssuerTrust
    private let signer: NoteSigner
    let stampVerifier: StampVerifier
    private let verificationOptions: @Sendable () -> StampVerificationOptions
    let sequencer: Mutex<Sequencer>
    private let tileCache = Mutex<[TileKey: HashedTile]>([:])

    private let queue = Mutex<CommitQueue>(CommitQueue())

    private struct PendingBatch: Sendable {
        var records: [(record: StampRecord, bytes: [UInt8])]
        var continuation: CheckedContinuation<Result<[AdmissionOutcome], LedgerError>, Never>
    }

    private struct CommitQueue: Sendable {
        var pending: [PendingBatch] = []
        var committing = false
    }

    struct Sequencer: Sendable {
        var edge: TileEdge
        var checkpoint: String
    }

    /// Opens a ledger on `storage`, signing with `signer` (whose name is the origin) and admitting
    /// records that `stampVerifier` accepts under the options `verificationOptions` gives at each
    /// submission (default: now), and lifecycle events signed by a key of `issuerTrust` (default:
    /// none). A new store gets a signed checkpoint of the empty tree.
    /// - Throws: ``LedgerError`` when the store cannot be read or is inconsistent.
    public init(storage: any LedgerStorage, signer: NoteSigner, stampVerifier: StampVerifier,
                issuerTrust: IssuerTrust = IssuerTrust(keys: []),
                verificationOptions: @escaping @Sendable () -> StampVerificationOptions = { StampVerificationOptions() }) throws(LedgerError) {
        self.origin = signer.name
        self.issuerTrust = issuerTrust
        self.verifier = signer.verifier
        self.storage = storage
        self.signer = signer
        self.stampVerifier = stampVerifier
        self.verificationOptions = verificationOptions
        // Several instances may start on a new shared store at once: one writes the empty tree.
        sequencer = Mutex(try storage.exclusively { () throws(LedgerError) -> Sequencer in
            if let latest = try storage.latest() {
                return try Self.loadSequencer(storage: storage, latest: latest, signer: signer)
            }
            let note = try signer.sign(Checkpoint(origin: signer.name, size: 0, rootHash: MerkleTree.emptyRoot).text)
            try storage.commit(SequencedBatch(entries: [], tiles: [], checkpoint: note, size: 0, suspects: []))
            return Sequencer(edge: TileEdge(), checkpoint: note)
        })
    }

    /// The sequencer state of the stored tree: its edge from the stored tiles and its checkpoint,
    /// checked against the log's key.
    private static func loadSequencer(storage: any LedgerStorage, latest: (size: UInt64, checkpoint: String),
                                      signer: NoteSigner) throws(LedgerError) -> Sequencer {
        let edge = try TileEdge(size: latest.size) { (level: Int, index: UInt64) throws(LedgerError) in
            try storage.tile(level: level, index: index)
        }
        let checkpoint = try Checkpoint.open(latest.checkpoint, origin: signer.name, verifier: signer.verifier)
        guard checkpoint.size == latest.size else {
            throw LedgerError(code: .inconsistentTree, reason: "the stored checkpoint is for size \(checkpoint.size), the store holds \(latest.size)")
        }
        return Sequencer(edge: edge, checkpoint: latest.checkpoint)
    }

    /// Moves `state` to the stored tree when another instance sequenced since (shared stores only).
    private func catchUp(_ state: inout Sequencer) throws(LedgerError) {
        guard storage.isShared, let latest = try storage.latest(), latest.size != state.edge.size || latest.checkpoint != state.checkpoint else { return }
        state = try Self.loadSequencer(storage: storage, latest: latest, signer: signer)
    }

    /// Runs one sequencing step: as the store's only sequencer (``LedgerStorage/exclusively(_:)``),
    /// under the in-process sequencer lock, on the tree as stored (a shared store may have grown).
    func sequencing<T: Sendable>(_ body: (inout Sequencer) throws(LedgerError) -> T) throws(LedgerError) -> T {
        try storage.exclusively { () throws(LedgerError) -> T in
            try sequencer.withLock { (state: inout Sequencer) throws(LedgerError) -> T in
                try catchUp(&state)
                return try body(&state)
            }
        }
    }

    /// Reads the tree another instance on a shared store (PostgreSQL) may have grown, so this
    /// instance's checkpoint, size, proofs and tiles follow it. Does nothing on a store this
    /// process owns alone.
    public func refresh() throws(LedgerError) {
        guard storage.isShared else { return }
        try sequencer.withLock { (state: inout Sequencer) throws(LedgerError) in try catchUp(&state) }
    }

    /// The latest signed checkpoint note.
    public var checkpointNote: String { sequencer.withLock { $0.checkpoint } }

    /// The current tree size.
    public var size: UInt64 { sequencer.withLock { $0.edge.size } }

    /// Verifies and appends stamp records, as one batch: one durable commit and one checkpoint.
    /// Returns one outcome per record, in order.
    public func submit(_ records: [StampRecord]) async -> [AdmissionOutcome] {
        let options = verificationOptions()
        var verified: [(record: StampRecord, bytes: [UInt8])?] = []
        var outcomes: [AdmissionOutcome?] = []
        // Verification is the costly part (two P-256 signatures and a certificate chain per record):
        // run it concurrently; only sequencing is serial.
        let verifier = stampVerifier
        let reports = await withTaskGroup(of: (Int, StampVerificationReport).self) { group in
            for (position, record) in records.enumerated() {
                group.addTask {
                    let started = ContinuousClock.now
                    let report = await verifier.verify(record, documentDigest: record.documentDigest, options: options)
                    LedgerMetrics.verified(in: ContinuousClock.now - started)
                    return (position, report)
                }
            }
            var reports = [StampVerificationReport?](repeating: nil, count: records.count)
            for await (position, report) in group { reports[position] = report }
            return reports
        }
        for (record, report) in zip(records, reports) {
            guard let report else {
                outcomes.append(.refused(LedgerError(code: .recordRefused, reason: "the record was not verified")))
                verified.append(nil)
                continue
            }
            if let failure = report.firstFailure {
                outcomes.append(.refused(LedgerError(code: .recordRefused, reason: "check \(failure.id) failed: \(failure.detail)",
                                                     failedCheck: failure.id.rawValue)))
                verified.append(nil)
                continue
            }
            verified.append((record, LedgerLeaf.stampRecordBytes(record)))
            outcomes.append(nil)
        }
        let admitted = verified.compactMap { $0 }
        let final: [AdmissionOutcome]
        if admitted.isEmpty {
            final = outcomes.map { $0 ?? .refused(LedgerError(code: .storageFailure, reason: "lost outcome")) }
        } else {
            switch await groupCommit(admitted) {
            case .success(let sequenced):
                var next = sequenced.makeIterator()
                final = outcomes.map { outcome in outcome ?? (next.next() ?? .refused(LedgerError(code: .storageFailure, reason: "lost outcome"))) }
            case .failure(let error):
                final = outcomes.map { $0 ?? .refused(error) }
            }
        }
        for outcome in final {
            switch outcome {
            case .refused(let error): LedgerMetrics.admissionRefused(check: error.failedCheck ?? error.code.description)
            case .refusedAfterTermination: LedgerMetrics.admissionRefused(check: "chip-terminated")
            default: break
            }
        }
        return final
    }

    /// Group commit: verified records wait in a queue; whoever finds no commit running becomes the
    /// leader and sequences everything queued as one batch (one transaction, one checkpoint), again
    /// and again until the queue is empty. Concurrent submissions thus share commits, and waiting
    /// submitters are suspended, not blocking a thread.
    private func groupCommit(_ records: [(record: StampRecord, bytes: [UInt8])]) async -> Result<[AdmissionOutcome], LedgerError> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<[AdmissionOutcome], LedgerError>, Never>) in
            let lead = queue.withLock { state -> Bool in
                state.pending.append(PendingBatch(records: records, continuation: continuation))
                guard !state.committing else { return false }
                state.committing = true
                return true
            }
            if lead { drainQueue() }
        }
    }

    private func drainQueue() {
        while true {
            let batches = queue.withLock { state -> [PendingBatch] in
                let batches = state.pending
                state.pending = []
                if batches.isEmpty { state.committing = false }
                return batches
            }
            guard !batches.isEmpty else { return }
            let result: Result<[AdmissionOutcome], LedgerError>
            do { result = .success(try sequence(batches.flatMap(\.records))) } catch { result = .failure(error) }
            var offset = 0
            for batch in batches {
                switch result {
                case .success(let outcomes):
                    batch.continuation.resume(returning: .success(Array(outcomes[offset..<(offset + batch.records.count)])))
                case .failure(let error):
                    batch.continuation.resume(returning: .failure(error))
                }
                offset += batch.records.count
            }
        }
    }

    /// Sequences verified records under the sequencer lock and commits them.
    private func sequence(_ records: [(record: StampRecord, bytes: [UInt8])]) throws(LedgerError) -> [AdmissionOutcome] {
        guard !records.isEmpty else { return [] }
        let storage = self.storage
        return try sequencing { (state: inout Sequencer) throws(LedgerError) -> [AdmissionOutcome] in
            var entries: [StoredEntry] = []
            var outcomes: [AdmissionOutcome] = []
            var suspects: [(chipID: [UInt8], evidenceIndex: UInt64)] = []
            var inBatch: [StampKey: StoredEntry] = [:]
            var evidenceInBatch: [[UInt8]: UInt64] = [:]
            var lifecycles: [[UInt8]: ChipLifecycle] = [:]
            var next = state.edge.size
            for (record, bytes) in records {
                let key = StampKey(chipID: record.chipID, counter: record.counter)
                var existing = inBatch[key]
                if existing == nil { existing = try storage.stampEntry(chipID: record.chipID, counter: record.counter) }
                if let existing {
                    if existing.bytes == bytes {
                        outcomes.append(.duplicate(index: existing.index))
                        continue
                    }
                    let evidence = LedgerLeaf.conflictEvidence(admittedIndex: existing.index, admitted: existing.bytes, conflicting: bytes)
                    // The same conflict reported again: point at the evidence already written.
                    let evidenceHash = LedgerLeaf.recordHash(evidence)
                    var written = evidenceInBatch[evidenceHash]
                    if written == nil { written = try storage.lookup(.recordHash(evidenceHash)).first }
                    if let written {
                        outcomes.append(.conflict(admittedIndex: existing.index, evidenceIndex: written))
                        continue
                    }
                    evidenceInBatch[evidenceHash] = next
                    guard evidence.count <= EntryBundle.maximumEntrySize else {
                        throw LedgerError(code: .entryTooLarge, reason: "the evidence entry would be \(evidence.count) bytes")
                    }
                    entries.append(StoredEntry(index: next, kind: .conflictEvidence, bytes: evidence, chipID: record.chipID,
                                               counter: nil, serial: nil, documentDigest: nil))
                    suspects.append((record.chipID, next))
                    outcomes.append(.conflict(admittedIndex: existing.index, evidenceIndex: next))
                    next += 1
                    continue
                }
                guard bytes.count <= EntryBundle.maximumEntrySize else {
                    outcomes.append(.refused(LedgerError(code: .entryTooLarge, reason: "the record is \(bytes.count) bytes; entries hold at most 65,535")))
                    continue
                }
                var lifecycle = lifecycles[record.chipID]
                if lifecycle == nil { lifecycle = try ChipLifecycle(storage.chipEntries(chipID: record.chipID, kinds: [.lifecycleEvent])) }
                lifecycles[record.chipID] = lifecycle
                if let termination = lifecycle?.termination, record.counter > termination.finalCounter {
                    let evidence = LedgerLeaf.terminatedChipEvidence(record: bytes, counter: record.counter, terminationIndex: termination.index,
                                                                     finalCounter: termination.finalCounter)
                    let evidenceHash = LedgerLeaf.recordHash(evidence)
                    var written = evidenceInBatch[evidenceHash]
                    if written == nil { written = try storage.lookup(.recordHash(evidenceHash)).first }
                    if let written {
                        outcomes.append(.refusedAfterTermination(terminationIndex: termination.index, evidenceIndex: written))
                        continue
                    }
                    guard evidence.count <= EntryBundle.maximumEntrySize else {
                        outcomes.append(.refused(LedgerError(code: .entryTooLarge, reason: "the evidence entry would be \(evidence.count) bytes")))
                        continue
                    }
                    evidenceInBatch[evidenceHash] = next
                    entries.append(StoredEntry(index: next, kind: .terminatedChipEvidence, bytes: evidence, chipID: record.chipID,
                                               counter: record.counter, serial: nil, documentDigest: nil))
                    outcomes.append(.refusedAfterTermination(terminationIndex: termination.index, evidenceIndex: next))
                    next += 1
                    continue
                }
                let entry = StoredEntry(index: next, kind: .stampRecord, bytes: bytes, chipID: record.chipID, counter: record.counter,
                                        serial: record.serial, documentDigest: record.documentDigest)
                entries.append(entry)
                inBatch[key] = entry
                if let suspension = lifecycle?.suspensionIndex {
                    outcomes.append(.addedWhileSuspended(index: next, suspensionIndex: suspension))
                } else {
                    outcomes.append(.added(index: next))
                }
                next += 1
            }
            guard !entries.isEmpty else { return outcomes }
            try self.commit(entries, suspects: suspects, state: &state)
            return outcomes
        }
    }

    /// Appends the new entries' hashes to the tiles, signs the new checkpoint and commits it all
    /// in one storage transaction; the in-memory state moves only after the commit succeeded.
    func commit(_ entries: [StoredEntry], suspects: [(chipID: [UInt8], evidenceIndex: UInt64)],
                state: inout Sequencer) throws(LedgerError) {
        var edge = state.edge
        let changed = edge.append(entries.map { MerkleTree.leafHash($0.bytes) })
        let root = try MerkleTree.rootHash(size: edge.size) { (level: Int, index: UInt64) throws(LedgerError) in
            try subtreeHash(level: level, index: index) { (tileLevel: Int, tileIndex: UInt64) throws(LedgerError) in
                if let bytes = changed[TileKey(level: tileLevel, index: tileIndex)] { return bytes }
                return try self.readTile(level: tileLevel, index: tileIndex, edge: edge)
            }
        }
        let note = try signer.sign(Checkpoint(origin: signer.name, size: edge.size, rootHash: root).text)
        try storage.commit(SequencedBatch(
            entries: entries,
            tiles: changed.map { (level: $0.key.level, index: $0.key.index, hashes: $0.value) },
            checkpoint: note, size: edge.size, suspects: suspects))
        state.edge = edge
        state.checkpoint = note
        LedgerMetrics.appended(entries)
    }

    /// Appends entries without admission, as one batch (synthetic leaves for tests and benchmarks,
    /// or entries verified elsewhere). Returns the index of the first.
    /// - Throws: ``LedgerError`` `.entryTooLarge` or a storage error; nothing is appended then.
    package func appendPreverified(_ leaves: [[UInt8]]) throws(LedgerError) -> UInt64 {
        if let large = leaves.first(where: { $0.count > EntryBundle.maximumEntrySize }) {
            throw LedgerError(code: .entryTooLarge, reason: "an entry of \(large.count) bytes exceeds 65,535")
        }
        return try sequencing { (state: inout Sequencer) throws(LedgerError) -> UInt64 in
            let first = state.edge.size
            let entries = leaves.enumerated().map {
                StoredEntry(index: first + UInt64($0.offset), kind: .stampRecord, bytes: $0.element,
                            chipID: nil, counter: nil, serial: nil, documentDigest: nil)
            }
            if !entries.isEmpty { try self.commit(entries, suspects: [], state: &state) }
            return first
        }
    }

    /// Tile bytes: the edge's partial tiles from memory, the rest from storage.
    private func readTile(level: Int, index: UInt64, edge: TileEdge) throws(LedgerError) -> [UInt8] {
        let levelCount = edge.size >> UInt64(8 * level)
        if index == levelCount / UInt64(TileID.width), level < edge.partial.count {
            return edge.partial[level].flatMap { $0 }
        }
        guard let bytes = try storage.tile(level: level, index: index) else {
            throw LedgerError(code: .inconsistentTree, reason: "tile \(level)/\(index) is missing")
        }
        return bytes
    }

    /// A hashed tile for proofs, cached (bounded): a full tile is final, and a partial tile of a given
    /// width never changes either (tiles only grow), so a cached tile serves while its width is the
    /// one the tree has.
    private func hashedTile(level: Int, index: UInt64, edge: TileEdge) throws(LedgerError) -> HashedTile {
        let key = TileKey(level: level, index: index)
        let levelCount = edge.size >> UInt64(8 * level)
        let width = index == levelCount / UInt64(TileID.width) ? Int(levelCount % UInt64(TileID.width)) : TileID.width
        if let cached = tileCache.withLock({ $0[key] }), cached.levels[0].count == width { return cached }
        let tile = HashedTile(bytes: try readTile(level: level, index: index, edge: edge))
        tileCache.withLock { cache in
            if cache.count >= 4_096 { cache.removeAll(keepingCapacity: true) }
            cache[key] = tile
        }
        return tile
    }

    private func hashReader() -> (TileEdge, SubtreeHashReader) {
        let edge = sequencer.withLock { $0.edge }
        return (edge, { (level: Int, index: UInt64) throws(LedgerError) in
            try subtreeHash(level: level, index: index) { (l: Int, i: UInt64) throws(LedgerError) in
                try self.hashedTile(level: l, index: i, edge: edge)
            }
        })
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (default: the current size).
    /// - Throws: ``LedgerError`` `.outOfRange` when the index or size is beyond the tree.
    public func inclusionProof(index: UInt64, size: UInt64? = nil) throws(LedgerError) -> [MerkleHash] {
        let (edge, reader) = hashReader()
        let treeSize = size ?? edge.size
        guard treeSize <= edge.size else { throw LedgerError(code: .outOfRange, reason: "tree size \(treeSize) > \(edge.size)") }
        return try MerkleTree.inclusionProof(index: index, size: treeSize, reader: reader)
    }

    /// The consistency proof from `oldSize` to `newSize` (default: the current size).
    /// - Throws: ``LedgerError`` `.outOfRange` unless 0 < oldSize ≤ newSize ≤ the current size.
    public func consistencyProof(oldSize: UInt64, newSize: UInt64? = nil) throws(LedgerError) -> [MerkleHash] {
        let (edge, reader) = hashReader()
        let treeSize = newSize ?? edge.size
        guard treeSize <= edge.size else { throw LedgerError(code: .outOfRange, reason: "tree size \(treeSize) > \(edge.size)") }
        return try MerkleTree.consistencyProof(oldSize: oldSize, newSize: treeSize, reader: reader)
    }

    /// The root hash of the tree of `size` leaves (≤ the current size).
    /// - Throws: ``LedgerError`` `.outOfRange`.
    public func rootHash(size: UInt64) throws(LedgerError) -> MerkleHash {
        let (edge, reader) = hashReader()
        guard size <= edge.size else { throw LedgerError(code: .outOfRange, reason: "tree size \(size) > \(edge.size)") }
        return try MerkleTree.rootHash(size: size, reader: reader)
    }

    /// The bytes of a C2SP tile or entry bundle as of the current tree.
    /// - Throws: ``LedgerError`` `.notFound` when the tree does not (yet) have that tile at that width.
    public func tile(_ id: TileID) throws(LedgerError) -> [UInt8] {
        let edge = sequencer.withLock { $0.edge }
        let start = id.index * UInt64(TileID.width)
        let missing = LedgerError(code: .notFound, reason: "no tile \(id.path) in a tree of size \(edge.size)")
        guard let level = id.level else {
            guard start + UInt64(id.count) <= edge.size else { throw missing }
            let entries = try storage.entries(start: start, count: id.count)
            guard entries.count == id.count else { throw missing }
            return try EntryBundle.encode(entries.map(\.bytes))
        }
        guard level < 64, start + UInt64(id.count) <= edge.size >> UInt64(8 * level) else { throw missing }
        let bytes = try readTile(level: level, index: id.index, edge: edge)
        guard bytes.count >= id.count * 32 else { throw missing }
        return Array(bytes.prefix(id.count * 32))
    }

    /// The entry at `index`.
    /// - Throws: ``LedgerError`` `.notFound`.
    public func entry(at index: UInt64) throws(LedgerError) -> StoredEntry {
        // Another instance on a shared store may have appended it.
        if index >= size { try refresh() }
        guard index < size, let entry = try storage.entries(start: index, count: 1).first else {
            throw LedgerError(code: .notFound, reason: "no entry \(index)")
        }
        return entry
    }

    /// Indices of the entries with `key`.
    public func lookup(_ key: LookupKey) throws(LedgerError) -> [UInt64] { try storage.lookup(key) }

    /// The evidence entry that marked the chip suspect, if any.
    public func suspectEvidence(chipID: [UInt8]) throws(LedgerError) -> UInt64? { try storage.suspectEvidence(chipID: chipID) }

    /// Re-derives the tree from the stored leaves alone (not the stored tiles) and compares it with
    /// the last checkpoint; also checks every stored tile against the recomputed hashes.
    /// Returns the checked checkpoint.
    /// - Throws: ``LedgerError`` `.inconsistentTree` naming the first disagreement.
    public func fsck() throws(LedgerError) -> Checkpoint {
        let note = checkpointNote
        let checkpoint = try Checkpoint.open(note, origin: origin, verifier: verifier)
        var edge = TileEdge()
        var start: UInt64 = 0
        var expectedTiles: [TileKey: [UInt8]] = [:]
        while start < checkpoint.size {
            let count = Int(min(UInt64(4096), checkpoint.size - start))
            let entries = try storage.entries(start: start, count: count)
            guard entries.count == count, entries.enumerated().allSatisfy({ $0.element.index == start + UInt64($0.offset) }) else {
                throw LedgerError(code: .inconsistentTree, reason: "entries from \(start) are missing")
            }
            for (key, bytes) in edge.append(entries.map { MerkleTree.leafHash($0.bytes) }) { expectedTiles[key] = bytes }
            // Full tiles are final: check them as they complete and let them go.
            for (key, bytes) in expectedTiles where bytes.count == TileID.width * 32 {
                guard try storage.tile(level: key.level, index: key.index) == bytes else {
                    throw LedgerError(code: .inconsistentTree, reason: "stored tile \(key.level)/\(key.index) differs from the leaves")
                }
                expectedTiles[key] = nil
            }
            start += UInt64(count)
        }
        for (key, bytes) in expectedTiles {
            guard let stored = try storage.tile(level: key.level, index: key.index), stored.starts(with: bytes) else {
                throw LedgerError(code: .inconsistentTree, reason: "stored tile \(key.level)/\(key.index) differs from the leaves")
            }
        }
        let root = try MerkleTree.rootHash(size: edge.size) { (level: Int, index: UInt64) throws(LedgerError) in
            try subtreeHash(level: level, index: index) { (l: Int, i: UInt64) throws(LedgerError) in
                let levelCount = edge.size >> UInt64(8 * l)
                if i == levelCount / UInt64(TileID.width), l < edge.partial.count { return edge.partial[l].flatMap { $0 } }
                guard let bytes = try storage.tile(level: l, index: i) else {
                    throw LedgerError(code: .inconsistentTree, reason: "tile \(l)/\(i) is missing")
                }
                return bytes
            }
        }
        guard root == checkpoint.rootHash else {
            throw LedgerError(code: .inconsistentTree, reason: "the leaves give root \(Data(root).base64EncodedString()), the checkpoint signed \(Data(checkpoint.rootHash).base64EncodedString())")
        }
        return checkpoint
    }
}

private struct StampKey: Hashable {
    var chipID: [UInt8]
    var counter: UInt32
}
