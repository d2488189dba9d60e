import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built executables, found next to the test bundle in the build products directory
/// (`swift build --build-tests` and `swift test` build them with the tests).
enum Executable: String, CaseIterable, Sendable {
    case sealctl, sealsim, sealbench

    /// The build products directory: where the test bundle is (Linux: the directory of the test
    /// executable; macOS: the parent of the `.xctest` bundle). `SEALKIT_BIN_DIR` overrides it.
    static let productsDirectory: URL = {
        if let override = ProcessInfo.processInfo.environment["SEALKIT_BIN_DIR"] {
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        var candidates: [URL] = []
        let bundle = Bundle.main.bundleURL
        candidates.append(bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle)
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(executable.deletingLastPathComponent())
            // macOS: …/debug/SealKitPackageTests.xctest/Contents/MacOS/SealKitPackageTests
            candidates.append(executable.deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent())
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("sealctl").path) }
            ?? candidates[0]
    }()

    var url: URL { Self.productsDirectory.appendingPathComponent(rawValue) }
}

/// What a finished command printed and how it exited.
struct CommandResult: Sendable, CustomStringConvertible {
    let status: Int32
    let standardOutput: Data
    let standardError: String

    var stdout: String { String(decoding: standardOutput, as: UTF8.self) }
    var stderrLines: [Substring] { standardError.split(separator: "\n") }

    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(standardError)" }

    /// The stdout lines that hold JSON objects, decoded.
    func jsonLines() throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            guard let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
                throw SandboxError("not a JSON object: \($0)")
            }
            return object
        }
    }

    /// Stdout decoded as `T` (which fails when a number arrives as a string).
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: standardOutput)
    }
}

struct SandboxError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A throw-away SEALKIT_HOME (so the default simulated token is fresh) and working directory;
/// removed when the sandbox goes away.
final class Sandbox: Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let vendorRoot = repository.appendingPathComponent("Fixtures/test-vendor-ca/ca-cert.pem").path
    static let issuerKey = repository.appendingPathComponent("Fixtures/test-issuer/issuer-key.pem").path
    /// A P-256 key that is not the token's issuer key.
    static let otherKey = repository.appendingPathComponent("Fixtures/test-remote-authority/authority-key.pem").path

    let directory: URL
    let environment: [String: String]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealctl-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        for secret in ["SEALKIT_PIN", "SEALKIT_PUK", "SEALKIT_NEW_PIN"] { environment[secret] = nil }
        environment["SEALKIT_HOME"] = directory.appendingPathComponent("home").path
        self.environment = environment
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func read(_ name: String) throws -> Data { try Data(contentsOf: directory.appendingPathComponent(name)) }

    /// Runs an executable in the sandbox with `stdin` as its standard input (empty when nil: never
    /// a terminal) and waits for it, at most `timeout`.
    func run(_ arguments: [String], executable: Executable = .sealctl, stdin: String? = nil,
             environment extra: [String: String] = [:], timeout: Duration = .seconds(120)) async throws -> CommandResult {
        let process = Process()
        process.executableURL = executable.url
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment.merging(extra) { $1 }
        let id = UUID().uuidString
        let outURL = directory.appendingPathComponent(".out-\(id)")
        let errURL = directory.appendingPathComponent(".err-\(id)")
        let inURL = directory.appendingPathComponent(".in-\(id)")
        try Data((stdin ?? "").utf8).write(to: inURL)
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let output = try FileHandle(forWritingTo: outURL)
        let error = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        defer {
            try? output.close(); try? error.close(); try? input.close()
            for url in [outURL, errURL, inURL] { try? FileManager.default.removeItem(at: url) }
        }
        process.standardOutput = output
        process.standardError = error
        process.standardInput = input
        let status = try await Self.wait(for: process, timeout: timeout)
        return CommandResult(status: status, standardOutput: try Data(contentsOf: outURL),
                             standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Starts `process` and waits for it without blocking a thread of the concurrency pool;
    /// terminates it after `timeout`.
    static func wait(for process: Process, timeout: Duration) async throws -> Int32 {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            let pid = process.processIdentifier
            Task.detached {
                try? await Task.sleep(for: timeout)
                if process.isRunning, process.processIdentifier == pid { process.terminate() }
            }
        }
    }

    /// `sealctl info --json`, decoded.
    func info() async throws -> TokenInfo {
        let result = try await run(["info", "--json"])
        guard result.status == 0 else { throw SandboxError("info failed: \(result)") }
        return try result.decode(TokenInfo.self)
    }

    /// Stamps a new document `name` with `text`; returns the record's path.
    @discardableResult
    func stamp(_ name: String, _ text: String, pin: String = "123456") async throws -> String {
        let document = try write(name, text)
        let record = path(name + ".seal.json")
        let result = try await run(["stamp", "--document", document, "--pin", pin, "--out", record])
        guard result.status == 0 else { throw SandboxError("stamp failed: \(result)") }
        return record
    }
}

/// The fields of `sealctl info --json` the tests look at; numbers must be JSON numbers.
struct TokenInfo: Decodable {
    let chipID: String
    let lifecycle: String
    let counter: UInt32
    let pinTriesRemaining: UInt8?
    let pukTriesRemaining: UInt8?
    let sealPublicKey: String?
}

/// Runs a program in a pseudo-terminal (standard input, output and error all on its slave side),
/// to test what a person at a terminal sees.
final class PseudoTerminal {
    private let master: Int32
    private let process = Process()
    private(set) var transcript: [UInt8] = []

    var text: String { String(decoding: transcript, as: UTF8.self) }

    init(_ executable: Executable, _ arguments: [String], sandbox: Sandbox) throws {
        var master: Int32 = -1, slave: Int32 = -1
        guard openpty(&master, &slave, nil, nil, nil) == 0 else { throw SandboxError("openpty: \(errno)") }
        self.master = master
        process.executableURL = executable.url
        process.arguments = arguments
        process.currentDirectoryURL = sandbox.directory
        process.environment = sandbox.environment
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        process.standardInput = terminal
        process.standardOutput = terminal
        process.standardError = terminal
        defer { close(slave) }  // the child has its copies; ours would keep the master from seeing EOF
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        close(master)
    }

    /// Reads what the program writes until `text` appears; false after `timeout` or at EOF.
    func read(until text: String, timeout: Duration = .seconds(60)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        let needle = Array(text.utf8)
        while !transcript.contains(needle) {
            guard ContinuousClock.now < deadline, readSome(waitingMilliseconds: 200) != .endOfFile else {
                return transcript.contains(needle)
            }
        }
        return true
    }

    /// Types `text` (use `\r` for Enter, as a terminal sends it).
    func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Reads until the program exits and returns its exit status.
    func finish(timeout: Duration = .seconds(120)) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, readSome(waitingMilliseconds: 200) != .endOfFile {}
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private enum ReadOutcome { case data, nothing, endOfFile }

    private func readSome(waitingMilliseconds: Int32) -> ReadOutcome {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, waitingMilliseconds) > 0 else { return .nothing }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { readDescriptor(master, $0.baseAddress, $0.count) }
        // Linux answers EIO once every slave descriptor is closed, i.e. the program has exited.
        guard count > 0 else { return .endOfFile }
        transcript += buffer[..<count]
        return .data
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

/// `read(2)`, under a name that the methods called `read` do not hide.
private func readDescriptor(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
