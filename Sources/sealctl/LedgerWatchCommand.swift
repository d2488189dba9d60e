import ArgumentParser
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealHostDriver
import Synchronization

/// `sealctl ledger watch`: follows the ledger's alert stream (`GET /v1/alerts/stream`, server-sent
/// events) and prints one line per alert; reconnects with `Last-Event-ID` after a dropped connection,
/// so no alert is missed or printed twice (docs/alerts.md).
struct LedgerWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print the ledger's alerts as they are raised (one line each).",
        discussion: """
            Needs an auditor's token (its organization's alerts) or the issuer's (all). Starts with \
            the alerts after --after (default: every alert kept), then follows. Exit status: 0 after \
            --count alerts, 1 when the ledger refuses the token, 64 usage error; a lost connection \
            is retried every second.
            """)

    @OptionGroup var ledger: LedgerURLOption
    @Option(help: "A bearer token (auditor or issuer), or a file holding it; SEALKIT_LEDGER_TOKEN is read when absent.") var token: String?
    @Option(help: ArgumentHelp("Print only alerts of this kind (repeatable), e.g. clone-evidence.", valueName: "KIND")) var kind: [String] = []
    @Option(help: "Start after this alert ID (default 0: every alert kept).") var after: UInt64 = 0
    @Option(help: "Exit after printing this many alerts.") var count: Int?
    @Flag(help: "Print each alert's JSON object, one a line.") var json = false

    static let kinds: Set<String> = [
        "verification-failed", "clone-evidence", "counter-regression", "unreported-stamp", "stamp-by-terminated-seal",
        "stamp-by-suspended-seal", "grant-misuse", "impossible-travel", "audit-tamper",
    ]

    func validate() throws {
        if let unknown = kind.first(where: { !Self.kinds.contains($0) }) {
            throw ValidationError("--kind \(unknown) is not an alert kind (\(Self.kinds.sorted().joined(separator: ", ")))")
        }
        if let count, count < 1 { throw ValidationError("--count is 1 or more") }
        guard URL(string: ledger.base + "/v1/alerts/stream")?.host != nil else { throw ValidationError("--ledger \(ledger.ledger) is not a URL") }
    }

    func run() async throws {
        let bearer = try token.map(bearerToken) ?? ProcessInfo.processInfo.environment["SEALKIT_LEDGER_TOKEN"]
        var last = after
        var printed = 0
        var warned = false
        let wanted = Set(kind)
        while true {
            let stream = EventStream(url: ledger.base + "/v1/alerts/stream", token: bearer, lastEventID: last)
            for await event in stream.events() {
                switch event {
                case .refused(let status, let body):
                    let message = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])
                        .flatMap { ($0["error"] as? [String: Any])?["message"] as? String } ?? "HTTP \(status)"
                    throw CLIError("the ledger refused the stream (HTTP \(status)): \(message)")
                case .connected:
                    warned = false
                case .message(let id, let name, let data):
                    guard name == "alert", let id else { continue }
                    last = max(last, id)
                    guard let alert = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] else { continue }
                    if !wanted.isEmpty && !wanted.contains(alert["kind"] as? String ?? "") { continue }
                    // Unbuffered, a line at a time: a pipe reader sees each alert as it comes.
                    FileHandle.standardOutput.write(Data(((json ? data : Self.line(alert)) + "\n").utf8))
                    printed += 1
                    if let count, printed >= count { return }
                case .dropped(let reason):
                    if !warned { FileHandle.standardError.write(Data("warning: alert stream: \(reason); reconnecting\n".utf8)) }
                    warned = true
                }
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// `#12 2026-12-06T15:04:05.123Z clone-evidence chip 0A0B… entry 7 [anonymous] counter=3 evidenceIndex=7`.
    static func line(_ alert: [String: Any]) -> String {
        var parts = ["#\(alert["id"] as? Int ?? 0)", alert["raisedAt"] as? String ?? "", alert["kind"] as? String ?? ""]
        if let chip = alert["chipID"] as? String { parts.append("chip \(chip)") }
        if let entry = alert["entryIndex"] as? Int { parts.append("entry \(entry)") }
        if alert["authenticated"] as? Bool == false { parts.append("[anonymous]") }
        for (name, value) in ((alert["detail"] as? [String: Any]) ?? [:]).sorted(by: { $0.key < $1.key }) {
            parts.append("\(name)=\(value)")
        }
        return parts.joined(separator: " ")
    }
}

/// One connection to a server-sent-events stream (the WHATWG event-stream format): a GET with
/// `Accept: text/event-stream` and `Last-Event-ID`, whose body is parsed into events as it arrives.
final class EventStream: NSObject, URLSessionDataDelegate, Sendable {
    enum Event: Sendable {
        /// The server answered 200.
        case connected
        /// An event: its `id` (when numeric), `event` name (default `message`) and `data`.
        case message(id: UInt64?, name: String, data: String)
        /// The server answered with an error status; its body.
        case refused(status: Int, body: Data)
        /// The connection ended or failed.
        case dropped(String)
    }

    private struct State {
        var continuation: AsyncStream<Event>.Continuation?
        var buffer = Data()
        var status = 0
        var errorBody = Data()
        var eventID: UInt64?
        var eventName = ""
        var dataLines: [String] = []
    }

    private let request: URLRequest
    private let state = Mutex(State())

    init(url: String, token: String?, lastEventID: UInt64) {
        var request = URLRequest(url: URL(string: url) ?? URL(fileURLWithPath: "/"), timeoutInterval: 3600)
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        if lastEventID > 0 { request.setValue("\(lastEventID)", forHTTPHeaderField: "Last-Event-ID") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        self.request = request
    }

    /// Connects and yields the events until the connection ends.
    func events() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        state.withLock { $0.continuation = continuation }
        let session = URLSession(configuration: .default, delegate: self, delegateQueue: nil)
        let task = session.dataTask(with: request)
        continuation.onTermination = { _ in
            task.cancel()
            session.invalidateAndCancel()
        }
        task.resume()
        return stream
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        state.withLock { state in
            state.status = status
            if status == 200 { state.continuation?.yield(.connected) }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        state.withLock { state in
            guard state.status == 200 else {
                state.errorBody.append(data)
                return
            }
            state.buffer.append(data)
            // Lines end in LF (CRLF and CR are accepted too); an empty line dispatches the event.
            while let newline = state.buffer.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                var line = String(decoding: state.buffer[state.buffer.startIndex..<newline], as: UTF8.self)
                var next = state.buffer.index(after: newline)
                if state.buffer[newline] == 0x0D, next < state.buffer.endIndex, state.buffer[next] == 0x0A { next = state.buffer.index(after: next) }
                state.buffer = Data(state.buffer[next...])
                if line.isEmpty {
                    if !state.dataLines.isEmpty {
                        state.continuation?.yield(.message(id: state.eventID, name: state.eventName.isEmpty ? "message" : state.eventName,
                                                           data: state.dataLines.joined(separator: "\n")))
                    }
                    state.eventName = ""
                    state.dataLines = []
                    continue
                }
                if line.hasPrefix(":") { continue }
                let field: String
                if let colon = line.firstIndex(of: ":") {
                    field = String(line[..<colon])
                    line = String(line[line.index(after: colon)...])
                    if line.hasPrefix(" ") { line.removeFirst() }
                } else {
                    field = line
                    line = ""
                }
                switch field {
                case "id": state.eventID = UInt64(line)
                case "event": state.eventName = line
                case "data": state.dataLines.append(line)
                default: break
                }
            }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        state.withLock { state in
            if state.status != 200 && state.status != 0 {
                state.continuation?.yield(.refused(status: state.status, body: state.errorBody))
            } else {
                state.continuation?.yield(.dropped(error?.localizedDescription ?? "the ledger closed the stream"))
            }
            state.continuation?.finish()
            state.continuation = nil
        }
        session.finishTasksAndInvalidate()
    }
}

/// `sealctl verify --report-to URL`: posts each failed verification to the ledger's
/// `POST /v1/verification-reports` (docs/alerts.md), with a token when given (reports without one
/// are rate-limited and marked anonymous).
struct VerificationReporter: Sendable {
    let base: String
    let token: String?

    /// Posts one report; returns a line for stderr.
    func report(record path: String, document: String?, failedCheck: String, detail: String) async -> String {
        guard let recordData = FileManager.default.contents(atPath: path),
              let record = try? StampRecord(jsonData: recordData),
              let recordObject = try? JSONSerialization.jsonObject(with: record.withoutPersonalData().jsonData()) else {
            return "not reported: \(path) is not a stamp record"
        }
        var body: [String: Any] = ["record": recordObject, "failedCheck": failedCheck, "detail": String(detail.prefix(4096))]
        if let document, let bytes = FileManager.default.contents(atPath: document) {
            body["documentDigest"] = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        }
        guard let url = URL(string: base + "/v1/verification-reports"), let data = try? JSONSerialization.data(withJSONObject: body) else {
            return "not reported: --report-to \(base) is not a URL"
        }
        var request = URLRequest(url: url, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.httpBody = data
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        do {
            let (reply, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            let object = (try? JSONSerialization.jsonObject(with: reply)) as? [String: Any] ?? [:]
            if status == 202, let id = object["alertID"] as? Int {
                return "reported \(path) to \(base): alert \(id)\(object["authenticated"] as? Bool == false ? " (anonymous)" : "")"
            }
            let message = (object["error"] as? [String: Any])?["message"] as? String ?? ""
            return "not reported: the ledger answered HTTP \(status) \(message)"
        } catch {
            return "not reported: cannot reach \(base): \(error.localizedDescription)"
        }
    }
}
