import SealProtocol

/// The one error type of reading and signing OFD containers (GB/T 33190 §18).
///
/// It follows `CodedError`: a stable ``code``, a ``reason`` that names the entry or element, equality
/// by code only. Verification throws only when the file is not an OFD container at all; whatever
/// the signatures in a readable container are, they get an ``OFDVerificationReport``.
public struct OFDError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Technical detail (which entry, which element). Not part of equality.
    public let reason: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - reason: Technical detail.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The kinds of failure, as static members over a private enum so that new codes do not break
    /// an exhaustive `switch` in a caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case notAContainer, missingEntry, malformedXML, locked, invalidRequest }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The bytes are not a ZIP archive ZIPFoundation can read, or an entry cannot be extracted.
        public static let notAContainer = Code(.notAContainer)
        /// An entry the container's XML names (OFD.xml, a DocRoot, a signature list) is absent.
        public static let missingEntry = Code(.missingEntry)
        /// An XML entry does not parse or lacks an element or attribute the standard requires.
        public static let malformedXML = Code(.malformedXML)
        /// An existing signature protects the signature list (`Signatures.xml`): no further
        /// signature can be added without breaking it.
        public static let locked = Code(.locked)
        /// A signing request that cannot be carried out (no such page, a key that does not belong
        /// to the certificate, a signer not in the seal's certificate list, a seal not valid now).
        public static let invalidRequest = Code(.invalidRequest)

        /// The code's name, e.g. `locked`.
        public var description: String { value.rawValue }
    }
}
