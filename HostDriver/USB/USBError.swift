import SealHostDriver
import SealReaderWire
import SealProtocol

/// The one error type of the USB backend: USB/IP connections, libusb device access and
/// enumeration, and the CCID layer (the host session's checks on the reader's replies and the
/// reader's own failure reports).
///
/// The backend's own APIs (``USBIPClient``, ``USBIPAddress``, ``USBDeviceID``, ``LibUSBDevices``,
/// ``CCIDHostSession``, ``CCIDBulkPipe`` implementations) throw it. ``CCIDTransport``'s
/// ``CardTransport`` methods throw ``SealDriverError`` instead, mapped by ``driverError``, so a
/// ``SealToken`` over USB throws the same error type as over any other transport:
///
/// | `USBError.Code` | `SealDriverError.Code` |
/// |---|---|
/// | `deviceGone`, `cardAbsent` | `cardRemoved` |
/// | `timeout`, `iccMute`, `timeExtensionLimit` | `noResponse` |
/// | `commandTooLong` | `commandTooLong` |
/// | `responseTooLong` | `responseTooLong` |
/// | `unsupportedReader` | `notSupportedByToken` |
/// | `invalidAddress`, `deviceNotFound` | `invalidArgument` |
/// | everything else | `transportFailure` |
///
/// ``message`` says what to do, e.g. for ``Code-swift.struct/permissionDenied``: "no permission to
/// open 1234:5678: add a udev rule or run as root". It follows ``CodedError``: `Equatable` and
/// `Hashable` consider ``code`` only; ``reason``, ``device`` and ``slotError`` are diagnostics.
public struct USBError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Technical detail for logs (the call, its error name, the device). Not part of equality.
    public let reason: String
    /// The device concerned as `VVVV:PPPP` or a USB/IP bus id, when known. Not part of equality.
    public let device: String?
    /// The reader's CCID `bError`, for failures the reader reported (``Code-swift.struct/iccMute``,
    /// ``Code-swift.struct/cardAbsent``, ``Code-swift.struct/slotFailure``). Not part of equality.
    public let slotError: CCIDSlotError?

    /// Creates an error.
    public init(code: Code, reason: String, device: String? = nil, slotError: CCIDSlotError? = nil) {
        self.code = code
        self.reason = reason
        self.device = device
        self.slotError = slotError
    }

    /// One line for people: what happened and what to do.
    public var message: String {
        let name = device ?? "the device"
        switch code {
        case .permissionDenied:
            return "no permission to open \(name): add a udev rule or run as root"
        case .deviceBusy:
            return "the device is in use, probably by pcscd: stop pcscd or use --reader"
        case .noUSBDevices:
            return "no USB devices: \(reason)"
        case .libusbUnavailable:
            return "USB access is not available: \(reason)"
        case .invalidAddress:
            return "invalid address: \(reason)"
        case .deviceNotFound:
            return "device not found: \(reason)"
        case .noCCIDInterface:
            return "\(name) has no usable CCID (smart card) interface: \(reason)"
        case .connectionFailed:
            return "cannot connect: \(reason); check that the USB/IP server is running and reachable"
        case .connectionClosed:
            return "the connection to the USB/IP server was closed: \(reason); reconnect"
        case .importFailed:
            return "the USB/IP server refused to export \(name): \(reason); check the bus id or whether another client attached it"
        case .deviceGone:
            return "\(name) is gone (\(reason)); plug it in again and reconnect"
        case .timeout:
            return "\(name) did not answer in time (\(reason)); reconnect the device and retry"
        case .stalled:
            return "\(name) stalled the endpoint (\(reason)); reset the device and retry"
        case .iccMute:
            return "the token did not answer the reader (ICC_MUTE); reinsert it and retry"
        case .cardAbsent:
            return "the reader reports no token in the slot; insert it and connect again"
        case .timeExtensionLimit:
            return "the token kept asking for more time (\(reason)); reset it and retry"
        case .slotFailure:
            return "the CCID reader reported \(slotError?.name ?? "an error") (\(reason)); reset the token and retry"
        case .unsupportedReader:
            return "this CCID reader is not supported (\(reason)); use a reader with APDU-level exchange"
        case .sequenceMismatch, .slotMismatch, .unexpectedMessage, .malformedMessage, .chainingError, .busy,
             .responseTooLong, .commandTooLong:
            return "CCID protocol error: \(reason); reset the reader and retry"
        default:
            return "USB failure on \(name): \(reason)"
        }
    }

    /// `USBError.<code>: <message>`.
    public var description: String { "USBError.\(code): \(message)" }

    /// The ``SealDriverError`` this error becomes at the ``CardTransport`` boundary: code
    /// ``driverCode``, ``description`` as its ``SealDriverError/reason`` and this error as its
    /// ``SealDriverError/underlyingError``.
    public var driverError: SealDriverError {
        SealDriverError(code: driverCode, reason: description, underlyingError: self)
    }

    /// The ``SealDriverError`` code for ``code``; see ``driverError``.
    public var driverCode: SealDriverError.Code {
        switch code {
        case .deviceGone, .cardAbsent: .cardRemoved
        case .timeout, .iccMute, .timeExtensionLimit: .noResponse
        case .commandTooLong: .commandTooLong
        case .responseTooLong: .responseTooLong
        case .unsupportedReader: .notSupportedByToken
        case .invalidAddress, .deviceNotFound: .invalidArgument
        default: .transportFailure
        }
    }

    /// The kind of a ``USBError``. Codes are stable.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidAddress, deviceNotFound, noCCIDInterface, noUSBDevices, libusbUnavailable
            case permissionDenied, deviceBusy, deviceGone, timeout, stalled, transferFailed
            case connectionFailed, connectionClosed, importFailed, protocolError, invalidDescriptor
            case sequenceMismatch, slotMismatch, unexpectedMessage, malformedMessage, iccMute, cardAbsent
            case slotFailure, timeExtensionLimit, chainingError, responseTooLong, commandTooLong, busy
            case unsupportedReader
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        // USB access and USB/IP

        /// A `HOST[:PORT][/BUSID]` or `VID:PID` that does not parse.
        public static let invalidAddress = Code(.invalidAddress)
        /// No device matches the bus id or `VID:PID`, or no exported device has a CCID interface.
        public static let deviceNotFound = Code(.deviceNotFound)
        /// The device has no interface of class `0B` with bulk IN and OUT endpoints, or its CCID
        /// class descriptor is missing or malformed.
        public static let noCCIDInterface = Code(.noCCIDInterface)
        /// The machine has no USB bus this process can see (no USB stack, no `/dev/bus/usb`).
        public static let noUSBDevices = Code(.noUSBDevices)
        /// The program was built without libusb, or libusb failed to initialise.
        public static let libusbUnavailable = Code(.libusbUnavailable)
        /// `LIBUSB_ERROR_ACCESS`: no permission to open the device.
        public static let permissionDenied = Code(.permissionDenied)
        /// `LIBUSB_ERROR_BUSY`: the interface is claimed by another driver or program (pcscd).
        public static let deviceBusy = Code(.deviceBusy)
        /// The device was unplugged (`LIBUSB_ERROR_NO_DEVICE`, USB/IP `-ENODEV`/`-ESHUTDOWN`).
        public static let deviceGone = Code(.deviceGone)
        /// A transfer timed out without data, or the reader did not answer a CCID command in time.
        public static let timeout = Code(.timeout)
        /// The endpoint stalled (`LIBUSB_ERROR_PIPE`, USB/IP `-EPIPE`).
        public static let stalled = Code(.stalled)
        /// Another transfer failure.
        public static let transferFailed = Code(.transferFailed)
        /// TCP connection to the USB/IP server failed (resolution, refusal, timeout).
        public static let connectionFailed = Code(.connectionFailed)
        /// The USB/IP connection closed or was closed by ``CCIDBulkPipe/close()``.
        public static let connectionClosed = Code(.connectionClosed)
        /// The USB/IP server answered OP_REP_IMPORT with a non-zero status.
        public static let importFailed = Code(.importFailed)
        /// The USB/IP server's bytes do not follow the protocol.
        public static let protocolError = Code(.protocolError)
        /// A descriptor the device returned does not decode.
        public static let invalidDescriptor = Code(.invalidDescriptor)

        // CCID

        /// A reply's `bSeq` is not the sequence number of the command in flight.
        public static let sequenceMismatch = Code(.sequenceMismatch)
        /// A reply's `bSlot` is not the slot the command addressed.
        public static let slotMismatch = Code(.slotMismatch)
        /// A reply of the wrong message type (e.g. SlotStatus to an XfrBlock), a command or an
        /// unknown type on bulk IN.
        public static let unexpectedMessage = Code(.unexpectedMessage)
        /// A reply that does not decode: too long, wrong length for its type, or cut short by
        /// the end of the bulk transfer.
        public static let malformedMessage = Code(.malformedMessage)
        /// The reader failed with `ICC_MUTE`: the token did not answer.
        public static let iccMute = Code(.iccMute)
        /// The reader failed and reports no ICC in the slot.
        public static let cardAbsent = Code(.cardAbsent)
        /// The reader failed with another `bError`; see ``USBError/slotError``.
        public static let slotFailure = Code(.slotFailure)
        /// More time-extension replies than the session allows for one command.
        public static let timeExtensionLimit = Code(.timeExtensionLimit)
        /// A `bChainParameter` that does not continue the chain in progress.
        public static let chainingError = Code(.chainingError)
        /// The reassembled response exceeds the session's limit.
        public static let responseTooLong = Code(.responseTooLong)
        /// The command does not fit the reader (too long for one message and chaining impossible).
        public static let commandTooLong = Code(.commandTooLong)
        /// A command was started while another is in flight.
        public static let busy = Code(.busy)
        /// The reader's CCID class descriptor announces something this driver does not do
        /// (character or TPDU exchange level).
        public static let unsupportedReader = Code(.unsupportedReader)

        /// The code's stable name.
        public var description: String { value.rawValue }
    }
}
