import SealProtocol

/// An error thrown while decoding a reader wire format: a CCID message, a USB descriptor or a
/// USB/IP message. One type for the target: its callers (the host's USB backend and the
/// simulator's servers) react to the kind of damage, not to which format carried it; ``reason``
/// names the format and the field.
///
/// Inspect ``code``; `Equatable` and `Hashable` consider only ``code`` (``CodedError``).
package struct ReaderWireError: CodedError {
    /// The kind of failure.
    package let code: Code
    /// Human-readable detail: the format, the field, the values. Not part of equality.
    package let reason: String

    /// Creates an error with a code and a diagnostic reason.
    package init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The kind of a ``ReaderWireError``. Codes are stable.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case truncated, lengthTooLarge, invalidLength, trailingBytes, empty
            case unexpectedType, inconsistentTotalLength, invalidValue, badVersion, unknownCode
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// The input ended before the header, or before the data bytes a length field announces.
        package static let truncated = Code(.truncated)
        /// A length or count over the decoder's bound: a CCID message longer than
        /// `dwMaxCCIDMessageLength`, a USB/IP device count, transfer length or ISO packet count.
        package static let lengthTooLarge = Code(.lengthTooLarge)
        /// A length that does not fit the message or descriptor type, e.g. data on a CCID
        /// `IccPowerOff`, or a descriptor whose `bLength` is wrong for its type. A CCID message
        /// with this error is still framed: the bytes it occupies are known from its header.
        package static let invalidLength = Code(.invalidLength)
        /// Bytes follow the message in an input that should hold exactly one.
        package static let trailingBytes = Code(.trailingBytes)
        /// A CCID interrupt transfer without any byte.
        package static let empty = Code(.empty)
        /// A descriptor of another type where the parser needs a specific one.
        package static let unexpectedType = Code(.unexpectedType)
        /// A configuration descriptor whose `wTotalLength` disagrees with the descriptors it holds.
        package static let inconsistentTotalLength = Code(.inconsistentTotalLength)
        /// A field outside its domain, e.g. a USB/IP direction other than 0 or 1, or a string
        /// descriptor that is not UTF-16LE.
        package static let invalidValue = Code(.invalidValue)
        /// A USB/IP operation header whose version is not `0x0111`.
        package static let badVersion = Code(.badVersion)
        /// A USB/IP operation or URB command code this side does not expect.
        package static let unknownCode = Code(.unknownCode)

        package var description: String { backing.rawValue }
    }
}
