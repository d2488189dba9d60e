import SealProtocol
/// A failed stamp verification: the first failed check of a ``StampVerificationReport``.
///
/// The ``code`` is the failed check's ``StampVerificationCheck/ID`` — one stable code per check.
/// `Equatable` and `Hashable` consider ``code`` only.
public struct StampVerificationError: CodedError {
    /// The code of a verification error: the identifier of the failed check.
    public typealias Code = StampVerificationCheck.ID

    /// Which check failed.
    public let code: Code
    /// What did not match. Not part of equality.
    public let detail: String
    /// ``detail``, under the name ``CodedError`` uses.
    public var reason: String { detail }

    /// Creates an error.
    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }


    /// One line: which check failed, why, and that the stamp must not be trusted.
    public var description: String {
        "StampVerificationError.\(code): \(detail); do not trust this stamp."
    }
}
