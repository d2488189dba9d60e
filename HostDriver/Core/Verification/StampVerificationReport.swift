#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The outcome of verifying a ``StampRecord``: every check with its result.
public struct StampVerificationReport: Hashable, Sendable, CustomStringConvertible {
    /// All checks, in ``StampVerificationCheck/ID/allCases`` order.
    public var checks: [StampVerificationCheck]

    /// The trusted time bound of the record's RFC 3161 timestamp token: the stamp existed before
    /// this time. `nil` unless the record carries a token and every timestamp check passed
    /// (imprint, signature, and a TSA chaining to a configured TSA root).
    public var timestampBound: Date?

    /// Creates a report.
    package init(checks: [StampVerificationCheck], timestampBound: Date? = nil) {
        self.checks = checks
        self.timestampBound = timestampBound
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
        let bound = timestampBound.map { ["the stamp existed before \($0.timeIntervalSince1970) (RFC 3161 timestamp)"] } ?? []
        return (["stamp \(isValid ? "VALID" : "INVALID")"] + checks.map(\.description) + bound).joined(separator: "\n")
    }
}
