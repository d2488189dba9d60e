import SealProtocol

/// The one error type of the ledger library, in the project's `CodedError` shape: a stable
/// ``code`` to match on and a ``reason`` for people. Equality is by code only.
public struct LedgerError: CodedError {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case outOfRange, proofInvalid, malformedNote, signatureInvalid, malformedInput
            case recordRefused, entryTooLarge, storageFailure, notFound, inconsistentTree, quorumNotMet
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A leaf index or tree size beyond the tree.
        public static let outOfRange = Code(.outOfRange)
        /// A Merkle proof does not verify.
        public static let proofInvalid = Code(.proofInvalid)
        /// A signed note, checkpoint or key is not in its format.
        public static let malformedNote = Code(.malformedNote)
        /// No trusted signature on a note verifies.
        public static let signatureInvalid = Code(.signatureInvalid)
        /// Input to the ledger (JSON, a path, a proof file) is not in its format.
        public static let malformedInput = Code(.malformedInput)
        /// Admission refused a stamp record: a verification check failed (``LedgerError/failedCheck``).
        public static let recordRefused = Code(.recordRefused)
        /// An entry is larger than the 65,535 bytes an entry bundle can hold.
        public static let entryTooLarge = Code(.entryTooLarge)
        /// The storage failed (SQLite error, I/O).
        public static let storageFailure = Code(.storageFailure)
        /// The entry, tile or checkpoint asked for does not exist.
        public static let notFound = Code(.notFound)
        /// The stored leaves do not rebuild the tree the last checkpoint signed (`fsck`).
        public static let inconsistentTree = Code(.inconsistentTree)
        /// Fewer trusted witnesses than the configured quorum cosigned a checkpoint.
        public static let quorumNotMet = Code(.quorumNotMet)

        /// The code's name, e.g. `recordRefused`.
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Detail for people and logs. Not part of equality.
    public let reason: String
    /// For ``Code-swift.struct/recordRefused``: the ID of the first failed verification check
    /// (e.g. `stamp-signature`). Not part of equality.
    public let failedCheck: String?

    /// Creates an error.
    public init(code: Code, reason: String, failedCheck: String? = nil) {
        self.code = code
        self.reason = reason
        self.failedCheck = failedCheck
    }
}
