import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealHostDriver
import struct SealImprint.TracePayload
import SealLedger
import SealLedgerAccess
import SealSM2Verifier
import SealSimulatedToken
import SealTraceReport
import X509

/// `sealctl report`: the traceability report of a stamp record (docs/report.md) — fetched from the
/// ledger (entry, inclusion proof, cosigned checkpoint, the seal's history and alerts), verified
/// offline here, written as one self-contained HTML page and, with `--pdf`, printed to PDF through
/// headless Chromium.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the traceability report of a stamp record (HTML, and PDF through headless Chromium).",
        discussion: """
            The record is looked up in the ledger by its hash; its entry, inclusion proof, the published \
            checkpoint and the seal's history are fetched and checked here, offline: the record's own checks \
            (StampVerifier, under --vendor-root), then the ledger's (the entry holds the record, the checkpoint's \
            signature under --log-key, the inclusion proof, the witness quorum under --witness-key/--quorum, the \
            seal image registered at personalization). Personal data (operator, biometric reference, device, \
            location) appears only as the ledger shows it to --token's role; without a token the report shows \
            the signed commitments. Exit status 0 when every check passed or was skipped, 1 when one failed \
            (the report is written all the same) or the record is not in the ledger, 64 usage error, 75 the \
            ledger cannot be reached.
            """)

    @Argument(help: "The stamp record (JSON) written by `sealctl stamp`; or the imprint's QR code: a PNG image of it, its trace payload, or a file holding the payload (the record is then read from the ledger entry it names).")
    var record: String
    @OptionGroup var ledger: LedgerURLOption
    @Option(help: ArgumentHelp("A bearer token of the ledger (text or a file holding it): its role decides the personal data shown.", valueName: "T"))
    var token: String?
    @OptionGroup(title: "Ledger trust") var trust: LedgerTrustOptions
    @Option(help: ArgumentHelp("A trusted vendor root certificate (PEM or DER); repeatable. Default: the TEST vendor root.", valueName: "FILE"))
    var vendorRoot: [String] = []
    @Option(help: ArgumentHelp("The stamped document: its SHA-256 is checked against the record's.", valueName: "FILE")) var document: String?
    @Option(help: ArgumentHelp("The registered seal image (PNG): shown when it hashes to the seal image hash the chip signs.", valueName: "PNG"))
    var sealImage: String?
    @Option(help: ArgumentHelp("Where to write the HTML page.", valueName: "FILE")) var out: String
    @Option(help: ArgumentHelp("Also print the page to this PDF file (headless Chromium; SEALKIT_CHROMIUM names the browser).", valueName: "FILE"))
    var pdf: String?
    @Flag(help: "Print one JSON object (valid, index, treeSize, out, pdf, failedChecks).") var json = false

    func run() async throws {
        // A record file, or a QR code (image or payload) naming a ledger entry: its record is read
        // from that entry (without personal data; the openings come below, as the token permits).
        var base = ledger.base
        let stampRecord: StampRecord
        if let payload = try tracePayloadArgument() {
            if ledger.ledger == LedgerURLOption.defaultLedger { base = payload.ledgerURL.hasSuffix("/") ? String(payload.ledgerURL.dropLast()) : payload.ledgerURL }
            let entryObject = try await ReportClient(base: base, bearer: nil).object("/v1/entries/\(payload.index)")
            guard entryObject["kind"] as? String == "stamp-record", let entryText = entryObject["entry"] as? String,
                  let entry = Data(base64Encoded: entryText) else {
                throw CLIError("entry \(payload.index) of the ledger at \(base) is not a stamp record")
            }
            do throws(AccessError) { stampRecord = try LeafRecord.decode(Array(entry)) } catch {
                throw CLIError("entry \(payload.index) of the ledger at \(base) does not decode as a record: \(error.reason)")
            }
        } else {
            stampRecord = try readStampRecord(record)
        }
        let ledgerTrust = try trust.trust()
        let bearer = try token.map(bearerToken)
        let roots: [Certificate]
        if vendorRoot.isEmpty {
            roots = [try Certificate(pemEncoded: TestCredentials.vendorRootCertificatePEM)]
            FileHandle.standardError.write(Data("note: checking the device certificate under the TEST vendor root of Fixtures/ (its key is public); pass --vendor-root\n".utf8))
        } else {
            roots = try VendorRoots.load(vendorRoot)
        }
        let image = try sealImage.map { try readFile($0, what: "seal image") }
        let client = ReportClient(base: base, bearer: bearer)

        // The entry: looked up by the hash of the record's leaf.
        let leaf = LedgerLeaf.stampRecordBytes(stampRecord)
        let recordHash = hexString(LedgerLeaf.recordHash(leaf))
        let indices = try await client.object("/v1/lookup?recordHash=\(recordHash)")["indices"] as? [Int] ?? []
        guard let first = indices.first, let index = UInt64(exactly: first) else { throw CLIError("\(record) is not in the ledger at \(base)") }
        let entryObject = try await client.object("/v1/entries/\(index)")
        guard let entryText = entryObject["entry"] as? String, let entry = Data(base64Encoded: entryText) else {
            throw CLIError("the ledger's entry \(index) is malformed")
        }
        let (noteStatus, noteData) = try await client.get("/checkpoint")
        guard noteStatus == 200 else { throw CLIError("the ledger answered \(noteStatus) for /checkpoint") }
        let note = String(decoding: noteData, as: UTF8.self)
        let size: UInt64
        do { size = try Checkpoint(text: SignedNote(parsing: note).text).size } catch {
            throw CLIError("the ledger's /checkpoint is not a checkpoint: \(error.reason)")
        }
        guard size > index else {
            throw CLIError("the ledger's published checkpoint (size \(size)) does not hold entry \(index) yet; retry later", status: .temporaryFailure)
        }
        let proofObject = try await client.object("/v1/proof/inclusion?index=\(index)&size=\(size)")
        let proof = (proofObject["hashes"] as? [String] ?? []).compactMap { Data(base64Encoded: $0).map(Array.init) }
        let history = TraceReportBuilder.history(json: try await client.object("/v1/chips/\(hexString(stampRecord.chipID))/history"))
        // Alerts: not every ledger has the alerts service (404), and not every role may read them.
        var alerts: [TraceReport.Alert]?
        let (alertStatus, alertData) = try await client.get("/v1/alerts?chipID=\(hexString(stampRecord.chipID))")
        if alertStatus == 200, let object = (try? JSONSerialization.jsonObject(with: alertData)) as? [String: Any] {
            alerts = TraceReportBuilder.alerts(json: object)
        }

        // Personal data as the token's role may see it, from the ledger's permissioned view.
        var shown = stampRecord.withoutPersonalData()
        var viewer = TraceReport.Viewer.publicVerifier
        if let bearer {
            let claims = Self.claims(ofToken: bearer)
            viewer = TraceReport.Viewer(role: claims["role"] as? String ?? "public", organization: claims["org"] as? String, seesPersonalData: false)
            let view = try await client.object("/v1/stamps?recordHash=\(recordHash)")
            let item = (view["entries"] as? [[String: Any]] ?? []).first { ($0["index"] as? NSNumber)?.uint64Value == index }
            if item?["personalData"] as? String == "included", let object = item?["record"],
               let data = try? JSONSerialization.data(withJSONObject: object), let opened = try? StampRecord(jsonData: data),
               LedgerLeaf.stampRecordBytes(opened) == leaf {
                shown = opened
                viewer.seesPersonalData = true
            }
        }

        let verifier = StampVerifier(trustedRoots: roots).verifyingSM2()
        let verification: StampVerificationReport
        if let document {
            do { verification = try await verifier.verify(shown, documentAt: URL(fileURLWithPath: document)) } catch {
                throw CLIError("document \(document): \(error.message)")
            }
        } else {
            verification = await verifier.verify(shown, documentDigest: shown.documentDigest)
        }
        let input = TraceReportInput(
            record: shown, viewer: viewer, entryIndex: index, entry: Array(entry), inclusionProof: proof, checkpointNote: note,
            logKey: ledgerTrust?.log, witnessPolicy: ledgerTrust?.witnesses, stampVerification: verification, history: history,
            alerts: alerts, sealImagePNG: image)
        let report = TraceReportBuilder.build(input)
        do { try Data(TraceReportHTML.render(report).utf8).write(to: URL(fileURLWithPath: out)) } catch {
            throw CLIError("cannot write \(out): \(error.localizedDescription)")
        }
        if let pdf { try await Self.printPDF(html: out, pdf: pdf) }

        let failed = report.checks.filter { $0.outcome == "failed" }.map(\.id)
        if json {
            var object: [String: Any] = ["valid": report.isValid, "index": Int(index), "treeSize": Int(size), "out": out,
                                         "failedChecks": failed, "personalData": viewer.seesPersonalData]
            if let pdf { object["pdf"] = pdf }
            printJSONLine(object)
        } else {
            print("\(report.isValid ? "VALID" : "INVALID"): report of entry \(index) (tree size \(size)) written to \(out)"
                  + (pdf.map { " and \($0)" } ?? "") + (failed.isEmpty ? "" : "; failed: \(failed.joined(separator: ", "))"))
        }
        if !report.isValid { throw ExitCode.failure }
    }

    /// The claims of a JWT, read without verifying it: only to label the report's viewer (the
    /// ledger verifies the token and decides what it shows).
    static func claims(ofToken token: String) -> [String: Any] {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return [:] }
        var text = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return [:] }
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }

    /// Prints `html` to `pdf` with headless Chromium (as root it needs --no-sandbox).
    static func printPDF(html: String, pdf: String) async throws {
        let browser = ProcessInfo.processInfo.environment["SEALKIT_CHROMIUM"] ?? "/usr/bin/chromium"
        guard FileManager.default.isExecutableFile(atPath: browser) else {
            throw CLIError("--pdf needs Chromium at \(browser) (apt-get install chromium, or set SEALKIT_CHROMIUM)")
        }
        let page = URL(fileURLWithPath: html).standardizedFileURL.absoluteString
        let output = URL(fileURLWithPath: pdf).standardizedFileURL.path
        try? FileManager.default.removeItem(atPath: output)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("sealctl-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
                             "--user-data-dir=\(profile.path)", "--print-to-pdf=\(output)", page]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: CLIError("cannot start \(browser): \(error.localizedDescription)"))
            }
        }
        let written = FileManager.default.contents(atPath: output) ?? Data()
        guard status == 0, written.starts(with: Array("%PDF-".utf8)) else {
            throw CLIError("Chromium could not print \(html) to \(pdf) (exit \(status))")
        }
    }
}

/// GETs from the ledger with an optional bearer token.
private struct ReportClient: Sendable {
    let base: String
    let bearer: String?

    func get(_ path: String) async throws -> (Int, Data) {
        guard let url = URL(string: base + path) else { throw CLIError("--ledger \(base) is not a URL", status: .usage) }
        var request = URLRequest(url: url)
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw CLIError("cannot reach the ledger at \(base): \(error.localizedDescription)", status: .temporaryFailure)
        }
    }

    func object(_ path: String) async throws -> [String: Any] {
        let (status, data) = try await get(path)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard status == 200, let object else {
            let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? String(decoding: data.prefix(200), as: UTF8.self)
            throw CLIError("the ledger answered \(status) for \(path.split(separator: "?").first ?? ""): \(message)")
        }
        return object
    }
}

extension Report {
    /// The trace payload when the argument is a QR code (a PNG, a payload, or a file holding one);
    /// nil when it is a record file (JSON).
    fileprivate func tracePayloadArgument() throws -> TracePayload? {
        guard FileManager.default.fileExists(atPath: record) else {
            // Not a file: a payload given on the command line, or a path that is not there.
            guard record.contains("#st=") else { throw CLIError("\(record): no such record file or QR code") }
            return try readTracePayload(record)
        }
        // Read once: a JSON record is left to the caller, anything else is a QR image or payload.
        let bytes = try readFile(record, what: "record or QR code")
        if bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") { return nil }
        return try tracePayload(fileBytes: bytes, from: record)
    }
}
