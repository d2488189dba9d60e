import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SealConformance
import Testing

@Suite("Conformance reporters")
struct ReporterTests {
    /// A report with one result of each outcome and text that needs escaping everywhere.
    static let report = ConformanceReport(
        targetName: "Reader <1> & \"quoted\" 'target'",
        atrHex: "3B8A8101807380 00C054534541 4C",
        chipIDHex: "00112233445566778899AABBCCDDEEFF",
        date: Date(timeIntervalSince1970: 1_750_000_000),
        results: [
            ConformanceResult(id: "SEAL-PIN-004", title: "VERIFY wrong PIN decrements the counter", specSection: "§8.6",
                              level: .mandatory, requirements: [], outcome: .pass, duration: 0.0031, detail: ""),
            ConformanceResult(id: "SEAL-GR-002", title: "GET RESPONSE <partial> & \"quoted\"", specSection: "§8.2",
                              level: .mandatory, requirements: [], outcome: .fail, duration: 0.25,
                              detail: "expected SW 6107, got 9000 — command 00 C0 00 00 05 | pipe\nsecond line \u{1}control"),
            ConformanceResult(id: "SEAL-TEAR-001", title: "STAMP torn at every NVM write", specSection: "§11",
                              level: .optional, requirements: [.faultInjection, .freshToken], outcome: .skip, duration: 0,
                              detail: "requires power-loss injection (.faultInjection): simulator only"),
        ])

    @Test func closingLine() {
        #expect(Self.report.summaryLine == "1 passed, 1 failed, 1 skipped")
        #expect(Self.report.text().hasSuffix("1 passed, 1 failed, 1 skipped\n"))
        #expect(!Self.report.allMandatoryPassed)
        var allGood = Self.report
        allGood.results.remove(at: 1)
        #expect(allGood.allMandatoryPassed)
        #expect(!allGood.isComplete)
    }

    @Test func progressLines() {
        let lines = Self.report.results.map(\.progressLine)
        #expect(lines[0] == "[PASS] SEAL-PIN-004 §8.6 VERIFY wrong PIN decrements the counter (3 ms)")
        #expect(lines[1].hasPrefix("[FAIL] SEAL-GR-002 §8.2 GET RESPONSE <partial> & \"quoted\" (250 ms)\n"))
        #expect(lines[2] == "[SKIP] SEAL-TEAR-001 §11 STAMP torn at every NVM write — requires power-loss injection (.faultInjection): simulator only")
    }

    @Test func junitIsWellFormedAndEscaped() throws {
        let xml = Self.report.junitXML()
        let collector = XMLCollector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        #expect(parser.parse(), "JUnit XML does not parse: \(String(describing: parser.parserError))")

        let suite = try #require(collector.elements.first { $0.name == "testsuite" })
        #expect(suite.attributes["tests"] == "3")
        #expect(suite.attributes["failures"] == "1")
        #expect(suite.attributes["skipped"] == "1")
        #expect(suite.attributes["name"] == "SealKit conformance: Reader <1> & \"quoted\" 'target'")

        let cases = collector.elements.filter { $0.name == "testcase" }
        #expect(cases.map { $0.attributes["classname"] } == ["PIN", "GR", "TEAR"])
        #expect(cases[1].attributes["name"] == "SEAL-GR-002 GET RESPONSE <partial> & \"quoted\"")
        #expect(cases.map { $0.attributes["time"] } == ["0.003", "0.250", "0.000"])

        let failure = try #require(collector.elements.first { $0.name == "failure" })
        #expect(failure.attributes["message"]?.contains("| pipe\nsecond line \u{FFFD}control") == true)
        let skipped = try #require(collector.elements.first { $0.name == "skipped" })
        #expect(skipped.attributes["message"] == "requires power-loss injection (.faultInjection): simulator only")

        let properties = collector.elements.filter { $0.name == "property" }.map { ($0.attributes["name"] ?? "", $0.attributes["value"] ?? "") }
        #expect(properties.contains { $0 == ("specSection", "§8.6") })
        #expect(properties.contains { $0 == ("level", "optional") })
        #expect(properties.contains { $0 == ("chipID", "00112233445566778899AABBCCDDEEFF") })
    }

    @Test func xmlEscaping() {
        #expect(xmlEscape("a<b>&\"'\n\u{0}") == "a&lt;b&gt;&amp;&quot;&apos;&#10;\u{FFFD}")
    }

    @Test func jsonShape() throws {
        let data = try Self.report.json()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["target"] as? String == Self.report.targetName)
        #expect(object["atr"] as? String == Self.report.atrHex)
        #expect(object["chipID"] as? String == "00112233445566778899AABBCCDDEEFF")
        #expect(object["date"] as? String == "2025-06-15T15:06:40Z")
        let totals = try #require(object["totals"] as? [String: Int])
        #expect(totals == ["total": 3, "passed": 1, "failed": 1, "skipped": 1])
        #expect(object["allMandatoryPassed"] as? Bool == false)
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.count == 3)
        #expect(results.map { $0["id"] as? String } == ["SEAL-PIN-004", "SEAL-GR-002", "SEAL-TEAR-001"])
        #expect(results.map { $0["result"] as? String } == ["pass", "fail", "skip"])
        #expect(results.map { $0["section"] as? String } == ["§8.6", "§8.2", "§11"])
        #expect(results.map { $0["level"] as? String } == ["mandatory", "mandatory", "optional"])
        #expect((results[1]["duration"] as? Double) == 0.25)
        #expect((results[1]["detail"] as? String)?.hasPrefix("expected SW 6107") == true)
        #expect(results[2]["requirements"] as? [String] == ["faultInjection", "freshToken"])
        // Sorted keys: the text is stable.
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.range(of: "\"allMandatoryPassed\"")!.lowerBound < text.range(of: "\"atr\"")!.lowerBound)
    }

    @Test func markdown() {
        let md = Self.report.markdown()
        #expect(md.contains("| pass | 1 |"))
        #expect(md.contains("| fail | 1 |"))
        #expect(md.contains("| skip | 1 |"))
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("SEAL-") }
        #expect(rows.count == 3)
        #expect(rows[1].contains("| **FAIL** | SEAL-GR-002 | §8.2 | mandatory |"))
        #expect(rows[1].contains("\\| pipe<br>second line"))
        // Every row has the 7 columns of the header (escaped pipes do not count).
        for row in rows {
            #expect(row.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count == 8)
        }
        #expect(md.hasSuffix("1 passed, 1 failed, 1 skipped\n"))
    }
}

/// Collects elements and their attributes from an XML document.
final class XMLCollector: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
    }

    var elements: [Element] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
                attributes attributeDict: [String: String] = [:]) {
        elements.append(Element(name: elementName, attributes: attributeDict))
    }
}
