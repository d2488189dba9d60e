/// The outcome of verifying a ``StampRecord``: every check with its result.
public struct StampVerificationReport: Hashable, Sendable, CustomStringConvertible {
    /// All checks, in ``StampVerificationCheck/ID/allCases`` order.
    public var checks: [StampVerificationCheck]

    /// Creates a report.
    public init(checks: [StampVerificationCheck]) {
        self.checks = checks
    }

    /// `true` when no check failed. Skipped checks (no watermark key, no last seen counter) do not
    /// count as failures.
    public var isValid: Bool { !checks.contains { $0.outcome == .failed } }

    /// The failed checks.
    public var failures: [StampVerificationCheck] { checks.filter { $0.outcome == .failed } }

    /// The first failed check, or `nil` when the record is valid.
    public var firstFailure: StampVerificationCheck? { failures.first }

    /// The result of one check.
    public func check(_ id: StampVerificationCheck.ID) -> StampVerificationCheck? {
        checks.first { $0.id == id }
    }

    /// Throws the first failure, if any, as a ``SealDriverError`` with code
    /// ``SealDriverError/Code-swift.struct/stampInvalid`` whose ``SealDriverError/failedCheck``
    /// names the check (its detail is in ``SealDriverError/reason``).
    public func throwIfInvalid() throws(SealDriverError) {
        if let failure = firstFailure { throw SealDriverError(failedCheck: failure) }
    }

    /// One line per check.
    public var description: String {
        (["stamp \(isValid ? "VALID" : "INVALID")"] + checks.map(\.description)).joined(separator: "\n")
    }
}
