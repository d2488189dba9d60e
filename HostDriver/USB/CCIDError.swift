import SealHostDriver
import SealReaderWire
import SealProtocol

/// An error of the CCID layer: the host session's checks on the reader's replies and the reader's
/// own failure reports.
///
/// ``CCIDTransport``'s ``CardTransport`` methods throw ``SealDriverError``; ``driverError`` is the
/// mapping they use:
///
/// | `CCIDError.Code` | `SealDriverError.Code` |
/// |---|---|
/// | `iccMute`, `timeout`, `timeExtensionLimit` | `noResponse` |
/// | `cardAbsent` | `cardRemoved` |
/// | `commandTooLong` | `commandTooLong` |
/// | `responseTooLong` | `responseTooLong` |
/// | `unsupportedReader` | `notSupportedByToken` |
/// | `sequenceMismatch`, `slotMismatch`, `unexpectedMessage`, `malformedMessage`, `chainingError`, `slotFailure`, `busy` | `transportFailure` |
///
/// `Equatable` and `Hashable` consider ``code`` and ``slotError`` only.
public struct CCIDError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public let code: Code
    /// The reader's `bError`, for failures the reader reported.
    public let slotError: CCIDSlotError?
    /// Technical detail for logs. Not part of equality.
    public let reason: String

    /// Creates an error.
    public init(code: Code, reason: String, slotError: CCIDSlotError? = nil) {
        self.code = code
        self.reason = reason
        self.slotError = slotError
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code && lhs.slotError == rhs.slotError }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(slotError)
    }

    /// One line for people: what happened and what to do.
    public var message: String {
        switch code {
        case .iccMute:
            return "The token did not answer the reader (ICC_MUTE); reinsert it and retry."
        case .cardAbsent:
            return "The reader reports no token in the slot; insert it and connect again."
        case .timeout:
            return "The CCID reader did not answer in time (\(reason)); reconnect the device and retry."
        case .timeExtensionLimit:
            return "The token kept asking for more time (\(reason)); reset it and retry."
        case .slotFailure:
            return "The CCID reader reported \(slotError?.name ?? "an error") (\(reason)); reset the token and retry."
        case .unsupportedReader:
            return "This CCID reader is not supported (\(reason)); use a reader with APDU-level exchange."
        default:
            return "CCID protocol error: \(reason); reset the reader and retry."
        }
    }

    public var description: String { "CCIDError.\(code): \(reason)" }

    /// The ``SealDriverError`` this error becomes at the ``CardTransport`` boundary.
    public var driverError: SealDriverError { SealDriverError(code: driverCode, reason: message) }

    /// The ``SealDriverError`` code for ``code``; see ``driverError``.
    public var driverCode: SealDriverError.Code {
        switch code {
        case .iccMute, .timeout, .timeExtensionLimit: .noResponse
        case .cardAbsent: .cardRemoved
        case .commandTooLong: .commandTooLong
        case .responseTooLong: .responseTooLong
        case .unsupportedReader: .notSupportedByToken
        default: .transportFailure
        }
    }

    /// The kind of a ``CCIDError``. Codes are stable.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A reply's `bSeq` is not the sequence number of the command in flight.
        public static let sequenceMismatch = Code("sequenceMismatch")
        /// A reply's `bSlot` is not the slot the command addressed.
        public static let slotMismatch = Code("slotMismatch")
        /// A reply of the wrong message type (e.g. SlotStatus to an XfrBlock), a command or an
        /// unknown type on bulk IN.
        public static let unexpectedMessage = Code("unexpectedMessage")
        /// A reply that does not decode: too long, wrong length for its type, or cut short by
        /// the end of the bulk transfer.
        public static let malformedMessage = Code("malformedMessage")
        /// The reader failed with `ICC_MUTE`: the token did not answer.
        public static let iccMute = Code("iccMute")
        /// The reader failed and reports no ICC in the slot.
        public static let cardAbsent = Code("cardAbsent")
        /// The reader failed with another `bError`; see ``CCIDError/slotError``.
        public static let slotFailure = Code("slotFailure")
        /// More time-extension replies than the session allows for one command.
        public static let timeExtensionLimit = Code("timeExtensionLimit")
        /// A `bChainParameter` that does not continue the chain in progress.
        public static let chainingError = Code("chainingError")
        /// The reassembled response exceeds the session's limit.
        public static let responseTooLong = Code("responseTooLong")
        /// The command does not fit the reader (too long for one message and chaining impossible).
        public static let commandTooLong = Code("commandTooLong")
        /// A command was started while another is in flight.
        public static let busy = Code("busy")
        /// The reader did not answer before the timeout.
        public static let timeout = Code("timeout")
        /// The reader's CCID class descriptor announces something this driver does not do
        /// (character or TPDU exchange level).
        public static let unsupportedReader = Code("unsupportedReader")

        public var description: String { name }
    }
}
