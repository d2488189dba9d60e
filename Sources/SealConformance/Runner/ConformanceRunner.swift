import Foundation
import SealHostDriver
import SealProtocol

/// Runs a selection of cases against a ``ConformanceTarget``.
///
/// Every case gets a freshly opened and powered-on transport to the token under test, so no
/// volatile state (selection, PIN verification, pending responses) leaks from one case to the next.
/// Nothing a case throws escapes: a failed expectation, a driver error or any other error is a
/// failure with its message; a skip the case decides itself is a skip.
public struct ConformanceRunner: Sendable {
    /// The cases to run, in order.
    public var cases: [ConformanceCase]

    /// A runner of `cases`, by default the whole catalog.
    public init(cases: [ConformanceCase] = ConformanceCatalog.all) {
        self.cases = cases
    }

    /// Keeps the cases matching any of `filters`: a full ID (`SEAL-PIN-004`), an ID prefix
    /// (`SEAL-PIN`, `SEAL-PIN-00`) or an area (`PIN`, case-insensitive). No filters keeps everything.
    public func selecting(_ filters: [String]) -> ConformanceRunner {
        let wanted = filters.map { $0.uppercased() }.filter { !$0.isEmpty }
        guard !wanted.isEmpty else { return self }
        return ConformanceRunner(cases: cases.filter { conformanceCase in
            wanted.contains { filter in conformanceCase.id.hasPrefix(filter) || conformanceCase.area == filter }
        })
    }

    /// Runs the cases in order and returns the report. `progress` is called after each case.
    public func run(target: ConformanceTarget, progress: (@Sendable (ConformanceResult) -> Void)? = nil) async -> ConformanceReport {
        let start = Date()
        let (atrHex, chipIDHex) = await Self.identify(target)
        var results: [ConformanceResult] = []
        for conformanceCase in cases {
            let result = await Self.run(conformanceCase, target: target)
            results.append(result)
            progress?(result)
        }
        return ConformanceReport(targetName: target.name, atrHex: atrHex, chipIDHex: chipIDHex, date: start, results: results)
    }

    /// Runs one case.
    public static func run(_ conformanceCase: ConformanceCase, target: ConformanceTarget) async -> ConformanceResult {
        func result(_ outcome: ConformanceOutcome, _ seconds: Double, _ detail: String) -> ConformanceResult {
            ConformanceResult(id: conformanceCase.id, title: conformanceCase.title, specSection: conformanceCase.specSection,
                              level: conformanceCase.level, requirements: conformanceCase.requirements.sorted(),
                              outcome: outcome, duration: seconds, detail: detail)
        }
        if let missing = conformanceCase.requirements.sorted().compactMap({ target.missingReason($0) }).first {
            return result(.skip, 0, missing)
        }
        if target.profile == .javaCard, ConformanceCatalog.nativeOSCaseIDs.contains(conformanceCase.id) {
            return result(.skip, 0, "a native-OS rule (SPEC §13.1): the Java Card runtime, not the applet, answers it")
        }

        let clock = ContinuousClock()
        let began = clock.now
        func elapsed() -> Double {
            let duration = clock.now - began
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }

        let card: ConformanceCard
        let atr: [UInt8]
        do {
            card = ConformanceCard(try await target.openToken(), label: "token under test", vendorRoots: target.vendorRoots)
            await card.setIssuerKeyAgreement(target.issuerSigner as? any IssuerKeyAgreement)
            atr = try await card.connect()
        } catch {
            return result(.fail, elapsed(), "could not open and power on the token under test: \(describe(error))")
        }

        let context = ConformanceContext(target: target, card: card, atr: atr, caseID: conformanceCase.id)
        var outcome = ConformanceOutcome.pass
        var detail: [String] = []
        do {
            try await conformanceCase.body(context)
        } catch let skip as ConformanceSkip {
            outcome = .skip
            detail.append(skip.reason)
        } catch let failure as ConformanceFailure {
            outcome = .fail
            detail.append(failure.message)
        } catch let error as SealDriverError {
            outcome = .fail
            detail.append("driver error \(error.code): \(error.message)\(error.reason.isEmpty ? "" : " (\(error.reason))")")
        } catch {
            outcome = .fail
            detail.append("unexpected error: \(describe(error))")
        }
        let problems = await context.session.finish()
        await card.disconnect()
        let notes = await context.session.notes
        if !problems.isEmpty {
            // A case that could not restore the token under test must not pass silently.
            if outcome == .pass { outcome = .fail }
            detail += problems
        }
        if outcome == .pass { detail += notes } else if outcome == .fail, !notes.isEmpty { detail += notes }
        return result(outcome, elapsed(), detail.joined(separator: "; "))
    }

    /// ATR and chip ID of the token under test for the report header; empty strings when unreadable.
    static func identify(_ target: ConformanceTarget) async -> (atr: String, chipID: String) {
        guard let transport = try? await target.openToken() else { return ("", "") }
        let card = ConformanceCard(transport, label: "token under test")
        var atrHex = ""
        var chipIDHex = ""
        if let atr = try? await card.connect() {
            atrHex = hexString(atr)
            if (try? await card.select()) != nil, let chipID = try? await card.chipID() {
                chipIDHex = hexString(chipID)
            }
        }
        await card.disconnect()
        return (atrHex, chipIDHex)
    }
}
