import ArgumentParser
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealHostDriver
import SealLedger
import SealProtocol

/// `sealctl ledger event`: sign a seal lifecycle event with the issuer key and submit it.
struct LedgerEvent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Sign a seal lifecycle event as the issuer and submit it to the ledger (docs/ledger.md, \"Lifecycle events\").",
        discussion: """
            KIND is manufactured, personalized (needs --organization, --seal-name and --feature-hash, \
            and --image-hash when the seal has an image), activated, suspended, resumed or terminated \
            (needs --final-counter). Exit status 0 when the event is in the log (added or already there), \
            1 when the ledger refused it.
            """)
    @Argument(help: "The event: manufactured, personalized, activated, suspended, resumed or terminated.") var kind: String
    @Option(help: ArgumentHelp("The chip ID, 32 hex digits.", valueName: "HEX")) var chip: String
    @Option(help: ArgumentHelp("The issuer's P-256 private key (PEM).", valueName: "PEM")) var issuerKey: String
    @Option(help: "When it happened, seconds since 1970 (default: now).") var time: UInt64?
    @Option(help: "For terminated: the chip's counter when it was terminated.") var finalCounter: UInt32?
    @Option(help: "For personalized: the organization name the chip signs.") var organization: String?
    @Option(help: "For personalized: the seal name the chip signs.") var sealName: String?
    @Option(help: ArgumentHelp("For personalized: SHA-256 of the seal's physical features, 64 hex digits.", valueName: "HEX"))
    var featureHash: String?
    @Option(help: ArgumentHelp("For personalized: SHA-256 of the seal's registered image, 64 hex digits.", valueName: "HEX"))
    var imageHash: String?
    @OptionGroup var ledger: LedgerURLOption
    @Flag(help: "Print one JSON object (status, index).") var json = false

    func run() async throws {
        guard let kind = LifecycleEvent.Kind(name: self.kind) else {
            throw CLIError("unknown event \(self.kind): give one of \(LifecycleEvent.Kind.allCases.map(\.description).joined(separator: ", "))",
                           status: .usage)
        }
        guard let chipID = bytesFromHex(chip), chipID.count == 16 else { throw CLIError("--chip takes 32 hex digits", status: .usage) }
        var seal: SealIdentity?
        if kind == .personalized {
            guard let organization, let sealName, let featureHash, let feature = bytesFromHex(featureHash), feature.count == 32 else {
                throw CLIError("personalized needs --organization, --seal-name and --feature-hash (64 hex digits)", status: .usage)
            }
            var image: [UInt8]?
            if let imageHash {
                guard let bytes = bytesFromHex(imageHash), bytes.count == 32 else { throw CLIError("--image-hash takes 64 hex digits", status: .usage) }
                image = bytes
            }
            seal = SealIdentity(organizationName: organization, sealName: sealName, featureHash: feature, sealImageHash: image)
        }
        let signed: SignedLifecycleEvent
        do {
            let event = try LifecycleEvent(kind: kind, chipID: chipID, time: time ?? UInt64(Date().timeIntervalSince1970),
                                           seal: seal, finalCounter: kind == .terminated ? finalCounter : nil)
            signed = try SignedLifecycleEvent(signing: event, with: try loadIssuerKey(issuerKey))
        } catch let error as LedgerError {
            throw CLIError(error.reason, status: .usage)
        }
        let answer = try await submitLifecycleEvent(signed, ledgerURL: ledger.base)
        if json { printJSONLine(answer) } else { print("\(kind) event for chip \(hexString(chipID)): \(answer["status"] ?? "?") at index \(answer["index"] ?? "?")") }
    }
}

/// Posts a signed event to `/v1/events`; returns the ledger's answer.
func submitLifecycleEvent(_ event: SignedLifecycleEvent, ledgerURL: String) async throws -> [String: Any] {
    let body = try JSONSerialization.data(withJSONObject: ["event": Data(event.bytes).base64EncodedString()])
    return try await postLedgerJSON(ledgerURL, "/v1/events", body: body)
}

/// The issuer's private key from a PEM file.
func loadIssuerKey(_ path: String) throws -> P256.Signing.PrivateKey {
    let pem = String(decoding: try readFile(path, what: "issuer key"), as: UTF8.self)
    do { return try P256.Signing.PrivateKey(pemRepresentation: pem) } catch {
        throw CLIError("\(path) holds no P-256 private key in PEM form")
    }
}

/// `sealctl ledger history`: everything the ledger holds about one chip.
struct LedgerHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show a seal's history in the ledger: its lifecycle events, records, audit pushes, evidence and counter gaps.")
    @Argument(help: "The chip ID, 32 hex digits.") var chip: String
    @OptionGroup var ledger: LedgerURLOption
    @Flag(help: "Print one JSON object: the history and the gaps as the ledger answers them.") var json = false

    func run() async throws {
        guard let chipID = bytesFromHex(chip), chipID.count == 16 else { throw CLIError("the chip ID is 32 hex digits", status: .usage) }
        let id = hexString(chipID)
        let history = try await ledger.object("/v1/chips/\(id)/history")
        let gaps = try await ledger.object("/v1/chips/\(id)/gaps")
        if json {
            printJSONLine(["history": history, "gaps": gaps])
            return
        }
        let entries = history["entries"] as? [[String: Any]] ?? []
        print("chip \(id): \(entries.count) entries, lifecycle \(history["lifecycle"] ?? "unknown")")
        if let suspect = history["suspectEvidenceIndex"] { print("SUSPECT: evidence at index \(suspect)") }
        for entry in entries {
            let index = entry["index"] ?? "?", kind = entry["kind"] as? String ?? "?"
            var detail = ""
            switch kind {
            case "lifecycle-event":
                detail = "\(entry["event"] ?? "?")"
                if let counter = entry["finalCounter"] { detail += ", final counter \(counter)" }
                if let organization = entry["organizationName"], let name = entry["sealName"] { detail += ", \(organization) / \(name)" }
            case "stamp-record":
                detail = "counter \(entry["counter"] ?? "?") \(entry["serial"] ?? "")"
                if let flag = entry["flag"] { detail += " [\(flag)]" }
            case "audit-log":
                detail = "counters \(entry["firstCounter"] ?? "?")...\(entry["lastCounter"] ?? "?")"
            default:
                if let counter = entry["counter"] { detail = "counter \(counter)" }
            }
            print("#\(index)  \(kind)  \(detail)")
        }
        let runs = (gaps["gaps"] as? [[String: Any]] ?? []).map { "\($0["first"] ?? "?")...\($0["last"] ?? "?")" }
        print("counters 1...\(gaps["highestCounter"] ?? 0): \(gaps["recorded"] ?? 0) recorded; gaps: \(runs.isEmpty ? "none" : runs.joined(separator: ", "))")
        let unreported = (gaps["unreported"] as? [[String: Any]] ?? []).map { "\($0["counter"] ?? "?")" }
        if !unreported.isEmpty { print("unreported stamps (in the chip's audit log, no record): \(unreported.joined(separator: ", "))") }
    }
}

/// Pushes audit entries read from a token to a ledger's `/v1/audit`; returns the answer, or throws
/// the ledger's refusal (tamper evidence included) as a failure.
func pushAuditLog(chipID: [UInt8], status: AuditStatus, entries: [AuditEntry], ledgerURL: String) async throws -> [String: Any] {
    let body = try JSONSerialization.data(withJSONObject: [
        "chipID": hexString(chipID), "headHash": hexString(status.headHash),
        "entries": entries.map { Data($0.encoded()).base64EncodedString() },
    ])
    return try await postLedgerJSON(ledgerURL, "/v1/audit", body: body)
}

/// POSTs a JSON body to `path` under the ledger's base URL; returns the JSON object of a 200
/// answer, or fails with the ledger's message (and the evidence index, when it wrote evidence).
func postLedgerJSON(_ ledgerURL: String, _ path: String, body: Data) async throws -> [String: Any] {
    let base = ledgerURL.hasSuffix("/") ? String(ledgerURL.dropLast()) : ledgerURL
    guard let url = URL(string: base + path) else { throw CLIError("\(ledgerURL) is not a URL", status: .usage) }
    var request = URLRequest(url: url)
    request.httpMethod = "POST"
    request.httpBody = body
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    let data: Data, response: URLResponse
    do { (data, response) = try await URLSession.shared.data(for: request) } catch {
        throw CLIError("cannot reach the ledger at \(base): \(error.localizedDescription)", status: .temporaryFailure)
    }
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    guard status == 200, let object else {
        let error = object?["error"] as? [String: Any]
        let message = (error?["message"] as? String) ?? String(decoding: data.prefix(200), as: UTF8.self)
        let check = (error?["failedCheck"] as? String).map { " [\($0)]" } ?? ""
        let evidence = object?["evidenceIndex"].map { " (evidence at index \($0))" } ?? ""
        throw CLIError("the ledger answered \(status): \(message)\(check)\(evidence)")
    }
    return object
}
