/// An error raised by the chip's non-volatile memory model.
///
/// The ``code`` says what went wrong and is what callers branch on; the ``message``
/// carries diagnostic detail (offsets, sizes, the underlying OS error) for humans.
/// Equality compares only the code, so tests and callers can write
/// `#expect(throws: NVMError(.powerLost))` without spelling out the message.
public struct NVMError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The category of failure.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// Power was cut during a physical write (or the chip is still powered down
        /// after such a cut); call ``NonVolatileMemory/powerOn()`` to recover.
        case powerLost
        /// `commitTransaction()` was called with no transaction open.
        case noTransaction
        /// `beginTransaction()` was called while a transaction is already open;
        /// transactions do not nest, as on Java Card.
        case transactionInProgress
        /// The write would make the records exceed the memory's capacity, or a single
        /// record value exceeds the 65 535-byte record limit.
        case capacityExceeded
        /// The durable image is not a valid SKNV image (bad magic, unsupported version,
        /// checksum mismatch, truncation, or inconsistent structure).
        case corruptImage
        /// The backing store could not load or store the image.
        case storageFailure
    }

    /// What went wrong.
    public let code: Code
    /// Human-readable detail; not part of equality.
    public let message: String

    /// Creates an error with the given code and an optional detail message.
    public init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    /// `"NVM <code>: <message>"`, or just `"NVM <code>"` when there is no message.
    public var description: String {
        message.isEmpty ? "NVM \(code.rawValue)" : "NVM \(code.rawValue): \(message)"
    }

    /// Errors are equal when their codes are equal; the message is diagnostic only.
    public static func == (lhs: NVMError, rhs: NVMError) -> Bool {
        lhs.code == rhs.code
    }
}
