import Foundation
import Hummingbird
import NIOCore
import SealHostDriver
import SealLedger

/// The lifecycle, audit-push and chip routes (docs/ledger.md, "Lifecycle events" and "Audit-log
/// pushes"): `POST /v1/events`, `POST /v1/audit`, `GET /v1/chips/<chipID>/history` and
/// `GET /v1/chips/<chipID>/gaps`. Refusals are 4xx JSON errors, like the rest of `/v1`, and change
/// nothing unless they say they wrote evidence.
extension LedgerServer {
    func addLifecycleRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/events") { request, _ in
            let object: [String: Any]
            switch await jsonObjectBody(request) {
            case .object(let value): object = value
            case .refused(let response): return response
            }
            guard let text = object["event"] as? String, let data = Data(base64Encoded: text), object.count == 1 else {
                return failure(.badRequest, "malformed-event", "the body is {\"event\": \"<base64 of the signed event>\"}")
            }
            let event: SignedLifecycleEvent
            do throws(LedgerError) { event = try SignedLifecycleEvent(bytes: Array(data)) } catch {
                return failure(.badRequest, "malformed-event", error.reason)
            }
            switch ledger.submit(event: event) {
            case .added(let index): return json(["status": "added", "index": Int(index), "treeSize": Int(ledger.size)])
            case .duplicate(let index): return json(["status": "duplicate", "index": Int(index), "treeSize": Int(ledger.size)])
            case .refused(let error): return failure(error)
            }
        }
        router.post("/v1/audit") { request, _ in
            let object: [String: Any]
            switch await jsonObjectBody(request) {
            case .object(let value): object = value
            case .refused(let response): return response
            }
            let push: AuditPush
            do { push = try Self.auditPush(object) } catch {
                return failure(.badRequest, "malformed-audit", (error as? LedgerError)?.reason ?? "\(error)")
            }
            do throws(LedgerError) {
                let outcome = try ledger.submit(audit: push)
                let unreported = outcome.unreported.map { ["counter": Int($0.counter), "evidenceIndex": Int($0.evidenceIndex)] }
                if let evidence = outcome.tamperEvidenceIndex {
                    return failure(.unprocessableContent, "recordRefused", outcome.tamperReason ?? "the audit chain does not verify",
                                   failedCheck: "audit-chain", extra: ["evidenceIndex": Int(evidence)])
                }
                return json(["status": outcome.duplicate ? "duplicate" : "added", "index": Int(outcome.index ?? 0),
                             "unreported": unreported, "treeSize": Int(ledger.size)])
            } catch {
                return failure(error)
            }
        }
        router.get("/v1/chips/:chipID/history") { _, context in
            guard let chipID = context.parameters.get("chipID").flatMap({ bytesFromHex($0) }), chipID.count == 16 else {
                return failure(.badRequest, "malformed-input", "the chip ID is 32 hex digits")
            }
            do throws(LedgerError) {
                let entries = try ledger.history(chipID: chipID)
                var views: [[String: Any]] = []
                var lifecycle: String?
                var suspended = false
                for entry in entries {
                    var view: [String: Any] = ["index": Int(entry.index), "kind": entry.kind.name, "recordHash": hex(entry.recordHash)]
                    if let counter = entry.counter { view["counter"] = Int(counter) }
                    switch entry.kind {
                    case .stampRecord:
                        if let serial = entry.serial { view["serial"] = serial }
                        if suspended { view["flag"] = "chip-suspended" }
                    case .lifecycleEvent:
                        if let event = try? SignedLifecycleEvent(bytes: entry.bytes).event {
                            view.merge(Self.describe(event)) { a, _ in a }
                            lifecycle = event.kind.description
                            switch event.kind {
                            case .suspended: suspended = true
                            case .activated, .resumed, .terminated: suspended = false
                            case .manufactured, .personalized: break
                            }
                        }
                    case .auditLog:
                        if let push = try? AuditPush(bytes: entry.bytes), let first = push.entries.first, let last = push.entries.last {
                            view["firstCounter"] = Int(first.counter)
                            view["lastCounter"] = Int(last.counter)
                            view["headHash"] = hex(push.headHash)
                        }
                    default: break
                    }
                    views.append(view)
                }
                var answer: [String: Any] = ["chipID": hex(chipID), "entries": views]
                if let lifecycle { answer["lifecycle"] = lifecycle }
                if let suspect = try ledger.suspectEvidence(chipID: chipID) { answer["suspectEvidenceIndex"] = Int(suspect) }
                return json(answer)
            } catch {
                return failure(error)
            }
        }
        router.get("/v1/chips/:chipID/gaps") { _, context in
            guard let chipID = context.parameters.get("chipID").flatMap({ bytesFromHex($0) }), chipID.count == 16 else {
                return failure(.badRequest, "malformed-input", "the chip ID is 32 hex digits")
            }
            do throws(LedgerError) {
                let gaps = try ledger.counterGaps(chipID: chipID)
                return json([
                    "chipID": hex(chipID), "highestCounter": Int(gaps.highestCounter), "recorded": gaps.recorded,
                    "gaps": gaps.gaps.map { ["first": Int($0.lowerBound), "last": Int($0.upperBound)] },
                    "unreported": gaps.unreported.map { ["counter": Int($0.counter), "evidenceIndex": Int($0.evidenceIndex)] },
                ])
            } catch {
                return failure(error)
            }
        }
    }

    /// A request body read as a JSON object, or the answer that refuses it.
    enum JSONBody {
        case object([String: Any])
        case refused(Response)
    }

    /// The request's body as one JSON object, after the checks every `/v1` POST makes: the content
    /// type (415), the size (413) and the JSON itself (400).
    private func jsonObjectBody(_ request: Request) async -> JSONBody {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/json" else {
            return .refused(failure(.unsupportedMediaType, "unsupported-media-type", "send Content-Type: application/json"))
        }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: maxBody) } catch {
            return .refused(failure(.contentTooLarge, "body-too-large", "the body exceeds \(maxBody) bytes"))
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] else {
            return .refused(failure(.badRequest, "malformed-input", "the body is not a JSON object"))
        }
        return .object(object)
    }

    /// `{"chipID": HEX, "headHash": HEX, "entries": [base64 of each READ AUDIT LOG answer, oldest first]}`.
    static func auditPush(_ object: [String: Any]) throws -> AuditPush {
        guard let chipText = object["chipID"] as? String, let chipID = bytesFromHex(chipText),
              let headText = object["headHash"] as? String, let head = bytesFromHex(headText),
              let texts = object["entries"] as? [String], object.count == 3 else {
            throw LedgerError(code: .malformedInput, reason: "the body is {\"chipID\": HEX, \"headHash\": HEX, \"entries\": [base64…]}")
        }
        var entries: [AuditEntry] = []
        for (position, text) in texts.enumerated() {
            guard let data = Data(base64Encoded: text) else {
                throw LedgerError(code: .malformedInput, reason: "entry \(position) is not base64")
            }
            do { entries.append(try AuditEntry(decoding: Array(data))) } catch {
                throw LedgerError(code: .malformedInput, reason: "entry \(position): \(error)")
            }
        }
        return try AuditPush(chipID: chipID, headHash: head, entries: entries)
    }

    /// The JSON view of an event's fields.
    static func describe(_ event: LifecycleEvent) -> [String: Any] {
        var view: [String: Any] = ["event": event.kind.description, "time": Int(event.time)]
        if let seal = event.seal {
            view["organizationName"] = seal.organizationName
            view["sealName"] = seal.sealName
            view["featureHash"] = hex(seal.featureHash)
            if let image = seal.sealImageHash { view["sealImageHash"] = hex(image) }
        }
        if let finalCounter = event.finalCounter { view["finalCounter"] = Int(finalCounter) }
        return view
    }
}
