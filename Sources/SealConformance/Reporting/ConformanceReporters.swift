import Foundation

// The report formats of `sealctl conformance`: the closing line, JUnit XML, JSON and Markdown.
// Plain string building and Foundation's JSONEncoder; no third-party dependencies.

extension ConformanceReport {
    /// ISO 8601 date of the run, UTC, seconds precision.
    public var dateString: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    // MARK: JUnit XML

    /// JUnit XML: one `testsuite`, one `testcase` per case (classname = area, name = ID + title),
    /// `failure`/`skipped` with a message, times in seconds, properties for section and level.
    public func junitXML() -> String {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let totals = "tests=\"\(results.count)\" failures=\"\(failed)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds(totalDuration))\""
        xml += "<testsuites name=\"SealKit conformance\" \(totals)>\n"
        xml += "  <testsuite name=\"\(xmlEscape("SealKit conformance: " + targetName))\" \(totals) timestamp=\"\(xmlEscape(dateString))\">\n"
        xml += "    <properties>\n"
        for (name, value) in [("target", targetName), ("atr", atrHex), ("chipID", chipIDHex), ("date", dateString),
                              ("allMandatoryPassed", String(allMandatoryPassed))] {
            xml += "      <property name=\"\(xmlEscape(name))\" value=\"\(xmlEscape(value))\"/>\n"
        }
        xml += "    </properties>\n"
        for result in results {
            xml += "    <testcase classname=\"\(xmlEscape(result.area))\" name=\"\(xmlEscape(result.id + " " + result.title))\" time=\"\(seconds(result.duration))\">\n"
            xml += "      <properties>\n"
            xml += "        <property name=\"specSection\" value=\"\(xmlEscape(result.specSection))\"/>\n"
            xml += "        <property name=\"level\" value=\"\(xmlEscape(result.level.rawValue))\"/>\n"
            if !result.requirements.isEmpty {
                xml += "        <property name=\"requirements\" value=\"\(xmlEscape(result.requirements.map(\.flag).joined(separator: " ")))\"/>\n"
            }
            xml += "      </properties>\n"
            switch result.outcome {
            case .pass:
                if !result.detail.isEmpty { xml += "      <system-out>\(xmlEscape(result.detail))</system-out>\n" }
            case .fail:
                xml += "      <failure message=\"\(xmlEscape(result.detail))\" type=\"\(result.level == .mandatory ? "mandatory" : "optional")\">"
                xml += "\(xmlEscape(result.specSection + " " + result.title + ": " + result.detail))</failure>\n"
            case .skip:
                xml += "      <skipped message=\"\(xmlEscape(result.detail))\"/>\n"
            }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    // MARK: JSON

    /// JSON: run metadata and totals, and `results` with `id`, `section`, `level`, `result`
    /// (`pass`|`fail`|`skip`), `duration` (seconds) and `detail` per case. Keys sorted.
    public func json() throws -> Data {
        let document = JSONReport(
            target: targetName, atr: atrHex, chipID: chipIDHex, date: dateString,
            totals: .init(total: results.count, passed: passed, failed: failed, skipped: skipped),
            allMandatoryPassed: allMandatoryPassed,
            results: results.map {
                .init(id: $0.id, title: $0.title, area: $0.area, section: $0.specSection, level: $0.level.rawValue,
                      requirements: $0.requirements.map(\.rawValue), result: $0.outcome.rawValue,
                      duration: ($0.duration * 1_000_000).rounded() / 1_000_000, detail: $0.detail)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(document)
    }

    // MARK: Markdown

    /// Markdown: header, summary table, one row per case.
    public func markdown() -> String {
        var md = "# SealKit conformance report\n\n"
        md += "- Target: \(markdownCell(targetName))\n"
        md += "- ATR: `\(atrHex.isEmpty ? "unknown" : atrHex)`\n"
        md += "- Chip ID: `\(chipIDHex.isEmpty ? "unknown" : chipIDHex)`\n"
        md += "- Date: \(dateString)\n"
        md += "- All mandatory cases passed: \(allMandatoryPassed ? "yes" : "**no**")\n\n"
        md += "| Result | Count |\n|---|---:|\n"
        md += "| pass | \(passed) |\n| fail | \(failed) |\n| skip | \(skipped) |\n| **total** | **\(results.count)** |\n\n"
        md += "| Result | ID | Section | Level | Title | Time (ms) | Detail |\n|---|---|---|---|---|---:|---|\n"
        for result in results {
            let mark: String
            switch result.outcome {
            case .pass: mark = "pass"
            case .fail: mark = "**FAIL**"
            case .skip: mark = "skip"
            }
            md += "| \(mark) | \(result.id) | \(result.specSection) | \(result.level.rawValue) | \(markdownCell(result.title)) "
            md += "| \(Int((result.duration * 1000).rounded())) | \(markdownCell(result.detail)) |\n"
        }
        md += "\n\(summaryLine)\n"
        return md
    }

    /// The plain-text report: one progress line per case, then the closing line.
    public func text() -> String {
        results.map(\.progressLine).joined(separator: "\n") + "\n" + summaryLine + "\n"
    }
}

private struct JSONReport: Encodable {
    struct Totals: Encodable {
        var total, passed, failed, skipped: Int
    }

    struct Result: Encodable {
        var id, title, area, section, level: String
        var requirements: [String]
        var result: String
        var duration: Double
        var detail: String
    }

    var target, atr, chipID, date: String
    var totals: Totals
    var allMandatoryPassed: Bool
    var results: [Result]
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry.
package func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\n": out += "&#10;"
        case "\r": out += "&#13;"
        case "\t": out += "&#9;"
        default:
            let value = scalar.value
            let allowed = (0x20...0xD7FF).contains(value) || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
            out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
        }
    }
    return out
}

/// A Markdown table cell: pipes escaped, newlines as `<br>`.
func markdownCell(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\")
        .replacingOccurrences(of: "|", with: "\\|")
        .replacingOccurrences(of: "\r\n", with: "<br>")
        .replacingOccurrences(of: "\n", with: "<br>")
}

private func seconds(_ value: Double) -> String {
    String(format: "%.3f", value)
}
