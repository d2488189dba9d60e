import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A backing store that keeps the image in a state file.
///
/// ``store(_:)`` writes the image to a temporary file in the same directory,
/// `fsync`s it, and `rename(2)`s it over the state file. POSIX guarantees the rename
/// replaces the target atomically, so a crash at any moment leaves either the old
/// or the new image on disk — the atomicity ``NVMBackingStore`` requires. The
/// temporary file must be in the same directory because rename is only atomic
/// within one file system. Missing parent directories are created on first store.
///
/// Read-only media: the image that recovery produces when the memory is opened or
/// powered on is kept in memory (``storeRecovered(snapshot:)``), so opening a token to
/// inspect it never writes and works on a read-only file, directory or file system;
/// the next commit stores it. A store onto a state file or directory that is not
/// writable fails (``NVMError/Code/storageFailure``, nothing changed) instead of
/// replacing the file: the check is `access(2)` for `W_OK` and also the write bits of
/// the mode, because `access` grants root every write that `chmod` forbids. A state
/// file that is rewritten keeps its permission bits.
///
/// Errors are reported as ``NVMError`` with code ``NVMError/Code/storageFailure``.
public final class FileBackingStore: NVMBackingStore {
    /// The state file's path.
    public let path: String

    /// Creates a store for the state file at `path`. Nothing is touched until the
    /// first ``load()`` or ``store(_:)``.
    public init(path: String) {
        self.path = path
    }

    /// Creates a store for the state file at a file URL.
    public convenience init(url: URL) {
        self.init(path: url.path)
    }

    /// Reads the state file; `nil` if it does not exist yet.
    public func load() throws -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw NVMError(.storageFailure, "cannot read state file \(path): \(error)")
        }
    }

    /// Keeps the recovered image in memory only: the state file still holds the image
    /// it was recovered from, which recovers to the same contents on every load, and the
    /// next ``store(_:)`` writes the recovered contents with the committed change. So
    /// opening a token writes nothing and works on read-only media.
    public func storeRecovered(snapshot: NVMSnapshot) throws {}

    /// Atomically replaces the state file with `image` (temp file + fsync + rename).
    ///
    /// Throws ``NVMError/Code/storageFailure`` without touching anything when the
    /// state file or its directory is read-only. The state file keeps its mode.
    public func store(_ image: [UInt8]) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw NVMError(.storageFailure, "cannot create directory \(directory): \(error)")
        }
        // The mode to keep; 0600 for a new state file (it holds key material).
        var fileMode = mode_t(0o600)
        var status = stat()
        if stat(path, &status) == 0 {
            fileMode = status.st_mode & 0o7777
            if let reason = Self.readOnlyReason(path, mode: status.st_mode) {
                throw NVMError(.storageFailure, "the state file \(path) is read-only (\(reason)); nothing was written")
            }
        }
        if stat(directory, &status) == 0, let reason = Self.readOnlyReason(directory, mode: status.st_mode) {
            throw NVMError(.storageFailure, "the directory \(directory) of the state file is read-only (\(reason)); nothing was written")
        }

        // A unique name so two stores racing on one directory cannot clobber each
        // other's temp file; the leading dot keeps it out of casual listings.
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        let temporary = directory + "/." + fileName + "." + UUID().uuidString + ".tmp"

        do {
            try Self.writeSynced(image, to: temporary, mode: fileMode)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = Self.describeErrno()
            unlink(temporary)
            throw NVMError(.storageFailure, "cannot rename \(temporary) to \(path): \(reason)")
        }
        // Make the rename itself durable. Best effort: the new image is already in
        // place, so failing here must not report the store as failed — the caller
        // would then believe the old image is still current, which it is not.
        Self.syncDirectory(directory)
    }

    /// Writes all of `bytes` to a new file at `path` and flushes it to stable storage,
    /// so the rename never exposes a file whose contents are still only in the page cache.
    private static func writeSynced(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw NVMError(.storageFailure, "cannot create \(path): \(describeErrno())")
        }
        defer { close(descriptor) }
        // Set explicitly: the creation mode is filtered by the umask, the kept one must not be.
        guard fchmod(descriptor, mode) == 0 else {
            throw NVMError(.storageFailure, "cannot set the mode of \(path): \(describeErrno())")
        }

        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return write(descriptor, base + written, bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw NVMError(.storageFailure, "cannot write \(path): \(describeErrno())")
            }
            if result == 0 {
                throw NVMError(.storageFailure, "cannot write \(path): no progress")
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            throw NVMError(.storageFailure, "cannot fsync \(path): \(describeErrno())")
        }
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
