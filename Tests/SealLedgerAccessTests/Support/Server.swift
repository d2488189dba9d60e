import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealTestSupport
import Testing

/// A `sealledger serve` process on a free loopback port, stopped with SIGTERM.
final class ServedLedger: Sendable {
    let process = Process()
    let base: String

    static func start(directory: URL, arguments: [String], environment: [String: String] = [:]) async throws -> ServedLedger {
        try await offThePool { try ServedLedger(directory: directory, arguments: arguments, environment: environment) }
    }

    private init(directory: URL, arguments: [String], environment: [String: String]) throws {
        let log = directory.appendingPathComponent("serve-\(UUID().uuidString).out")
        try Data().write(to: log)
        process.executableURL = Built.sealledger
        process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
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
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "sealledger serve did not start"])
        }
        base = found
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    func request(_ path: String, method: String = "GET", token: String? = nil, body: Data? = nil) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: try #require(URL(string: base + path)))
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}

func jsonObject(_ data: Data) -> [String: Any] {
    ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
}
