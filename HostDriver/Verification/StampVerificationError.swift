/// A failed stamp verification: the first failed check of a ``StampVerificationReport``.
///
/// The ``code`` is the failed check's ``StampVerificationCheck/ID`` — one stable code per check.
/// `Equatable` and `Hashable` consider ``code`` only.
public struct StampVerificationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code of a verification error: the identifier of the failed check.
    public typealias Code = StampVerificationCheck.ID

    /// Which check failed.
    public let code: Code
    /// What did not match. Not part of equality.
    public let detail: String

    /// Creates an error.
    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// One line: which check failed, why, and that the stamp must not be trusted.
    public var description: String {
        "StampVerificationError.\(code): \(detail); do not trust this stamp."
    }
}
