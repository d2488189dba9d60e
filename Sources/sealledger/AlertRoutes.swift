import ArgumentParser
import Dispatch
import Foundation
import Hummingbird
import NIOCore
import SealHostDriver
import SealLedger
import SealLedgerAccess
import Synchronization

/// `sealledger serve`'s alert options (docs/alerts.md).
struct AlertOptions: ParsableArguments {
    @Option(name: .customLong("alerts-database"), help: "The alert database: alerts, the scan cursor, owed webhook deliveries (default: the database path + .alerts.sqlite).")
    var alertsDatabase: String?
    @Option(name: .customLong("webhook"), help: ArgumentHelp("A webhook endpoint every alert is POSTed to (signed, retried until 2xx); repeatable, each with its --webhook-secret-file.", valueName: "URL"))
    var webhooks: [String] = []
    @Option(name: .customLong("webhook-secret-file"), help: ArgumentHelp("The HMAC-SHA256 secret of the --webhook in the same position (the file's bytes, a final newline dropped).", valueName: "FILE"))
    var webhookSecretFiles: [String] = []
    @Option(name: .customLong("webhook-retry-base"), help: "Seconds before the first retry of a failed delivery; each further retry waits twice as long, at most 10 minutes.")
    var webhookRetryBase: Double = 1
    @Option(name: .customLong("grants"), help: ArgumentHelp("The remote-authorization grants issued, for grant-misuse alerts: a JSON array of {chipID, grant}.", valueName: "FILE"))
    var grants: String?
    @Option(name: .customLong("max-travel-speed"), help: "The fastest a seal travels between two stamps, km/h; faster is impossible travel.")
    var maxTravelSpeed: Double = 1000
    @Option(name: .customLong("anonymous-report-rate"), help: "Verification reports accepted per minute from callers without a token (all together).")
    var anonymousReportRate: Int = 30

    func validate() throws {
        if webhooks.count != webhookSecretFiles.count {
            throw ValidationError("give one --webhook-secret-file per --webhook (\(webhooks.count) webhooks, \(webhookSecretFiles.count) secret files)")
        }
        for webhook in webhooks {
            guard let url = URL(string: webhook), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--webhook \(webhook) is not an http(s) URL")
            }
        }
        if !(webhookRetryBase > 0 && webhookRetryBase <= 600) { throw ValidationError("--webhook-retry-base is 0 to 600 seconds") }
        if !(maxTravelSpeed > 0 && maxTravelSpeed.isFinite) { throw ValidationError("--max-travel-speed is a positive speed in km/h") }
        if anonymousReportRate < 0 { throw ValidationError("--anonymous-report-rate is 0 or more") }
    }

    /// The alert service over an open ledger and its access layer (whose vault holds the locations).
    func open(_ store: StoreOptions, ledger: Ledger, access: LedgerAccess) throws -> AlertService {
        var endpoints: [WebhookEndpoint] = []
        for (url, secretFile) in zip(webhooks, webhookSecretFiles) {
            guard var secret = FileManager.default.contents(atPath: secretFile).map(Array.init) else {
                throw ValidationError("cannot read --webhook-secret-file \(secretFile)")
            }
            if secret.last == 0x0A { secret.removeLast() }
            if secret.last == 0x0D { secret.removeLast() }
            guard secret.count >= 16 else { throw ValidationError("--webhook-secret-file \(secretFile) holds fewer than 16 bytes") }
            endpoints.append(WebhookEndpoint(url: url, secret: secret))
        }
        var book = GrantBook()
        if let grants {
            guard let data = FileManager.default.contents(atPath: grants) else { throw ValidationError("cannot read --grants \(grants)") }
            do throws(LedgerError) { book = try GrantBook(json: data) } catch { throw ValidationError("--grants \(grants): \(error.reason)") }
        }
        let alertStore = try SQLiteAlertStore(path: alertsDatabase ?? SQLiteAlertStore.defaultPath(ledgerDatabase: store.databasePath))
        let vault = access.vault
        let monitor = try AlertMonitor(
            ledger: ledger, store: alertStore, policy: AlertPolicy(maximumSpeedKmh: maxTravelSpeed), grants: book,
            endpoints: endpoints.map(\.url),
            locations: { recordHash in
                (try? vault.openings(recordHash: recordHash))??.location.map {
                    StampLocation(latitudeMicrodegrees: $0.latitudeMicrodegrees, longitudeMicrodegrees: $0.longitudeMicrodegrees)
                }
            })
        return AlertService(monitor: monitor, webhooks: endpoints, retryBase: webhookRetryBase,
                            anonymousReports: RateLimiter(perMinute: anonymousReportRate))
    }
}

/// The alerts of one server: the monitor, the webhooks and the anonymous-report budget.
struct AlertService: Sendable {
    let monitor: AlertMonitor
    let webhooks: [WebhookEndpoint]
    let retryBase: Double
    let anonymousReports: RateLimiter
}

/// A token bucket: `perMinute` tokens a minute, at most `perMinute` saved up.
final class RateLimiter: Sendable {
    /// The rate, and the most saved up.
    let perMinute: Int
    private let state: Mutex<(tokens: Double, last: ContinuousClock.Instant)>

    init(perMinute: Int) {
        self.perMinute = perMinute
        state = Mutex((Double(perMinute), ContinuousClock.now))
    }

    /// Takes a token; nil when one was available, else the seconds until one is.
    func take() -> Int? {
        state.withLock { state in
            let now = ContinuousClock.now
            let elapsed = now - state.last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.tokens = min(Double(perMinute), state.tokens + seconds * Double(perMinute) / 60)
            state.last = now
            guard state.tokens >= 1 else { return perMinute == 0 ? 60 : Int((1 - state.tokens) * 60 / Double(perMinute)) + 1 }
            state.tokens -= 1
            return nil
        }
    }
}

/// Set when SIGTERM or SIGINT arrives, so that open event streams end and the server's graceful
/// shutdown, which waits for requests in flight, does not wait for them forever.
private let shuttingDown = Mutex(false)
private let shutdownSignals: Mutex<[any DispatchSourceSignal]> = Mutex([])

private func watchForShutdown() {
    shutdownSignals.withLock { sources in
        guard sources.isEmpty else { return }
        for signalNumber in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { shuttingDown.withLock { $0 = true } }
            source.resume()
            sources.append(source)
        }
    }
}

/// The alert routes (docs/alerts.md, and the "alerts" section of docs/ledger-openapi.yaml):
/// `POST /v1/verification-reports`, `GET /v1/alerts` and `GET /v1/alerts/stream`.
extension LedgerServer {
    /// Registers the alert routes, scans the log for alerts it has not raised yet (after a crash),
    /// raises alerts after every admission before the submitter is answered, and starts the webhook
    /// deliveries.
    func addAlertRoutes(to router: Router<BasicRequestContext>, service: AlertService) {
        do throws(LedgerError) { try service.monitor.catchUp() } catch { warn("warning: alerts not raised yet: \(error.reason)") }
        watchForShutdown()
        router.add(middleware: AlertCatchUp<BasicRequestContext>(monitor: service.monitor))
        if !service.webhooks.isEmpty {
            let deliverer = WebhookDeliverer(store: service.monitor.store, endpoints: service.webhooks, retryBase: service.retryBase)
            Task { await deliverer.run(monitor: service.monitor) }
        }
        let access = self.access
        let maxBody = self.maxBody

        router.post("/v1/verification-reports") { request, _ in
            let principal: AccessPrincipal?
            do throws(AccessError) { principal = try await access?.tokens.principal(authorization: request.headers[.authorization]) } catch {
                return alertAccessFailure(error)
            }
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/json" else {
                return failure(.unsupportedMediaType, "unsupported-media-type", "send Content-Type: application/json")
            }
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxBody) } catch {
                return failure(.contentTooLarge, "body-too-large", "the body exceeds \(maxBody) bytes")
            }
            let report: AlertMonitor.VerificationReport
            switch Self.verificationReport(Data(buffer: body), principal: principal) {
            case .success(let value): report = value
            case .failure(let refusal): return refusal.response
            }
            if principal == nil, let wait = service.anonymousReports.take() {
                var response = failure(.tooManyRequests, "rate-limited",
                                       "reports without a token are limited to \(service.anonymousReports.perMinute) a minute; retry in \(wait) s or send a bearer token")
                response.headers[.retryAfter] = "\(wait)"
                return response
            }
            do throws(LedgerError) {
                let alert = try service.monitor.report(report)
                return json(["alertID": Int(alert.id), "authenticated": alert.authenticated], status: .accepted)
            } catch { return failure(error) }
        }

        router.get("/v1/alerts") { request, _ in
            let scope: AlertScope
            switch await Self.alertScope(request, access: access) {
            case .success(let value): scope = value
            case .failure(let refusal): return refusal.response
            }
            let query = request.uri.queryParameters
            guard ["chipID", "after", "limit"].allSatisfy({ query.getAll($0).count <= 1 }) else {
                return failure(.badRequest, "malformed-input", "give each of chipID, after and limit at most once")
            }
            var chipID: [UInt8]?
            if let text = query.get("chipID") {
                guard let bytes = bytesFromHex(text), bytes.count == 16 else { return failure(.badRequest, "malformed-input", "chipID is 32 hex digits") }
                chipID = bytes
            }
            var after: UInt64 = 0
            if let text = query.get("after") {
                guard let value = UInt64(text), value <= UInt64(Int64.max) else { return failure(.badRequest, "malformed-input", "after is an alert ID") }
                after = value
            }
            var limit = 50
            if let text = query.get("limit") {
                guard let value = Int(text), (1...200).contains(value) else { return failure(.badRequest, "malformed-input", "limit is 1 to 200") }
                limit = value
            }
            do throws(LedgerError) {
                let alerts = try service.monitor.store.alerts(after: after, limit: limit, chipID: chipID, organization: scope.organization)
                var object: [String: Any] = ["alerts": alerts.map { $0.jsonObject() }]
                if alerts.count == limit, let last = alerts.last { object["next"] = Int(last.id) }
                var response = json(object)
                response.headers[.cacheControl] = "no-store"
                return response
            } catch { return failure(error) }
        }

        router.get("/v1/alerts/stream") { request, _ in
            let scope: AlertScope
            switch await Self.alertScope(request, access: access) {
            case .success(let value): scope = value
            case .failure(let refusal): return refusal.response
            }
            var resumeAfter: UInt64 = 0
            if let text = request.headers.first(where: { $0.name.canonicalName == "last-event-id" })?.value {
                guard let value = UInt64(text.trimmingCharacters(in: .whitespaces)), value <= UInt64(Int64.max) else {
                    return failure(.badRequest, "malformed-input", "Last-Event-ID is an alert ID")
                }
                resumeAfter = value
            }
            let monitor = service.monitor
            let start = resumeAfter
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                var sent = start
                var lastWrite = ContinuousClock.now
                while !Task.isCancelled && !shuttingDown.withLock({ $0 }) {
                    let latest = monitor.latestAlertID
                    if latest > sent {
                        let alerts = try monitor.store.alerts(after: sent, limit: 100, chipID: nil, organization: scope.organization)
                        for alert in alerts {
                            let data = String(decoding: alert.jsonData(), as: UTF8.self)
                            try await writer.write(ByteBuffer(string: "id: \(alert.id)\nevent: alert\ndata: \(data)\n\n"))
                        }
                        sent = alerts.count == 100 ? (alerts.last?.id ?? latest) : max(latest, alerts.last?.id ?? sent)
                        lastWrite = ContinuousClock.now
                        continue
                    }
                    // A comment now and then: proxies keep the connection, and a gone client is noticed.
                    if ContinuousClock.now - lastWrite > .seconds(5) {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        lastWrite = ContinuousClock.now
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
        }
    }

    /// Who may read alerts: the issuer all of them, an auditor its organization's.
    struct AlertScope: Sendable {
        /// nil: every alert (the issuer).
        var organization: String?
    }

    /// A refusal, ready to send.
    struct Refusal: Error {
        var response: Response
    }

    static func alertScope(_ request: Request, access: LedgerAccess?) async -> Result<AlertScope, Refusal> {
        do throws(AccessError) {
            let principal = try await access?.tokens.principal(authorization: request.headers[.authorization])
            guard let principal else { throw AccessError(code: .unauthenticated, reason: "send Authorization: Bearer TOKEN") }
            switch principal.role {
            case .issuer: return .success(AlertScope(organization: nil))
            case .auditor: return .success(AlertScope(organization: principal.organization ?? ""))
            case .publicVerifier: throw AccessError(code: .forbidden, reason: "alerts are for an organization's auditor and the issuer")
            }
        } catch { return .failure(Refusal(response: alertAccessFailure(error))) }
    }

    /// Parses `{"record": {...}, "failedCheck": "...", "detail": "...", "documentDigest": "64 hex"}`.
    static func verificationReport(_ data: Data, principal: AccessPrincipal?) -> Result<AlertMonitor.VerificationReport, Refusal> {
        func refuse(_ message: String) -> Result<AlertMonitor.VerificationReport, Refusal> {
            .failure(Refusal(response: failure(.badRequest, "malformed-input", message)))
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return refuse("the body is not a JSON object") }
        let known: Set<String> = ["record", "failedCheck", "detail", "documentDigest"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) { return refuse("unknown member \(unknown)") }
        guard let recordObject = object["record"] as? [String: Any],
              let recordData = try? JSONSerialization.data(withJSONObject: recordObject) else {
            return refuse("record is the stamp record, a JSON object")
        }
        let record: StampRecord
        do { record = try StampRecord(jsonData: recordData) } catch {
            return .failure(Refusal(response: failure(.badRequest, "malformed-record", "record: \(error.message)")))
        }
        guard let failedCheck = object["failedCheck"] as? String, (1...64).contains(failedCheck.utf8.count),
              failedCheck.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return refuse("failedCheck is the failed check's name, 1 to 64 printable ASCII characters")
        }
        if let value = object["detail"], !(value is String) { return refuse("detail is text") }
        let detail = object["detail"] as? String ?? ""
        guard detail.unicodeScalars.count <= 4096 else { return refuse("detail is at most 4096 characters") }
        var digest: [UInt8]?
        if let value = object["documentDigest"] {
            guard let text = value as? String, let bytes = bytesFromHex(text), bytes.count == 32 else {
                return refuse("documentDigest is 64 hex digits")
            }
            digest = bytes
        }
        return .success(AlertMonitor.VerificationReport(record: record, failedCheck: failedCheck, detail: detail, documentDigest: digest,
                                                        authenticated: principal != nil, reporter: principal?.subject))
    }
}

/// Raises the alerts of what a request admitted before its answer leaves: after each POST to the
/// routes that append to the log, the monitor scans the new entries (one durable commit of alerts
/// and cursor). Should that fail, the entries stay unscanned and the next scan raises them.
struct AlertCatchUp<Context: RequestContext>: RouterMiddleware {
    let monitor: AlertMonitor
    static var appendingPaths: Set<String> { ["/v1/entries", "/v1/entries/batch", "/v1/events", "/v1/audit"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        if request.method == .post, Self.appendingPaths.contains(request.uri.path) {
            do throws(LedgerError) { try monitor.catchUp() } catch { warn("warning: alerts not raised yet: \(error.reason)") }
        }
        return response
    }
}

private func alertAccessFailure(_ error: AccessError) -> Response {
    switch error.code {
    case .unauthenticated:
        var response = failure(.unauthorized, error.code.description, error.reason)
        response.headers[.wwwAuthenticate] = "Bearer realm=\"sealledger\""
        return response
    case .forbidden: return failure(.forbidden, error.code.description, error.reason)
    case .malformedInput: return failure(.badRequest, error.code.description, error.reason)
    default: return failure(.internalServerError, error.code.description, error.reason)
    }
}
