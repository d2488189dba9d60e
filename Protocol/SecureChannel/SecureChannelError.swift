/// A secure-channel failure (Protocol/SPEC.md §14): a malformed key-agreement field, a receipt or
/// MAC that does not match, bad padding. Every one ends the channel on both sides.
public struct SecureChannelError: CodedError {
    /// The kind of a ``SecureChannelError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case malformedKeyAgreementData, invalidPublicKey, receiptMismatch, macMismatch, badPadding,
                 malformedWrappedData, channelClosed, counterExhausted, cryptoFailure
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The 83-byte key-agreement field (or the card's answer to it) is not as SPEC §14.3 writes it.
        public static let malformedKeyAgreementData = Code(.malformedKeyAgreementData)
        /// A public key that is not an uncompressed P-256 point on the curve.
        public static let invalidPublicKey = Code(.invalidPublicKey)
        /// The card's receipt differs from the one the host derived: the card does not hold the
        /// certified key-agreement key, or someone changed the exchange.
        public static let receiptMismatch = Code(.receiptMismatch)
        /// A command or response MAC does not match (changed, replayed, reordered or truncated).
        public static let macMismatch = Code(.macMismatch)
        /// Decrypted data does not end in ISO/IEC 9797-1 method 2 padding.
        public static let badPadding = Code(.badPadding)
        /// Wrapped data too short for its MAC, or not a whole number of AES blocks.
        public static let malformedWrappedData = Code(.malformedWrappedData)
        /// The channel already ended (after a security failure); open a new one.
        public static let channelClosed = Code(.channelClosed)
        /// The encryption counter reached 2³² − 1: the channel must be re-opened.
        public static let counterExhausted = Code(.counterExhausted)
        /// The cryptography library refused an operation no input should make it refuse.
        public static let cryptoFailure = Code(.cryptoFailure)
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Human-readable detail. Not part of equality.
    public let reason: String

    /// Creates an error with a code and a reason.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }
}
