import SealProtocol

/// Errors of the chip's factory and host-side interfaces (not APDU status words: those are the
/// chip's answers). It follows ``CodedError``: equality and hashing by ``code`` only.
public struct SealChipError: CodedError {
    /// The kind of failure; stable across releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidChipID, invalidIssuerKey, alreadyManufactured, notManufactured, invalidCertificate
            case certificateNotAllowed, keyGenerationFailed
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The chip ID is not 16 bytes.
        public static let invalidChipID = Code(.invalidChipID)
        /// The issuer public key is not a 65-byte X9.63 P-256 point.
        public static let invalidIssuerKey = Code(.invalidIssuerKey)
        /// The NVM already holds a manufactured chip.
        public static let alreadyManufactured = Code(.alreadyManufactured)
        /// The NVM does not hold a manufactured chip.
        public static let notManufactured = Code(.notManufactured)
        /// The device certificate is empty, too long or not a DER SEQUENCE.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// A device certificate is already installed, or the chip left MANUFACTURED.
        public static let certificateNotAllowed = Code(.certificateNotAllowed)
        /// The random source never produced a valid P-256 scalar.
        public static let keyGenerationFailed = Code(.keyGenerationFailed)

        /// The code's stable name, e.g. `"invalidChipID"`.
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Human-readable detail; not part of equality.
    public let reason: String

    /// Creates an error.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// Shorthand for ``init(code:reason:)`` inside the package.
    package init(_ code: Code, _ reason: String) {
        self.init(code: code, reason: reason)
    }
}
