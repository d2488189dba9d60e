import Foundation
import Hummingbird
import Metrics
import NIOCore
import Prometheus
import SealHostDriver
import SealLedger
import SealLedgerAccess
import SealTraceReport
import X509

/// `GET /v1/reports/{index}`: the traceability report of a stamp record as one self-contained HTML
/// page (docs/report.md), the same page `sealctl report` writes. Its personal parts follow the
/// caller's role (docs/access.md): the issuer and the record organization's auditor see the
/// openings (and the access is logged first), everyone else the commitments. And `GET /metrics`:
/// the ledger's Prometheus metrics (``LedgerMetrics``).
extension LedgerServer {
    func addReportRoutes(to router: Router<BasicRequestContext>) {
        // Bootstrap the metrics backend before the first request records anything.
        _ = Self.metricsRegistry
        router.get("/v1/reports/:index") { request, context in
            guard let index = context.parameters.get("index", as: UInt64.self) else {
                return failure(.badRequest, "malformed-input", "the index is a decimal number")
            }
            return await report(index: index, authorization: request.headers[.authorization])
        }
        router.get("/metrics") { _, _ in
            let published = publisher?.published ?? ledger.checkpointNote
            let publishedSize = (try? Checkpoint(text: SignedNote(parsing: published).text).size) ?? 0
            // The checkpoint's age: since its newest cosignature when witnesses cosign it, else since
            // the log last signed one (the log signs one per appended batch).
            var signedAt = LedgerMetrics.lastCheckpointSigned.timeIntervalSince1970
            if publisher != nil, let note = try? SignedNote(parsing: published) {
                let times = note.signatures.filter { $0.signature.count == 72 }.map { line in
                    line.signature[0..<8].reduce(UInt64(0)) { value, byte in value << 8 | UInt64(byte) }
                }
                signedAt = times.max().map { Double($0) } ?? signedAt
            }
            let size = ledger.size
            LedgerMetrics.observe(checkpointAge: max(0, Date().timeIntervalSince1970 - signedAt),
                                  witnessLag: size > publishedSize ? size - publishedSize : 0, treeSize: size)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: Self.metricsRegistry.emitToBuffer())))
        }
    }

    /// The Prometheus registry behind swift-metrics in this process, bootstrapped on first use
    /// (once: `MetricsSystem.bootstrap` may run only once per process).
    static let metricsRegistry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[LedgerMetrics.verificationSeconds] = LedgerMetrics.verificationBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    private func report(index: UInt64, authorization: String?) async -> Response {
        var principal: AccessPrincipal?
        if let access {
            do throws(AccessError) { principal = try await access.tokens.principal(authorization: authorization) } catch {
                var response = failure(.unauthorized, error.code.description, error.reason)
                response.headers[.wwwAuthenticate] = "Bearer realm=\"sealledger\""
                return response
            }
        }
        // The published (cosigned) checkpoint when it holds the entry, else the log's own latest.
        var note = publisher?.published ?? ledger.checkpointNote
        if let size = try? Checkpoint(text: SignedNote(parsing: note).text).size, size <= index { note = ledger.checkpointNote }
        let checkpoint: Checkpoint
        let entry: StoredEntry
        let proof: [MerkleHash]
        let history: [StoredEntry]
        do throws(LedgerError) {
            checkpoint = try Checkpoint(text: SignedNote(parsing: note).text)
            guard index < checkpoint.size else { return failure(.notFound, "notFound", "the ledger has no entry \(index)") }
            entry = try ledger.entry(at: index)
            guard entry.kind == .stampRecord else {
                return failure(.notFound, "notFound", "entry \(index) is a \(entry.kind.name), not a stamp record: it has no report")
            }
            proof = try ledger.inclusionProof(index: index, size: checkpoint.size)
            if let chipID = entry.chipID { history = try ledger.history(chipID: chipID) } else { history = [] }
        } catch {
            return failure(error)
        }
        var record: StampRecord
        do throws(AccessError) { record = try LeafRecord.decode(entry.bytes) } catch {
            return failure(.internalServerError, "storageFailure", "entry \(index) does not decode as a record: \(error.reason)")
        }
        var viewer = TraceReport.Viewer(role: principal?.role.rawValue ?? "public", organization: principal?.organization, seesPersonalData: false)
        if let access, let principal, AccessPolicy.maySeePersonalData(principal, ofRecordOf: record.organizationName) {
            do throws(AccessError) {
                if let openings = try access.vault.openings(recordHash: entry.recordHash) {
                    record = try openings.applied(to: record)
                    // Logged before anything personal leaves; without the log row, nothing is returned.
                    try access.vault.logAccess(by: principal, entries: [AccessedEntry(index: index, recordHash: entry.recordHash,
                                                                                     organization: record.organizationName)],
                                               request: "GET /v1/reports/{index}")
                }
                viewer.seesPersonalData = true
            } catch {
                return failure(.internalServerError, error.code.description, error.reason)
            }
        }
        let verification = await (stampVerifier ?? StampVerifier(trustedRoots: [Certificate]())).verify(record, documentDigest: record.documentDigest)
        var input = TraceReportInput(
            record: record, viewer: viewer, entryIndex: index, entry: entry.bytes, inclusionProof: proof, checkpointNote: note,
            logKey: ledger.verifier, witnessPolicy: nil, stampVerification: verification, history: TraceReportBuilder.history(history),
            alerts: await alertSource.alerts(chipID: record.chipID))
        input.cosignaturesCollectedByLedger = publisher != nil
        let html = TraceReportHTML.render(TraceReportBuilder.build(input))
        return Response(status: .ok,
                        headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                  .contentSecurityPolicy: TraceReportHTML.contentSecurityPolicy],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// The report page's alerts, read from the ledger's alert store (docs/alerts.md): every alert about
/// the chip, oldest first. The page is shown only to callers who may read the record, and the
/// alerts carry no personal data.
struct StoredAlertSource: ReportAlertSource {
    let store: any AlertStore
    /// The most alerts one report lists.
    static let limit = 200

    func alerts(chipID: [UInt8]) async -> [TraceReport.Alert]? {
        guard let alerts = try? store.alerts(after: 0, limit: Self.limit, chipID: chipID, organization: nil) else { return nil }
        return alerts.map { alert in
            let detail = alert.detail.keys.sorted().map { key -> String in
                let value: String = switch alert.detail[key] {
                case .text(let text)?: text
                case .integer(let number)?: String(number)
                case .number(let number)?: String(number)
                case .flag(let flag)?: flag ? "yes" : "no"
                case nil: ""
                }
                return "\(key): \(value)"
            }.joined(separator: "; ")
            return TraceReport.Alert(id: Int(alert.id), kind: alert.kind.rawValue, raisedAt: alert.raisedAt.ISO8601Format(),
                                     entryIndex: alert.entryIndex, authenticated: alert.authenticated, detail: detail)
        }
    }
}
