import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A built `sealledger serve` (or `sealledger witness serve`) process on a free loopback port, for
/// tests that talk HTTP to a real server; stopped with SIGTERM by ``stop()``.
package final class ServedLedger: Sendable {
    /// The server process.
    package let process = Process()
    /// Where it listens, `http://127.0.0.1:PORT` (from its "listening on" line).
    package let base: String

    /// Starts `sealledger COMMAND --listen 127.0.0.1:0 ARGUMENTS` (COMMAND is `serve` unless given,
    /// e.g. `["witness", "serve"]`) with `SEALKIT_HOME` at `directory`, made if missing (and
    /// `environment` over the test's own), and waits, off the concurrency pool, up to 60 s until it
    /// says where it listens.
    package static func start(directory: URL, command: [String] = ["serve"], arguments: [String],
                              environment: [String: String] = [:]) async throws -> ServedLedger {
        try await offThePool { try ServedLedger(directory: directory, command: command, arguments: arguments, environment: environment) }
    }

    private init(directory: URL, command: [String], arguments: [String], environment: [String: String]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("serve-\(UUID().uuidString).out")
        try Data().write(to: log)
        process.executableURL = Built.sealledger
        process.arguments = command + ["--listen", "127.0.0.1:0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["SEALKIT_HOME": directory.path]) { $1 }.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var found: String?
        while found == nil && Date() < deadline && process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            found = text.split(separator: "\n").first { $0.hasPrefix("listening on ") }.map { String($0.dropFirst("listening on ".count)) }
            if found == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let found else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "sealledger \(command.joined(separator: " ")) did not start (log: \(log.path))"])
        }
        base = found
    }

    /// Sends SIGTERM and waits for the process to end.
    package func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// One HTTP request to `base + path`: the status (0 when there was no HTTP answer) and the body.
    /// A body is sent as `contentType`; a token as `Authorization: Bearer`.
    package func request(_ path: String, method: String = "GET", token: String? = nil, body: Data? = nil,
                         contentType: String? = "application/json") async throws -> (status: Int, body: Data) {
        guard let url = URL(string: base + path) else { throw URLError(.badURL) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        if body != nil, let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// The served checkpoint's text.
    package func checkpoint() async throws -> String {
        String(decoding: try await request("/checkpoint").body, as: UTF8.self)
    }
}

/// `data` as a JSON object, or empty when it is not one.
package func jsonObject(_ data: Data) -> [String: Any] {
    ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
}
