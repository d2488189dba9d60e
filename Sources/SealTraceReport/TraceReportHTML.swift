import Foundation

/// Renders a ``TraceReport`` as one self-contained, printable HTML page (docs/report.md): inline
/// CSS, inline SVG, images as `data:` URLs, and a Content-Security-Policy that forbids every fetch
/// and every script, so the page shows the same offline, in a browser or printed to PDF.
///
/// Every text that comes from a record, the ledger or an alert goes through ``escape(_:)``: a seal
/// name is signed by the chip but chosen by whoever personalized it, and must not become markup.
package enum TraceReportHTML {
    /// The page's Content-Security-Policy: nothing is fetched, nothing runs.
    package static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

    /// The HTML page of `report`.
    package static func render(_ report: TraceReport) -> String {
        var page = Page()
        page.raw("<!DOCTYPE html>\n<html lang=\"zh-Hans\">\n<head>\n<meta charset=\"utf-8\">\n")
        page.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"\(contentSecurityPolicy)\">\n")
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        page.raw("<title>")
        page.text("Traceability report — \(report.document.serial)")
        page.raw("</title>\n<style>\(stylesheet)</style>\n</head>\n<body>\n")

        page.raw("<header>\n<h1>Traceability report</h1>\n")
        page.raw("<p class=\"verdict \(report.isValid ? "valid" : "invalid")\" id=\"verdict\">")
        page.text(report.isValid ? "VALID — every check passed or was skipped" : "INVALID — \(report.checks.filter { $0.outcome == "failed" }.map(\.id).joined(separator: ", ")) failed")
        page.raw("</p>\n<p class=\"meta\">")
        page.text("Entry \(report.proof.index) of \(report.proof.origin) · serial \(report.document.serial) · made \(iso(report.generatedAt)) · viewer: \(viewerText(report.viewer))")
        page.raw("</p>\n</header>\n")

        seal(report, &page)
        who(report, &page)
        when(report, &page)
        location(report, &page)
        document(report, &page)
        checks(report, &page)
        proof(report, &page)
        history(report, &page)
        alerts(report, &page)

        page.raw("<footer>")
        page.text("SealKit traceability report. Checks marked “stamp” are StampVerifier's (docs/stamp-record.md); “ledger” checks prove the entry in the log (docs/ledger.md). Verify offline with sealctl report --log-key and --witness-key.")
        page.raw("</footer>\n</body>\n</html>\n")
        return page.html
    }

    /// Escapes text for HTML element content and double- or single-quoted attribute values.
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // C0 controls but tab and newline have no place in a page (and some are invalid in HTML).
            case _ where scalar.value < 0x20 && scalar != "\n" && scalar != "\t": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: Sections

    private static func seal(_ report: TraceReport, _ page: inout Page) {
        let seal = report.seal
        page.section("seal", "Which seal")
        var rows: [(String, Cell)] = []
        if let png = seal.imagePNG { rows.append(("Registered seal image", .image(png))) }
        page.table(rows + [
            ("Chip ID", .code(seal.chipID)),
            ("Organization", .text(seal.organizationName)),
            ("Seal name", .text(seal.sealName)),
            ("Seal key ID", .code(seal.keyID)),
            ("Feature hash", .code(seal.featureHash)),
            ("Device certificate subject", .text(seal.certificate?.subject ?? "does not parse")),
            ("Device certificate issuer", .text(seal.certificate?.issuer ?? "—")),
            ("Device certificate serial", .code(seal.certificate?.serialNumber ?? "—")),
            ("Device certificate validity", .text(seal.certificate.map { "\(iso($0.notValidBefore)) to \(iso($0.notValidAfter))" } ?? "—")),
            ("Seal image hash signed by the chip", .code(seal.signedImageHash ?? "none")),
            ("Registered at personalization", .text(seal.personalization.map {
                "entry \($0.index), \(iso($0.time)): \($0.organizationName) / \($0.sealName), image hash \($0.imageHash ?? "none")"
            } ?? "no personalization event in the ledger")),
            ("Registered image vs signed hash", .badge(seal.imageComparison.rawValue,
                                                       seal.imageComparison == .differs ? "failed" : seal.imageComparison == .matches ? "passed" : "skipped")),
        ])
        page.raw("</section>\n")
    }

    private static func who(_ report: TraceReport, _ page: inout Page) {
        page.section("who", "Who")
        page.table([
            ("Organization unit", .text(report.who.organizationUnit ?? "not given")),
            ("Approval node", .text(report.who.approvalNode ?? "not given")),
            ("Operator", personal(report.who.operatorID)),
            ("Operator biometric reference", personal(report.who.biometricReference)),
            ("Device fingerprint", personal(report.who.deviceFingerprint)),
        ])
        if !report.viewer.seesPersonalData {
            page.raw("<p class=\"note\">")
            page.text("Personal data is shown to the issuer and to auditors of \(report.seal.organizationName) only; this \(report.viewer.role) view shows the signed commitments.")
            page.raw("</p>\n")
        }
        page.raw("</section>\n")
    }

    private static func when(_ report: TraceReport, _ page: inout Page) {
        let when = report.when
        var rows: [(String, Cell)] = [("Claimed stamping time (signed)", .text(iso(when.claimed)))]
        if let bound = when.cosignedBound {
            let verified = when.cosignedBoundVerified ? "verified cosignature" : "cosignature not verified here"
            rows.append(("In the ledger no later than", .text("\(iso(bound)) (\(when.cosignedBoundWitness ?? "witness"), \(verified))")))
            rows.append(("Claimed time vs cosigned bound", when.claimed <= bound
                            ? .badge("consistent: claimed \(bound - when.claimed) s before the bound", "passed")
                            : .badge("claimed \(when.claimed - bound) s after the cosigned bound", "failed")))
        } else {
            rows.append(("In the ledger no later than", .text("no witness cosignature on the checkpoint")))
        }
        if let bound = when.timestampBound {
            rows.append(("RFC 3161 time-stamp bound", .text(iso(bound))))
        }
        rows.append(("Watermark expires", .text(iso(when.expiry))))
        page.section("when", "When")
        page.table(rows)
        page.raw("</section>\n")
    }

    private static func location(_ report: TraceReport, _ page: inout Page) {
        page.section("where", "Where")
        switch report.location {
        case .shown(let lat, let lon):
            page.table([("Coordinates", .text(String(format: "%.6f, %.6f", Double(lat) / 1_000_000, Double(lon) / 1_000_000)))])
            page.raw(LocationPlot.svg(latitude: Double(lat) / 1_000_000, longitude: Double(lon) / 1_000_000))
        case .withheld(let commitment):
            page.table([("Coordinates", personal(.withheld(commitment: commitment)))])
        case .absent:
            page.table([("Coordinates", .text("the record has no location"))])
        }
        page.raw("</section>\n")
    }

    private static func document(_ report: TraceReport, _ page: inout Page) {
        let document = report.document
        page.section("document", "Which document")
        page.table([
            ("Document name (signed)", .text(document.name ?? "not given")),
            ("Document SHA-256 (signed)", .code(document.digest)),
            ("Serial", .code(document.serial)),
            ("Expiration code", .code(document.expirationCode)),
            ("Stamp counter", .text("\(document.counter)")),
        ])
        page.raw("</section>\n")
    }

    private static func checks(_ report: TraceReport, _ page: inout Page) {
        page.section("checks", "Verification checks")
        page.raw("<table class=\"list checks\">\n<thead><tr><th>Check</th><th>By</th><th>Outcome</th><th>Detail</th></tr></thead>\n<tbody>\n")
        for check in report.checks {
            page.raw("<tr class=\"check\" data-check=\"\(escape(check.id))\"><td><code>")
            page.text(check.id)
            page.raw("</code></td><td>")
            page.text(check.group)
            page.raw("</td><td><span class=\"badge \(escape(check.outcome))\">")
            page.text(check.outcome)
            page.raw("</span></td><td>")
            page.text(check.detail)
            page.raw("</td></tr>\n")
        }
        page.raw("</tbody></table>\n</section>\n")
    }

    private static func proof(_ report: TraceReport, _ page: inout Page) {
        let proof = report.proof
        page.section("proof", "Inclusion proof and witnesses")
        page.table([
            ("Log", .text(proof.origin)),
            ("Entry index", .text("\(proof.index)")),
            ("Record hash (SHA-256 of the entry)", .code(proof.recordHash)),
            ("Checkpoint tree size", .text("\(proof.treeSize)")),
            ("Checkpoint root hash", .code(proof.rootHash)),
        ])
        page.raw("<h3>Proof hashes (leaf to root)</h3>\n<ol class=\"hashes\">\n")
        for hash in proof.hashes {
            page.raw("<li><code>")
            page.text(hash)
            page.raw("</code></li>\n")
        }
        if proof.hashes.isEmpty { page.raw("<li>none: the entry is the whole tree</li>\n") }
        page.raw("</ol>\n<h3>Witness cosignatures</h3>\n")
        if report.witnesses.isEmpty {
            page.raw("<p class=\"note\">No witness cosigned this checkpoint.</p>\n")
        } else {
            page.raw("<table class=\"list\">\n<thead><tr><th>Witness</th><th>Key ID</th><th>Cosigned at</th><th>Status</th></tr></thead>\n<tbody>\n")
            for witness in report.witnesses {
                page.raw("<tr class=\"witness\"><td>")
                page.text(witness.name)
                page.raw("</td><td><code>")
                page.text(witness.keyID)
                page.raw("</code></td><td>")
                page.text(witness.time.map(iso) ?? "—")
                page.raw("</td><td>")
                page.text(witness.status)
                page.raw("</td></tr>\n")
            }
            page.raw("</tbody></table>\n")
        }
        page.raw("<h3>Checkpoint</h3>\n<pre class=\"note-text\">")
        page.text(proof.checkpointNote)
        page.raw("</pre>\n</section>\n")
    }

    private static func history(_ report: TraceReport, _ page: inout Page) {
        page.section("history", "Lifecycle history of the seal")
        page.raw("<table class=\"list history\">\n<thead><tr><th>Entry</th><th>Kind</th><th>Event</th><th>Time</th><th>Counter</th><th>Detail</th></tr></thead>\n<tbody>\n")
        for entry in report.history {
            let this = entry.index == report.proof.index
            page.raw("<tr class=\"history\(this ? " this" : "")\"><td>")
            page.text("\(entry.index)\(this ? " (this stamp)" : "")")
            page.raw("</td><td>")
            page.text(entry.kind)
            page.raw("</td><td>")
            page.text(entry.event ?? "")
            page.raw("</td><td>")
            page.text(entry.time.map(iso) ?? "")
            page.raw("</td><td>")
            page.text(entry.counter.map(String.init) ?? "")
            page.raw("</td><td>")
            page.text(entry.detail)
            page.raw("</td></tr>\n")
        }
        page.raw("</tbody></table>\n</section>\n")
    }

    private static func alerts(_ report: TraceReport, _ page: inout Page) {
        page.section("alerts", "Alerts")
        guard let alerts = report.alerts else {
            page.raw("<p class=\"note\">Alerts are not available from this ledger.</p>\n</section>\n")
            return
        }
        guard !alerts.isEmpty else {
            page.raw("<p class=\"note\">No alert about this seal.</p>\n</section>\n")
            return
        }
        page.raw("<table class=\"list alerts\">\n<thead><tr><th>ID</th><th>Kind</th><th>Raised</th><th>Entry</th><th>Reporter</th><th>Detail</th></tr></thead>\n<tbody>\n")
        for alert in alerts {
            page.raw("<tr class=\"alert\"><td>")
            page.text("\(alert.id)")
            page.raw("</td><td>")
            page.text(alert.kind)
            page.raw("</td><td>")
            page.text(alert.raisedAt)
            page.raw("</td><td>")
            page.text(alert.entryIndex.map(String.init) ?? "")
            page.raw("</td><td>")
            page.text(alert.authenticated ? "authenticated" : "unauthenticated")
            page.raw("</td><td>")
            page.text(alert.detail)
            page.raw("</td></tr>\n")
        }
        page.raw("</tbody></table>\n</section>\n")
    }

    // MARK: Helpers

    private static func personal(_ value: TraceReport.PersonalValue) -> Cell {
        switch value {
        case .shown(let text): .text(text)
        case .withheld(let commitment): .withheld(commitment)
        case .absent: .text("not given")
        }
    }

    private static func viewerText(_ viewer: TraceReport.Viewer) -> String {
        let organization = viewer.organization.map { " of \($0)" } ?? ""
        return "\(viewer.role)\(organization), personal data \(viewer.seesPersonalData ? "shown" : "withheld")"
    }

    static func iso(_ seconds: UInt64) -> String { iso(Date(timeIntervalSince1970: TimeInterval(seconds))) }

    static func iso(_ date: Date) -> String { date.ISO8601Format() }

    /// A table cell's content.
    enum Cell {
        case text(String)
        case code(String)
        case badge(String, String)
        case withheld(String)
        case image([UInt8])
    }

    /// The page being written: raw markup and escaped text.
    struct Page {
        var html = ""

        mutating func raw(_ markup: String) { html += markup }

        mutating func text(_ text: String) { html += TraceReportHTML.escape(text) }

        mutating func section(_ id: String, _ title: String) {
            raw("<section id=\"\(id)\">\n<h2>")
            text(title)
            raw("</h2>\n")
        }

        mutating func table(_ rows: [(String, Cell)]) {
            raw("<table class=\"fields\">\n")
            for (label, cell) in rows {
                raw("<tr><th>")
                text(label)
                raw("</th><td>")
                switch cell {
                case .text(let value): text(value)
                case .code(let value):
                    raw("<code>")
                    text(value)
                    raw("</code>")
                case .badge(let value, let outcome):
                    raw("<span class=\"badge \(TraceReportHTML.escape(outcome))\">")
                    text(value)
                    raw("</span>")
                case .image(let png):
                    raw("<img class=\"seal-image\" alt=\"the registered seal image\" src=\"data:image/png;base64,\(Data(png).base64EncodedString())\">")
                case .withheld(let commitment):
                    raw("<span class=\"withheld\">withheld — commitment <code>")
                    text(commitment)
                    raw("</code></span>")
                }
                raw("</td></tr>\n")
            }
            raw("</table>\n")
        }
    }

    /// The page's style: printable (A4, no backgrounds needed), CJK font families before the
    /// generic fallback so Chinese names render with Debian's fonts-noto-cjk or fonts-wqy.
    package static let stylesheet = """
        @page { size: A4; margin: 14mm; }
        :root { --ok: #1b6e20; --bad: #b00020; --skip: #666; --rule: #ccc; }
        body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
               "Microsoft YaHei", "PingFang SC", "DejaVu Sans", sans-serif; font-size: 10.5pt; color: #111; margin: 0 auto;
               max-width: 190mm; line-height: 1.35; }
        h1 { font-size: 18pt; margin: 0 0 4pt 0; }
        h2 { font-size: 12.5pt; border-bottom: 1.5pt solid #333; padding-bottom: 2pt; margin: 14pt 0 6pt 0; }
        h3 { font-size: 10.5pt; margin: 8pt 0 4pt 0; }
        section { break-inside: avoid-page; }
        table { border-collapse: collapse; width: 100%; table-layout: fixed; }
        th, td { text-align: left; vertical-align: top; padding: 2pt 5pt; border-bottom: 0.5pt solid var(--rule); overflow-wrap: anywhere; }
        table.checks th:nth-child(1) { width: 27%; } table.checks th:nth-child(2) { width: 8%; } table.checks th:nth-child(3) { width: 10%; }
        table.history th:nth-child(1) { width: 14%; } table.history th:nth-child(2) { width: 17%; } table.history th:nth-child(3) { width: 12%; }
        table.history th:nth-child(4) { width: 21%; } table.history th:nth-child(5) { width: 9%; }
        table.alerts th:nth-child(1) { width: 6%; } table.alerts th:nth-child(2) { width: 18%; } table.alerts th:nth-child(3) { width: 20%; }
        table.alerts th:nth-child(4) { width: 8%; } table.alerts th:nth-child(5) { width: 14%; }
        table.fields th { width: 34%; font-weight: 600; }
        table.list th { background: #eee; }
        code, pre { font-family: "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
        pre.note-text { white-space: pre-wrap; background: #f6f6f6; padding: 4pt; }
        .verdict { font-weight: 700; padding: 4pt 8pt; border: 1.5pt solid; display: inline-block; }
        .verdict.valid { color: var(--ok); } .verdict.invalid { color: var(--bad); }
        .meta, .note, footer { color: #444; font-size: 9pt; }
        footer { margin-top: 16pt; border-top: 0.5pt solid var(--rule); padding-top: 4pt; }
        .badge { font-weight: 700; } .badge.passed { color: var(--ok); } .badge.failed { color: var(--bad); } .badge.skipped { color: var(--skip); }
        .withheld { color: var(--skip); }
        tr.this td { font-weight: 700; }
        img.seal-image { width: 26mm; height: 26mm; object-fit: contain; }
        svg.plot { width: 100%; max-width: 170mm; height: auto; border: 0.5pt solid var(--rule); }
        ol.hashes { margin: 0; padding-left: 18pt; }
        """
}
