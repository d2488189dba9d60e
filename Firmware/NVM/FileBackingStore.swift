import CSealFileStatus
import Foundation
import SealProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A backing store that keeps the image in a state file as a journaled append log: a base image,
/// then the records each committed transaction changed, one `fdatasync` per commit.
///
/// ## File format
/// All integers big-endian.
///
/// ```
/// offset  size  field
/// 0       B     base: a complete version-1 SKNV image (layout in NVMImage.swift, with its CRC-32)
/// B       4     log magic "SKNL"
/// B+4     1     log version (1)
/// B+5     3     zero
/// B+8     4     log area size A (bytes that follow the header)
/// B+12    A     log area: commit records, back to back, then zero bytes to the end of the file
/// ```
///
/// A commit record holds the changes of one committed transaction:
///
/// ```
/// size  field
/// 4     payload length L (at least 2)
/// 4     sequence number: 1 for the first record after the header, then +1
/// L     payload: entry count u16, then entries { id u16, kind u8 (0 = write, 1 = erase), length u16, value }
/// 4     CRC-32 of the base image's CRC-32 (the base's last 4 bytes), then length, sequence and payload
/// ```
///
/// The contents the file holds are the base image recovered (a committed journal in it rolled
/// forward, an uncommitted one dropped), then every valid record applied in order. Reading stops at
/// the first record that is incomplete, fails its CRC or carries the wrong sequence number: that
/// is a commit cut by a crash, which never returned, so the contents are the last committed ones.
/// A file cut short reads the same way (its missing log area counts as zeros). A file that is only a base image (what this store wrote before it kept a log) is read as a base
/// with an empty log; bytes after a base that do not form a log header are ``NVMError/Code/corruptImage``,
/// as is a record whose CRC holds but whose payload does not parse.
///
/// ## Commits
/// ``store(snapshot:)`` gets the memory's image at its commit point: the records as the file holds
/// them plus the committed journal of the transaction. It encodes the journal as one record,
/// `pwrite`s it at the end of the valid log and `fdatasync`s the file: one write and one sync per
/// commit. The log area is written with zeros when the file is made, so a commit writes inside
/// allocated blocks and never changes the file's size: the sync flushes data and no metadata.
///
/// It *compacts* instead — writes base (the snapshot's whole image) + header + a zeroed log area of
/// `max(logCapacity, B)` bytes to a temporary file in the same directory, `fsync`s it, `rename(2)`s it
/// over the state file and `fsync`s the directory, as every store did before the log — when:
/// the record does not fit in the log area (so the file is at most B + 12 + max(logCapacity, B) bytes,
/// plus one transaction's worth in the base); the file has no log yet (a version-1 file is migrated
/// on its first commit) or does not exist; the file after the valid records holds non-zero bytes (a
/// cut commit, or a failed one: they are never overwritten in place); the file on disk is not the one
/// loaded (another inode, another size); or the store did not load the file itself, or was given a
/// whole image through ``store(_:)``. Compaction runs synchronously inside the commit, under the
/// caller's lock (a token's `flock` on `<state>.lock`).
///
/// A crash at any point leaves the last committed contents: a cut append leaves a prefix of a record
/// over zeros, which fails its length or CRC check; a cut compaction leaves a partial temporary file
/// and the previous state file in place (the rename is atomic and happens after the temporary file is
/// synced). An `fdatasync` or `pwrite` that fails reports ``NVMError/Code/storageFailure`` (the commit
/// did not happen): the store overwrites the record's bytes with zeros (best effort) and compacts at
/// the next commit.
///
/// ## Read-only media
/// The image that recovery produces when the memory is opened or powered on is kept in memory
/// (``storeRecovered(snapshot:)``), so opening a token to inspect it never writes and works on a
/// read-only file, directory or file system; recovery reaches the file with the next commit. A commit
/// onto a state file or directory that is not writable fails (``NVMError/Code/storageFailure``,
/// nothing changed): `access(2)` for `W_OK` and the write bits of the mode (root passes `access`
/// whatever the mode) are checked when the file is first opened for writing and at each compaction;
/// the mode's write bits at every commit. A state file that is rewritten keeps its permission bits.
///
/// Not thread-safe: confine an instance to one isolation domain, like the ``NonVolatileMemory``
/// that uses it. Errors are ``NVMError``s with code ``NVMError/Code/storageFailure`` (I/O) or
/// ``NVMError/Code/corruptImage`` (a file that does not parse).
public final class FileBackingStore: NVMBackingStore {
    /// The state file's path.
    public let path: String

    /// Bytes of log area a compaction provides at least (it provides the base image's size if that
    /// is larger): the size threshold at which the log is compacted.
    let logCapacity: Int

    static let logMagic: [UInt8] = Array("SKNL".utf8)
    static let logVersion: UInt8 = 1
    static let logHeaderSize = 12
    /// Length, sequence number and CRC of a commit record.
    static let recordOverhead = 12
    static let defaultLogCapacity = 256 * 1024

    /// What the store knows of the state file it loaded, while it may append to it (internal so
    /// that tests can check where a parsed file resumes).
    struct LogState: Equatable {
        /// The base image's CRC-32 (its last 4 bytes), which seeds every record's CRC.
        var baseChecksum: UInt32
        /// Where the next record goes (the end of the valid records).
        var appendOffset: Int
        /// The file's size: the end of the log area.
        var fileSize: Int
        var nextSequence: UInt32
        /// Whether bytes after `appendOffset` may be non-zero (a cut or failed commit).
        var dirtyTail: Bool
        /// Device and inode of the file, to notice it was replaced behind the store's back (0 when
        /// only parsed).
        var device: UInt64 = 0
        var inode: UInt64 = 0
    }

    /// `nil` until ``load()`` read a file with a log, and whenever the next commit must compact.
    private var log: LogState?
    /// The descriptor appends go through; opened at the first commit after a load, or by a compaction.
    private var descriptor: Int32 = -1

    /// Creates a store for the state file at `path`. Nothing is touched until the
    /// first ``load()`` or ``store(_:)``.
    public convenience init(path: String) {
        self.init(path: path, logCapacity: Self.defaultLogCapacity)
    }

    /// Creates a store whose compactions provide `logCapacity` bytes of log area (tests use small ones).
    init(path: String, logCapacity: Int) {
        self.path = path
        self.logCapacity = max(Self.recordOverhead + 2, logCapacity)
    }

    /// Creates a store for the state file at a file URL.
    public convenience init(url: URL) {
        self.init(path: url.path)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    // MARK: - Loading

    /// Reads the state file — its base image, then its valid commit records — and returns the
    /// contents as one version-1 image with no journal; `nil` if the file does not exist yet.
    public func load() throws -> [UInt8]? {
        closeDescriptor()
        log = nil
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw NVMError(.storageFailure, "cannot read state file \(path): \(error)")
        }
        let parsed = try Self.parse(bytes)
        if var state = parsed.log {
            var status = sealkit_file_status()
            if sealkit_file_status_at_path(path, &status) == 0, Int(status.size) == bytes.count {
                state.device = status.device
                state.inode = status.inode
                log = state
            }
        }
        return parsed.image.encoded()
    }

    /// The contents of a state file's bytes and, if it has a log, where appending resumes.
    /// Internal so that tests can check every cut of a file without going through a memory.
    static func parse(_ bytes: [UInt8]) throws(NVMError) -> (image: NVMImage, log: LogState?) {
        let baseLength = NVMImage.encodedLength(atStartOf: bytes) ?? bytes.count
        var image = try NVMImage(decoding: Array(bytes[..<baseLength]))
        if image.journalCommitted {
            for entry in image.journal { image.records[entry.id] = entry.change.value }
        }
        image.journal = []
        image.journalCommitted = false
        guard baseLength < bytes.count else { return (image, nil) }

        let headerEnd = baseLength + logHeaderSize
        guard bytes.count >= headerEnd, bytes[baseLength..<(baseLength + 4)].elementsEqual(logMagic) else {
            throw NVMError(.corruptImage, "\(bytes.count - baseLength) bytes after the image at offset \(baseLength) are not a log header (\"SKNL\")")
        }
        guard bytes[baseLength + 4] == logVersion else {
            throw NVMError(.corruptImage, "unsupported log version \(bytes[baseLength + 4]); this firmware reads version \(logVersion)")
        }
        // A file shorter than its header says (cut) reads as far as it goes; the next commit
        // compacts it, like any other dirty tail.
        let areaSize = Int(readBigEndian(bytes[(baseLength + 8)..<headerEnd], as: UInt32.self))
        let baseChecksum = readBigEndian(bytes[(baseLength - 4)..<baseLength], as: UInt32.self)

        var offset = headerEnd
        var sequence: UInt32 = 1
        while let record = validRecord(in: bytes, at: offset, sequence: sequence, baseChecksum: baseChecksum) {
            try apply(payload: bytes[(offset + 8)..<(offset + 8 + record)], to: &image, at: offset)
            offset += recordOverhead + record
            sequence &+= 1
        }
        let dirty = bytes.count - headerEnd != areaSize || bytes[offset...].contains { $0 != 0 }
        return (image, LogState(baseChecksum: baseChecksum, appendOffset: offset, fileSize: bytes.count,
                                nextSequence: sequence, dirtyTail: dirty))
    }

    /// The payload length of the complete, intact record with `sequence` at `offset`, or `nil`.
    private static func validRecord(in bytes: [UInt8], at offset: Int, sequence: UInt32, baseChecksum: UInt32) -> Int? {
        guard bytes.count - offset >= recordOverhead + 2 else { return nil }
        let length = Int(readBigEndian(bytes[offset..<(offset + 4)], as: UInt32.self))
        guard length >= 2, length <= bytes.count - offset - recordOverhead,
              readBigEndian(bytes[(offset + 4)..<(offset + 8)], as: UInt32.self) == sequence
        else { return nil }
        let end = offset + 8 + length
        let stored = readBigEndian(bytes[end..<(end + 4)], as: UInt32.self)
        return recordChecksum(baseChecksum: baseChecksum, body: bytes[offset..<end]) == stored ? length : nil
    }

    private static func recordChecksum(baseChecksum: UInt32, body: ArraySlice<UInt8>) -> UInt32 {
        var input: [UInt8] = []
        input.reserveCapacity(4 + body.count)
        input.appendBigEndian(baseChecksum)
        input += body
        return NVMCRC32.checksum(input)
    }

    private static func apply(payload: ArraySlice<UInt8>, to image: inout NVMImage, at recordOffset: Int) throws(NVMError) {
        func corrupt(_ what: String) -> NVMError {
            NVMError(.corruptImage, "log record at offset \(recordOffset) passes its CRC but \(what)")
        }
        var offset = payload.startIndex
        func take(_ count: Int) throws(NVMError) -> ArraySlice<UInt8> {
            guard payload.endIndex - offset >= count else { throw corrupt("is truncated") }
            defer { offset += count }
            return payload[offset..<(offset + count)]
        }
        let count = readBigEndian(try take(2), as: UInt16.self)
        for _ in 0..<count {
            let id = readBigEndian(try take(2), as: UInt16.self)
            let kind = try take(1).first ?? 0xFF
            let length = Int(readBigEndian(try take(2), as: UInt16.self))
            switch kind {
            case 0: image.records[id] = Array(try take(length))
            case 1 where length == 0: image.records[id] = nil
            default: throw corrupt("has an entry of kind \(kind) with length \(length)")
            }
        }
        guard offset == payload.endIndex else { throw corrupt("has \(payload.endIndex - offset) bytes after its entries") }
    }

    // MARK: - Storing

    /// Keeps the recovered image in memory only: the state file still holds what it was recovered
    /// from, which recovers to the same contents on every load, and the next commit writes on top
    /// of those contents. So opening a token writes nothing and works on read-only media.
    public func storeRecovered(snapshot: NVMSnapshot) throws {}

    /// Commits: appends the snapshot's committed journal as one record and syncs it, or compacts
    /// (see the type's discussion). Throws ``NVMError/Code/storageFailure`` with the file holding
    /// the previous contents.
    public func store(snapshot: NVMSnapshot) throws {
        let image = snapshot.image
        // A record counts its entries in 16 bits; a larger transaction (never one of the chip's) compacts.
        guard image.journalCommitted, image.journal.count <= Int(UInt16.max), var state = log, !state.dirtyTail else {
            return try compact(image.encoded())
        }
        var record: [UInt8] = []
        let payloadLength = 2 + image.journal.reduce(0) { $0 + 5 + ($1.change.value?.count ?? 0) }
        guard state.appendOffset + Self.recordOverhead + payloadLength <= state.fileSize else {
            return try compact(image.encoded())
        }
        guard try appendTargetIsUnchanged(state) else {
            return try compact(image.encoded())
        }

        // The base image's CRC leads the bytes the record's CRC covers; it is not written.
        record.reserveCapacity(4 + Self.recordOverhead + payloadLength)
        record.appendBigEndian(state.baseChecksum)
        record.appendBigEndian(UInt32(payloadLength))
        record.appendBigEndian(state.nextSequence)
        record.appendBigEndian(UInt16(clamping: image.journal.count))
        for entry in image.journal {
            record.appendBigEndian(entry.id)
            switch entry.change {
            case .write(let value):
                record.append(0)
                record.appendBigEndian(UInt16(clamping: value.count))
                record += value
            case .erase:
                record.append(1)
                record.appendBigEndian(UInt16(0))
            }
        }
        record.appendBigEndian(NVMCRC32.checksum(record))
        let written = record[4...]

        if let failure = Self.writeAll(descriptor, written, at: state.appendOffset) ?? Self.dataSync(descriptor) {
            // The commit did not happen: wipe what may have reached the file, and never append
            // after it (the next commit compacts).
            _ = Self.writeAll(descriptor, [UInt8](repeating: 0, count: written.count)[...], at: state.appendOffset)
            state.dirtyTail = true
            log = state
            throw NVMError(.storageFailure, "cannot append to state file \(path): \(failure)")
        }
        state.appendOffset += written.count
        state.nextSequence &+= 1
        log = state
    }

    /// Atomically replaces the state file with `image` as its base and an empty log (temporary
    /// file + fsync + rename). The next commit compacts again, as the store no longer knows what
    /// the memory holds.
    ///
    /// Throws ``NVMError/Code/storageFailure`` without touching anything when the
    /// state file or its directory is read-only. The state file keeps its mode.
    public func store(_ image: [UInt8]) throws {
        try compact(image)
        log = nil
    }

    /// The checks before an append: the state file is still writable (its mode; and `access(2)` and
    /// the directory when the append descriptor is opened, at the first commit after a load), and it
    /// is still the file loaded — same inode and size, nothing written at the append offset — so
    /// that a file replaced or appended to by someone else (which a token's lock rules out) gets a
    /// whole image, as every store did before the log, instead of a record on the wrong contents.
    /// `false` when the caller must compact.
    ///
    /// The file's identity comes from `statx` with a mask without timestamps
    /// (`sealkit_file_status_at_path`): a `stat(2)` here, before every commit, asks for the file's
    /// times, and on Linux 6.13 or later that makes the commit's write dirty the inode, so that
    /// ext4's `fdatasync` writes the inode too (about 1.5 times as slow a sync; CSealFileStatus.h).
    private func appendTargetIsUnchanged(_ state: LogState) throws -> Bool {
        var status = sealkit_file_status()
        guard sealkit_file_status_at_path(path, &status) == 0 else { return false }
        let mode = mode_t(status.mode)
        if mode & 0o222 == 0 {
            throw NVMError(.storageFailure, "the state file \(path) is read-only (mode \(String(mode & 0o7777, radix: 8)) has no write permission); nothing was written")
        }
        guard status.device == state.device, status.inode == state.inode, Int(status.size) == state.fileSize else {
            return false
        }
        if descriptor < 0 {
            try requireWritable(fileMode: mode)
            let opened = open(path, O_RDWR | O_CLOEXEC)
            guard opened >= 0 else {
                throw NVMError(.storageFailure, "cannot open the state file \(path) for writing: \(Self.describeErrno())")
            }
            var openedStatus = sealkit_file_status()
            guard sealkit_file_status_of_descriptor(opened, &openedStatus) == 0, openedStatus.inode == state.inode, openedStatus.device == state.device else {
                close(opened)
                return false
            }
            descriptor = opened
        }
        var next: UInt32 = 0
        let read = withUnsafeMutableBytes(of: &next) { pread(descriptor, $0.baseAddress, 4, off_t(state.appendOffset)) }
        return read == 4 && next == 0
    }

    /// Refuses (with the reason) a read-only state file or directory.
    private func requireWritable(fileMode: mode_t?) throws {
        if let fileMode, let reason = Self.readOnlyReason(path, mode: fileMode) {
            throw NVMError(.storageFailure, "the state file \(path) is read-only (\(reason)); nothing was written")
        }
        var status = stat()
        if stat(directory, &status) == 0, let reason = Self.readOnlyReason(directory, mode: status.st_mode) {
            throw NVMError(.storageFailure, "the directory \(directory) of the state file is read-only (\(reason)); nothing was written")
        }
    }

    private var directory: String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// Writes `base` + log header + a zeroed log area to a temporary file, syncs it and renames it
    /// over the state file; afterwards appends go to the new file.
    private func compact(_ base: [UInt8]) throws {
        let directory = self.directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw NVMError(.storageFailure, "cannot create directory \(directory): \(error)")
        }
        // The mode to keep; 0600 for a new state file (it holds key material).
        var fileMode = mode_t(0o600)
        var status = stat()
        var existing: mode_t?
        if stat(path, &status) == 0 {
            fileMode = status.st_mode & 0o7777
            existing = status.st_mode
        }
        try requireWritable(fileMode: existing)

        let areaSize = max(logCapacity, base.count)
        var bytes = base
        bytes.reserveCapacity(base.count + Self.logHeaderSize + areaSize)
        bytes += Self.logMagic
        bytes += [Self.logVersion, 0, 0, 0]
        bytes.appendBigEndian(UInt32(clamping: areaSize))
        bytes += repeatElement(0, count: areaSize)

        // A unique name so two stores racing on one directory cannot clobber each
        // other's temp file; the leading dot keeps it out of casual listings.
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        let temporary = directory + "/." + fileName + "." + UUID().uuidString + ".tmp"
        let written: Int32
        do {
            written = try Self.writeSynced(bytes, to: temporary, mode: fileMode)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = Self.describeErrno()
            close(written)
            unlink(temporary)
            throw NVMError(.storageFailure, "cannot rename \(temporary) to \(path): \(reason)")
        }
        // Make the rename itself durable. Best effort: the new image is already in
        // place, so failing here must not report the store as failed — the caller
        // would then believe the old image is still current, which it is not.
        Self.syncDirectory(directory)

        closeDescriptor()
        descriptor = written
        log = nil
        var opened = stat()
        guard base.count >= 4, fstat(written, &opened) == 0 else { return }
        log = LogState(baseChecksum: readBigEndian(base[(base.count - 4)...], as: UInt32.self),
                       appendOffset: base.count + Self.logHeaderSize, fileSize: bytes.count, nextSequence: 1,
                       dirtyTail: false, device: UInt64(opened.st_dev), inode: UInt64(opened.st_ino))
    }

    private func closeDescriptor() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// Writes all of `bytes` to a new file at `path` and flushes it to stable storage,
    /// so the rename never exposes a file whose contents are still only in the page cache.
    /// Returns the open descriptor (read-write).
    private static func writeSynced(_ bytes: [UInt8], to path: String, mode: mode_t) throws -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw NVMError(.storageFailure, "cannot create \(path): \(describeErrno())")
        }
        // Set explicitly: the creation mode is filtered by the umask, the kept one must not be.
        guard fchmod(descriptor, mode) == 0 else {
            let reason = describeErrno()
            close(descriptor)
            throw NVMError(.storageFailure, "cannot set the mode of \(path): \(reason)")
        }
        if let failure = writeAll(descriptor, bytes[...], at: 0) {
            close(descriptor)
            throw NVMError(.storageFailure, "cannot write \(path): \(failure)")
        }
        guard fsync(descriptor) == 0 else {
            let reason = describeErrno()
            close(descriptor)
            throw NVMError(.storageFailure, "cannot fsync \(path): \(reason)")
        }
        return descriptor
    }

    /// `pwrite`s all of `bytes` at `offset`; the failure's description, or `nil` on success.
    private static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>, at offset: Int) -> String? {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return pwrite(descriptor, base + written, bytes.count - written, off_t(offset + written))
            }
            if result < 0 {
                if errno == EINTR { continue }
                return describeErrno()
            }
            if result == 0 { return "no progress" }
            written += result
        }
        return nil
    }

    private static func dataSync(_ descriptor: Int32) -> String? {
        #if canImport(Darwin)
        return fsync(descriptor) == 0 ? nil : "fsync: " + describeErrno()
        #else
        return fdatasync(descriptor) == 0 ? nil : "fdatasync: " + describeErrno()
        #endif
    }

    /// Why `path` (a file or directory) must not be written, or `nil` when it may: `access(2)`
    /// refuses `W_OK` (a read-only file system, or permissions for a non-root user), or the
    /// mode has no write bit at all (root passes `access` whatever the mode).
    private static func readOnlyReason(_ path: String, mode: mode_t) -> String? {
        if access(path, W_OK) != 0 {
            return describeErrno()
        }
        if mode & 0o222 == 0 {
            return "mode \(String(mode & 0o7777, radix: 8)) has no write permission"
        }
        return nil
    }

    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    private static func describeErrno() -> String {
        let code = errno
        return String(cString: strerror(code)) + " (errno \(code))"
    }
}
