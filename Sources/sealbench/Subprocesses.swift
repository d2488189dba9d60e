// The subprocesses the transport benchmark starts (sealsim, sealctl), and their cleanup on every
// exit path: normal return, a thrown error, exit(), SIGINT, SIGTERM, SIGHUP.
import Dispatch
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
    private static let signalSources = Mutex<[any DispatchSourceSignal]>([])

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
    static func installCleanup(_ extra: @escaping @Sendable () -> Void) {
        Cleanup.extra.withLock { $0.append(extra) }
        atexit { Cleanup.run() }
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("sealbench: signal \(number), stopping the subprocesses\n".utf8))
                exit(128 + number)  // atexit runs the cleanup
            }
            source.resume()
            sources.append(source)
        }
        signalSources.withLock { $0 = sources }
    }
}

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
