import Foundation
import Testing

@testable import SealFirmware

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The state file as a journaled append log (FileBackingStore.swift): every cut of a commit's
/// write recovers the last committed contents, version-1 files load and migrate, the size stays bounded.
@Suite("FileBackingStore append log")
struct NVMFileLogTests {
    static func makeDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("NVMFileLog-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func put(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The contents a memory opened on `bytes` would hold (through the store's own loading).
    static func contents(of bytes: [UInt8]) throws -> [UInt16: [UInt8]] {
        try FileBackingStore.parse(bytes).image.records
    }

    /// Transactions of growing size, each touching several records (writes and an erase).
    static func transaction(_ memory: NonVolatileMemory, _ round: Int) throws {
        try memory.beginTransaction()
        try memory.write(1, [UInt8](repeating: UInt8(round), count: 4))
        try memory.write(UInt16(10 + round % 5), [UInt8](repeating: UInt8(truncatingIfNeeded: round * 7), count: 20 + round * 3))
        if round % 3 == 2 { try memory.erase(UInt16(10 + (round + 1) % 5)) }
        try memory.commitTransaction()
    }

    @Test("a commit writes only its record inside the file, and every cut of that write recovers the last committed contents")
    func everyCutOfAnAppend() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path, logCapacity: 8192))
        try memory.write(1, [0])  // creates the file (a compaction)

        var appendsChecked = 0
        for round in 0..<8 {
            let before = try Self.bytes(path)
            let committedBefore = memory.snapshot()
            try Self.transaction(memory, round)
            let after = try Self.bytes(path)
            let committedAfter = memory.snapshot()
            #expect(try Self.contents(of: before) == committedBefore)
            #expect(try Self.contents(of: after) == committedAfter)

            // An append: same size, and the only bytes that differ lie between the two append offsets.
            let start = try #require(try FileBackingStore.parse(before).log?.appendOffset)
            let end = try #require(try FileBackingStore.parse(after).log?.appendOffset)
            #expect(after.count == before.count)
            #expect(end > start)
            #expect(before[..<start] == after[..<start])
            #expect(before[end...] == after[end...])
            #expect(before[start..<end].allSatisfy { $0 == 0 })
            appendsChecked += 1

            for cut in 0...(end - start) {
                let expected = cut == end - start ? committedAfter : committedBefore
                // Cut in place: the first `cut` bytes of the record reached the preallocated area.
                var overwritten = before
                overwritten.replaceSubrange(start..<(start + cut), with: after[start..<(start + cut)])
                #expect(try Self.contents(of: overwritten) == expected, "round \(round), \(cut) of \(end - start) bytes written")
                // Cut as a truncation: the file ends in the middle of the record.
                #expect(try Self.contents(of: Array(after[..<(start + cut)])) == expected, "round \(round), truncated after \(cut) bytes")
            }
        }
        #expect(appendsChecked == 8)
    }

    @Test("a memory opened on a cut append recovers, and its next commit compacts the torn bytes away")
    func reopenAfterACutAppend() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path, logCapacity: 4096))
        try Self.transaction(memory, 0)
        let before = try Self.bytes(path)
        let committedBefore = memory.snapshot()
        try Self.transaction(memory, 1)
        let after = try Self.bytes(path)
        let start = try #require(try FileBackingStore.parse(before).log?.appendOffset)
        let end = try #require(try FileBackingStore.parse(after).log?.appendOffset)

        for cut in stride(from: 1, to: end - start, by: 3) {
            var torn = before
            torn.replaceSubrange(start..<(start + cut), with: after[start..<(start + cut)])
            try Self.put(torn, path)
            let reopened = try NonVolatileMemory(backing: FileBackingStore(path: path, logCapacity: 4096))
            #expect(reopened.snapshot() == committedBefore, "\(cut) bytes written")
            #expect(try Self.bytes(path) == torn, "opening writes nothing")
            try reopened.write(2, [UInt8(cut & 0xFF)])
            var expected = committedBefore
            expected[2] = [UInt8(cut & 0xFF)]
            #expect(try NonVolatileMemory(backing: FileBackingStore(path: path)).snapshot() == expected)
            #expect(try FileBackingStore.parse(try Self.bytes(path)).log?.dirtyTail == false)
        }
    }

    @Test("every cut of a compaction leaves the previous state file, and the new one once renamed")
    func everyCutOfACompaction() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        // A log area smaller than two records: every other commit compacts.
        let store = FileBackingStore(path: path, logCapacity: 64)
        let memory = try NonVolatileMemory(backing: store)
        try Self.transaction(memory, 0)

        var compactions = 0
        for round in 1..<6 {
            let before = try Self.bytes(path)
            let committedBefore = memory.snapshot()
            var status = stat()
            #expect(stat(path, &status) == 0)
            let inodeBefore = status.st_ino
            try Self.transaction(memory, round)
            #expect(stat(path, &status) == 0)
            guard status.st_ino != inodeBefore else { continue }  // this one appended
            compactions += 1
            let after = try Self.bytes(path)
            let committedAfter = memory.snapshot()
            #expect(try Self.contents(of: after) == committedAfter)

            // Before the rename the state file is untouched and the new file is a temporary one:
            // whatever prefix of it reached the disk, opening the token reads the previous file.
            let scratch = directory.appendingPathComponent("scratch")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let scratchState = scratch.appendingPathComponent("state.sknv").path
            try Self.put(before, scratchState)
            for cut in 0...after.count {
                try Self.put(Array(after[..<cut]), scratch.appendingPathComponent(".state.sknv.cut.tmp").path)
                #expect(try NonVolatileMemory(backing: FileBackingStore(path: scratchState)).snapshot() == committedBefore,
                        "round \(round), \(cut) of \(after.count) bytes of the new file written")
            }
            // After the rename: the new file, complete (it was synced before the rename).
            #expect(try NonVolatileMemory(backing: FileBackingStore(path: path)).snapshot() == committedAfter)
            try? FileManager.default.removeItem(at: scratch)
        }
        #expect(compactions >= 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["state.sknv"])
    }

    @Test("a version-1 state file (one whole image) loads unchanged and is migrated by its first commit")
    func versionOneFileMigrates() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        // As the whole-image store wrote it at a commit point: records plus a committed journal.
        let image = NVMImage(records: [1: [1, 2, 3], 5: Array("five".utf8)],
                             journal: [NVMJournalEntry(id: 5, change: .write([5])), NVMJournalEntry(id: 1, change: .erase)],
                             journalCommitted: true)
        let versionOne = image.encoded()
        try Self.put(versionOne, path)

        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        #expect(memory.snapshot() == [5: [5]])
        #expect(try Self.bytes(path) == versionOne, "opening writes nothing")

        try memory.write(7, [7])
        let migrated = try Self.bytes(path)
        #expect(Array(migrated.prefix(5)) == Array("SKNV".utf8) + [1])
        let baseLength = try #require(NVMImage.encodedLength(atStartOf: migrated))
        #expect(Array(migrated[baseLength..<(baseLength + 5)]) == Array("SKNL".utf8) + [1])
        #expect(try NonVolatileMemory(backing: FileBackingStore(path: path)).snapshot() == [5: [5], 7: [7]])

        // The next commit appends.
        try memory.write(8, [8])
        #expect(try Self.bytes(path).count == migrated.count)
        #expect(try NonVolatileMemory(backing: FileBackingStore(path: path)).snapshot() == [5: [5], 7: [7], 8: [8]])
    }

    @Test("the state file's size stays bounded by base + header + log area over many commits")
    func sizeIsBounded() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        let logCapacity = 2048
        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path, logCapacity: logCapacity))
        try memory.write(100, [UInt8](repeating: 0xEE, count: 500))
        var largest = 0
        for round in 0..<400 {
            try memory.write(UInt16(round % 7), [UInt8](repeating: UInt8(truncatingIfNeeded: round), count: 40))
            var status = stat()
            #expect(stat(path, &status) == 0)
            largest = max(largest, Int(status.st_size))
        }
        let base = memory.snapshot().values.reduce(0) { $0 + 4 + $1.count } + NVMImage.minimumSize + 7 * 45  // a journal of at most one transaction
        #expect(largest <= base + FileBackingStore.logHeaderSize + max(logCapacity, base))
        var expected: [UInt16: [UInt8]] = [100: [UInt8](repeating: 0xEE, count: 500)]
        for round in 393..<400 { expected[UInt16(round % 7)] = [UInt8](repeating: UInt8(truncatingIfNeeded: round), count: 40) }
        #expect(try NonVolatileMemory(backing: FileBackingStore(path: path)).snapshot() == expected)
    }

    @Test("a record whose CRC holds but whose payload does not parse is corruptImage, not a cut")
    func malformedRecordIsCorrupt() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        try memory.write(1, [1])
        try memory.write(2, [2])
        var bytes = try Self.bytes(path)
        let parsed = try #require(try FileBackingStore.parse(bytes).log)
        let baseLength = try #require(NVMImage.encodedLength(atStartOf: bytes))
        let recordStart = baseLength + FileBackingStore.logHeaderSize
        #expect(parsed.appendOffset > recordStart)
        // Kind 7 in the record's only entry (offset: length 4, sequence 4, count 2, id 2), CRC recomputed.
        bytes[recordStart + 12] = 7
        let crcOffset = parsed.appendOffset - 4
        let checksum = NVMCRC32.checksum(Array(bytes[(baseLength - 4)..<baseLength]) + Array(bytes[recordStart..<crcOffset]))
        bytes.replaceSubrange(crcOffset..<(crcOffset + 4), with: [UInt8(checksum >> 24), UInt8(checksum >> 16 & 0xFF), UInt8(checksum >> 8 & 0xFF), UInt8(checksum & 0xFF)])
        try Self.put(bytes, path)
        #expect(throws: NVMError(.corruptImage)) { _ = try NonVolatileMemory(backing: FileBackingStore(path: path)) }
    }
}
