import Foundation
import Testing

@testable import SealFirmware

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes files and directories read-only for real. `chmod` alone does not stop root (the tests run
/// as root in CI containers), so as root the path is also made immutable with `chattr +i`, which
/// refuses every write, create, rename and chmod, root's included, as read-only media do.
struct ReadOnlyMedia {
    private var immutable: [String] = []
    private var restore: [(String, mode_t)] = []

    static var isRoot: Bool { geteuid() == 0 }

    /// Makes `path` read-only: mode `mode` (0444 for a file, 0555 for a directory), and immutable
    /// when running as root.
    mutating func protect(_ path: String, mode: mode_t) throws {
        var status = stat()
        #expect(stat(path, &status) == 0)
        restore.append((path, status.st_mode & 0o7777))
        #expect(chmod(path, mode) == 0)
        if Self.isRoot {
            try Self.chattr("+i", path)
            immutable.append(path)
        }
    }

    /// Undoes everything (call before removing the files).
    func lift() {
        for path in immutable { try? Self.chattr("-i", path) }
        for (path, mode) in restore { chmod(path, mode) }
    }

    private static func chattr(_ flag: String, _ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["chattr", flag, path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "chattr \(flag) \(path) failed: root needs it to make a path read-only")
    }
}

@Suite("FileBackingStore on read-only media")
struct FileBackingStoreReadOnlyTests {
    static func makeDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("NVMReadOnly-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func mode(_ path: String) -> mode_t {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o7777 : 0
    }

    /// A state file whose stored image carries a committed journal (every image stored at a
    /// commit does), so opening it runs a recovery that changes the image.
    static func writeState(_ path: String) throws {
        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        try memory.write(1, Array("chip".utf8))
        try memory.beginTransaction()
        try memory.write(2, [0x00, 0x00, 0x00, 0x07])
        try memory.write(3, [0xAA])
        try memory.commitTransaction()
    }

    @Test("a token on a read-only file in a read-only directory opens, powers on and reads without writing")
    func openingWritesNothing() throws {
        let directory = try Self.makeDirectory()
        let path = directory.appendingPathComponent("state.sknv").path
        try Self.writeState(path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        var media = ReadOnlyMedia()
        try media.protect(path, mode: 0o444)
        try media.protect(directory.path, mode: 0o555)
        defer {
            media.lift()
            try? FileManager.default.removeItem(at: directory)
        }

        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        #expect(memory.snapshot() == [1: Array("chip".utf8), 2: [0, 0, 0, 7], 3: [0xAA]])
        try memory.powerOn()
        try memory.powerOn()
        #expect(memory.read(2) == [0, 0, 0, 7])

        // A change is refused, changes nothing in memory or on disk, and says why.
        let error = #expect(throws: NVMError(.storageFailure)) { try memory.write(2, [0, 0, 0, 8]) }
        #expect(error?.reason.contains("read-only") == true, "\(String(describing: error))")
        #expect(memory.lastStoreFailure?.reason.contains("read-only") == true)
        #expect(memory.read(2) == [0, 0, 0, 7])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(Self.mode(path) == 0o444)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["state.sknv"])
    }

    @Test("a read-only state file in a writable directory is refused, not replaced with mode 0600")
    func readOnlyFileIsNotReplaced() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        try Self.writeState(path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        // The mode alone: as root this exercises the mode check, since access(2) grants root the write.
        #expect(chmod(path, 0o444) == 0)

        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        try memory.powerOn()
        let error = #expect(throws: NVMError(.storageFailure)) { try memory.write(3, [0xBB]) }
        #expect(error?.reason.contains("the state file \(path) is read-only") == true, "\(String(describing: error))")
        #expect(memory.read(3) == [0xAA])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(Self.mode(path) == 0o444)

        // Made writable again, the refused change was never half-made and a new one commits.
        #expect(chmod(path, 0o644) == 0)
        try memory.write(3, [0xCC])
        #expect(try NonVolatileMemory(backing: FileBackingStore(path: path)).read(3) == [0xCC])
    }

    @Test("a read-only directory refuses a commit even to a writable state file")
    func readOnlyDirectory() throws {
        let directory = try Self.makeDirectory()
        let path = directory.appendingPathComponent("state.sknv").path
        try Self.writeState(path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(chmod(directory.path, 0o555) == 0)
        defer {
            chmod(directory.path, 0o755)
            try? FileManager.default.removeItem(at: directory)
        }
        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        let error = #expect(throws: NVMError(.storageFailure)) { try memory.erase(1) }
        #expect(error?.reason.contains("directory \(directory.path) of the state file is read-only") == true, "\(String(describing: error))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test("a state file that is rewritten keeps its mode")
    func rewriteKeepsMode() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sknv").path
        try Self.writeState(path)
        #expect(Self.mode(path) == 0o600, "a new state file is private")
        #expect(chmod(path, 0o640) == 0)
        let memory = try NonVolatileMemory(backing: FileBackingStore(path: path))
        try memory.write(4, [4])
        #expect(Self.mode(path) == 0o640)
        #expect(try NonVolatileMemory(backing: FileBackingStore(path: path)).read(4) == [4])
    }
}
