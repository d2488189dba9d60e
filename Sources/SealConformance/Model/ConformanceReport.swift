import Foundation
import SealProtocol

/// The outcome of one case.
public enum ConformanceOutcome: String, Sendable, Hashable, Codable {
    /// The token behaved as the spec requires.
    case pass
    /// It did not; ``ConformanceResult/detail`` says how.
    case fail
    /// The case did not run: the target does not offer one of its requirements.
    case skip

    /// `PASS`, `FAIL`, `SKIP`.
    public var tag: String { rawValue.uppercased() }
}

/// One case's result.
public struct ConformanceResult: Sendable, Hashable, Codable, Identifiable {
    /// The case's ID, `SEAL-<AREA>-<NNN>`.
    public var id: String
    /// The case's title.
    public var title: String
    /// The section of Protocol/SPEC.md the case checks.
    public var specSection: String
    /// Whether a failure fails the run.
    public var level: ConformanceLevel
    /// The case's requirements, sorted.
    public var requirements: [ConformanceRequirement]
    /// Pass, fail or skip.
    public var outcome: ConformanceOutcome
    /// Seconds.
    public var duration: Double
    /// Failure message, skip reason, or notes of a pass (may be empty).
    public var detail: String

    package init(id: String, title: String, specSection: String, level: ConformanceLevel, requirements: [ConformanceRequirement],
                outcome: ConformanceOutcome, duration: Double, detail: String) {
        self.id = id
        self.title = title
        self.specSection = specSection
        self.level = level
        self.requirements = requirements
        self.outcome = outcome
        self.duration = duration
        self.detail = detail
    }

    /// The area of the ID (`PIN` for `SEAL-PIN-004`).
    public var area: String {
        let parts = id.split(separator: "-")
        return parts.count == 3 ? String(parts[1]) : id
    }

    /// `[PASS] SEAL-PIN-004 §8.6 VERIFY wrong PIN decrements the counter (3 ms)`, with the failure
    /// message or skip reason on the following indented line.
    public var progressLine: String {
        let milliseconds = Int((duration * 1000).rounded())
        var line = "[\(outcome.tag)] \(id) \(specSection) \(title)"
        switch outcome {
        case .pass: line += " (\(milliseconds) ms)"
        case .fail: line += " (\(milliseconds) ms)\n       \(detail)"
        case .skip: line += " — \(detail)"
        }
        return line
    }
}

/// The results of a run and its metadata.
public struct ConformanceReport: Sendable, Hashable {
    /// The target's ``ConformanceTarget/name``.
    public var targetName: String
    /// The ATR of the token under test, uppercase hex; empty when it could not be read.
    public var atrHex: String
    /// The chip ID of the token under test, uppercase hex; empty when it could not be read.
    public var chipIDHex: String
    /// When the run started.
    public var date: Date
    /// One result per case, in the order the cases ran.
    public var results: [ConformanceResult]

    package init(targetName: String, atrHex: String, chipIDHex: String, date: Date, results: [ConformanceResult]) {
        self.targetName = targetName
        self.atrHex = atrHex
        self.chipIDHex = chipIDHex
        self.date = date
        self.results = results
    }

    /// The number of cases that passed.
    public var passed: Int { results.filter { $0.outcome == .pass }.count }
    /// The number of cases that failed, mandatory and optional.
    public var failed: Int { results.filter { $0.outcome == .fail }.count }
    /// The number of cases skipped for a requirement the target does not offer.
    public var skipped: Int { results.filter { $0.outcome == .skip }.count }
    /// Sum of the cases' durations, seconds.
    public var totalDuration: Double { results.reduce(0) { $0 + $1.duration } }

    /// The exit-code rule of `sealctl conformance`: true when no mandatory case failed.
    ///
    /// Skipped cases (a requirement the target does not offer) do not fail the run; they are listed
    /// in every report. A certification run supplies every requirement so that nothing is skipped
    /// (see ``isComplete``).
    public var allMandatoryPassed: Bool {
        !results.contains { $0.level == .mandatory && $0.outcome == .fail }
    }

    /// True when nothing was skipped.
    public var isComplete: Bool { skipped == 0 }

    /// The closing line: `N passed, N failed, N skipped`.
    public var summaryLine: String {
        "\(passed) passed, \(failed) failed, \(skipped) skipped"
    }

    /// The failed cases.
    public var failures: [ConformanceResult] { results.filter { $0.outcome == .fail } }
}
