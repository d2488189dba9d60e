import Foundation
import SealConformance
import Testing

@Suite("Conformance catalog")
struct CatalogTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let specURL = repositoryRoot.appendingPathComponent("Protocol/SPEC.md")
    static let docURL = repositoryRoot.appendingPathComponent("docs/conformance.md")
    static let beginMarker = "<!-- catalog:begin (generated from ConformanceCatalog.markdownTable(); do not edit) -->"
    static let endMarker = "<!-- catalog:end -->"

    @Test func atLeastEightyCasesWithUniqueWellFormedIDs() {
        let cases = ConformanceCatalog.all
        #expect(cases.count >= 80)
        let ids = cases.map(\.id)
        #expect(Set(ids).count == ids.count, "duplicate IDs: \(Dictionary(grouping: ids) { $0 }.filter { $1.count > 1 }.keys.sorted())")
        for id in ids {
            #expect(ConformanceCase.isWellFormedID(id), "\(id) is not SEAL-<AREA>-<NNN>")
        }
        #expect(!ConformanceCase.isWellFormedID("SEAL-PIN-4"))
        #expect(!ConformanceCase.isWellFormedID("SEAL-pin-004"))
        #expect(!ConformanceCase.isWellFormedID("SEAL-PIN-000"))
    }

    @Test func areasAreDocumentedAndNumbersAscend() {
        let known = Set(ConformanceCatalog.areas.map(\.area))
        var lastNumber: [String: Int] = [:]
        for item in ConformanceCatalog.all {
            #expect(known.contains(item.area), "\(item.id): area \(item.area) is not in ConformanceCatalog.areas")
            #expect(item.number > lastNumber[item.area, default: 0], "\(item.id) is out of order in its area")
            lastNumber[item.area] = item.number
            #expect(!item.title.isEmpty)
        }
    }

    @Test func everySectionExistsInTheSpec() throws {
        let spec = try String(contentsOf: Self.specURL, encoding: .utf8)
        var sections: Set<String> = []
        for line in spec.split(separator: "\n") where line.hasPrefix("#") {
            // "## 8. Commands" → 8, "### 8.6 VERIFY" → 8.6
            let words = line.split(separator: " ")
            guard words.count >= 2, words[0].allSatisfy({ $0 == "#" }) else { continue }
            let number = words[1].hasSuffix(".") ? String(words[1].dropLast()) : String(words[1])
            if number.first?.isNumber == true { sections.insert("§" + number) }
        }
        #expect(sections.contains("§8.6") && sections.contains("§11"))
        for item in ConformanceCatalog.all {
            #expect(sections.contains(item.specSection), "\(item.id) cites \(item.specSection), which Protocol/SPEC.md does not have")
        }
    }

    @Test func requirementsAreConsistent() {
        for item in ConformanceCatalog.all {
            if item.requirements.contains(.faultInjection) {
                #expect(item.requirements.contains(.freshToken), "\(item.id): tearing runs on fresh tokens only")
            }
            if item.requirements.contains(.freshToken) {
                #expect(item.requirements.contains(.issuerKey), "\(item.id): fresh tokens are personalized with the issuer key")
            }
            // Cases on fresh or remote-authorization tokens consume nothing on the token under test.
            if !item.requirements.isDisjoint(with: [.freshToken, .remoteAuthorityToken]) {
                #expect(item.consumption.isNone, "\(item.id) runs on other tokens but declares a consumption")
            }
        }
        let total = ConformanceCatalog.totalConsumption
        #expect(total.stamps > 0 && total.wrongPINTries > 0 && total.wrongPUKTries > 0)
    }

    @Test func selectingByAreaAndPrefix() {
        let runner = ConformanceRunner()
        #expect(runner.selecting([]).cases.count == ConformanceCatalog.all.count)
        let pin = runner.selecting(["pin"]).cases
        #expect(!pin.isEmpty && pin.allSatisfy { $0.area == "PIN" })
        #expect(runner.selecting(["SEAL-PIN-004"]).cases.map(\.id) == ["SEAL-PIN-004"])
        #expect(runner.selecting(["SEAL-AT"]).cases.allSatisfy { $0.area == "ATR" || $0.area == "ATT" })
        #expect(runner.selecting(["NOPE"]).cases.isEmpty)
    }

    /// docs/conformance.md carries the generated catalog; regenerate with
    /// `SEALKIT_UPDATE_CONFORMANCE_DOC=1 swift test --filter CatalogTests`.
    @Test func documentationCatalogIsCurrent() throws {
        let doc = try String(contentsOf: Self.docURL, encoding: .utf8)
        let generated = Self.beginMarker + "\n\n" + ConformanceCatalog.markdownTable() + "\n" + Self.endMarker
        let begin = try #require(doc.range(of: Self.beginMarker), "docs/conformance.md lacks the catalog begin marker")
        let end = try #require(doc.range(of: Self.endMarker), "docs/conformance.md lacks the catalog end marker")
        let current = String(doc[begin.lowerBound..<end.upperBound])
        if current != generated, ProcessInfo.processInfo.environment["SEALKIT_UPDATE_CONFORMANCE_DOC"] == "1" {
            let updated = doc.replacingCharacters(in: begin.lowerBound..<end.upperBound, with: generated)
            try updated.write(to: Self.docURL, atomically: true, encoding: .utf8)
            return
        }
        #expect(current == generated, "docs/conformance.md catalog is stale: run SEALKIT_UPDATE_CONFORMANCE_DOC=1 swift test --filter CatalogTests")

        // The IDs listed anywhere in the doc are exactly the registry.
        let listed = doc.split(separator: "\n").filter { $0.hasPrefix("| SEAL-") }.map { String($0.dropFirst(2).prefix { $0 != " " }) }
        #expect(listed == ConformanceCatalog.all.map(\.id))

        // The consumption summary in the doc matches the catalog.
        let total = ConformanceCatalog.totalConsumption
        #expect(doc.contains("\(total.stamps) stamps"), "docs/conformance.md must state the \(total.stamps) stamps a full run makes")
        #expect(doc.contains("\(total.wrongPINTries) wrong PIN tries"))
        #expect(doc.contains("\(total.wrongPUKTries) wrong PUK tr"))
    }
}

/// SPEC §13.1: the Java Card profile skips exactly the native-OS cases, with the reason.
@Suite("Java Card profile")
struct JavaCardProfileTests {
    @Test func nativeOSCasesExistAndAreSkipped() async throws {
        let ids = Set(ConformanceCatalog.all.map(\.id))
        #expect(ConformanceCatalog.nativeOSCaseIDs.isSubset(of: ids))
        var target = ConformanceTarget(name: "never opened", openToken: { throw CancellationError() }, pin: "123456", puk: "12345678")
        target.profile = .javaCard
        for id in ConformanceCatalog.nativeOSCaseIDs.sorted() {
            let result = await ConformanceRunner.run(try #require(ConformanceCatalog.find(id)), target: target)
            #expect(result.outcome == .skip && result.detail.contains("§13.1"), "\(id): \(result.detail)")
        }
        // Outside the set the profile changes nothing: the case runs (and fails here: no token).
        let other = await ConformanceRunner.run(try #require(ConformanceCatalog.find("SEAL-SEL-001")), target: target)
        #expect(other.outcome == .fail)
    }
}
