import SealProtocol

/// The one error type of ``SM3``, ``SM2PublicKey``, ``SM2PrivateKey``, ``SM2Signature`` and
/// ``SM2Certificate``.
///
/// It follows `CodedError`: a stable ``code`` to match on, a ``reason`` for logs (with OpenSSL's
/// own error text where OpenSSL refused), and equality by code only.
public struct GMCryptoError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Technical detail for logs. Not part of equality.
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
        private enum Value: String { case invalidKey, notSM2Key, invalidCertificate, invalidSignatureEncoding, openSSLFailure }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The bytes are not a key OpenSSL can read (DER SubjectPublicKeyInfo, PEM).
        public static let invalidKey = Code(.invalidKey)
        /// The key or certificate is well formed but not on the SM2 curve.
        public static let notSM2Key = Code(.notSM2Key)
        /// The bytes are not an X.509 certificate OpenSSL can read.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// A signature is neither a DER `SEQUENCE { r, s }` nor 64 bytes of r‖s.
        public static let invalidSignatureEncoding = Code(.invalidSignatureEncoding)
        /// OpenSSL failed an operation that should not fail (allocation, key generation).
        public static let openSSLFailure = Code(.openSSLFailure)

        /// The code's name, e.g. `notSM2Key`.
        public var description: String { value.rawValue }
    }
}

extension GMCryptoError {
    /// An error whose reason ends with the oldest entry of OpenSSL's error queue, which is emptied.
    static func openSSL(_ code: Code, _ what: String) -> GMCryptoError {
        GMCryptoError(code: code, reason: "\(what)\(OpenSSLErrorQueue.drain())")
    }
}
