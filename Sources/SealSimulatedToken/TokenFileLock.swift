import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One writer per file-based token: an exclusive `flock` on `<state file>.lock`, held for as long
/// as the token is open. Two processes stamping through one state file would otherwise both load
/// the same NVM image and write back over each other (duplicate counters, lost audit entries).
///
/// The lock file is made with `open(O_CREAT)`, which is race-free, and never deleted (deleting it
/// would let a third process lock a new file while the second still waits on the old one). The
/// holder writes its pid into it so a waiter can name it. The kernel drops the lock when the
/// process dies, so a killed `sealctl` never leaves a stale lock.
package final class TokenFileLock: Sendable {
    /// How long a second process waits for the token by default, in seconds.
    package static let defaultWaitSeconds = 10.0

    /// The wait from `SEALKIT_TOKEN_WAIT` (seconds, fractions allowed), else ``defaultWaitSeconds``.
    package static func waitSeconds(environment: [String: String] = ProcessInfo.processInfo.environment) -> Double {
        guard let text = environment["SEALKIT_TOKEN_WAIT"], let seconds = Double(text), seconds >= 0, seconds.isFinite else {
            return defaultWaitSeconds
        }
        return seconds
    }

    /// The lock file of the token whose state file is `stateFile`.
    package static func lockFileURL(for stateFile: URL) -> URL {
        stateFile.deletingLastPathComponent().appendingPathComponent(stateFile.lastPathComponent + ".lock", isDirectory: false)
    }

    private let descriptor: Mutex<Int32>

    /// Locks the token of `stateFile`, waiting up to `waitSeconds` for another process to let go.
    ///
    /// - Throws: ``SimulatorError`` `tokenInUse` when another process still holds the token after
    ///   the wait; `stateFile` when the lock file cannot be made.
    package init(stateFile: URL, waitSeconds: Double = TokenFileLock.waitSeconds()) throws {
        var path = Self.lockFileURL(for: stateFile).path
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        var canNameHolder = true
        if fd < 0, [EROFS, EACCES, EPERM].contains(errno) {
            // Read-only media: the lock file cannot be made there, and nothing can replace the
            // state file there either, so the lock is taken on an existing lock file or on the
            // state file itself, opened read-only (flock needs no write access). Inspecting a
            // token on read-only media must keep working.
            canNameHolder = false
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                path = stateFile.path
                fd = open(path, O_RDONLY | O_CLOEXEC)
            }
        }
        guard fd >= 0 else {
            throw SimulatorError(.stateFile, "cannot open the token lock \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(waitSeconds)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            if failure == EINTR { continue }
            guard failure == EWOULDBLOCK || failure == EAGAIN else {
                close(fd)
                throw SimulatorError(.stateFile, "cannot lock \(path): \(String(cString: strerror(failure)))")
            }
            guard Date() < deadline else {
                let holder = Self.holderPID(fd: fd).map { " (pid \($0))" } ?? ""
                close(fd)
                throw SimulatorError(.tokenInUse, "token \(stateFile.path) in use by another process\(holder); "
                    + "waited \(Self.format(waitSeconds)) s, retry when it is done")
            }
            usleep(20_000)
        }
        // Name the holder for the next waiter.
        let pid = Array("\(getpid())\n".utf8)
        if canNameHolder, ftruncate(fd, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        descriptor = Mutex(fd)
    }

    /// Releases the lock (idempotent).
    package func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
        }
    }

    deinit { release() }

    private static func holderPID(fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
