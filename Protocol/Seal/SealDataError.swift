/// A seal data field that does not follow Protocol/SPEC.md. The chip answers these with `6A80`;
/// the host driver reports them as malformed responses.
///
/// Codes are stable so that tools can match on them (swift-asn1 style).
public struct SealDataError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let malformedTLV = Code(name: "malformedTLV")
        public static let missingField = Code(name: "missingField")
        public static let unexpectedField = Code(name: "unexpectedField")
        public static let duplicateField = Code(name: "duplicateField")
        public static let notCanonical = Code(name: "notCanonical")
        public static let invalidLength = Code(name: "invalidLength")
        public static let outOfRange = Code(name: "outOfRange")
        public static let invalidEncoding = Code(name: "invalidEncoding")
        public var description: String { name }
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
}
