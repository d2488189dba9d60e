import SealProtocol

/// The contents of the chip's NVM array — record area plus journal — and its
/// versioned binary serialization (the durable image held by an ``NVMBackingStore``).
///
/// Layout, all integers big-endian (version 1):
///
/// ```
/// offset  size  field
/// 0       4     magic "SKNV"
/// 4       1     version (1)
/// 5       4     record count R
///               R × { id u16, length u16, value[length] }   sorted by id
///         1     journal state: 0 = not committed, 1 = committed
///         4     journal entry count J
///               J × { id u16, kind u8 (0 = write, 1 = erase), length u16, value[length] }
/// end-4   4     CRC-32 of every preceding byte
/// ```
///
/// The image is the chip's memory at a point in time, so it can carry a journal:
/// ``NonVolatileMemory`` stores the image at its commit point, when the journal
/// holds the transaction and the commit marker is set but the records are not yet
/// updated. Loading such an image rolls the journal forward. An uncommitted
/// journal is legal in the format (its entries are discarded on recovery).
struct NVMImage: Equatable, Sendable {
    static let magic: [UInt8] = Array("SKNV".utf8)
    static let currentVersion: UInt8 = 1
    /// Bytes of a version-1 image with no records and an empty journal.
    static let minimumSize = 4 + 1 + 4 + 1 + 4 + 4

    /// The record area. Between a torn apply write and recovery a record here may
    /// hold a half-written value; the committed journal supersedes it.
    var records: [UInt16: [UInt8]] = [:]
    /// Journal entries, in the order they were written.
    var journal: [NVMJournalEntry] = []
    /// The commit marker: set once the whole journal is written.
    var journalCommitted = false

    init(records: [UInt16: [UInt8]] = [:], journal: [NVMJournalEntry] = [], journalCommitted: Bool = false) {
        self.records = records
        self.journal = journal
        self.journalCommitted = journalCommitted
    }

    /// The serialized image.
    ///
    /// Value lengths are written as u16; ``NonVolatileMemory`` never admits a value
    /// longer than `UInt16.max`, and decoding can only produce such lengths.
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.minimumSize + records.values.reduce(0) { $0 + 4 + $1.count })
        out += Self.magic
        out.append(Self.currentVersion)
        out.appendBigEndian(UInt32(clamping: records.count))
        for id in records.keys.sorted() {
            let value = records[id] ?? []
            out.appendBigEndian(id)
            out.appendBigEndian(UInt16(clamping: value.count))
            out += value
        }
        out.append(journalCommitted ? 1 : 0)
        out.appendBigEndian(UInt32(clamping: journal.count))
        for entry in journal {
            out.appendBigEndian(entry.id)
            switch entry.change {
            case .write(let value):
                out.append(0)
                out.appendBigEndian(UInt16(clamping: value.count))
                out += value
            case .erase:
                out.append(1)
                out.appendBigEndian(UInt16(0))
            }
        }
        out.appendBigEndian(NVMCRC32.checksum(out))
        return out
    }

    /// Parses and validates a serialized image.
    ///
    /// Checks, in order: minimum length, magic, version, CRC-32, then structure
    /// (counts, lengths, no duplicate record ids, known kinds, no trailing bytes).
    /// Every failure is ``NVMError/Code/corruptImage``; nothing here can trap.
    init(decoding bytes: [UInt8]) throws(NVMError) {
        guard bytes.count >= Self.minimumSize else {
            throw Self.corrupt(
                "image is \(bytes.count) bytes, shorter than the \(Self.minimumSize)-byte minimum (truncated)")
        }
        guard bytes.starts(with: Self.magic) else {
            throw Self.corrupt("bad magic \(Self.hex(bytes.prefix(4))), expected \"SKNV\" (53 4B 4E 56)")
        }
        guard bytes[4] == Self.currentVersion else {
            throw Self.corrupt("unsupported image version \(bytes[4]); this firmware reads version \(Self.currentVersion)")
        }
        let bodyEnd = bytes.count - 4
        let stored = readBigEndian(bytes[bodyEnd...], as: UInt32.self)
        let computed = NVMCRC32.checksum(bytes[..<bodyEnd])
        guard stored == computed else {
            throw Self.corrupt(
                "checksum mismatch: stored 0x\(Self.hex32(stored)), computed 0x\(Self.hex32(computed)) "
                    + "over \(bodyEnd) bytes (image corrupt or truncated)")
        }

        var reader = Reader(bytes: bytes, offset: 5, end: bodyEnd)
        let recordCount = try reader.u32("record count")
        // Ids are u16, so more records than that cannot be distinct.
        guard recordCount <= 0x1_0000 else {
            throw Self.corrupt("record count \(recordCount) exceeds the 65536 possible ids")
        }
        var records: [UInt16: [UInt8]] = [:]
        for index in 0..<Int(recordCount) {
            let id = try reader.u16("record \(index) id")
            let length = try reader.u16("record \(index) length")
            let value = try reader.bytes(Int(length), "record \(index) value")
            guard records.updateValue(value, forKey: id) == nil else {
                throw Self.corrupt("duplicate record id \(id)")
            }
        }

        let state = try reader.u8("journal state")
        guard state <= 1 else {
            throw Self.corrupt("invalid journal state \(state) at offset \(reader.offset - 1)")
        }
        let entryCount = try reader.u32("journal entry count")
        guard entryCount <= 0x1_0000 else {
            throw Self.corrupt("journal entry count \(entryCount) exceeds the 65536 possible ids")
        }
        var journal: [NVMJournalEntry] = []
        var journalIds = Set<UInt16>()
        for index in 0..<Int(entryCount) {
            let id = try reader.u16("journal entry \(index) id")
            let kind = try reader.u8("journal entry \(index) kind")
            let length = try reader.u16("journal entry \(index) length")
            let change: NVMJournalEntry.Change
            switch kind {
            case 0:
                change = .write(try reader.bytes(Int(length), "journal entry \(index) value"))
            case 1:
                guard length == 0 else {
                    throw Self.corrupt("journal entry \(index) is an erase with non-zero length \(length)")
                }
                change = .erase
            default:
                throw Self.corrupt("journal entry \(index) has unknown kind \(kind)")
            }
            // The memory coalesces a transaction's changes per record, so a repeated
            // id can only come from corruption (and would make roll-forward ambiguous).
            guard journalIds.insert(id).inserted else {
                throw Self.corrupt("duplicate journal entry for record \(id)")
            }
            journal.append(NVMJournalEntry(id: id, change: change))
        }
        guard reader.offset == bodyEnd else {
            throw Self.corrupt("\(bodyEnd - reader.offset) unexpected bytes after the journal at offset \(reader.offset)")
        }

        self.init(records: records, journal: journal, journalCommitted: state == 1)
    }

    /// The length of the version-1 image at the start of `bytes`, found by walking its structure
    /// (counts and value lengths; the CRC is not checked here), or `nil` if `bytes` does not start
    /// with a complete image. ``FileBackingStore`` uses it to find where the image ends and its log
    /// begins; the image is then validated by ``init(decoding:)``.
    static func encodedLength(atStartOf bytes: [UInt8]) -> Int? {
        guard bytes.count >= minimumSize, bytes.starts(with: magic), bytes[4] == currentVersion else { return nil }
        var offset = 5
        func u16() -> Int? {
            guard bytes.count - offset >= 2 else { return nil }
            defer { offset += 2 }
            return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        }
        func u32() -> Int? {
            guard bytes.count - offset >= 4 else { return nil }
            defer { offset += 4 }
            return Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        }
        func skip(_ count: Int) -> Bool {
            guard bytes.count - offset >= count else { return false }
            offset += count
            return true
        }
        guard let recordCount = u32(), recordCount <= 0x1_0000 else { return nil }
        for _ in 0..<recordCount {
            guard u16() != nil, let length = u16(), skip(length) else { return nil }
        }
        guard skip(1), let entryCount = u32(), entryCount <= 0x1_0000 else { return nil }
        for _ in 0..<entryCount {
            guard u16() != nil, skip(1), let length = u16(), skip(length) else { return nil }
        }
        guard skip(4) else { return nil }
        return offset
    }

    // MARK: - Helpers

    private static func corrupt(_ message: String) -> NVMError {
        NVMError(.corruptImage, message)
    }

    private static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    private static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }

    /// A bounds-checked big-endian cursor; running past `end` is a truncation error,
    /// never an out-of-range subscript.
    private struct Reader {
        let bytes: [UInt8]
        var offset: Int
        let end: Int

        private mutating func take(_ count: Int, _ field: String) throws(NVMError) -> ArraySlice<UInt8> {
            guard count >= 0, end - offset >= count else {
                throw NVMImage.corrupt(
                    "truncated: \(field) needs \(count) bytes at offset \(offset), only \(end - offset) remain")
            }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func u8(_ field: String) throws(NVMError) -> UInt8 {
            let slice = try take(1, field)
            return slice[slice.startIndex]
        }

        mutating func u16(_ field: String) throws(NVMError) -> UInt16 {
            let slice = try take(2, field)
            return readBigEndian(slice, as: UInt16.self)
        }

        mutating func u32(_ field: String) throws(NVMError) -> UInt32 {
            let slice = try take(4, field)
            return readBigEndian(slice, as: UInt32.self)
        }

        mutating func bytes(_ count: Int, _ field: String) throws(NVMError) -> [UInt8] {
            Array(try take(count, field))
        }
    }
}
