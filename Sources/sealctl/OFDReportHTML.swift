import Foundation
import SealESeal
import SealOFD
import SealTraceReport

/// `sealctl ofd verify --html FILE`: the verification report of an OFD document as one
/// self-contained, printable page in the style of the traceability report (docs/report.md): the
/// same stylesheet, the same escaping of every text that comes from the file, and the same
/// Content-Security-Policy (nothing fetched, nothing run). An OFD's names and signature values are
/// chosen by whoever made the file, so none of them is trusted as markup.
enum OFDReportHTML {
    static func render(document: String, report: OFDVerificationReport, generatedAt: Date = Date()) -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"zh-Hans\">\n<head>\n<meta charset=\"utf-8\">\n"
        html += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(TraceReportHTML.contentSecurityPolicy)\">\n"
        html += "<title>\(e("OFD signatures — \(document)"))</title>\n<style>\(TraceReportHTML.stylesheet)\n\(extraStyle)</style>\n</head>\n<body>\n"
        html += "<header>\n<h1>OFD signature report</h1>\n"
        html += "<p class=\"verdict \(verdictClass(report.verdict))\" id=\"verdict\">\(e(verdictLine(report)))</p>\n"
        html += "<p class=\"meta\">\(e("\(document) · \(report.signatures.count) signature(s) · made \(generatedAt.ISO8601Format())"))</p>\n</header>\n"
        for signature in report.signatures {
            html += "<section class=\"signature\" id=\"signature-\(e(signature.id))\">\n"
            html += "<h2>\(e("Signature \(signature.id) (\(signature.type))"))"
            html += " <span class=\"badge \(verdictClass(signature.verdict))\">\(e(verdictWord(signature.verdict)))</span></h2>\n"
            html += "<table class=\"fields\">\n"
            html += row("Signature.xml", signature.descriptionPath)
            html += row("Provider", signature.provider ?? "—")
            html += row("Signing time (as the file states it)", signature.signatureDateTime ?? "—")
            html += row("Protected entries", "\(signature.protectedPaths.count): " + signature.protectedPaths.joined(separator: ", "))
            html += "</table>\n<h3>References and container</h3>\n" + checks(signature.checks.map { ($0.name, $0.outcome) })
            if let value = signature.signatureValue {
                html += "<h3>SES_Signature (SignedValue.dat)</h3>\n" + checks(value.checks.map { ($0.id.description, $0.outcome) })
                if !value.quirks.isEmpty {
                    html += "<h3>Accepted deviations from strict DER</h3>\n<ul class=\"quirks\">\n"
                    for quirk in value.quirks { html += "<li>\(e(quirk.description))</li>\n" }
                    html += "</ul>\n"
                }
            }
            html += "</section>\n"
        }
        if !report.unprotectedPaths.isEmpty {
            html += "<section>\n<h2>Entries no signature protects</h2>\n<ul class=\"unprotected\">\n"
            for path in report.unprotectedPaths { html += "<li><code>\(e(path))</code></li>\n" }
            html += "</ul>\n</section>\n"
        }
        html += "<footer>\(e("SealKit OFD verification (docs/gbt38540.md, \"OFD\"): every reference's digest of the stored bytes, then the SES_Signature's signer and maker signatures, certificates and chains at its own time, and its data hash over Signature.xml. Exit status of sealctl ofd verify: 0 valid, 2 intact but a chain ends at a root not given, 1 invalid."))</footer>\n"
        html += "</body>\n</html>\n"
        return html
    }

    private static let extraStyle = ".verdict.unknown, .badge.unknown { color: #8a5a00; }"

    private static func e(_ text: String) -> String { TraceReportHTML.escape(text) }

    private static func row(_ name: String, _ value: String) -> String {
        "<tr><th>\(e(name))</th><td>\(e(value))</td></tr>\n"
    }

    private static func checks(_ rows: [(name: String, outcome: SESCheckOutcome)]) -> String {
        var html = "<table class=\"checks\">\n<tr><th>check</th><th>outcome</th><th>detail</th></tr>\n"
        for (name, outcome) in rows {
            let (word, style, detail): (String, String, String) = switch outcome {
            case .passed: ("passed", "passed", "")
            case .failed(let why): ("FAILED", "failed", why)
            case .unknownRoot(let why): ("unknown root", "unknown", why)
            case .notChecked(let why): ("not checked", "skipped", why)
            }
            html += "<tr><td><code>\(e(name))</code></td><td class=\"badge \(style)\">\(e(word))</td><td>\(e(detail))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private static func verdictClass(_ verdict: SESVerdict) -> String {
        switch verdict {
        case .valid: "valid"
        case .unknownRoot: "unknown"
        case .invalid: "invalid"
        }
    }

    private static func verdictWord(_ verdict: SESVerdict) -> String {
        switch verdict {
        case .valid: "VALID"
        case .unknownRoot: "UNKNOWN ROOT"
        case .invalid: "INVALID"
        }
    }

    private static func verdictLine(_ report: OFDVerificationReport) -> String {
        if report.signatures.isEmpty { return "INVALID — the document holds no signature" }
        switch report.verdict {
        case .valid: return "VALID — every signature verifies and chains to a given root"
        case .unknownRoot: return "UNKNOWN ROOT — every signature and digest is intact, but a chain ends at a root not given"
        case .invalid: return "INVALID — " + report.signatures.filter { $0.verdict == .invalid }.map(\.id).joined(separator: ", ") + " failed"
        }
    }
}
