import SealProtocol
/// Errors of the chip's factory and host-side interfaces (not APDU status words).
public struct SealChipError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The chip ID is not 16 bytes.
        public static let invalidChipID = Code(name: "invalidChipID")
        /// The issuer public key is not a 65-byte X9.63 P-256 point.
        public static let invalidIssuerKey = Code(name: "invalidIssuerKey")
        /// The NVM already holds a manufactured chip.
        public static let alreadyManufactured = Code(name: "alreadyManufactured")
        /// The NVM does not hold a manufactured chip.
        public static let notManufactured = Code(name: "notManufactured")
        /// The device certificate is empty, too long or not a DER SEQUENCE.
        public static let invalidCertificate = Code(name: "invalidCertificate")
        /// A device certificate is already installed, or the chip left MANUFACTURED.
        public static let certificateNotAllowed = Code(name: "certificateNotAllowed")
        /// The random source never produced a valid P-256 scalar.
        public static let keyGenerationFailed = Code(name: "keyGenerationFailed")
        public var description: String { name }
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "SealChipError.\(code): \(reason)" }

    /// Errors are equal when their codes are; the reason is diagnostic only.
}
