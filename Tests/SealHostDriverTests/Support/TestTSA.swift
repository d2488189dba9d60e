import Foundation
import SealHostDriver
import X509

/// `openssl ts` acting as an RFC 3161 time-stamping authority, with the TEST-ONLY TSA of
/// Fixtures/test-tsa (made by its make-test-tsa.sh): an implementation independent of SealKit's
/// request builder and token verifier.
enum TestTSA {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/test-tsa")

    static let openssl: String = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    } ?? "openssl"

    static var rootPEM: [UInt8] {
        get throws { Array(try Data(contentsOf: directory.appendingPathComponent("root-cert.pem"))) }
    }

    static var root: Certificate {
        get throws { try Certificate(pemEncoded: String(decoding: try rootPEM, as: UTF8.self)) }
    }

    /// Runs `openssl arguments…` in `workDirectory` with the TSA's environment; exit status and output.
    @discardableResult
    static func run(_ arguments: [String], in workDirectory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = arguments
        process.currentDirectoryURL = workDirectory
        var environment = ProcessInfo.processInfo.environment
        environment["SEALKIT_TEST_TSA_DIR"] = directory.path
        environment["SEALKIT_TEST_TSA_SERIAL"] = workDirectory.appendingPathComponent("tsa-serial").path
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-tsa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// `openssl ts -reply` to the DER query `query`: the DER TimeStampResp.
    static func reply(to query: [UInt8]) throws -> [UInt8] {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        try Data(query).write(to: work.appendingPathComponent("query.tsq"))
        let result = try run(["ts", "-reply", "-config", directory.appendingPathComponent("tsa.cnf").path,
                              "-queryfile", "query.tsq", "-out", "reply.tsr"], in: work)
        guard result.status == 0 else { throw Failure(description: "openssl ts -reply: \(result.output)") }
        return Array(try Data(contentsOf: work.appendingPathComponent("reply.tsr")))
    }

    /// A token over SHA-256 of `message`, through SealKit's query and openssl's reply.
    static func token(for message: [UInt8], nonce: [UInt8] = [0x5E, 0xA1, 0x4B, 0x17, 0x00, 0x42]) throws -> [UInt8] {
        let reply = try reply(to: RFC3161TimestampToken.request(for: message, nonce: nonce))
        return try RFC3161TimestampToken(timeStampResponse: reply).derEncoded
    }
}
