// The subprocesses the transport benchmark starts (sealsim, sealctl), and their cleanup on every
// exit path: normal return, a thrown error, exit(), SIGINT, SIGTERM, SIGHUP.
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process with its output in a log file.
final class Child: Sendable {
    let name: String
    let process: Process
    let log: URL
    let pid: Int32

    fileprivate init(name: String, process: Process, log: URL) {
        self.name = name
        self.process = process
        self.log = log
        self.pid = process.processIdentifier
    }

    var isRunning: Bool { process.isRunning }

    /// The log's lines so far.
    var logLines: [String] {
        guard let data = FileManager.default.contents(atPath: log.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// The last line of its log, for one-line error messages.
    var lastLogLine: String { logLines.last ?? "(no output)" }

    /// Waits for the process to end, up to `timeout` seconds; true when it ended.
    func waitForExit(timeout: Double) -> Bool {
        let deadline = now() + timeout
        while process.isRunning {
            if now() >= deadline { return false }
            usleep(2_000)
        }
        return true
    }

    /// SIGTERM (by PID), then SIGKILL if it has not ended within `grace` seconds.
    func stop(grace: Double = 5) {
        Children.stop(self, grace: grace)
    }
}

/// Every child started and not yet stopped.
enum Children {
    private static let running = Mutex<[Int32: Child]>([:])

    /// Starts `executable arguments`, stdout and stderr to `log`.
    static func spawn(_ name: String, executable: URL, arguments: [String], log: URL) throws -> Child {
        guard FileManager.default.createFile(atPath: log.path, contents: nil),
              let output = FileHandle(forWritingAtPath: log.path) else {
            throw BenchError("cannot create \(log.path)")
        }
        defer { try? output.close() }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            throw BenchError("cannot start \(executable.path): \(error.localizedDescription)")
        }
        let child = Child(name: name, process: process, log: log)
        running.withLock { $0[child.pid] = child }
        return child
    }

    static func stop(_ child: Child, grace: Double) {
        guard running.withLock({ $0.removeValue(forKey: child.pid) }) != nil else { return }
        if child.process.isRunning {
            _ = kill(child.pid, SIGTERM)
            if !child.waitForExit(timeout: grace) {
                _ = kill(child.pid, SIGKILL)
                _ = child.waitForExit(timeout: 2)
            }
        }
    }

    /// Stops every child still running (SIGTERM by PID, SIGKILL after the grace period).
    static func stopAll(grace: Double = 5) {
        let children = running.withLock { Array($0.values) }
        for child in children { stop(child, grace: grace) }
    }

    /// Cleans up at exit() and on SIGINT / SIGTERM / SIGHUP (then exits 128 + signal).
    ///
    /// The signals get a handler rather than `SIG_IGN` + a dispatch source: an ignored signal stays
    /// ignored across exec, and Foundation's `Process` does not reset it, so every child (sealctl,
    /// pcscd started by scripts/pcscd.sh) would ignore SIGTERM. A caught signal is reset to the
    /// default in the child. The handler only writes the signal number to a pipe; a thread reads
    /// it and exits, which runs the cleanup through `atexit`.
    static func installCleanup(_ extra: @escaping @Sendable () -> Void) {
        Cleanup.extra.withLock { $0.append(extra) }
        atexit { Cleanup.run() }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        signalPipeWriteEnd = ends[1]
        let readEnd = ends[0]
        let watcher = Thread {
            Thread.current.name = "sealbench-signals"
            var number: UInt8 = 0
            while read(readEnd, &number, 1) < 0, errno == EINTR {}
            FileHandle.standardError.write(Data("sealbench: signal \(number), stopping the subprocesses\n".utf8))
            exit(128 + Int32(number))  // atexit runs the cleanup
        }
        watcher.start()
        for number in [SIGINT, SIGTERM, SIGHUP] {
            _ = signal(number) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
        }
    }
}

/// The write end of the signal pipe, read by the async-signal-safe handler (set once, before the
/// handlers are installed).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// What runs at exit: the children, then the registered extras (temporary directories, the echo card).
enum Cleanup {
    static let extra = Mutex<[@Sendable () -> Void]>([])
    private static let done = Mutex(false)

    static func run() {
        guard done.withLock({ (value: inout Bool) -> Bool in defer { value = true }; return !value }) else { return }
        Children.stopAll()
        for action in extra.withLock({ $0 }) { action() }
    }
}

/// A one-line error for the user.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
