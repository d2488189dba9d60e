import SealProtocol

/// The one error type of SealImprint, in the project's `CodedError` shape: a stable ``code`` to
/// match on and a ``reason`` for people. Equality is by code only.
public struct ImprintError: CodedError {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case malformedPayload, unsupportedPayloadVersion, payloadTooLarge, noQRCode, unreadableImage
            case renderingFailed, fontMissing, sealImageMismatch, malformedEntry
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A trace payload is not in the format of docs/imprint.md.
        public static let malformedPayload = Code(.malformedPayload)
        /// A trace payload of a format version this library does not read.
        public static let unsupportedPayloadVersion = Code(.unsupportedPayloadVersion)
        /// The text does not fit a QR code at the requested error-correction level.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// The image holds no QR code zbar can read.
        public static let noQRCode = Code(.noQRCode)
        /// The image cannot be read (not a PNG, truncated, unsupported pixel format).
        public static let unreadableImage = Code(.unreadableImage)
        /// cairo failed to draw or write the output.
        public static let renderingFailed = Code(.renderingFailed)
        /// No installed font has glyphs for some characters of a name (install fonts-wqy-zenhei).
        public static let fontMissing = Code(.fontMissing)
        /// The seal image given is not the one the record's signed seal image hash names.
        public static let sealImageMismatch = Code(.sealImageMismatch)
        /// A ledger entry is not the canonical bytes of a stamp record.
        public static let malformedEntry = Code(.malformedEntry)

        /// The code's name, e.g. `malformedPayload`.
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Detail for people and logs. Not part of equality.
    public let reason: String

    /// Creates an error.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }
}
