import Foundation
import Testing

@testable import SealFirmware

/// Tests for the NVM model: record access, transactions, tear (power-loss)
/// atomicity at every write point, persistence and image validation.
@Suite("NVM")
struct NVMTests {
    // MARK: - Helpers

    private func makeMemory(
        capacity: Int = 64 * 1024, store: InMemoryBackingStore = InMemoryBackingStore()
    ) throws -> NonVolatileMemory {
        try NonVolatileMemory(capacity: capacity, backing: store)
    }

    /// A fresh temp directory, removed by the caller's `defer`.
    private func makeTempDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("NVMTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func code(of body: () throws -> Void) -> NVMError.Code? {
        do {
            try body()
            return nil
        } catch let error as NVMError {
            return error.code
        } catch {
            return nil
        }
    }

    // MARK: - Records

    @Test("NVM and chip errors compare and hash by code only")
    func errorsCompareByCode() {
        let a = NVMError(code: .corruptImage, reason: "bad magic")
        let b = NVMError(code: .corruptImage, reason: "checksum mismatch")
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(a != NVMError(code: .storageFailure, reason: "bad magic"))
        #expect(a.description == "NVM corruptImage: bad magic")
        #expect(NVMError(.powerLost).description == "NVM powerLost")
        let chip = SealChipError(code: .invalidChipID, reason: "3 bytes")
        #expect(chip == SealChipError(code: .invalidChipID, reason: ""))
        #expect(chip != SealChipError(code: .invalidIssuerKey, reason: "3 bytes"))
        #expect(chip.description == "SealChipError.invalidChipID: 3 bytes")
    }

    @Test("write, read, overwrite and erase records")
    func readWriteErase() throws {
        let memory = try makeMemory()
        #expect(memory.read(1) == nil)
        #expect(memory.usedBytes == 0)

        try memory.write(1, [0xAA, 0xBB])
        try memory.write(2, [])
        #expect(memory.read(1) == [0xAA, 0xBB])
        #expect(memory.read(2) == [])
        #expect(memory.usedBytes == 2 * NonVolatileMemory.recordOverhead + 2)

        try memory.write(1, [0x01])
        #expect(memory.read(1) == [0x01])

        try memory.erase(1)
        #expect(memory.read(1) == nil)
        #expect(memory.snapshot() == [2: []])
        #expect(memory.usedBytes == NonVolatileMemory.recordOverhead)
    }

    @Test("a write outside a transaction costs 4 write points and one store")
    func implicitTransactionCost() throws {
        let store = InMemoryBackingStore()
        let memory = try makeMemory(store: store)
        #expect(memory.physicalWriteCount == 0)
        #expect(store.storeCount == 0)

        try memory.write(7, [1, 2, 3])
        #expect(memory.physicalWriteCount == NonVolatileMemory.writePoints(forTransactionOf: 1))
        #expect(memory.physicalWriteCount == 4)
        #expect(store.storeCount == 1)

        // Erasing a missing record changes nothing, so it writes nothing.
        try memory.erase(99)
        #expect(memory.physicalWriteCount == 4)
        #expect(store.storeCount == 1)
    }

    // MARK: - Transactions

    @Test("commit makes pending writes visible; reads inside see own writes")
    func transactionCommit() throws {
        let store = InMemoryBackingStore()
        let memory = try makeMemory(store: store)
        try memory.write(1, [1])
        try memory.write(2, [2])
        let before = memory.physicalWriteCount
        let storesBefore = store.storeCount

        try memory.beginTransaction()
        #expect(memory.isInTransaction)
        try memory.write(1, [10])
        try memory.write(3, [30])
        try memory.erase(2)
        try memory.write(1, [11])  // coalesces with the first write of record 1

        // Own pending writes are visible inside; committed state is untouched.
        #expect(memory.read(1) == [11])
        #expect(memory.read(2) == nil)
        #expect(memory.read(3) == [30])
        #expect(memory.snapshot() == [1: [1], 2: [2]])
        #expect(memory.physicalWriteCount == before, "writes inside a transaction are RAM-only")

        try memory.commitTransaction()
        #expect(!memory.isInTransaction)
        #expect(memory.snapshot() == [1: [11], 3: [30]])
        // 3 distinct records: 3 journal + 1 marker + 3 apply + 1 clear.
        #expect(memory.physicalWriteCount - before == 8)
        #expect(store.storeCount - storesBefore == 1, "one durable store per committed transaction")
    }

    @Test("abort discards pending writes with no physical write")
    func transactionAbort() throws {
        let store = InMemoryBackingStore()
        let memory = try makeMemory(store: store)
        try memory.write(1, [1])
        let before = memory.physicalWriteCount
        let storesBefore = store.storeCount

        try memory.beginTransaction()
        try memory.write(1, [9])
        try memory.write(2, [9])
        try memory.erase(1)
        memory.abortTransaction()

        #expect(!memory.isInTransaction)
        #expect(memory.snapshot() == [1: [1]])
        #expect(memory.read(2) == nil)
        #expect(memory.physicalWriteCount == before)
        #expect(store.storeCount == storesBefore)
        #expect(memory.usedBytes == NonVolatileMemory.recordOverhead + 1)

        memory.abortTransaction()  // no transaction: a no-op, not an error
    }

    @Test("transactions do not nest; commit without begin fails")
    func transactionMisuse() throws {
        let memory = try makeMemory()
        #expect(throws: NVMError(.noTransaction)) { try memory.commitTransaction() }

        try memory.beginTransaction()
        try memory.write(1, [1])
        #expect(throws: NVMError(.transactionInProgress)) { try memory.beginTransaction() }
        // The failed begin leaves the open transaction intact.
        #expect(memory.isInTransaction)
        #expect(memory.read(1) == [1])
        try memory.commitTransaction()
        #expect(memory.snapshot() == [1: [1]])
    }

    @Test("an empty transaction commits with no physical write")
    func emptyTransaction() throws {
        let memory = try makeMemory()
        try memory.beginTransaction()
        try memory.commitTransaction()
        #expect(memory.physicalWriteCount == 0)
    }

    @Test("creating then erasing a record in one transaction leaves no trace")
    func createThenEraseInTransaction() throws {
        let memory = try makeMemory()
        try memory.beginTransaction()
        try memory.write(5, [5, 5])
        try memory.erase(5)
        #expect(memory.read(5) == nil)
        try memory.commitTransaction()
        #expect(memory.snapshot().isEmpty)
        #expect(memory.physicalWriteCount == 0)
    }

    // MARK: - Tearing

    private static let oldState: [UInt16: [UInt8]] = [
        1: [0x01, 0x01, 0x01, 0x01],
        2: [0x02, 0x02],
        9: [0x09],  // untouched by the transaction
    ]
    private static let newState: [UInt16: [UInt8]] = [
        1: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11],  // overwritten
        3: [0x33, 0x33, 0x33],  // created
        9: [0x09],  // record 2 erased
    ]

    private func seededMemory(store: InMemoryBackingStore) throws -> NonVolatileMemory {
        let memory = try makeMemory(store: store)
        try memory.beginTransaction()
        for (id, value) in Self.oldState { try memory.write(id, value) }
        try memory.commitTransaction()
        return memory
    }

    /// The transaction under test: 3 record writes (overwrite, create, erase).
    private func runThreeRecordTransaction(_ memory: NonVolatileMemory) throws {
        try memory.beginTransaction()
        try memory.write(1, [0x11, 0x11, 0x11, 0x11, 0x11, 0x11])
        try memory.write(3, [0x33, 0x33, 0x33])
        try memory.erase(2)
        try memory.commitTransaction()
    }

    @Test("a tear at every write point of a 3-record transaction leaves exactly old or new state")
    func tearAtEveryWritePoint() throws {
        // Measure W with a clean run.
        let cleanStore = InMemoryBackingStore()
        let clean = try seededMemory(store: cleanStore)
        let start = clean.physicalWriteCount
        try runThreeRecordTransaction(clean)
        let writePoints = clean.physicalWriteCount - start
        #expect(writePoints == NonVolatileMemory.writePoints(forTransactionOf: 3))
        #expect(writePoints == 8)
        #expect(clean.snapshot() == Self.newState)
        let commitMarkerPoint = 3 + 1  // after the 3 journal entries

        for n in 1...writePoints {
            let store = InMemoryBackingStore()
            let memory = try seededMemory(store: store)
            memory.armTear(atWrite: n)

            let thrown = code { try runThreeRecordTransaction(memory) }
            #expect(thrown == .powerLost, "tear at write \(n) must throw powerLost")
            #expect(memory.isPoweredDown)
            #expect(!memory.isInTransaction, "RAM (the open transaction) is lost with power")

            let expected = n > commitMarkerPoint ? Self.newState : Self.oldState
            let label = n > commitMarkerPoint ? "new" : "old"

            // While down: committed reads work and show the outcome recovery will produce;
            // everything else refuses with powerLost.
            #expect(memory.snapshot() == expected, "tear at \(n): committed view before powerOn should be \(label)")
            for id: UInt16 in [1, 2, 3, 9] {
                #expect(memory.read(id) == expected[id], "tear at \(n): read(\(id)) while down")
            }
            #expect(throws: NVMError(.powerLost)) { try memory.write(1, [0]) }
            #expect(throws: NVMError(.powerLost)) { try memory.erase(9) }
            #expect(throws: NVMError(.powerLost)) { try memory.beginTransaction() }
            #expect(throws: NVMError(.powerLost)) { try memory.commitTransaction() }

            // A process that dies right now and reopens the durable image sees the same outcome.
            let reopened = try NonVolatileMemory(backing: InMemoryBackingStore(image: store.image))
            #expect(reopened.snapshot() == expected, "tear at \(n): reopened image should be \(label)")

            try memory.powerOn()
            #expect(!memory.isPoweredDown)
            #expect(memory.snapshot() == expected, "tear at \(n): state after powerOn should be \(label)")
            for id: UInt16 in [1, 2, 3, 9] {
                #expect(memory.read(id) == expected[id])
            }
            let expectedUsage = expected.values.reduce(0) { $0 + NonVolatileMemory.recordOverhead + $1.count }
            #expect(memory.usedBytes == expectedUsage)

            // The recovered image is durable and clean.
            let afterRecovery = try NonVolatileMemory(backing: InMemoryBackingStore(image: store.image))
            #expect(afterRecovery.snapshot() == expected)
            #expect(afterRecovery.physicalWriteCount == 0, "no journal left to recover")

            // The chip is fully usable again.
            try memory.write(42, [0x42])
            #expect(memory.read(42) == [0x42])
        }
    }

    @Test("a tear armed past the last write point does not fire")
    func tearBeyondTransaction() throws {
        let memory = try seededMemory(store: InMemoryBackingStore())
        memory.armTear(atWrite: 9)
        try runThreeRecordTransaction(memory)
        #expect(memory.snapshot() == Self.newState)
        memory.disarmTear()
        try memory.write(50, [1])  // would have been write point 9
        #expect(!memory.isPoweredDown)
    }

    @Test("a tear on each write point of a single write is atomic")
    func tearOnSingleWrite() throws {
        for n in 1...4 {
            let store = InMemoryBackingStore()
            let memory = try makeMemory(store: store)
            try memory.write(1, [1, 1, 1, 1])
            memory.armTear(atWrite: n)
            #expect(throws: NVMError(.powerLost)) { try memory.write(1, [2, 2, 2, 2, 2, 2]) }
            #expect(memory.isPoweredDown)
            // Write point 1 is the journal entry, 2 the commit marker.
            let expected: [UInt8] = n > 2 ? [2, 2, 2, 2, 2, 2] : [1, 1, 1, 1]
            #expect(memory.read(1) == expected, "tear at \(n), read while down")
            try memory.powerOn()
            #expect(memory.snapshot() == [1: expected], "tear at \(n), after powerOn")
        }
    }

    @Test("a tear during recovery is itself recoverable")
    func tearDuringRecovery() throws {
        let store = InMemoryBackingStore()
        let memory = try seededMemory(store: store)
        memory.armTear(atWrite: 6)  // second apply write: record 2 half-handled
        #expect(throws: NVMError(.powerLost)) { try runThreeRecordTransaction(memory) }

        // Recovery rolls 3 entries forward and clears the journal; cut its first write.
        memory.armTear(atWrite: 1)
        #expect(throws: NVMError(.powerLost)) { try memory.powerOn() }
        #expect(memory.isPoweredDown)
        #expect(memory.snapshot() == Self.newState)

        try memory.powerOn()
        #expect(memory.snapshot() == Self.newState)
    }

    @Test("a torn apply write leaves a half-written record that recovery repairs")
    func tornRecordIsRepaired() throws {
        let store = InMemoryBackingStore()
        let memory = try seededMemory(store: store)
        // Write points: 3 journal, marker (4), apply record 1 (5).
        memory.armTear(atWrite: 5)
        #expect(throws: NVMError(.powerLost)) { try runThreeRecordTransaction(memory) }
        // The committed view hides the half-written record in the record area…
        #expect(memory.read(1) == Self.newState[1])
        // …and powerOn replaces it from the journal.
        try memory.powerOn()
        #expect(memory.read(1) == Self.newState[1])
    }

    @Test("powerOn drops an open transaction")
    func powerOnResetsTransaction() throws {
        let memory = try makeMemory()
        try memory.write(1, [1])
        try memory.beginTransaction()
        try memory.write(1, [2])
        try memory.powerOn()
        #expect(!memory.isInTransaction)
        #expect(memory.read(1) == [1])
    }

    // MARK: - Persistence

    @Test("a FileBackingStore round trip persists committed state only")
    func filePersistence() throws {
        let directory = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Nested, not-yet-existing parent directories are created on first store.
        let url = directory.appendingPathComponent("chip/a/state.sknv")

        let first = try NonVolatileMemory(backing: FileBackingStore(url: url))
        #expect(first.snapshot().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: url.path), "opening an empty store writes nothing")

        try first.write(1, Array("serial".utf8))
        try first.beginTransaction()
        try first.write(2, [0xDE, 0xAD])
        try first.write(3, [0xBE, 0xEF])
        try first.commitTransaction()

        // An open transaction's writes never reach the file.
        try first.beginTransaction()
        try first.write(2, [0x00])
        try first.write(4, [0x44])

        let second = try NonVolatileMemory(backing: FileBackingStore(path: url.path))
        #expect(second.snapshot() == [1: Array("serial".utf8), 2: [0xDE, 0xAD], 3: [0xBE, 0xEF]])
        #expect(second.usedBytes == first.usedBytes)

        // Changes made through the second instance are seen by a third.
        try second.erase(3)
        let third = try NonVolatileMemory(backing: FileBackingStore(url: url))
        #expect(third.snapshot() == [1: Array("serial".utf8), 2: [0xDE, 0xAD]])

        // The state file starts with the versioned magic, and no temp files are left behind.
        let bytes = try [UInt8](Data(contentsOf: url))
        #expect(Array(bytes.prefix(5)) == Array("SKNV".utf8) + [1])
        let entries = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        #expect(entries == ["state.sknv"])
    }

    @Test("a torn commit persisted to file recovers on reopen")
    func fileTearRecovery() throws {
        let directory = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path

        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        try memory.write(1, [1])
        memory.armTear(atWrite: 3)  // after the commit marker: the commit is durable
        #expect(throws: NVMError(.powerLost)) { try memory.write(1, [2]) }

        // The "process" dies here without powerOn; a new one reopens the file.
        let reopened = try NonVolatileMemory(backing: FileBackingStore(path: path))
        #expect(reopened.snapshot() == [1: [2]])
    }

    @Test("FileBackingStore reports unusable paths as storageFailure")
    func fileStorageFailure() throws {
        let directory = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let blocker = directory.appendingPathComponent("not-a-directory")
        try Data([1]).write(to: blocker)

        let store = FileBackingStore(url: blocker.appendingPathComponent("state.sknv"))
        #expect(throws: NVMError(.storageFailure)) { try store.store([1, 2, 3]) }

        // A directory where the state file should be cannot be read.
        #expect(throws: NVMError(.storageFailure)) {
            _ = try NonVolatileMemory(backing: FileBackingStore(url: directory))
        }
    }

    @Test("a failing store aborts the commit and leaves state unchanged")
    func storeFailureLeavesStateUnchanged() throws {
        let store = InMemoryBackingStore()
        let memory = try makeMemory(store: store)
        try memory.write(1, [1])
        let image = store.image

        store.failsStores = true
        #expect(throws: NVMError(.storageFailure)) { try memory.write(1, [2]) }
        #expect(memory.snapshot() == [1: [1]])

        try memory.beginTransaction()
        try memory.write(2, [2])
        #expect(throws: NVMError(.storageFailure)) { try memory.commitTransaction() }
        #expect(!memory.isInTransaction)
        #expect(memory.snapshot() == [1: [1]])
        #expect(store.image == image)

        store.failsStores = false
        try memory.write(2, [2])
        #expect(memory.snapshot() == [1: [1], 2: [2]])
    }

    // MARK: - Image validation

    /// An image with records and a committed journal, so every region is exercised.
    private func sampleImage() throws -> [UInt8] {
        let store = InMemoryBackingStore()
        let memory = try makeMemory(store: store)
        try memory.write(1, [1, 2, 3])
        try memory.beginTransaction()
        try memory.write(2, [4, 5])
        try memory.erase(1)
        try memory.commitTransaction()
        return try #require(store.image)
    }

    @Test("flipping any byte of the image gives corruptImage")
    func corruptByteFlip() throws {
        let image = try sampleImage()
        #expect(try NonVolatileMemory(backing: InMemoryBackingStore(image: image)).snapshot() == [2: [4, 5]])

        for index in image.indices {
            var damaged = image
            damaged[index] ^= 0xFF
            let thrown = code { _ = try NonVolatileMemory(backing: InMemoryBackingStore(image: damaged)) }
            #expect(thrown == .corruptImage, "flipped byte \(index)")
        }
    }

    @Test("truncating the image at any length gives corruptImage")
    func corruptTruncation() throws {
        let image = try sampleImage()
        for length in 0..<image.count {
            let thrown = code {
                _ = try NonVolatileMemory(backing: InMemoryBackingStore(image: Array(image.prefix(length))))
            }
            #expect(thrown == .corruptImage, "truncated to \(length) bytes")
        }
        // Appended garbage is rejected too.
        let thrown = code { _ = try NonVolatileMemory(backing: InMemoryBackingStore(image: image + [0])) }
        #expect(thrown == .corruptImage)
    }

    @Test("corrupt image errors carry a clear message")
    func corruptMessages() throws {
        let image = try sampleImage()

        var badMagic = image
        badMagic[0] = UInt8(ascii: "X")
        #expect(message(for: badMagic).contains("magic"))

        var badVersion = image
        badVersion[4] = 2
        #expect(message(for: badVersion).contains("version 2"))

        var badBody = image
        badBody[8] ^= 0x01
        #expect(message(for: badBody).contains("checksum mismatch"))

        #expect(message(for: Array(image.prefix(3))).contains("truncated"))
    }

    private func message(for image: [UInt8]) -> String {
        do {
            _ = try NonVolatileMemory(backing: InMemoryBackingStore(image: image))
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test("structurally invalid images with a valid checksum are rejected")
    func corruptStructure() throws {
        func sealed(_ body: [UInt8]) -> [UInt8] {
            let crc = NVMCRC32.checksum(body)
            return body + [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16),
                           UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)]
        }
        let header = Array("SKNV".utf8) + [1]
        let emptyJournal: [UInt8] = [0, 0, 0, 0, 0]

        // Sanity: a minimal valid image decodes.
        let minimal = sealed(header + [0, 0, 0, 0] + emptyJournal)
        #expect(minimal.count == NVMImage.minimumSize)
        #expect(try NVMImage(decoding: minimal) == NVMImage())

        let cases: [(String, [UInt8])] = [
            ("duplicate record id", header + [0, 0, 0, 2, 0, 1, 0, 1, 0xAA, 0, 1, 0, 1, 0xBB] + emptyJournal),
            ("record length past end", header + [0, 0, 0, 1, 0, 1, 0, 9, 0xAA] + emptyJournal),
            ("record count too large", header + [0xFF, 0xFF, 0xFF, 0xFF] + emptyJournal),
            ("bad journal state", header + [0, 0, 0, 0, 7, 0, 0, 0, 0]),
            ("unknown entry kind", header + [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 9, 0, 0]),
            ("erase with length", header + [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0xAA]),
            ("duplicate journal id", header + [0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0]),
            ("trailing bytes", header + [0, 0, 0, 0] + emptyJournal + [0xEE]),
        ]
        for (name, body) in cases {
            #expect(throws: NVMError(.corruptImage), "\(name)") { _ = try NVMImage(decoding: sealed(body)) }
        }
    }

    @Test("image encoding round-trips, including a committed journal")
    func imageRoundTrip() throws {
        let image = NVMImage(
            records: [1: [1, 2], 0xFFFF: [], 7: Array(repeating: 0x5A, count: 300)],
            journal: [NVMJournalEntry(id: 7, change: .erase), NVMJournalEntry(id: 2, change: .write([9]))],
            journalCommitted: true)
        #expect(try NVMImage(decoding: image.encoded()) == image)
        // Loading it rolls the journal forward and writes back a clean image.
        let store = InMemoryBackingStore(image: image.encoded())
        let memory = try NonVolatileMemory(backing: store)
        #expect(memory.snapshot() == [1: [1, 2], 0xFFFF: [], 2: [9]])
        #expect(memory.physicalWriteCount == 3)  // 2 roll-forward writes + journal clear
        #expect(store.storeCount == 1)
        #expect(try NVMImage(decoding: try #require(store.image)).journal.isEmpty)
    }

    @Test("CRC-32 matches the standard check value")
    func crcCheckValue() {
        #expect(NVMCRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    // MARK: - Capacity

    @Test("writes beyond capacity are refused with no state change")
    func capacityExceeded() throws {
        let store = InMemoryBackingStore()
        let memory = try makeMemory(capacity: 64, store: store)
        try memory.write(1, Array(repeating: 1, count: 40))  // 44 bytes used
        let writes = memory.physicalWriteCount
        let stores = store.storeCount

        #expect(throws: NVMError(.capacityExceeded)) { try memory.write(2, Array(repeating: 2, count: 20)) }
        #expect(memory.snapshot() == [1: Array(repeating: 1, count: 40)])
        #expect(memory.usedBytes == 44)
        #expect(memory.physicalWriteCount == writes)
        #expect(store.storeCount == stores)

        // Replacing a record only counts the difference: 60 + 4 = 64 fits exactly.
        try memory.write(1, Array(repeating: 3, count: 60))
        #expect(memory.usedBytes == 64)

        // Inside a transaction the check sees pending writes, and a refused write
        // leaves the transaction as it was.
        try memory.erase(1)
        try memory.beginTransaction()
        try memory.write(1, Array(repeating: 4, count: 30))
        #expect(throws: NVMError(.capacityExceeded)) { try memory.write(2, Array(repeating: 5, count: 30)) }
        #expect(memory.isInTransaction)
        #expect(memory.read(2) == nil)
        try memory.write(2, Array(repeating: 5, count: 26))
        try memory.commitTransaction()
        #expect(memory.usedBytes == 64)
        #expect(memory.snapshot().count == 2)
    }

    @Test("a record larger than 65535 bytes is refused")
    func recordTooLarge() throws {
        let memory = try makeMemory(capacity: 1 << 20)
        #expect(throws: NVMError(.capacityExceeded)) { try memory.write(1, Array(repeating: 0, count: 65_536)) }
        try memory.write(1, Array(repeating: 0, count: 65_535))
        #expect(memory.read(1)?.count == 65_535)
    }

    @Test("an image larger than the capacity is refused on load")
    func imageLargerThanCapacity() throws {
        let store = InMemoryBackingStore()
        try makeMemory(store: store).write(1, Array(repeating: 0, count: 100))
        #expect(throws: NVMError(.capacityExceeded)) { _ = try makeMemory(capacity: 50, store: store) }
        #expect(throws: NVMError(.capacityExceeded)) { _ = try makeMemory(capacity: -1) }
    }

    @Test("NVMError equality ignores the message")
    func errorEquality() {
        #expect(NVMError(.powerLost, "a") == NVMError(.powerLost, "b"))
        #expect(NVMError(.powerLost) != NVMError(.corruptImage))
        #expect(NVMError(.corruptImage, "bad magic").description == "NVM corruptImage: bad magic")
    }
}
