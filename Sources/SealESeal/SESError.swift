import SealProtocol

/// The one error type of parsing GB/T 38540 and GM/T 0031 seals and signatures.
///
/// It follows `CodedError`: a stable ``code``, a ``reason`` for logs that names the field, equality
/// by code only. Verification never throws: a seal or signature that parses gets a
/// ``SESVerificationReport`` whatever its checks find.
public struct SESError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Technical detail for logs (which field, what was found). Not part of equality.
    public let reason: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - reason: Technical detail for logs.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The kinds of failure, as static members over a private enum so that new codes do not break
    /// an exhaustive `switch` in a caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case malformed, ambiguousEncoding, unsupportedVersion }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The bytes are not the structure the standard defines (a field missing, of the wrong
        /// type, or not DER where no real file deviates).
        public static let malformed = Code(.malformed)
        /// The bytes admit more than one reading (an indefinite length, a BOOLEAN that is neither
        /// 00 nor FF, a BIT STRING with unused bits, an optional field whose tagging cannot be told).
        public static let ambiguousEncoding = Code(.ambiguousEncoding)
        /// The header is not `ES` version 1, 2 (GM/T 0031-2014), 4 (GB/T 38540-2020) or 5 (GM/T 0031-2025).
        public static let unsupportedVersion = Code(.unsupportedVersion)

        /// The code's name, e.g. `ambiguousEncoding`.
        public var description: String { value.rawValue }
    }
}
