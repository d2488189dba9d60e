import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealTestSupport
import Testing

/// A throw-away SEALKIT_HOME and working folder for the built executables.
final class ReportSandbox: Sendable {
    let directory: URL
    let environment: [String: String]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        environment = ["SEALKIT_HOME": directory.appendingPathComponent("home").path]
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs a built executable (`sealctl`, `sealsim`, `sealledger`) to completion.
    func run(_ executable: String, _ arguments: [String]) async throws -> Finished {
        try await runProgram(Built.url(executable), arguments, environment: environment)
    }
}

/// A `sealledger serve` or `sealledger witness serve` on a free loopback port.
final class ServedProcess: Sendable {
    let process = Process()
    let base: String

    init(_ arguments: [String], sandbox: ReportSandbox) async throws {
        let log = URL(fileURLWithPath: sandbox.path("serve-\(UUID().uuidString).out"))
        try Data().write(to: log)
        process.executableURL = Built.sealledger
        process.arguments = arguments + ["--listen", "127.0.0.1:0"]
        process.environment = ProcessInfo.processInfo.environment.merging(sandbox.environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = FileHandle.nullDevice
        try process.run()
        var found: String?
        for _ in 0..<1200 where found == nil && process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            found = text.split(separator: "\n").first { $0.hasPrefix("listening on ") }.map { String($0.dropFirst("listening on ".count)) }
            if found == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let found else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "sealledger \(arguments) did not start"])
        }
        base = found
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    func get(_ path: String, token: String? = nil, method: String = "GET", body: Data? = nil) async throws -> (status: Int, headers: [String: String], body: Data) {
        var request = URLRequest(url: try #require(URL(string: base + path)))
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http?.allHeaderFields ?? [:] { headers["\(key)".lowercased()] = "\(value)" }
        return (http?.statusCode ?? 0, headers, data)
    }
}

/// The samples of a Prometheus text exposition: `name{labels}` → value.
func prometheusSamples(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        samples[String(line[..<space])] = value
    }
    return samples
}

@Suite("sealctl report, GET /v1/reports and /metrics against a real sealledger (docs/report.md)", .serialized)
struct ReportEndToEndTests {
    static let organization = "上海市浦东新区某某科技有限公司"
    static let sealName = "<script>alert(1)</script>合同章"

    /// A record path that is not there is named as such in one line (not tried as a QR image), and
    /// nothing is written.
    @Test func aMissingRecordPathIsOneLineNamingIt() async throws {
        let sandbox = try ReportSandbox()
        let missing = sandbox.path("no-such-record.json")
        let out = sandbox.path("report.html")
        let finished = try await sandbox.run("sealctl", ["report", missing, "--out", out])
        #expect(finished.status == 1)
        let lines = finished.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(finished.stderr.contains("\(missing): no such record file or QR code"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func aStampedRecordsReportAsEachRoleSeesItAndTheMetricsMove() async throws {
        let sandbox = try ReportSandbox()
        let sealImage = repositoryRoot.appendingPathComponent("Fixtures/seal-imprint.png").path
        let issuerKey = repositoryRoot.appendingPathComponent("Fixtures/test-issuer/issuer-key.pem").path

        // A token personalized with a Chinese organization, a hostile seal name and a registered image.
        let state = sandbox.path("cn.nvm")
        #expect(try await sandbox.run("sealsim", ["manufacture", "--state", state]).status == 0)
        let personalized = try await sandbox.run("sealsim", ["personalize", "--state", state, "--organization", Self.organization,
                                                             "--seal-name", Self.sealName, "--feature-image", sealImage, "--seal-image", sealImage,
                                                             "--pin", "246810", "--puk", "13572468", "--activate"])
        #expect(personalized.status == 0, "\(personalized.stderr)")
        try Data("采购合同 no. 7\n".utf8).write(to: URL(fileURLWithPath: sandbox.path("contract.txt")))
        let recordPath = sandbox.path("contract.seal.json")
        let stamped = try await sandbox.run("sealctl", ["stamp", "--token-state", state, "--document", sandbox.path("contract.txt"),
                                                        "--pin", "246810", "--out", recordPath, "--operator", "op-zhang-3",
                                                        "--latitude", "31.2304", "--longitude", "121.4737", "--org-unit", "法务部",
                                                        "--approval-node", "总经理审批", "--document-name", "采购合同.pdf",
                                                        "--device-fingerprint", "device-77"])
        try #require(stamped.status == 0, "\(stamped.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as? [String: Any])
        let chipID = try #require(record["chipID"] as? String)

        // A witness, and the ledger publishing only checkpoints it cosigned.
        let logKey = try await sandbox.run("sealledger", ["vkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let witnessKey = try await sandbox.run("sealledger", ["witness", "vkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let witness = try await ServedProcess(["witness", "serve", "--log-key", logKey], sandbox: sandbox)
        defer { witness.stop() }
        let ledger = try await ServedProcess(["serve", "--witness", "\(witness.base)=\(witnessKey)"], sandbox: sandbox)
        defer { ledger.stop() }

        for event in ["personalized", "activated"] {
            var arguments = ["ledger", "event", event, "--chip", chipID, "--issuer-key", issuerKey, "--ledger", ledger.base]
            if event == "personalized" {
                arguments += ["--organization", Self.organization, "--seal-name", Self.sealName,
                              "--feature-hash", try #require(record["featureHash"] as? String),
                              "--image-hash", try #require(record["sealImageHash"] as? String)]
            }
            let submitted = try await sandbox.run("sealctl", arguments)
            #expect(submitted.status == 0, "\(event): \(submitted.stderr)")
        }
        let submitted = try await sandbox.run("sealctl", ["ledger", "submit", recordPath, "--ledger", ledger.base, "--json"])
        try #require(submitted.status == 0, "\(submitted.stderr)")
        let index = try #require((try JSONSerialization.jsonObject(with: Data(submitted.stdout.utf8)) as? [String: Any])?["index"] as? Int)
        #expect(index == 2)
        // A record whose document digest was changed is refused at admission (a metric counts it).
        var forged = record
        forged["documentDigest"] = String(repeating: "0", count: 64)
        let refused = try await ledger.get("/v1/entries", method: "POST", body: try JSONSerialization.data(withJSONObject: forged))
        #expect(refused.status == 422)
        let failedCheck = try #require(((try JSONSerialization.jsonObject(with: refused.body) as? [String: Any])?["error"] as? [String: Any])?["failedCheck"] as? String)

        // Wait until the witness has cosigned the checkpoint that holds the record.
        var published = ""
        for _ in 0..<200 {
            published = String(decoding: try await ledger.get("/checkpoint").body, as: UTF8.self)
            if published.split(separator: "\n").dropFirst().first == "3" && published.contains("— sealkit.local/witness ") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(published.contains("— sealkit.local/witness "), "published: \(published)")

        // The public report, offline-verified under the log's and the witness's keys, and its PDF.
        let publicHTML = sandbox.path("public.html"), publicPDF = sandbox.path("public.pdf")
        let clock = ContinuousClock()
        let started = clock.now
        let report = try await sandbox.run("sealctl", ["report", recordPath, "--ledger", ledger.base, "--log-key", logKey, "--witness-key", witnessKey,
                                                       "--seal-image", sealImage, "--out", publicHTML, "--pdf", publicPDF, "--json"])
        let withPDF = clock.now - started
        #expect(report.status == 0, "\(report.stdout) \(report.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        #expect(summary["valid"] as? Bool == true && summary["personalData"] as? Bool == false && summary["index"] as? Int == index)
        let page = try String(contentsOfFile: publicHTML, encoding: .utf8)
        for id in ["seal", "who", "when", "where", "document", "checks", "proof", "history", "alerts"] {
            #expect(page.contains("<section id=\"\(id)\">"), "section \(id)")
        }
        #expect(page.contains(Self.organization) && page.contains(chipID) && page.contains("采购合同.pdf") && page.contains("法务部"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;合同章") && !page.contains("<script"))
        #expect(page.contains(">matches<") && page.contains("data:image/png;base64,"), "the registered image, checked")
        #expect(page.contains("sealkit.local/witness") && page.contains(">verified<") && page.contains("verified cosignature"))
        #expect(page.contains("Alerts are not available"), "no alerts service on this ledger yet")
        for secret in ["op-zhang-3", "device-77", "31.230400", "121.473700"] { #expect(!page.contains(secret), "public page shows \(secret)") }
        #expect(page.contains("data-check=\"witness-quorum\"><td><code>witness-quorum</code></td><td>ledger</td><td><span class=\"badge passed\">"))
        let pdf = try Data(contentsOf: URL(fileURLWithPath: publicPDF))
        #expect(pdf.starts(with: Array("%PDF-".utf8)) && pdf.count > 10_000)
        let text = try await runProgram("/usr/bin/pdftotext", ["-enc", "UTF-8", publicPDF, "-"])
        #expect(text.status == 0 && text.stdout.contains(Self.organization) && text.stdout.contains("<script>alert(1)</script>合同章"),
                "the PDF shows the Chinese names (and the hostile one as text)")
        let fonts = try await runProgram("/usr/bin/pdffonts", [publicPDF])
        #expect(fonts.stdout.contains("WenQuanYi") || fonts.stdout.contains("CJK"), "\(fonts.stdout)")

        // Another document: the report is written, INVALID, exit 1. A record not in the ledger (1), no
        // --out (64), a ledger that is not there (75).
        try Data("another document\n".utf8).write(to: URL(fileURLWithPath: sandbox.path("other.txt")))
        let wrongDocument = try await sandbox.run("sealctl", ["report", recordPath, "--ledger", ledger.base, "--document", sandbox.path("other.txt"),
                                                              "--out", sandbox.path("wrong.html")])
        #expect(wrongDocument.status == 1 && wrongDocument.stdout.hasPrefix("INVALID") && wrongDocument.stdout.contains("document-digest"))
        #expect((try String(contentsOfFile: sandbox.path("wrong.html"), encoding: .utf8)).contains("<p class=\"verdict invalid\""))
        try JSONSerialization.data(withJSONObject: forged).write(to: URL(fileURLWithPath: sandbox.path("forged.json")))
        let notInLedger = try await sandbox.run("sealctl", ["report", sandbox.path("forged.json"), "--ledger", ledger.base, "--out", sandbox.path("f.html")])
        #expect(notInLedger.status == 1 && notInLedger.stderr.contains("is not in the ledger"), "\(notInLedger.stderr)")
        #expect(try await sandbox.run("sealctl", ["report", recordPath, "--ledger", ledger.base]).status == 64)
        #expect(try await sandbox.run("sealctl", ["report", recordPath, "--ledger", "http://127.0.0.1:9", "--out", sandbox.path("x.html")]).status == 75)

        // The organization's auditor sees the openings, another organization's auditor does not.
        func token(_ arguments: [String]) async throws -> String {
            try await sandbox.run("sealledger", ["token", "issue"] + arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let auditor = try await token(["--role", "auditor", "--organization", Self.organization, "--subject", "legal-dept"])
        let stranger = try await token(["--role", "auditor", "--organization", "Other Org", "--subject", "stranger"])
        let auditorHTML = sandbox.path("auditor.html")
        let auditStarted = clock.now
        let audited = try await sandbox.run("sealctl", ["report", recordPath, "--ledger", ledger.base, "--token", auditor, "--log-key", logKey,
                                                        "--out", auditorHTML, "--json"])
        let htmlOnly = clock.now - auditStarted
        #expect(audited.status == 0, "\(audited.stderr)")
        let auditorPage = try String(contentsOfFile: auditorHTML, encoding: .utf8)
        for secret in ["op-zhang-3", "device-77", "31.230400, 121.473700", "<svg", "总经理审批"] {
            #expect(auditorPage.contains(secret), "the auditor's page shows \(secret)")
        }
        #expect(auditorPage.contains("viewer: auditor of \(Self.organization), personal data shown"))
        let strangerHTML = sandbox.path("stranger.html")
        #expect(try await sandbox.run("sealctl", ["report", recordPath, "--ledger", ledger.base, "--token", stranger, "--out", strangerHTML]).status == 0)
        #expect(!(try String(contentsOfFile: strangerHTML, encoding: .utf8)).contains("op-zhang-3"))

        // Figures for docs/report.md, and the pages themselves when SEALKIT_REPORT_ARTIFACTS names a folder.
        let htmlBytes = (try? FileManager.default.attributesOfItem(atPath: publicHTML)[.size] as? Int) ?? 0
        print("report figures: sealctl report with --pdf \(withPDF), without \(htmlOnly); public page \(htmlBytes) bytes, PDF \(pdf.count) bytes")
        if let folder = ProcessInfo.processInfo.environment["SEALKIT_REPORT_ARTIFACTS"] {
            for file in [publicHTML, auditorHTML, publicPDF] {
                let target = URL(fileURLWithPath: folder).appendingPathComponent(URL(fileURLWithPath: file).lastPathComponent)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(atPath: file, toPath: target.path)
            }
        }

        // The ledger serves the same page, its personal part by the caller's role.
        let servedStarted = clock.now
        let served = try await ledger.get("/v1/reports/\(index)")
        print("report figures: GET /v1/reports/\(index) \(clock.now - servedStarted), \(served.body.count) bytes")
        let servedPage = String(decoding: served.body, as: UTF8.self)
        #expect(served.status == 200 && served.headers["content-type"] == "text/html; charset=utf-8")
        #expect(served.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(servedPage.contains("&lt;script&gt;alert(1)&lt;/script&gt;合同章") && !servedPage.contains("op-zhang-3"))
        #expect(servedPage.contains(">collected<") && servedPage.contains("<span class=\"badge passed\">matches</span>"))
        let servedAuditor = String(decoding: try await ledger.get("/v1/reports/\(index)", token: auditor).body, as: UTF8.self)
        #expect(servedAuditor.contains("op-zhang-3") && servedAuditor.contains("31.230400, 121.473700"))
        #expect(!String(decoding: try await ledger.get("/v1/reports/\(index)", token: stranger).body, as: UTF8.self).contains("op-zhang-3"))
        #expect(try await ledger.get("/v1/reports/0").status == 404, "a lifecycle event has no report")
        #expect(try await ledger.get("/v1/reports/99").status == 404)
        #expect(try await ledger.get("/v1/reports/x").status == 400)
        #expect(try await ledger.get("/v1/reports/\(index)", method: "POST", body: Data("{}".utf8)).status == 405)
        #expect(try await ledger.get("/v1/reports/\(index)", token: "not.a.token").status == 401)
        // The auditor's view was logged before it left.
        let log = try JSONSerialization.jsonObject(with: try await ledger.get("/v1/access-log", token: auditor).body) as? [String: Any]
        let rows = (log?["entries"] as? [[String: Any]]) ?? []
        #expect(rows.contains { $0["request"] as? String == "GET /v1/reports/{index}" && $0["subject"] as? String == "legal-dept" })

        // The metrics moved: entries by kind, the refusal by its check, one verification per submitted record.
        let metrics = try await ledger.get("/metrics")
        #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        let samples = prometheusSamples(String(decoding: metrics.body, as: UTF8.self))
        #expect(samples["sealledger_entries_appended_total{kind=\"stamp-record\"}"] == 1)
        #expect(samples["sealledger_entries_appended_total{kind=\"lifecycle-event\"}"] == 2)
        #expect(samples["sealledger_admissions_refused_total{check=\"\(failedCheck)\"}"] == 1, "\(samples)")
        #expect(samples["sealledger_verification_seconds_count"] == 2)
        #expect((samples["sealledger_verification_seconds_sum"] ?? 0) > 0)
        #expect(samples["sealledger_tree_size"] == 3 && samples["sealledger_witness_lag_entries"] == 0)
        let age = try #require(samples["sealledger_checkpoint_age_seconds"])
        #expect(age >= 0 && age < 600, "checkpoint age \(age); \(samples.filter { $0.key.hasPrefix("sealledger_") && !$0.key.contains("bucket") })")
    }
}
