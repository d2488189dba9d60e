import Foundation

/// The `openssl` command-line tool: an implementation of SM2, SM3, ECDSA and RFC 3161 independent of
/// SealKit's own calls into libcrypto and swift-crypto, which the interoperability tests check
/// SealKit's output against (scripts/test.sh installs it; tests that need it are skipped where it is
/// absent).
///
/// `package` access: the test targets share it; it is no part of any product's API.
package enum OpenSSLCommandLine {
    /// The first `openssl` executable found, or `nil`.
    package static let executable: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Whether the tool is installed.
    package static var isAvailable: Bool { executable != nil }

    /// Runs `openssl arguments…` in `directory`; returns its exit status and its standard output and
    /// error together (openssl writes diagnostics to either).
    @discardableResult
    package static func run(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? "openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Read before waiting: a child whose output fills the pipe would otherwise never exit.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A fresh temporary directory named after `purpose`; the caller removes it.
    package static func temporaryDirectory(_ purpose: String = "openssl") throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-\(purpose)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
