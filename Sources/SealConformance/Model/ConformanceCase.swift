@_spi(Testing) import SealHostDriver
import SealProtocol

/// Whether a requirement of Protocol/SPEC.md is a MUST (mandatory) or a SHOULD/MAY (optional).
public enum ConformanceLevel: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// A MUST of the spec: a failure fails the run (``ConformanceReport/allMandatoryPassed``).
    case mandatory
    /// A SHOULD or MAY: a failure is reported but does not fail the run.
    case optional

    public var description: String { rawValue }
}

/// What a case needs beyond the token under test. A case whose requirements the target does not
/// offer is skipped with the reason.
public enum ConformanceRequirement: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    /// The issuer private key (an `IssuerSigner`): EXTERNAL AUTHENTICATE, lifecycle, personalization.
    case issuerKey
    /// Tokens the case may consume: MANUFACTURED tokens from a factory whose issuer key is the
    /// target's `issuerSigner`.
    case freshToken
    /// Power-loss injection at the n-th NVM write (`FaultInjectingTransport`); simulator only.
    case faultInjection
    /// A token personalized with remote authorization required, plus the authority's signing key.
    case remoteAuthorityToken

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }

    /// The flag spelling used in reports and docs, e.g. `.issuerKey`.
    public var flag: String { "." + rawValue }
}

/// What a case leaves behind on the token under test (never on fresh tokens, which it may consume).
///
/// Every try is restored by the case itself (a correct VERIFY or RESET RETRY COUNTER); stamps cannot
/// be undone — the signature counter is monotonic (SPEC §8.13).
public struct ConformanceConsumption: Sendable, Hashable, Codable {
    /// STAMPs performed on the token under test: the counter advances by this much.
    public var stamps: Int
    /// Wrong PIN presentations (VERIFY or CHANGE REFERENCE DATA), restored by a correct one.
    public var wrongPINTries: Int
    /// Wrong PUK presentations, restored by a correct RESET RETRY COUNTER (PIN set to the same PIN).
    public var wrongPUKTries: Int
    /// Reversible changes (PIN changed and changed back, SUSPEND then RESUME) the case makes and undoes.
    public var reversibleChanges: [String]

    package init(stamps: Int = 0, wrongPINTries: Int = 0, wrongPUKTries: Int = 0, reversibleChanges: [String] = []) {
        self.stamps = stamps
        self.wrongPINTries = wrongPINTries
        self.wrongPUKTries = wrongPUKTries
        self.reversibleChanges = reversibleChanges
    }

    /// Nothing: the case leaves the token under test as it found it.
    public static let none = ConformanceConsumption()

    /// Whether the case leaves nothing behind.
    public var isNone: Bool { self == .none }

    /// `"2 stamps; 1 wrong PIN try, restored"`, or `"—"`.
    public var summary: String {
        var parts: [String] = []
        if stamps > 0 { parts.append(stamps == 1 ? "1 stamp" : "\(stamps) stamps") }
        if wrongPINTries > 0 { parts.append("\(wrongPINTries) wrong PIN \(wrongPINTries == 1 ? "try" : "tries"), restored") }
        if wrongPUKTries > 0 { parts.append("\(wrongPUKTries) wrong PUK \(wrongPUKTries == 1 ? "try" : "tries"), restored") }
        parts += reversibleChanges
        return parts.isEmpty ? "—" : parts.joined(separator: "; ")
    }
}

/// One conformance test case: a stable ID, the spec section it checks, and an async body that
/// throws (a failed expectation, a driver error) when the token does not behave as specified.
public struct ConformanceCase: Sendable, Identifiable {
    /// `SEAL-<AREA>-<NNN>`. Stable: never renumbered, never reused.
    public let id: String
    /// What the case checks, in one line.
    public let title: String
    /// The section of Protocol/SPEC.md the case checks, e.g. `"§8.6"`.
    public let specSection: String
    /// Whether a failure fails the run.
    public let level: ConformanceLevel
    /// What the case needs beyond the token under test; without them it is skipped.
    public let requirements: Set<ConformanceRequirement>
    /// What the case leaves behind on the token under test.
    public let consumption: ConformanceConsumption
    package let body: @Sendable (ConformanceContext) async throws -> Void

    package init(
        id: String, title: String, specSection: String, level: ConformanceLevel = .mandatory,
        requirements: Set<ConformanceRequirement> = [], consumption: ConformanceConsumption = .none,
        body: @escaping @Sendable (ConformanceContext) async throws -> Void
    ) {
        self.id = id
        self.title = title
        self.specSection = specSection
        self.level = level
        self.requirements = requirements
        self.consumption = consumption
        self.body = body
    }

    /// The `<AREA>` part of the ID (`PIN` for `SEAL-PIN-004`).
    public var area: String {
        let parts = id.split(separator: "-")
        return parts.count == 3 ? String(parts[1]) : id
    }

    /// The `<NNN>` part of the ID.
    public var number: Int {
        Int(id.split(separator: "-").last ?? "") ?? 0
    }

    /// Whether `id` has the form `SEAL-<AREA>-<NNN>` (area: 2–5 capital letters; NNN: 3 digits, not 000).
    package static func isWellFormedID(_ id: String) -> Bool {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "SEAL" else { return false }
        let area = parts[1], number = parts[2]
        guard (2...5).contains(area.count), area.allSatisfy({ $0.isASCII && $0.isUppercase && $0.isLetter }) else { return false }
        guard number.count == 3, number.allSatisfy({ $0.isASCII && $0.isNumber }), number != "000" else { return false }
        return true
    }

    /// Requirements spelled as flags, sorted: `".freshToken .issuerKey"`, or `"—"`.
    public var requirementsSummary: String {
        requirements.isEmpty ? "—" : requirements.sorted().map(\.flag).joined(separator: " ")
    }
}
