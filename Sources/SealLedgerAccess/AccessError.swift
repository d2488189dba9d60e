import SealProtocol

/// The one error type of the ledger's access layer, in the project's `CodedError` shape: a stable
/// ``code`` to match on and a ``reason`` for people. Equality is by code only.
public struct AccessError: CodedError {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case unauthenticated, forbidden, personalDataMismatch, keyUnavailable, malformedInput, notFound, storageFailure
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// No usable bearer token: missing where one is required, malformed, wrongly signed, expired,
        /// or for another ledger (HTTP 401).
        public static let unauthenticated = Code(.unauthenticated)
        /// A valid token whose role or organization may not do this (HTTP 403).
        public static let forbidden = Code(.forbidden)
        /// Personal data submitted beside a record does not open the record's signed commitments.
        public static let personalDataMismatch = Code(.personalDataMismatch)
        /// A key (token signing key, personal-data key) is missing, unreadable or not in its format, or
        /// a stored row names a key the keyring does not hold.
        public static let keyUnavailable = Code(.keyUnavailable)
        /// Input (a token request, a leaf, a key file line) is not in its format.
        public static let malformedInput = Code(.malformedInput)
        /// The entry or organization asked for has nothing to show.
        public static let notFound = Code(.notFound)
        /// The access database failed (SQLite error, I/O).
        public static let storageFailure = Code(.storageFailure)

        /// The code's name, e.g. `forbidden`.
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Detail for people and logs. Not part of equality. Never holds personal data.
    public let reason: String

    /// Creates an error.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }
}
