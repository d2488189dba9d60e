/// A seal data field that does not follow Protocol/SPEC.md. The chip answers these with `6A80`;
/// the host driver reports them as malformed responses.
///
/// Codes are stable so that tools can match on them (swift-asn1 style).
public struct SealDataError: CodedError {
    /// The kind of a ``SealDataError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case malformedTLV, missingField, unexpectedField, duplicateField, notCanonical, invalidLength, outOfRange, invalidEncoding
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The bytes are not well-formed BER-TLV.
        public static let malformedTLV = Code(.malformedTLV)
        /// A required field is absent.
        public static let missingField = Code(.missingField)
        /// A field the template does not have, or bytes after the last field.
        public static let unexpectedField = Code(.unexpectedField)
        /// A field appears twice.
        public static let duplicateField = Code(.duplicateField)
        /// Fields out of the ascending order a canonical encoding requires (SPEC §9.2).
        public static let notCanonical = Code(.notCanonical)
        /// A field's length is outside what SPEC §7 allows.
        public static let invalidLength = Code(.invalidLength)
        /// A value outside its range (a coordinate, a try limit, a grant window).
        public static let outOfRange = Code(.outOfRange)
        /// A value that is not what its type says: text that is not UTF-8, a PIN that is not digits,
        /// a key that is not a P-256 point.
        public static let invalidEncoding = Code(.invalidEncoding)
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Human-readable detail, naming the field. Not part of equality.
    public let reason: String

    /// Creates an error with a code and a reason naming the field.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    package init(_ code: Code, _ reason: String) {
        self.init(code: code, reason: reason)
    }
}
