import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL
import SealHostDriver
import SealLedger
import SealLedgerAccess
import SealTraceReport

/// The ledger's HTTP interface (docs/ledger.md lists it): C2SP tlog-tiles reads at `/checkpoint`
/// and `/tile/...`, and a JSON API under `/v1`. Every refusal is a 4xx with a JSON body
/// `{"error": {"code": ..., "message": ...}}` and changes nothing.
struct LedgerServer: Sendable {
    let ledger: Ledger
    let maxBody: Int
    /// With witnesses configured: /checkpoint serves the latest checkpoint the quorum cosigned.
    var publisher: WitnessPublisher?
    /// Roles, tokens and personal data (docs/access.md): the permissioned routes and the openings of submitted records.
    var access: LedgerAccess?
    /// The verifier records are admitted with: the report page's checks and the verification page's
    /// `POST /v1/verify` run it.
    var stampVerifier: StampVerifier?
    /// Where the report page's alerts come from (none until the alerts service provides them).
    var alertSource: any ReportAlertSource = UnavailableAlertSource()
    /// Alerts (docs/alerts.md): raised after admissions, served, streamed and sent to webhooks.
    var alerting: AlertService?
    /// With a certificate and key (`serve --tls-cert/--tls-key`): HTTPS instead of HTTP.
    var tls: TLSConfiguration?

    func run(host: String, port: Int) async throws {
        let router = Router()
        if let access { router.add(middleware: AccessRoutes.BearerCheck<BasicRequestContext>(access: access)) }
        if let alerting { addAlertRoutes(to: router, service: alerting) }
        router.get("/checkpoint") { _, _ in
            // Until the quorum has cosigned a first checkpoint, the log-signed one (clients that
            // require the quorum refuse it, which is the point).
            text(publisher?.published ?? ledger.checkpointNote, cache: "no-cache")
        }
        if let publisher {
            // Ask the witnesses for the current checkpoint now, then whenever publication lags the
            // tree (witnesses down, or submissions that arrived during a round).
            Task {
                while !Task.isCancelled {
                    let published = publisher.published.flatMap { try? Checkpoint(text: SignedNote(parsing: $0).text).size }
                    if published != ledger.size { await publisher.publish() }
                    try? await Task.sleep(for: .seconds(2))
                }
            }
        }
        router.get("/tile/**") { request, _ in
            let path = String(request.uri.path.dropFirst())
            let id: TileID
            do throws(LedgerError) { id = try TileID(path: path) } catch { return failure(.badRequest, "malformed-path", error.reason) }
            do throws(LedgerError) {
                let bytes = try ledger.tile(id)
                return Response(status: .ok,
                                headers: [.contentType: "application/octet-stream", .cacheControl: "public, max-age=31536000, immutable"],
                                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            } catch { return failure(error) }
        }
        router.post("/v1/entries") { request, _ in
            await submit(request, batch: false)
        }
        router.post("/v1/entries/batch") { request, _ in
            await submit(request, batch: true)
        }
        router.get("/v1/entries/:index") { request, context in
            guard let index = context.parameters.get("index", as: UInt64.self) else {
                return failure(.badRequest, "malformed-input", "the index is a decimal number")
            }
            do throws(LedgerError) {
                let entry = try ledger.entry(at: index)
                return json([
                    "index": Int(index), "kind": entry.kind.name,
                    "entry": Data(entry.bytes).base64EncodedString(), "recordHash": hex(entry.recordHash),
                ])
            } catch { return failure(error) }
        }
        router.get("/v1/lookup") { request, _ in
            let query = request.uri.queryParameters
            // Exactly one key: a second one would otherwise be ignored unchecked (schemathesis ST201).
            guard ["recordHash", "documentDigest", "serial", "chipID"].filter({ query.get($0) != nil }).count <= 1 else {
                return failure(.badRequest, "malformed-input", "give exactly one of recordHash, serial, documentDigest or chipID")
            }
            let key: LookupKey
            if let value = query.get("recordHash") {
                guard let bytes = bytesFromHex(value), bytes.count == 32 else { return failure(.badRequest, "malformed-input", "recordHash is 64 hex digits") }
                key = .recordHash(bytes)
            } else if let value = query.get("documentDigest") {
                guard let bytes = bytesFromHex(value), bytes.count == 32 else { return failure(.badRequest, "malformed-input", "documentDigest is 64 hex digits") }
                key = .documentDigest(bytes)
            } else if let value = query.get("serial") {
                key = .serial(value)
            } else if let value = query.get("chipID") {
                guard let bytes = bytesFromHex(value), bytes.count == 16 else { return failure(.badRequest, "malformed-input", "chipID is 32 hex digits") }
                key = .chipID(bytes)
            } else {
                return failure(.badRequest, "malformed-input", "give recordHash, serial, documentDigest or chipID")
            }
            do throws(LedgerError) { return json(["indices": try ledger.lookup(key).map { Int($0) }]) } catch { return failure(error) }
        }
        router.get("/v1/proof/inclusion") { request, _ in
            let query = request.uri.queryParameters
            guard let index = query.get("index", as: UInt64.self) else {
                return failure(.badRequest, "malformed-input", "index is required, a decimal number")
            }
            let size = query.get("size", as: UInt64.self) ?? ledger.size
            do throws(LedgerError) {
                let hashes = try ledger.inclusionProof(index: index, size: size)
                return json(["index": Int(index), "treeSize": Int(size), "hashes": hashes.map { Data($0).base64EncodedString() }])
            } catch { return failure(error) }
        }
        router.get("/v1/proof/consistency") { request, _ in
            let query = request.uri.queryParameters
            guard let from = query.get("from", as: UInt64.self) else {
                return failure(.badRequest, "malformed-input", "from is required, a decimal number")
            }
            let to = query.get("to", as: UInt64.self) ?? ledger.size
            do throws(LedgerError) {
                let hashes = try ledger.consistencyProof(oldSize: from, newSize: to)
                return json(["from": Int(from), "to": Int(to), "hashes": hashes.map { Data($0).base64EncodedString() }])
            } catch { return failure(error) }
        }
        if let access { AccessRoutes(access: access).add(to: router) }
        if let access { AccessRoutes(access: access).addRevocationRoute(to: router) }

        addLifecycleRoutes(to: router)
        addReportRoutes(to: router)
        addVerifyRoutes(to: router)
        answerUnsupportedMethods(router)

        let scheme = tls == nil ? "http" : "https"
        let server: HTTPServerBuilder = if let tls { try .tls(.http1(), tlsConfiguration: tls) } else { .http1() }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "sealledger"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? port
                FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(port)\n".utf8))
            })
        try await app.runService()
    }

    /// Reads a JSON body of one record or an array of records and submits it as one batch.
    private func submit(_ request: Request, batch: Bool) async -> Response {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/json" else {
            return failure(.unsupportedMediaType, "unsupported-media-type", "send Content-Type: application/json")
        }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: maxBody) } catch {
            return failure(.contentTooLarge, "body-too-large", "the body exceeds \(maxBody) bytes")
        }
        let data = Data(buffer: body)
        let records: [StampRecord]
        do {
            if batch {
                records = try JSONDecoder().decode([StampRecord].self, from: data)
                guard !records.isEmpty else { return failure(.badRequest, "malformed-input", "the batch is empty") }
            } else {
                records = [try StampRecord(jsonData: data)]
            }
        } catch let error as SealDriverError {
            return failure(.badRequest, "malformed-record", error.message)
        } catch {
            return failure(.badRequest, "malformed-record", "not a stamp record\(batch ? " array" : ""): \(error)")
        }
        let outcomes = await ledger.submit(records)
        if let access, let refusal = AccessRoutes(access: access).afterSubmission(records, outcomes) { return refusal }
        // Acknowledged once durable; cosigning follows in the background.
        if let publisher { Task { await publisher.publish() } }
        let results = outcomes.map(Self.describe)
        if !batch, case .refused(let error) = outcomes[0] {
            return failure(.unprocessableContent, error.code.description, error.reason, failedCheck: error.failedCheck)
        }
        if !batch, case .refusedAfterTermination(let termination, let evidence) = outcomes[0] {
            return failure(.unprocessableContent, "recordRefused", "the chip was terminated (entry \(termination)) below this record's counter",
                           failedCheck: "chip-terminated", extra: ["terminationIndex": Int(termination), "evidenceIndex": Int(evidence)])
        }
        return json(batch ? ["results": results, "treeSize": Int(ledger.size)] : results[0].merging(["treeSize": Int(ledger.size)]) { a, _ in a })
    }

    private static func describe(_ outcome: AdmissionOutcome) -> [String: Any] {
        switch outcome {
        case .added(let index): ["status": "added", "index": Int(index)]
        case .duplicate(let index): ["status": "duplicate", "index": Int(index)]
        case .conflict(let admitted, let evidence): ["status": "conflict", "index": Int(admitted), "evidenceIndex": Int(evidence)]
        case .refused(let error):
            ["status": "refused", "error": ["code": error.code.description, "message": error.reason, "failedCheck": error.failedCheck ?? ""]]
        case .addedWhileSuspended(let index, let suspension):
            ["status": "added", "index": Int(index), "flag": "chip-suspended", "suspensionIndex": Int(suspension)]
        case .refusedAfterTermination(let termination, let evidence):
            ["status": "refused", "evidenceIndex": Int(evidence), "terminationIndex": Int(termination),
             "error": ["code": "recordRefused", "message": "the chip was terminated (entry \(termination)) below this record's counter",
                       "failedCheck": "chip-terminated"]]
        }
    }
}

func text(_ body: String, cache: String) -> Response {
    Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: cache],
             body: .init(byteBuffer: ByteBuffer(string: body)))
}

func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func failure(_ status: HTTPResponse.Status, _ code: String, _ message: String, failedCheck: String? = nil,
             extra: [String: Any] = [:]) -> Response {
    var error: [String: Any] = ["code": code, "message": message]
    if let failedCheck { error["failedCheck"] = failedCheck }
    return json(["error": error].merging(extra) { a, _ in a }, status: status)
}

func failure(_ error: LedgerError) -> Response {
    let status: HTTPResponse.Status = switch error.code {
    case .notFound, .outOfRange: .notFound
    case .malformedInput, .entryTooLarge: .badRequest
    case .recordRefused: .unprocessableContent
    default: .internalServerError
    }
    return failure(status, error.code.description, error.reason, failedCheck: error.failedCheck)
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02X", $0) }.joined() }

func bytesFromHex(_ text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
        out.append(byte)
        i += 2
    }
    return out
}

// MARK: Unsupported methods

/// The methods each route of the server answers. Any other method on these paths gets 405 with an
/// `Allow` header (RFC 9110 §15.5.6) and the JSON error body, instead of the router's 404, which
/// would claim the resource does not exist. A route added to ``LedgerServer/run(host:port:)``
/// belongs here too (schemathesis's `unsupported_method` check, scripts/schemathesis.sh, finds it
/// otherwise).
let ledgerRouteMethods: [(path: String, allowed: [HTTPRequest.Method])] = [
    ("/checkpoint", [.get]),
    ("/tile/**", [.get]),
    ("/v1/entries", [.post]),
    ("/v1/entries/batch", [.post]),
    ("/v1/entries/:index", [.get]),
    ("/v1/lookup", [.get]),
    ("/v1/proof/inclusion", [.get]),
    ("/v1/proof/consistency", [.get]),
    // Lifecycle events, audit pushes and chips (LedgerServer+Lifecycle.swift).
    ("/v1/events", [.post]),
    ("/v1/audit", [.post]),
    ("/v1/chips/:chipID/history", [.get]),
    ("/v1/chips/:chipID/gaps", [.get]),
    // Access (AccessRoutes.swift; `serve` always has it).
    ("/v1/stamps", [.get]),
    ("/v1/organizations/:organization/records", [.get]),
    ("/v1/access-log", [.get]),
    ("/v1/tokens", [.post]),
    // The traceability report and the metrics (ReportRoutes.swift).
    ("/v1/reports/:index", [.get]),
    ("/metrics", [.get]),
    // Alerts (AlertRoutes.swift).
    ("/v1/verification-reports", [.post]),
    ("/v1/alerts", [.get]),
    ("/v1/alerts/stream", [.get]),
    ("/v1/tokens/revoke", [.post]),
    // The verification page (VerifyRoutes.swift).
    ("/", [.get]),
    ("/verify", [.get]),
    ("/verify/:asset", [.get]),
    ("/v1/verify", [.post]),
    ("/v1/qr-decode", [.post]),
]

/// Registers the 405 answers of ``ledgerRouteMethods``.
private func answerUnsupportedMethods(_ router: Router<BasicRequestContext>) {
    // QUERY: the safe method with a body (draft-ietf-httpbis-safe-method-w-body), which schemathesis tries.
    let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options, .trace, .connect]
        + [HTTPRequest.Method("QUERY")].compactMap { $0 }
    for (path, allowed) in ledgerRouteMethods {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        for method in methods where !allowed.contains(method) {
            router.on(RouterPath(path), method: method) { _, _ in
                var response = failure(.methodNotAllowed, "method-not-allowed", "\(path) answers \(allow) only")
                response.headers[.allow] = allow
                return response
            }
        }
    }
}
