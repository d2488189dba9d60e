import SealProtocol

/// The registry of every conformance case, in run order.
///
/// IDs are stable: a case is never renumbered and a retired number is never reused. New cases get
/// the next free number of their area.
public enum ConformanceCatalog {
    /// Every case, in run order (grouped by area).
    public static let all: [ConformanceCase] = {
        var cases: [ConformanceCase] = []
        cases += atrCases()
        cases += powerCases()
        cases += selectCases()
        cases += apduCases()
        cases += classCases()
        cases += precedenceCases()
        cases += parameterCases()
        cases += responseCases()
        cases += chainingCases()
        cases += getDataCases()
        cases += pinCases()
        cases += lifecycleCases()
        cases += issuerCases()
        cases += keyCases()
        cases += attestationCases()
        cases += stampCases()
        cases += auditCases()
        cases += remoteAuthorizationCases()
        cases += tearingCases()
        cases += secureChannelCases()
        cases += sealAlgorithmCases()
        cases += stampSESCases()
        return cases
    }()

    /// The areas, in run order, with what they cover.
    public static let areas: [(area: String, covers: String)] = [
        ("ATR", "Answer-to-Reset (§2.2)"),
        ("PWR", "power-on, warm reset and SELECT clearing volatile state (§1.2, §2.3)"),
        ("SEL", "SELECT (§8.1)"),
        ("APDU", "ISO 7816-4 cases 1–4, short and extended, malformed APDUs (§3.1)"),
        ("CLA", "class byte and instruction errors (§3.2)"),
        ("ERR", "error precedence (§5)"),
        ("PAR", "P1-P2 errors of every command (§8)"),
        ("GR", "61xx, 6Cxx and GET RESPONSE (§3.3, §8.2)"),
        ("CHN", "command chaining (§3.4)"),
        ("GD", "GET DATA objects (§8.5)"),
        ("PIN", "VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER (§8.6–§8.9)"),
        ("LCS", "lifecycle, PERSONALIZE and SET LIFECYCLE (§6, §8.11, §8.12)"),
        ("ISS", "GET CHALLENGE and issuer authentication (§8.3, §8.4)"),
        ("KEY", "on-chip key generation and non-export (§1, §8.11)"),
        ("ATT", "device certificate and attestation (§8.15, §9.4, §12)"),
        ("STP", "STAMP, its signature and watermark (§8.13, §9.2, §9.3, §10)"),
        ("AUD", "audit log (§8.14, §9.6)"),
        ("RA", "remote authorization grants (§9.5)"),
        ("TEAR", "power loss at every NVM write (§11)"),
        ("SCP", "the secure channel: key agreement, wrapping, its status words, the commands that need it (§14)"),
        ("ALG", "seal key algorithms: P-256 and SM2 keys, capabilities 85, attestation bit 6, SM2 stamps (§7.1, §8.5, §9.3, §9.4)"),
        ("SES", "GB/T 38540 signatures: PUT and READ SES SEAL in chunks, STAMP-SES and its TBS_Sign (§8.17–§8.19, §9.7)"),
    ]

    /// The case with `id`, if any.
    public static func find(_ id: String) -> ConformanceCase? {
        all.first { $0.id == id }
    }

    /// The sum of what the whole catalog consumes on the token under test.
    public static var totalConsumption: ConformanceConsumption {
        all.reduce(into: ConformanceConsumption()) { total, next in
            total.stamps += next.consumption.stamps
            total.wrongPINTries += next.consumption.wrongPINTries
            total.wrongPUKTries += next.consumption.wrongPUKTries
            total.reversibleChanges += next.consumption.reversibleChanges
        }
    }

    /// The catalog as a Markdown table (ID, section, level, requirements, consumes, title), as in
    /// docs/conformance.md.
    public static func markdownTable(_ cases: [ConformanceCase] = all) -> String {
        var md = "| ID | Section | Level | Requires | Consumes on the token under test | Title |\n|---|---|---|---|---|---|\n"
        for item in cases {
            md += "| \(item.id) | \(item.specSection) | \(item.level.rawValue) | \(item.requirementsSummary) | \(item.consumption.summary) | \(markdownCell(item.title)) |\n"
        }
        return md
    }
}

/// Builds one area's cases with IDs `SEAL-<area>-<NNN>`.
struct CaseList {
    let area: String
    private(set) var cases: [ConformanceCase] = []

    init(_ area: String) {
        self.area = area
    }

    mutating func add(
        _ number: Int, _ section: String, _ title: String, _ level: ConformanceLevel = .mandatory,
        requires: Set<ConformanceRequirement> = [], consumes: ConformanceConsumption = .none,
        _ body: @escaping @Sendable (ConformanceContext) async throws -> Void
    ) {
        let digits = String(number)
        let id = "SEAL-\(area)-\(String(repeating: "0", count: max(0, 3 - digits.count)))\(digits)"
        cases.append(ConformanceCase(id: id, title: title, specSection: section, level: level, requirements: requires,
                                     consumption: consumes, body: body))
    }
}
