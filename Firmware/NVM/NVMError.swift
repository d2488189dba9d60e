import SealProtocol

/// An error raised by the chip's non-volatile memory model.
///
/// It follows ``CodedError``: the ``code`` says what went wrong and is what callers branch on; the
/// ``reason`` carries diagnostic detail (offsets, sizes, the underlying OS error) for humans.
/// Equality and hashing compare only the code, so tests and callers can write
/// `#expect(throws: NVMError(code: .powerLost, reason: ""))` without spelling out the detail.
public struct NVMError: CodedError {
    /// The category of failure; stable across releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case powerLost, noTransaction, transactionInProgress, capacityExceeded, corruptImage, storageFailure
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Power was cut during a physical write (or the chip is still powered down after such a
        /// cut); call ``NonVolatileMemory/powerOn()`` to recover.
        public static let powerLost = Code(.powerLost)
        /// `commitTransaction()` was called with no transaction open.
        public static let noTransaction = Code(.noTransaction)
        /// `beginTransaction()` was called while a transaction is already open; transactions do not
        /// nest, as on Java Card.
        public static let transactionInProgress = Code(.transactionInProgress)
        /// The write would make the records exceed the memory's capacity, or a single record value
        /// exceeds the 65 535-byte record limit.
        public static let capacityExceeded = Code(.capacityExceeded)
        /// The durable image is not a valid SKNV image (bad magic, unsupported version, checksum
        /// mismatch, truncation, or inconsistent structure).
        public static let corruptImage = Code(.corruptImage)
        /// The backing store could not load or store the image.
        public static let storageFailure = Code(.storageFailure)

        /// The code's stable name, e.g. `"powerLost"`.
        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// Human-readable detail; not part of equality.
    public let reason: String

    /// Creates an error with the given code and detail.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// Shorthand for ``init(code:reason:)`` inside the package.
    package init(_ code: Code, _ reason: String = "") {
        self.init(code: code, reason: reason)
    }

    /// `"NVM <code>: <reason>"`, or just `"NVM <code>"` when there is no reason.
    public var description: String {
        reason.isEmpty ? "NVM \(code)" : "NVM \(code): \(reason)"
    }
}
