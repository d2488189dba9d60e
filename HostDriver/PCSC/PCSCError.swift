import SealHostDriver
/// An error of the PC/SC backend: reader discovery, reader monitoring and the PC/SC transport.
///
/// Like ``SealDriverError`` it is a struct with a stable ``code`` (new codes never break a client's
/// `switch`) plus diagnostics. ``message`` is one line for people that says what happened and what
/// to do about it; ``reason`` is the technical detail (the PC/SC function, reader and return code).
///
/// ``PCSCReaders/list()``, ``PCSCTransport/resolve(readerQuery:)`` and ``PCSCReaderMonitor`` throw
/// `PCSCError`. ``PCSCTransport``'s ``CardTransport`` methods throw ``SealDriverError`` instead, as
/// the transport protocol requires; ``driverError`` is the mapping they use (see `docs/pcsc.md`):
///
/// | `PCSCError.Code` | `SealDriverError.Code` |
/// |---|---|
/// | `serviceUnavailable`, `readerUnavailable`, `sharingViolation`, `cardReset`, `timeout`, `cancelled`, `platformUnsupported`, `failure` | `transportFailure` |
/// | `noCard`, `cardRemoved` | `cardRemoved` |
/// | `cardUnresponsive` | `noResponse` |
/// | `protocolNotSupported`, `cardUnsupported` | `notSupportedByToken` |
/// | `readerNotFound`, `readerAmbiguous`, `invalidArgument` | `invalidArgument` |
///
/// It follows ``CodedError``: `Equatable` and `Hashable` consider ``code`` only; ``returnCode``,
/// ``reader``, ``readers`` and ``reason`` are diagnostics.
public struct PCSCError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// The raw PC/SC return code as its 32-bit value (e.g. `0x8010001D` for `SCARD_E_NO_SERVICE`),
    /// when the error comes from a PC/SC call.
    public let returnCode: UInt32?
    /// The PC/SC reader concerned, when known.
    public let reader: String?
    /// Technical detail for logs (PC/SC function, return code name and text). Not part of equality.
    public let reason: String
    /// The reader names known when the error was made: the candidates for ``Code-swift.struct/readerNotFound``
    /// and the matches for ``Code-swift.struct/readerAmbiguous``. Not part of equality.
    public let readers: [String]

    /// Creates an error.
    public init(code: Code, reason: String, reader: String? = nil, returnCode: UInt32? = nil, readers: [String] = []) {
        self.code = code
        self.reason = reason
        self.reader = reader
        self.returnCode = returnCode
        self.readers = readers
    }

    // MARK: Messages

    /// One line for people: what happened and what to do.
    public var message: String {
        let where_ = reader.map { " in reader \"\($0)\"" } ?? ""
        switch code {
        case .serviceUnavailable:
            return "The PC/SC service (pcscd) is not running (\(reason)); start it: sudo systemctl start pcscd, or run pcscd -f."
        case .readerNotFound:
            if readers.isEmpty {
                return "\(reason); no smart-card reader is connected: plug one in and check that pcscd sees it (pcsc_scan -r)."
            }
            return "\(reason); available readers: \(Self.quoted(readers)). Use one of these names or a unique part of one."
        case .readerAmbiguous:
            return "\(reason): \(Self.quoted(readers)). Give more of the reader name."
        case .readerUnavailable:
            return "The reader\(reader.map { " \"\($0)\"" } ?? "") is no longer available (unplugged, or its driver failed); plug it back in and connect again."
        case .noCard:
            return "There is no token\(where_); insert one and connect again."
        case .cardRemoved:
            return "The token was removed\(reader.map { " from reader \"\($0)\"" } ?? ""); reinsert it and connect again."
        case .cardReset:
            return "The token\(where_) was reset by another application again right after reconnecting; close other applications using it and retry."
        case .cardUnresponsive:
            return "The token\(where_) does not answer (\(reason)); reinsert it and connect again, and if a stamp was in progress call recoverStamp."
        case .protocolNotSupported:
            return "The token\(where_) does not offer T=1 (\(reason)); seal tokens use T=1, so insert a seal token."
        case .cardUnsupported:
            return "The reader cannot talk to the token\(where_) (\(reason)); insert a seal token or use another reader."
        case .sharingViolation:
            return "Another application holds the reader\(reader.map { " \"\($0)\"" } ?? "") exclusively; close it (or connect in shared mode) and retry."
        case .timeout:
            return "A PC/SC call timed out (\(reason)); check the reader and retry."
        case .cancelled:
            return "The PC/SC wait was cancelled (\(reason))."
        case .platformUnsupported:
            return "This build has no PC/SC backend (it needs libpcsclite on Linux); use another transport."
        case .invalidArgument:
            return "Invalid argument: \(reason); correct it and retry."
        default:
            return "A PC/SC call failed (\(reason)); check that pcscd sees the reader (pcsc_scan -r) and retry."
        }
    }

    /// `PCSCError.<code>: <message>`.
    public var description: String {
        "PCSCError.\(code): \(message)"
    }

    static func quoted(_ names: [String]) -> String {
        names.map { "\"\($0)\"" }.joined(separator: ", ")
    }

    // MARK: Mapping to the driver error

    /// The ``SealDriverError`` that ``PCSCTransport`` throws for this error (see the table above).
    ///
    /// ``SealDriverError/reason`` carries ``description`` (so the advice on what to do survives the
    /// mapping: ``SealDriverError/message`` embeds the reason for `transportFailure`), and
    /// ``SealDriverError/underlyingError`` is this error, for its ``returnCode`` and ``reader``.
    public var driverError: SealDriverError {
        SealDriverError(code: driverCode, reason: description, underlyingError: self)
    }

    /// The ``SealDriverError`` code for ``code``; see ``driverError``.
    public var driverCode: SealDriverError.Code {
        switch code {
        case .noCard, .cardRemoved: return .cardRemoved
        case .cardUnresponsive: return .noResponse
        case .protocolNotSupported, .cardUnsupported: return .notSupportedByToken
        case .readerNotFound, .readerAmbiguous, .invalidArgument: return .invalidArgument
        default: return .transportFailure
        }
    }

    // MARK: Code

    /// The kind of a ``PCSCError``. Codes are stable.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case serviceUnavailable, readerNotFound, readerAmbiguous, readerUnavailable, noCard, cardRemoved
            case cardReset, cardUnresponsive, protocolNotSupported, cardUnsupported, sharingViolation
            case timeout, cancelled, platformUnsupported, invalidArgument, failure
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The PC/SC service is not running (`SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`), or it
        /// went away during a call (`SCARD_F_COMM_ERROR`: pcsc-lite's answer when pcscd stops while a
        /// client waits in `SCardGetStatusChange`).
        public static let serviceUnavailable = Code(.serviceUnavailable)
        /// No reader has the given name, or no reader matches the query (`SCARD_E_UNKNOWN_READER`).
        public static let readerNotFound = Code(.readerNotFound)
        /// The reader query matches more than one reader; ``PCSCError/readers`` lists them.
        public static let readerAmbiguous = Code(.readerAmbiguous)
        /// The reader went away, e.g. it was unplugged (`SCARD_E_READER_UNAVAILABLE`).
        public static let readerUnavailable = Code(.readerUnavailable)
        /// There is no card in the reader (`SCARD_E_NO_SMARTCARD`).
        public static let noCard = Code(.noCard)
        /// The card was removed while connected (`SCARD_W_REMOVED_CARD`).
        public static let cardRemoved = Code(.cardRemoved)
        /// The card was reset by another application, and again after the one automatic reconnect
        /// (`SCARD_W_RESET_CARD`).
        public static let cardReset = Code(.cardReset)
        /// The card does not answer: mute at reset or unpowered (`SCARD_W_UNRESPONSIVE_CARD`,
        /// `SCARD_W_UNPOWERED_CARD`), or no answer to a command (`SCARD_E_NOT_TRANSACTED` from
        /// `SCardTransmit`; the command may or may not have run).
        public static let cardUnresponsive = Code(.cardUnresponsive)
        /// The card does not offer T=1 (`SCARD_E_PROTO_MISMATCH`, or a T=0-only card).
        public static let protocolNotSupported = Code(.protocolNotSupported)
        /// The reader cannot communicate with the card (`SCARD_W_UNSUPPORTED_CARD`, `SCARD_E_CARD_UNSUPPORTED`).
        public static let cardUnsupported = Code(.cardUnsupported)
        /// Another application holds the card exclusively (`SCARD_E_SHARING_VIOLATION`).
        public static let sharingViolation = Code(.sharingViolation)
        /// A PC/SC call timed out (`SCARD_E_TIMEOUT`).
        public static let timeout = Code(.timeout)
        /// A blocking PC/SC call was cancelled (`SCARD_E_CANCELLED`).
        public static let cancelled = Code(.cancelled)
        /// This build has no PC/SC backend (not Linux with libpcsclite).
        public static let platformUnsupported = Code(.platformUnsupported)
        /// An argument is invalid (e.g. an empty reader query); nothing was sent.
        public static let invalidArgument = Code(.invalidArgument)
        /// Any other PC/SC failure (communication with pcscd, internal errors, invalid handles).
        public static let failure = Code(.failure)

        /// The code's stable name.
        public var description: String { value.rawValue }
    }
}
