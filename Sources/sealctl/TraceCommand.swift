import ArgumentParser
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealImprint
import SealLedger

/// `sealctl trace`: follows an imprint's QR payload back to the ledger and checks it offline —
/// the checkpoint's signature under the log's key, the entry's hash, its inclusion proof, the
/// record's serial and expiration code — and, with the document, whether the imprint was copied
/// from another document or has expired (docs/imprint.md, "How trace decides").
struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace an imprint's QR payload (text or PNG image) to its ledger entry and verify it offline.",
        discussion: """
            Exit status: 0 genuine; 1 not proven by the ledger (forged or altered payload, bad proof or signature, \
            unreadable image); 3 copied: the imprint's record stamps another document (with --document); \
            4 expired; 64 usage error (malformed payload text, bad --log-key); 75 the ledger cannot be reached.
            """)
    @Argument(help: ArgumentHelp("The trace payload (the QR code's text), or a PNG image holding the QR code.", valueName: "PAYLOAD|IMAGE"))
    var input: String
    @Option(help: ArgumentHelp("Fetch from this ledger URL (a mirror) instead of the payload's.", valueName: "URL")) var ledger: String?
    @Option(help: ArgumentHelp("The document the imprint is on: checked against the record's document digest.", valueName: "DOC"))
    var document: String?
    @Option(help: ArgumentHelp("The log's verifier key (text or a file holding it), from `sealledger vkey`.", valueName: "VKEY"))
    var logKey: String
    @Option(help: ArgumentHelp("A trusted witness's cosignature key (text or a file holding it); repeat for several.", valueName: "VKEY"))
    var witness: [String] = []
    @Option(help: "How many of the --witness keys must have cosigned the checkpoint (default: all of them).") var quorum: Int?
    @Option(help: ArgumentHelp("Trace as of this time (seconds since 1970 or ISO 8601) instead of now.", valueName: "TIME")) var at: String?
    @Flag(help: "Print one JSON object (verdict, payload, index, origin, treeSize, serial, expiry, documentDigest, checks).") var json = false

    /// Exit statuses beyond sealctl's 0, 1, 64 and 75.
    static let copiedStatus: Int32 = 3, expiredStatus: Int32 = 4

    func run() async throws {
        let verifier = try loadVerifierKey(logKey)
        var now = UInt64(Date().timeIntervalSince1970)
        if let at {
            guard let time = parseTime(at) else { throw ValidationError("--at must be seconds since 1970 or ISO 8601") }
            now = time
        }
        let policy = try witnessPolicy()
        let payload = try readPayload()
        let documentDigest = try document.map { path in try documentSHA256(path) }
        let base = try ledgerBase(payload)

        let entryObject = try await fetchObject(base, "/v1/entries/\(payload.index)", notFound: "the ledger has no entry \(payload.index): not proven")
        guard entryObject["kind"] as? String == "stamp-record", let entryText = entryObject["entry"] as? String,
              let entry = Data(base64Encoded: entryText) else {
            throw CLIError("entry \(payload.index) of the ledger is not a stamp record: not proven")
        }
        let note = String(decoding: try await fetch(base, "/checkpoint"), as: UTF8.self)
        let size = note.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().first.flatMap { UInt64($0) }
        var proof: [MerkleHash] = []
        if let size, size > payload.index {
            let answer = try await fetchObject(base, "/v1/proof/inclusion?index=\(payload.index)&size=\(size)", notFound: "the ledger has no inclusion proof of entry \(payload.index) at size \(size): not proven")
            proof = (answer["hashes"] as? [String] ?? []).compactMap { Data(base64Encoded: $0).map(Array.init) }
        }
        let report = TraceVerifier.verify(payload: payload, entry: Array(entry), inclusionProof: proof, checkpointNote: note,
                                          logKey: verifier, witnesses: policy, documentDigest: documentDigest, now: now)
        var ownEntries: [Int]?
        if report.verdict == .copied, let documentDigest {
            let digest = documentDigest.map { String(format: "%02X", $0) }.joined()
            ownEntries = (try? await fetchObject(base, "/v1/lookup?documentDigest=\(digest)", notFound: ""))?["indices"] as? [Int]
        }
        output(report, ownEntries: ownEntries)
        switch report.verdict {
        case .genuine: return
        case .invalid:
            let failure = report.firstFailure
            fail("not proven by the ledger: \(failure?.id ?? "?"): \(failure?.detail ?? "")", status: 1)
        case .copied:
            let detail = report.checks.first { $0.id == "document-digest" }?.detail ?? ""
            fail("copied imprint: \(detail)", status: Self.copiedStatus)
        case .expired:
            fail("expired imprint: serial \(payload.serial) expired at \(iso(report.entry?.tbs.expiry ?? 0))", status: Self.expiredStatus)
        }
    }

    /// The witness policy of `--witness` and `--quorum`, nil without witnesses.
    private func witnessPolicy() throws -> WitnessPolicy? {
        if witness.isEmpty {
            if quorum != nil { throw ValidationError("--quorum needs --witness") }
            return nil
        }
        do throws(LedgerError) {
            let keys = try witness.map { (text: String) throws(LedgerError) -> CosignatureVerifier in
                try CosignatureVerifier(verifierKey: (try? String(contentsOfFile: text, encoding: .utf8)) ?? text)
            }
            return try WitnessPolicy(witnesses: keys, quorum: quorum ?? keys.count)
        } catch {
            throw ValidationError("--witness/--quorum: \(error.reason)")
        }
    }

    /// The payload: the argument itself when it reads as one, else the file it names — a PNG
    /// decoded with libzbar, or a text file holding the payload.
    private func readPayload() throws -> TracePayload {
        try readTracePayload(input)
    }

    private func ledgerBase(_ payload: TracePayload) throws -> String {
        let base = ledger ?? payload.ledgerURL
        guard let url = URL(string: base), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--ledger \(base) is not an http(s) URL")
        }
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    private func output(_ report: TraceReport, ownEntries: [Int]?) {
        let stamp = report.entry?.tbs
        if json {
            var object: [String: Any] = [
                "verdict": report.verdict.rawValue, "payload": report.payload.text, "index": Int(report.payload.index),
                "origin": report.payload.origin, "serial": report.payload.serial, "expirationCode": report.payload.expirationCode,
                "checks": report.checks.map { ["id": $0.id, "outcome": $0.outcome.rawValue, "detail": $0.detail] },
            ]
            if let checkpoint = report.checkpoint { object["treeSize"] = Int(checkpoint.size) }
            if let stamp {
                object["expiry"] = Int(stamp.expiry)
                object["documentDigest"] = stamp.documentDigest.map { String(format: "%02X", $0) }.joined()
                object["organizationName"] = stamp.seal.organizationName
                object["sealName"] = stamp.seal.sealName
            }
            if let ownEntries { object["documentEntries"] = ownEntries }
            printJSONLine(object)
            return
        }
        print("\(report.verdict.rawValue.uppercased()): entry \(report.payload.index) of \(report.payload.origin)"
              + (report.checkpoint.map { " (tree size \($0.size))" } ?? ""))
        if let stamp {
            print("  seal: \(stamp.seal.organizationName) / \(stamp.seal.sealName)")
            print("  serial \(stamp.serial), expiration code \(stamp.expirationCode), expires \(iso(stamp.expiry))")
        }
        for check in report.checks {
            print("  \(check.outcome.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(check.id): \(check.detail)")
        }
        if let ownEntries {
            print("  this document's own stamps in the ledger: \(ownEntries.isEmpty ? "none" : ownEntries.map(String.init).joined(separator: ", "))")
        }
    }

    private func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        Foundation.exit(status)
    }

    private func fetch(_ base: String, _ path: String) async throws -> Data {
        let (status, data) = try await get(base, path)
        guard status == 200 else { throw CLIError("the ledger answered \(status) for \(path)") }
        return data
    }

    private func fetchObject(_ base: String, _ path: String, notFound: String) async throws -> [String: Any] {
        let (status, data) = try await get(base, path)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        if status == 404 { throw CLIError(notFound) }
        guard status == 200, let object else {
            let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? String(decoding: data.prefix(200), as: UTF8.self)
            throw CLIError("the ledger answered \(status) for \(path): \(message)")
        }
        return object
    }

    private func get(_ base: String, _ path: String) async throws -> (Int, Data) {
        guard let url = URL(string: base + path) else { throw ValidationError("\(base) is not a URL") }
        do {
            let (data, response) = try await URLSession.shared.data(from: url)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw CLIError("cannot reach the ledger at \(base): \(error.localizedDescription)", status: .temporaryFailure)
        }
    }
}

/// SHA-256 of a file, read in chunks.
func documentSHA256(_ path: String) throws -> [UInt8] {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError("cannot read document \(path): no such file or not readable") }
    defer { try? handle.close() }
    var hasher = SHA256()
    while true {
        let chunk: Data?
        do { chunk = try handle.read(upToCount: 1 << 20) } catch {
            throw CLIError("cannot read document \(path): \(error.localizedDescription)")
        }
        guard let chunk, !chunk.isEmpty else { break }
        hasher.update(data: chunk)
    }
    return Array(hasher.finalize())
}

private func iso(_ seconds: UInt64) -> String {
    Date(timeIntervalSince1970: TimeInterval(seconds)).ISO8601Format()
}

/// The trace payload in `input`: the payload text itself, a file holding it, or a PNG image of the
/// QR code (decoded with zbar). Shared by `sealctl trace` and `sealctl report`.
func readTracePayload(_ input: String) throws -> TracePayload {
        if input.contains("#st=") && !FileManager.default.fileExists(atPath: input) {
            do throws(ImprintError) { return try TracePayload(text: input) } catch {
                throw ValidationError(error.reason)
            }
        }
        return try tracePayload(fileBytes: try readFile(input, what: "image or payload file"), from: input)
    }

/// The trace payload in a file's bytes (`path` names it in messages): a PNG image of the QR code
/// (decoded with zbar) or the payload text.
func tracePayload(fileBytes bytes: [UInt8], from path: String) throws -> TracePayload {
    let text: String
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
        let texts = try imprintStep { () throws(ImprintError) in try QRCode.decode(png: bytes) }
        guard let payloadText = texts.first(where: { $0.contains("#st=") }) ?? texts.first else {
            throw CLIError("\(path): no QR code")
        }
        text = payloadText
    } else {
        text = String(decoding: bytes, as: UTF8.self)
    }
    return try imprintStep { () throws(ImprintError) in try TracePayload(text: text) }
}

