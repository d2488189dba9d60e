import ArgumentParser
import Foundation
import SealHostDriver
import SealLedger
import SealSM2Verifier
import SealProtocol

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify stamp records offline against their documents and trusted vendor roots.",
        discussion: """
            One record: `verify RECORD --document FILE` prints every check. Many records: give each \
            its --document in the order of the records, or --documents DIR to find each document by \
            name (contract.seal.json or contract.json → contract.txt, or a file named exactly \
            contract), or --manifest FILE with one `RECORD<TAB>DOCUMENT` per line (paths relative to \
            the manifest). Records are verified in parallel, one task per core; one line per record \
            and a summary line follow, in the order given (JSON Lines with --json). \
            A record may be given as its ledger evidence (the .tlog-proof `sealctl ledger prove` \
            writes, which carries the record): with --log-key (and --witness-key, --quorum) the \
            record must also be proven in the ledger, offline (checks ledger-inclusion and \
            ledger-witnesses). \
            Exit status 0 when every record is valid, 1 when any is not, 2 when the only failures \
            are ledger evidence lacking the witness quorum.
            """)

    @Argument(help: "Stamp records (JSON) written by `sealctl stamp`.") var records: [String] = []
    @Option(help: ArgumentHelp("The document of a record; repeat once per record, in the same order.", valueName: "FILE"))
    var document: [String] = []
    @Option(help: ArgumentHelp("A directory holding the records' documents, matched by name.", valueName: "DIR"))
    var documents: String?
    @Option(help: ArgumentHelp("A file of `RECORD<TAB>DOCUMENT` lines (# starts a comment).", valueName: "FILE"))
    var manifest: String?
    @Option(help: ArgumentHelp("A trusted vendor root certificate (PEM or DER); repeat for several.", valueName: "FILE"))
    var vendorRoot: [String] = []
    @Option(help: ArgumentHelp("A trusted RFC 3161 TSA root certificate (PEM or DER); repeat for several. A record's timestamp token then bounds when the stamp existed.", valueName: "FILE"))
    var tsaRoot: [String] = []
    @Option(help: ArgumentHelp("Watermark key (hex) to check the expiration code, as the issuer's validation service does.", valueName: "HEX"))
    var watermarkKey: String?
    @Option(help: "The highest counter already seen from this chip; each record's must be greater.") var lastCounter: UInt32?
    @Option(help: ArgumentHelp("Verify as of this time (seconds since 1970 or ISO 8601) instead of now.", valueName: "TIME"))
    var at: String?
    @Option(help: "How many records to verify at once (default: the number of cores).") var jobs: Int?
    @OptionGroup(title: "Ledger evidence") var ledgerTrust: LedgerTrustOptions
    @Flag(help: "Print JSON Lines: one object per record, then a summary object.") var json = false
    @Option(help: ArgumentHelp("Report each failed verification to this ledger (POST /v1/verification-reports, docs/alerts.md).", valueName: "URL"))
    var reportTo: String?
    @Option(help: ArgumentHelp("The bearer token the reports are sent with (without one they are rate-limited and marked anonymous).", valueName: "TOKEN"))
    var reportToken: String?

    func validate() throws {
        if vendorRoot.isEmpty { throw ValidationError("give at least one --vendor-root (the vendor CA that certifies the chips)") }
        if records.isEmpty && manifest == nil { throw ValidationError("give a stamp record (or several), or --manifest FILE") }
        if !document.isEmpty && documents != nil { throw ValidationError("give --document per record or --documents DIR, not both") }
        if records.isEmpty && (!document.isEmpty || documents != nil) {
            throw ValidationError("--document and --documents name the documents of record arguments; a manifest names its own")
        }
        if !records.isEmpty && document.isEmpty && documents == nil {
            throw ValidationError("each record needs its document: --document FILE (once per record), --documents DIR or --manifest FILE")
        }
        if !document.isEmpty && document.count != records.count {
            throw ValidationError("\(records.count) record(s) but \(document.count) --document: give one --document per record, in order")
        }
        if let at, parseTime(at) == nil { throw ValidationError("--at must be seconds since 1970 or ISO 8601, got \(at)") }
        if let watermarkKey, bytesFromHex(watermarkKey)?.count != 32 { throw ValidationError("--watermark-key must be 32 bytes of hex") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be 1 or more") }
    }

    /// A record and the document it claims to stamp (or why there is none).
    struct Entry: Sendable {
        let record: String
        let document: Result<String, CLIError>
    }

    /// One record's outcome, one line of `--json` output.
    struct Outcome: Encodable, Sendable {
        struct Check: Encodable, Sendable { let id: String; let outcome: String; let detail: String }
        let record: String
        let document: String?
        let valid: Bool
        let chipID: String?
        let counter: UInt32?
        let serial: String?
        let checks: [Check]?
        let error: String?
        /// What the record shows about the seal (signed in the TBS) and its metadata in clear.
        var shown: [String: String]? = nil
        /// The opened personal fields, checked against their signed commitments.
        var personalData: [String: String]? = nil
        /// The trusted time bound of the record's RFC 3161 token (seconds since 1970): the stamp
        /// existed before it. Absent without a token or a TSA root that trusts it.
        var existedBefore: UInt64? = nil
        /// With ledger evidence: the entry's index and the checkpoint's tree size and cosigners.
        var ledger: LedgerProof? = nil

        struct LedgerProof: Encodable, Sendable {
            let index: UInt64
            let treeSize: UInt64?
            let cosigners: [String]?
        }

        /// Invalid only because ledger evidence lacks the witness quorum (exit status 2).
        var failsOnlyWitnessQuorum: Bool {
            let failed = checks?.filter { $0.outcome == StampVerificationCheck.Outcome.failed.rawValue }.map(\.id) ?? []
            return !valid && error == nil && failed == [LedgerCheck.witnesses]
        }

        var firstFailure: String {
            error ?? checks?.first { $0.outcome == StampVerificationCheck.Outcome.failed.rawValue }.map { "\($0.id): \($0.detail)" } ?? ""
        }
    }

    struct Summary: Encodable {
        let records: Int
        let valid: Int
        let invalid: Int
        let parallel: Int
        let seconds: Double
        let testRootWarning: String?
    }

    func run() async throws {
        let entries = try collectEntries()
        let roots = try VendorRoots.load(vendorRoot)
        // SM2 seals (SPEC §7 tag 4E) verify through the SM2 hook; P-256 is built in.
        var verifier = StampVerifier(trustedRoots: roots).verifyingSM2()
        for path in tsaRoot {
            do {
                try verifier.trustTimestampAuthorities(try readFile(path, what: "TSA root"))
            } catch let error as SealDriverError {
                throw CLIError("--tsa-root \(path): \(error.message)")
            }
        }
        let timestampVerifier = verifier
        var options = StampVerificationOptions()
        if let seconds = at.flatMap(parseTime) { options.now = Date(timeIntervalSince1970: TimeInterval(seconds)) }
        options.watermarkKey = watermarkKey.flatMap(bytesFromHex)
        options.lastSeenCounter = lastCounter
        let verificationOptions = options
        let ledger = try ledgerTrust.trust()
        let warning = VendorRoots.testRootWarning(roots)
        let width = min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, max(entries.count, 1))
        let detailed = entries.count == 1 && !json
        let started = ContinuousClock.now

        var valid = 0
        var quorumOnly = 0
        var failed: [Outcome] = []
        try await Self.verifyAll(entries, width: width, verify: { entry in
            await Self.verify(entry, verifier: timestampVerifier, options: verificationOptions, ledger: ledger)
        }, emit: { outcome in
            if outcome.valid { valid += 1 } else if reportTo != nil { failed.append(outcome) }
            if outcome.failsOnlyWitnessQuorum { quorumOnly += 1 }
            if json {
                try printJSONLine(outcome)
            } else if detailed {
                printDetailed(outcome, warning: warning)
            } else {
                print(outcome.valid
                      ? "VALID    \(outcome.record): stamp #\(outcome.counter ?? 0) \(outcome.serial ?? "") by chip \(outcome.chipID ?? "")"
                      : "INVALID  \(outcome.record): \(outcome.firstFailure)")
            }
        })

        if let reportTo {
            let reporter = VerificationReporter(base: reportTo.hasSuffix("/") ? String(reportTo.dropLast()) : reportTo, token: reportToken)
            for outcome in failed {
                let check = outcome.checks?.first { $0.outcome == StampVerificationCheck.Outcome.failed.rawValue }
                let line = await reporter.report(record: outcome.record, document: outcome.document, failedCheck: check?.id ?? "unreadable",
                                                 detail: check?.detail ?? outcome.error ?? "")
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let summary = Summary(records: entries.count, valid: valid, invalid: entries.count - valid, parallel: width,
                              seconds: (seconds * 1000).rounded() / 1000, testRootWarning: warning)
        if json {
            struct SummaryLine: Encodable { let summary: Summary }
            try printJSONLine(SummaryLine(summary: summary))
        } else if !detailed {
            if let warning { print("note: \(warning)") }
            print("\(summary.records) record\(summary.records == 1 ? "" : "s"): \(summary.valid) valid, \(summary.invalid) invalid "
                  + "(\(String(format: "%.3f", summary.seconds)) s, \(width) at a time)")
        }
        if summary.invalid > 0 { throw ExitCode(summary.invalid == quorumOnly ? EvidenceVerdict.quorumNotMetStatus : 1) }
    }

    private func printDetailed(_ outcome: Outcome, warning: String?) {
        for check in outcome.checks ?? [] {
            let mark = AttestationCheckResult.Outcome(rawValue: check.outcome)?.mark ?? check.outcome
            print("\(mark) \(check.id): \(check.detail)")
        }
        for (name, value) in (outcome.shown ?? [:]).sorted(by: { $0.key < $1.key }) {
            print("  \(name): \(value)")
        }
        for (name, value) in (outcome.personalData ?? [:]).sorted(by: { $0.key < $1.key }) {
            print("  personal \(name): \(value)")
        }
        if let bound = outcome.existedBefore {
            print("  existed before: \(bound) (\(Date(timeIntervalSince1970: TimeInterval(bound)).ISO8601Format()), RFC 3161 timestamp)")
        }
        if let warning { print("note: \(warning)") }
        if outcome.valid {
            print("VALID: stamp #\(outcome.counter ?? 0) (\(outcome.serial ?? "")) by chip \(outcome.chipID ?? "")")
        } else {
            print("INVALID: \(outcome.firstFailure)")
        }
    }

    /// Verifies `entries` with at most `width` at a time and hands each outcome to `emit` in the
    /// order of `entries`, as soon as it and all before it are done.
    static func verifyAll(_ entries: [Entry], width: Int, verify: @escaping @Sendable (Entry) async -> Outcome,
                          emit: (Outcome) throws -> Void) async throws {
        try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
            var next = 0
            func startNext() {
                guard next < entries.count else { return }
                let index = next, entry = entries[index]
                group.addTask { (index, await verify(entry)) }
                next += 1
            }
            for _ in 0..<width { startNext() }
            var finished: [Int: Outcome] = [:]
            var emitted = 0
            while let (index, outcome) = try await group.next() {
                finished[index] = outcome
                while let ready = finished.removeValue(forKey: emitted) {
                    try emit(ready)
                    emitted += 1
                }
                startNext()
            }
        }
    }

    /// Verifies one record against its document; unreadable input is an invalid outcome, not a
    /// failure of the whole run.
    static func verify(_ entry: Entry, verifier: StampVerifier, options: StampVerificationOptions,
                       ledger: LedgerTrust? = nil) async -> Outcome {
        func failure(_ message: String, document: String?) -> Outcome {
            Outcome(record: entry.record, document: document, valid: false, chipID: nil, counter: nil, serial: nil,
                    checks: nil, error: message)
        }
        let document: String
        switch entry.document {
        case .success(let path): document = path
        case .failure(let error): return failure(error.message, document: nil)
        }
        let record: StampRecord
        var evidence: LedgerEvidence?
        do {
            let bytes = try readFile(entry.record, what: "record")
            if LedgerEvidence.isEvidence(bytes) {
                let parsed = try LedgerEvidence.parse(bytes, path: entry.record)
                guard let carried = parsed.record else {
                    return failure("\(entry.record): the evidence carries no stamp record", document: document)
                }
                evidence = parsed
                record = carried
            } else {
                record = try StampRecord(jsonData: Data(bytes))
            }
        } catch let error as CLIError {
            return failure(error.message, document: document)
        } catch let error as SealDriverError {
            return failure("\(entry.record): \(error.message)", document: document)
        } catch {
            return failure("\(entry.record): \(error)", document: document)
        }
        let report: StampVerificationReport
        do {
            // Streamed: each document is hashed in constant memory, whatever its size.
            report = try await verifier.verify(record, documentAt: URL(fileURLWithPath: document), options: options)
        } catch {
            return failure("document \(document): \(error.message)", document: document)
        }
        var checks = report.checks.map { Outcome.Check(id: $0.id.rawValue, outcome: $0.outcome.rawValue, detail: $0.detail) }
        let ledgerChecks = LedgerCheck.run(evidence: evidence, record: record, trust: ledger)
        checks += ledgerChecks.checks
        var outcome = Outcome(
            record: entry.record, document: document,
            valid: report.isValid && !ledgerChecks.checks.contains { $0.outcome == StampVerificationCheck.Outcome.failed.rawValue },
            chipID: hexString(record.chipID), counter: record.counter, serial: record.serial, checks: checks, error: nil)
        outcome.ledger = ledgerChecks.proof
        outcome.shown = shownFields(record)
        outcome.personalData = personalFields(record.metadata)
        outcome.existedBefore = report.timestampBound.map { UInt64(max(0, $0.timeIntervalSince1970)) }
        return outcome
    }

    /// The seal identity and clear metadata a record shows (all signed).
    static func shownFields(_ record: StampRecord) -> [String: String] {
        var shown = ["organization": record.organizationName, "seal name": record.sealName,
                     "feature hash": hexString(record.featureHash), "stamp time": "\(record.metadata.time)"]
        if let image = record.sealImageHash { shown["seal image hash"] = hexString(image) }
        if let name = record.metadata.documentName { shown["document name"] = name }
        if let unit = record.metadata.organizationUnit { shown["organization unit"] = unit }
        if let node = record.metadata.approvalNode { shown["approval node"] = node }
        return shown
    }

    /// The personal fields a record opens, and the committed ones it withholds.
    static func personalFields(_ metadata: StampMetadata) -> [String: String] {
        var fields: [String: String] = [:]
        if let lat = metadata.latitudeMicrodegrees, let lon = metadata.longitudeMicrodegrees {
            fields["location"] = String(format: "%.6f, %.6f", Double(lat) / 1_000_000, Double(lon) / 1_000_000)
        }
        if let id = metadata.operatorID { fields["operator ID"] = id }
        if let reference = metadata.operatorBiometricReference { fields["operator biometric reference"] = hexString(reference) }
        if let fingerprint = metadata.deviceFingerprint {
            fields["device fingerprint"] = String(validating: fingerprint, as: UTF8.self) ?? hexString(fingerprint)
        }
        for field in metadata.withheldCommitments.keys where !metadata.holdsPlaintext(field) {
            fields[field.rawValue] = "withheld (commitment only)"
        }
        return fields
    }

    // MARK: Pairing records with documents

    func collectEntries() throws -> [Entry] {
        var entries: [Entry] = []
        if !document.isEmpty {
            entries = zip(records, document).map { Entry(record: $0, document: .success($1)) }
        } else if let documents {
            let directory = URL(fileURLWithPath: documents, isDirectory: true)
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            } catch {
                throw CLIError("cannot list --documents \(documents): \(error.localizedDescription)")
            }
            entries = records.map { Entry(record: $0, document: Self.match(record: $0, in: directory, names: names)) }
        }
        if let manifest { entries += try Self.readManifest(manifest) }
        return entries
    }

    /// The document of `record` in `directory`: the record's name without `.seal.json` (or
    /// `.json`), either as a file name itself or as a file name without its last extension.
    static func match(record: String, in directory: URL, names: [String]) -> Result<String, CLIError> {
        let recordName = URL(fileURLWithPath: record).lastPathComponent
        let stem = recordName.hasSuffix(".seal.json") ? String(recordName.dropLast(".seal.json".count))
            : recordName.hasSuffix(".tlog-proof") ? String(recordName.dropLast(".tlog-proof".count))
            : recordName.hasSuffix(".json") ? String(recordName.dropLast(".json".count)) : recordName
        let recordPath = URL(fileURLWithPath: record).standardizedFileURL.path
        func isFile(_ name: String) -> Bool {
            var isDirectory: ObjCBool = false
            let path = directory.appendingPathComponent(name).path
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && URL(fileURLWithPath: path).standardizedFileURL.path != recordPath
        }
        if names.contains(stem) && isFile(stem) { return .success(directory.appendingPathComponent(stem).path) }
        let candidates = names.filter { name in
            guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
            return name[..<dot] == stem && isFile(name)
        }
        switch candidates.count {
        case 1: return .success(directory.appendingPathComponent(candidates[0]).path)
        case 0: return .failure(CLIError("no document named \(stem) or \(stem).* in \(directory.path)"))
        default: return .failure(CLIError("several documents match \(recordName) in \(directory.path): \(candidates.joined(separator: ", "))"))
        }
    }

    /// `RECORD<TAB>DOCUMENT` lines (or two whitespace-separated paths without spaces); blank lines
    /// and lines starting with `#` are skipped; relative paths are relative to the manifest.
    static func readManifest(_ path: String) throws -> [Entry] {
        let text = String(decoding: try readFile(path, what: "manifest"), as: UTF8.self)
        // Relative to the manifest's directory, spelled as the user spelled the manifest's path.
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        func resolve(_ name: Substring) -> String {
            let trimmed = String(name.trimmingCharacters(in: .whitespaces))
            if trimmed.hasPrefix("/") || !path.contains("/") { return trimmed }
            return (directory.isEmpty ? "/" : directory + "/") + trimmed
        }
        var entries: [Entry] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            let fields = line.contains("\t")
                ? line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                : line.split(whereSeparator: { $0 == " " })
            guard fields.count == 2, fields.allSatisfy({ !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
                throw CLIError("\(path) line \(number + 1): expected RECORD<TAB>DOCUMENT")
            }
            entries.append(Entry(record: resolve(fields[0]), document: .success(resolve(fields[1]))))
        }
        if entries.isEmpty { throw CLIError("\(path) lists no records") }
        return entries
    }
}

/// The ledger checks `sealctl verify` adds to a record's own: `ledger-inclusion` (the log's
/// signature on the checkpoint and the record's inclusion proof) and `ledger-witnesses` (the
/// quorum of trusted witnesses' cosignatures), both offline.
enum LedgerCheck {
    static let inclusion = "ledger-inclusion"
    static let witnesses = "ledger-witnesses"

    static func run(evidence: LedgerEvidence?, record: StampRecord, trust: LedgerTrust?)
        -> (checks: [Verify.Outcome.Check], proof: Verify.Outcome.LedgerProof?) {
        typealias Check = Verify.Outcome.Check
        let passed = StampVerificationCheck.Outcome.passed.rawValue, failed = StampVerificationCheck.Outcome.failed.rawValue
        let skipped = StampVerificationCheck.Outcome.skipped.rawValue
        switch (evidence, trust) {
        case (nil, nil):
            return ([], nil)
        case (nil, .some):
            return ([Check(id: inclusion, outcome: failed, detail: "no ledger evidence: give the .tlog-proof that `sealctl ledger prove` wrote")], nil)
        case (let evidence?, nil):
            return ([Check(id: inclusion, outcome: skipped, detail: "not checked: give --log-key")],
                    .init(index: evidence.proof.index, treeSize: nil, cosigners: nil))
        case (let evidence?, let trust?):
            let index = evidence.proof.index
            switch trust.check(evidence.proof, entry: LedgerLeaf.stampRecordBytes(record)) {
            case .valid(let checkpoint, let cosigners):
                var checks = [Check(id: inclusion, outcome: passed, detail: "entry \(index) of \(checkpoint.origin) at size \(checkpoint.size)")]
                if trust.witnesses != nil {
                    checks.append(Check(id: witnesses, outcome: passed, detail: "cosigned by \(cosigners.joined(separator: ", "))"))
                }
                return (checks, .init(index: index, treeSize: checkpoint.size, cosigners: cosigners))
            case .invalid(let why):
                return ([Check(id: inclusion, outcome: failed, detail: why)], .init(index: index, treeSize: nil, cosigners: nil))
            case .quorumNotMet(let why):
                return ([Check(id: inclusion, outcome: passed, detail: "entry \(index) of the log-signed checkpoint"),
                         Check(id: witnesses, outcome: failed, detail: "quorum not met: \(why)")],
                        .init(index: index, treeSize: nil, cosigners: nil))
            }
        }
    }
}
