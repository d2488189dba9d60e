import Foundation
import Synchronization

/// What a program that ran to completion left: its exit status and its two output streams.
package struct Finished: Sendable {
    /// The exit status.
    package var status: Int32
    /// Everything it wrote to standard output.
    package var stdout: String
    /// Everything it wrote to standard error.
    package var stderr: String
}

/// Runs a program to completion on a thread of its own: a test waiting for a subprocess (a Go build
/// takes many seconds on a loaded machine) must not hold one of the concurrency pool's threads, or
/// every other test's tasks, timeouts included, wait behind it. `environment` is merged over the
/// test process's own.
package func runProgram(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) async throws -> Finished {
    try await offThePool {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes drain at once: a child that fills one while the other is read would never exit.
        let errors = PendingRead(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.wait()
        process.waitUntilExit()
        return Finished(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                        stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// ``runProgram(_:_:environment:)`` for the program at `path`.
package func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Finished {
    try await runProgram(URL(fileURLWithPath: path), arguments, environment: environment)
}

/// Runs `body` on a new thread and resumes with its result.
package func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// The result of a read on another thread: `wait()` blocks until it is there.
private final class PendingRead: Sendable {
    private let group = DispatchGroup()
    private let data = Mutex(Data())

    init(_ handle: FileHandle) {
        DispatchQueue.global().async(group: group) {
            let read = handle.readDataToEndOfFile()
            self.data.withLock { $0 = read }
        }
    }

    func wait() -> Data {
        group.wait()
        return data.withLock { $0 }
    }
}

/// The package's built executables (`sealctl`, `sealledger`, …): next to the test bundle, since
/// `swift build --build-tests` builds them there; `SEALKIT_BIN_DIR` overrides.
package enum Built {
    /// The folder holding them.
    package static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["SEALKIT_BIN_DIR"] { return URL(fileURLWithPath: override) }
        var candidates: [URL] = []
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() { candidates.append(executable.deletingLastPathComponent()) }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("sealledger").path) } ?? packageRoot
    }()

    /// The executable `name`.
    package static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// `sealledger`.
    package static var sealledger: URL { url("sealledger") }
}
