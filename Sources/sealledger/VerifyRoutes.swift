import Crypto
import Foundation
import Hummingbird
import NIOCore
import SealHostDriver
import SealImprint
import SealLedger

/// The verification page (docs/verify-page.md): `GET /verify` and its script and style under
/// `/verify/...`, `POST /v1/verify` and `POST /v1/qr-decode`. Open to every role, the public
/// included: the answer holds check names and outcomes, never the record's personal data. The
/// document itself never reaches the server; the page sends its SHA-256 digest.
extension LedgerServer {
    func addVerifyRoutes(to router: Router<BasicRequestContext>) {
        // The ledger's root is where an imprint's QR code points (docs/imprint.md): a phone opening
        // it lands on the page, which verifies the payload the fragment carries.
        router.get("/") { _, _ -> Response in
            var response = Response(status: .seeOther)
            response.headers[.location] = "/verify"
            return response
        }
        router.get("/verify") { _, _ -> Response in
            asset(VerifyPage.html, type: "text/html; charset=utf-8")
        }
        router.get("/verify/:asset") { _, context -> Response in
            switch context.parameters.get("asset") {
            case "verify.js": return asset(VerifyPage.script, type: "text/javascript; charset=utf-8")
            case "verify.css": return asset(VerifyPage.style, type: "text/css; charset=utf-8")
            default: return failure(.notFound, "notFound", "the page has verify.js and verify.css only")
            }
        }
        router.post("/v1/verify") { request, _ in
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/json" else {
                return failure(.unsupportedMediaType, "unsupported-media-type", "send Content-Type: application/json")
            }
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxBody) } catch {
                return failure(.contentTooLarge, "body-too-large", "the body exceeds \(maxBody) bytes")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] else {
                return failure(.badRequest, "malformed-input", "the body is {\"record\": {...}, \"documentDigest\": \"64 hex\"} or {\"payload\": \"...\"}")
            }
            let verification: VerificationRequest
            do throws(LedgerError) { verification = try VerificationRequest(object) } catch {
                return failure(.badRequest, "malformed-input", error.reason)
            }
            let outcome = await verify(verification)
            return json(outcome.json)
        }
        router.post("/v1/qr-decode") { request, _ in
            let contentType = request.headers[.contentType]?.lowercased().split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? ""
            guard contentType == "image/png" else {
                return failure(.unsupportedMediaType, "unsupported-media-type",
                               "send Content-Type: image/png (the page converts other images to PNG in the browser)")
            }
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxBody) } catch {
                return failure(.contentTooLarge, "body-too-large", "the body exceeds \(maxBody) bytes")
            }
            let png = Array(buffer: body)
            do throws(ImprintError) {
                // Synchronous and CPU-bound, but bounded by the body limit (--max-body).
                let texts = try QRCode.decode(png: png)
                return json(["payload": texts[0]])
            } catch {
                if error.code == .noQRCode { return failure(.unprocessableContent, "no-qr-code", error.reason) }
                return failure(.badRequest, "unreadable-image", error.reason)
            }
        }
    }

    /// Runs the checks of a verification request (docs/verify-page.md, "Checks").
    func verify(_ request: VerificationRequest) async -> VerificationOutcome {
        switch request.subject {
        case .record(let record): return await verifyRecord(record, documentDigest: request.documentDigest)
        case .payload(let payload): return verifyPayload(payload, documentDigest: request.documentDigest)
        }
    }

    /// A record and a document digest: the host driver's checks under the ledger's vendor roots
    /// (the document digest among them), then the ledger's: the record is an entry, included in the
    /// current signed checkpoint, and its seal is neither suspended nor terminated.
    private func verifyRecord(_ record: StampRecord, documentDigest: [UInt8]?) async -> VerificationOutcome {
        var checks: [VerificationCheck] = []
        if let stampVerifier {
            // Without a document the digest check compares the record with itself; the page always
            // sends one, and the check below says so when it is missing.
            let report = await stampVerifier.verify(record, documentDigest: documentDigest ?? record.documentDigest)
            for check in report.checks {
                if check.id == .documentDigest && documentDigest == nil {
                    checks.append(VerificationCheck(name: check.id.rawValue, outcome: .skipped, detail: "no document given"))
                } else {
                    checks.append(VerificationCheck(name: check.id.rawValue, outcome: .init(check.outcome), detail: check.detail))
                }
            }
        }
        let entry = ledgerChecks(recordHash: LedgerLeaf.recordHash(record.canonicalBytes), into: &checks)
        sealStatusCheck(chipID: record.chipID, into: &checks)
        return VerificationOutcome(checks: checks, entryIndex: entry)
    }

    /// A QR payload (and, optionally, a document digest): the trace checks of `sealctl trace`, run
    /// on this ledger's own entry, proof and checkpoint, then the seal's status.
    private func verifyPayload(_ payload: TracePayload, documentDigest: [UInt8]?) -> VerificationOutcome {
        var checks: [VerificationCheck] = []
        let checkpointNote = ledger.checkpointNote
        let entryBytes: [UInt8]
        let proof: [MerkleHash]
        do throws(LedgerError) {
            let size = try Checkpoint.open(checkpointNote, verifier: ledger.verifier).size
            entryBytes = try ledger.entry(at: payload.index).bytes
            proof = try ledger.inclusionProof(index: payload.index, size: size)
        } catch {
            checks.append(VerificationCheck(name: "ledger-entry", outcome: .failed, detail: "entry \(payload.index): \(error.reason)"))
            return VerificationOutcome(checks: checks, entryIndex: nil)
        }
        let report = TraceVerifier.verify(payload: payload, entry: entryBytes, inclusionProof: proof, checkpointNote: checkpointNote,
                                          logKey: ledger.verifier, documentDigest: documentDigest, now: UInt64(Date().timeIntervalSince1970))
        for check in report.checks {
            let outcome: VerificationCheck.Outcome = switch check.outcome {
            case .passed: .passed
            case .failed: .failed
            case .skipped: .skipped
            }
            checks.append(VerificationCheck(name: check.id, outcome: outcome, detail: check.detail))
        }
        let proven = report.firstFailure == nil || report.verdict == .copied || report.verdict == .expired
        if let chipID = report.entry?.tbs.chipID { sealStatusCheck(chipID: chipID, into: &checks) }
        return VerificationOutcome(checks: checks, entryIndex: proven ? payload.index : nil)
    }

    /// `ledger-entry` (the record is an entry of this ledger) and `ledger-inclusion` (its inclusion
    /// proof leads to the root of the current signed checkpoint). Returns the entry's index.
    private func ledgerChecks(recordHash: [UInt8], into checks: inout [VerificationCheck]) -> UInt64? {
        let index: UInt64
        do throws(LedgerError) {
            guard let found = try ledger.lookup(.recordHash(recordHash)).first else {
                checks.append(VerificationCheck(name: "ledger-entry", outcome: .failed, detail: "the ledger holds no entry with this record's hash"))
                checks.append(VerificationCheck(name: "ledger-inclusion", outcome: .skipped, detail: "the record is not in the ledger"))
                return nil
            }
            index = found
        } catch {
            checks.append(VerificationCheck(name: "ledger-entry", outcome: .failed, detail: error.reason))
            return nil
        }
        checks.append(VerificationCheck(name: "ledger-entry", outcome: .passed, detail: "entry \(index)"))
        do throws(LedgerError) {
            let checkpoint = try Checkpoint.open(ledger.checkpointNote, verifier: ledger.verifier)
            let entry = try ledger.entry(at: index)
            let proof = try ledger.inclusionProof(index: index, size: checkpoint.size)
            try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(entry.bytes), index: index, size: checkpoint.size,
                                           proof: proof, root: checkpoint.rootHash)
            checks.append(VerificationCheck(name: "ledger-inclusion", outcome: .passed,
                                            detail: "entry \(index) is in the tree of size \(checkpoint.size) signed by \(checkpoint.origin)"))
        } catch {
            checks.append(VerificationCheck(name: "ledger-inclusion", outcome: .failed, detail: error.reason))
        }
        return index
    }

    /// `seal-status`: the chip's last lifecycle event is neither a suspension nor a termination. A
    /// failure here makes the stamp revoked rather than invalid.
    private func sealStatusCheck(chipID: [UInt8], into checks: inout [VerificationCheck]) {
        do throws(LedgerError) {
            var last: (index: UInt64, kind: LifecycleEvent.Kind)?
            for entry in try ledger.history(chipID: chipID) where entry.kind == .lifecycleEvent {
                guard let event = try? SignedLifecycleEvent(bytes: entry.bytes).event else { continue }
                // After a termination nothing is admitted; a suspension lasts until a resumption.
                if last?.kind == .terminated { break }
                last = (entry.index, event.kind)
            }
            switch last?.kind {
            case .terminated?, .suspended?:
                checks.append(VerificationCheck(name: "seal-status", outcome: .failed, revokes: true,
                                                detail: "the seal was \(last.map { "\($0.kind) (ledger entry \($0.index))" } ?? "")"))
            case let kind?:
                checks.append(VerificationCheck(name: "seal-status", outcome: .passed, detail: "the seal's last lifecycle event: \(kind)"))
            case nil:
                checks.append(VerificationCheck(name: "seal-status", outcome: .passed, detail: "no lifecycle event suspends or terminates the seal"))
            }
        } catch {
            checks.append(VerificationCheck(name: "seal-status", outcome: .failed, detail: error.reason))
        }
    }
}

/// A `POST /v1/verify` body: `{"record": <record JSON>, "documentDigest": "64 hex"}`, or a QR
/// payload `{"payload": "<text>", "documentDigest": "64 hex" (optional)}`.
struct VerificationRequest: Sendable {
    /// What is verified.
    enum Subject: Sendable {
        case record(StampRecord)
        case payload(TracePayload)
    }

    let subject: Subject
    let documentDigest: [UInt8]?

    /// Reads the body; unknown members and members of the wrong type are refused.
    /// - Throws: `LedgerError` `.malformedInput`.
    init(_ object: [String: Any]) throws(LedgerError) {
        let known: Set<String> = ["record", "payload", "documentDigest"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw LedgerError(code: .malformedInput, reason: "unknown member \(unknown)")
        }
        if let value = object["documentDigest"] {
            guard let text = value as? String, let bytes = bytesFromHex(text), bytes.count == 32 else {
                throw LedgerError(code: .malformedInput, reason: "documentDigest is 64 hex digits")
            }
            documentDigest = bytes
        } else {
            documentDigest = nil
        }
        switch (object["record"], object["payload"]) {
        case (let record?, nil):
            guard let recordObject = record as? [String: Any],
                  let data = try? JSONSerialization.data(withJSONObject: recordObject) else {
                throw LedgerError(code: .malformedInput, reason: "record is the JSON object sealctl stamp writes")
            }
            do { subject = .record(try StampRecord(jsonData: data)) } catch {
                throw LedgerError(code: .malformedInput, reason: "record: \(error.message)")
            }
            guard documentDigest != nil else {
                throw LedgerError(code: .malformedInput, reason: "a record is verified against a document: give documentDigest")
            }
        case (nil, let payload?):
            guard let text = payload as? String else { throw LedgerError(code: .malformedInput, reason: "payload is a string") }
            do throws(ImprintError) { subject = .payload(try TracePayload(text: text)) } catch {
                throw LedgerError(code: .malformedInput, reason: "payload: \(error.reason)")
            }
        default:
            throw LedgerError(code: .malformedInput, reason: "give exactly one of record and payload")
        }
    }
}

/// One check of a verification, as the page shows it.
struct VerificationCheck: Sendable {
    enum Outcome: String, Sendable {
        case passed, failed, skipped

        init(_ outcome: StampVerificationCheck.Outcome) {
            self = switch outcome {
            case .passed: .passed
            case .failed: .failed
            case .skipped: .skipped
            }
        }
    }

    var name: String
    var outcome: Outcome
    /// A failure that means the seal was revoked (suspended or terminated), not that the stamp is forged.
    var revokes = false
    var detail: String

    init(name: String, outcome: Outcome, revokes: Bool = false, detail: String) {
        self.name = name
        self.outcome = outcome
        self.revokes = revokes
        self.detail = detail
    }
}

/// A verification's answer: `{"valid", "status", "checks", "failedCheck", "entryIndex", "reportURL"}`.
struct VerificationOutcome: Sendable {
    var checks: [VerificationCheck]
    var entryIndex: UInt64?

    /// `valid`, `revoked` (every failure is the seal's status) or `invalid`.
    var status: String {
        let failures = checks.filter { $0.outcome == .failed }
        if failures.isEmpty { return "valid" }
        return failures.allSatisfy(\.revokes) ? "revoked" : "invalid"
    }

    var json: [String: Any] {
        var answer: [String: Any] = [
            "valid": status == "valid", "status": status,
            "checks": checks.map { ["name": $0.name, "passed": $0.outcome == .passed, "outcome": $0.outcome.rawValue, "detail": $0.detail] },
            "entryIndex": entryIndex.map { Int($0) as Any } ?? NSNull(),
            "reportURL": entryIndex.map { "/v1/reports/\($0)" as Any } ?? NSNull(),
        ]
        if let failed = checks.first(where: { $0.outcome == .failed && !$0.revokes }) ?? checks.first(where: { $0.outcome == .failed }) {
            answer["failedCheck"] = failed.name
        }
        return answer
    }
}

/// A static asset of the page: revalidated on each load, loading nothing from elsewhere, framed by nobody.
private func asset(_ body: String, type: String) -> Response {
    Response(status: .ok,
             headers: [.contentType: type, .cacheControl: "no-cache",
                       .contentSecurityPolicy: "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'"],
             body: .init(byteBuffer: ByteBuffer(string: body)))
}
