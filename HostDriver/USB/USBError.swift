import SealHostDriver
import SealReaderWire
import SealProtocol

/// An error of the USB access layer: USB/IP connections, libusb device access, enumeration.
///
/// ``CCIDTransport`` maps it to ``SealDriverError`` with ``driverError``:
///
/// | `USBError.Code` | `SealDriverError.Code` |
/// |---|---|
/// | `deviceGone` | `cardRemoved` |
/// | `timeout` | `noResponse` |
/// | `invalidAddress`, `deviceNotFound` | `invalidArgument` |
/// | everything else | `transportFailure` |
///
/// ``message`` says what to do, e.g. for ``Code-swift.struct/permissionDenied``: "no permission to
/// open 1234:5678: add a udev rule or run as root". `Equatable` and `Hashable` consider ``code``
/// only.
public struct USBError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Technical detail for logs (the call, its error name, the device). Not part of equality.
    public let reason: String
    /// The device concerned as `VVVV:PPPP` or a USB/IP bus id, when known. Not part of equality.
    public let device: String?

    /// Creates an error.
    public init(code: Code, reason: String, device: String? = nil) {
        self.code = code
        self.reason = reason
        self.device = device
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
            return "\(name) did not answer in time (\(reason))"
        case .stalled:
            return "\(name) stalled the endpoint (\(reason)); reset the device and retry"
        default:
            return "USB failure on \(name): \(reason)"
        }
    }

    public var description: String { "USBError.\(code): \(message)" }

    /// The ``SealDriverError`` this error becomes at the ``CardTransport`` boundary.
    public var driverError: SealDriverError { SealDriverError(code: driverCode, reason: message) }

    /// The ``SealDriverError`` code for ``code``; see ``driverError``.
    public var driverCode: SealDriverError.Code {
        switch code {
        case .deviceGone: .cardRemoved
        case .timeout: .noResponse
        case .invalidAddress, .deviceNotFound: .invalidArgument
        default: .transportFailure
        }
    }

    /// The kind of a ``USBError``. Codes are stable.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A `HOST[:PORT][/BUSID]` or `VID:PID` that does not parse.
        public static let invalidAddress = Code("invalidAddress")
        /// No device matches the bus id or `VID:PID`, or no exported device has a CCID interface.
        public static let deviceNotFound = Code("deviceNotFound")
        /// The device has no interface of class `0B` with bulk IN and OUT endpoints, or its CCID
        /// class descriptor is missing or malformed.
        public static let noCCIDInterface = Code("noCCIDInterface")
        /// The machine has no USB bus this process can see (no USB stack, no `/dev/bus/usb`).
        public static let noUSBDevices = Code("noUSBDevices")
        /// The program was built without libusb, or libusb failed to initialise.
        public static let libusbUnavailable = Code("libusbUnavailable")
        /// `LIBUSB_ERROR_ACCESS`: no permission to open the device.
        public static let permissionDenied = Code("permissionDenied")
        /// `LIBUSB_ERROR_BUSY`: the interface is claimed by another driver or program (pcscd).
        public static let deviceBusy = Code("deviceBusy")
        /// The device was unplugged (`LIBUSB_ERROR_NO_DEVICE`, USB/IP `-ENODEV`/`-ESHUTDOWN`).
        public static let deviceGone = Code("deviceGone")
        /// A transfer timed out without data.
        public static let timeout = Code("timeout")
        /// The endpoint stalled (`LIBUSB_ERROR_PIPE`, USB/IP `-EPIPE`).
        public static let stalled = Code("stalled")
        /// Another transfer failure.
        public static let transferFailed = Code("transferFailed")
        /// TCP connection to the USB/IP server failed (resolution, refusal, timeout).
        public static let connectionFailed = Code("connectionFailed")
        /// The USB/IP connection closed or was closed by ``CCIDBulkPipe/close()``.
        public static let connectionClosed = Code("connectionClosed")
        /// The USB/IP server answered OP_REP_IMPORT with a non-zero status.
        public static let importFailed = Code("importFailed")
        /// The USB/IP server's bytes do not follow the protocol.
        public static let protocolError = Code("protocolError")
        /// A descriptor the device returned does not decode.
        public static let invalidDescriptor = Code("invalidDescriptor")

        public var description: String { name }
    }
}
