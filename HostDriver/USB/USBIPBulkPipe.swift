import SealHostDriver
import SealReaderWire
import SealProtocol
import Synchronization

/// The CCID interface of a device imported from a USB/IP server: bulk OUT, bulk IN and
/// interrupt IN as CMD_SUBMITs with their own seqnums. Made by ``USBIPClient/importDevice(busID:)``.
///
/// ``close()`` unlinks pending URBs (CMD_UNLINK) and closes the connection; releasing the pipe
/// without closing it shuts the connection down without unlinks.
///
/// ## One round trip per command
/// A CCID command is a bulk-OUT transfer answered by a bulk-IN transfer. ``write(_:timeout:)``
/// sends the bulk-OUT CMD_SUBMIT and a bulk-IN CMD_SUBMIT (of `dwMaxCCIDMessageLength` rounded to
/// whole packets) in one write, so the device can answer both at once; the next
/// ``read(maxLength:timeout:)`` takes that posted URB's answer instead of submitting its own. One
/// IN URB is posted at a time; IN URBs complete in the order they were submitted, so a posted URB
/// that a command does not read (after an error) answers the next read, as a reader's next
/// message would anyway.
package final class USBIPBulkPipe: CCIDBulkPipe {
    /// The exported device's record from OP_REP_IMPORT.
    package let device: USBIPDevice
    /// Its device descriptor.
    package let deviceDescriptor: USBDeviceDescriptor
    /// Its configuration, as GET_DESCRIPTOR returned it.
    package let configuration: USBConfiguration
    /// The CCID interface used.
    package let interface: USBInterface
    /// What ``CCIDTransport`` needs to know about the reader.
    package let reader: CCIDReaderDescription
    /// Bound on each bulk OUT transfer.
    package let writeTimeout: Duration
    /// `VVVV:PPPP`, for errors (formatted once: every transfer's check names it).
    private let deviceID: String

    /// The URB phase (internal for tests that send control URBs of their own).
    let connection: USBIPConnection
    private let bulkIn: USBEndpointDescriptor
    private let bulkOut: USBEndpointDescriptor
    private let interruptIn: USBEndpointDescriptor?
    /// The URBs of the last command that are not read yet: the bulk-IN URB posted with its bulk
    /// OUT, and the bulk OUT itself while its RET_SUBMIT has not been read (after a direct
    /// exchange that did not finish on the caller's thread).
    private let posted = Mutex(Posted())

    private struct Posted: Sendable {
        /// The seqnum of the bulk-IN URB posted with the last bulk-OUT and not read yet.
        var bulkIn: UInt32?
        /// A bulk-OUT URB sent by ``exchangeDirectly(_:timeout:)`` whose outcome the next read
        /// takes first, with the time it may take.
        var bulkOut: (seqnum: UInt32, timeout: Duration)?
    }
    /// The length of a posted bulk-IN URB: the reader's largest CCID message, in whole packets.
    private let postedLength: Int

    private init(connection: USBIPConnection, device: USBIPDevice, deviceDescriptor: USBDeviceDescriptor,
                 configuration: USBConfiguration, interface: USBInterface, bulkIn: USBEndpointDescriptor,
                 bulkOut: USBEndpointDescriptor, interruptIn: USBEndpointDescriptor?, location: String,
                 writeTimeout: Duration) {
        self.connection = connection
        self.device = device
        self.deviceDescriptor = deviceDescriptor
        self.configuration = configuration
        self.interface = interface
        self.bulkIn = bulkIn
        self.bulkOut = bulkOut
        self.interruptIn = interruptIn
        self.writeTimeout = writeTimeout
        self.postedLength = Self.rounded(interface.ccid.map { Int($0.maxCCIDMessageLength) } ?? CCIDMessage.defaultMaximumLength, bulkIn)
        self.reader = CCIDReaderDescription(
            vendorID: deviceDescriptor.vendorID, productID: deviceDescriptor.productID,
            interfaceNumber: interface.descriptor.interfaceNumber, ccid: interface.ccid,
            bulkInPacketSize: Int(max(1, bulkIn.maxPacketSize)), location: location)
        self.deviceID = USBDeviceID(vendorID: deviceDescriptor.vendorID, productID: deviceDescriptor.productID).description
    }

    deinit { connection.abortNow() }

    /// Reads the descriptors over endpoint 0, selects the configuration and finds the CCID
    /// interface.
    static func prepare(connection: USBIPConnection, device: USBIPDevice, location: String,
                        timeout: Duration) async throws(USBError) -> USBIPBulkPipe {
        let name = USBDeviceID(vendorID: device.vendorID, productID: device.productID).description
        func control(_ setup: USBSetupPacket) async throws(USBError) -> [UInt8] {
            let ret: USBIPSubmitReturn
            do {
                ret = try await connection.submit(direction: setup.isDeviceToHost ? .in : .out, endpoint: 0,
                                                  length: Int(setup.length), setup: setup, timeout: timeout)
            } catch let error as USBError {
                throw USBError(code: error.code, reason: error.reason, device: name)
            } catch {
                throw USBError(code: .connectionClosed, reason: "interrupted: \(error)", device: name)
            }
            try Self.check(ret, device: name, what: "control request \(hexString([setup.requestType, setup.request]))")
            return ret.data
        }
        func decode<T>(_ what: String, _ body: () throws(ReaderWireError) -> T) throws(USBError) -> T {
            do { return try body() } catch {
                throw USBError(code: .invalidDescriptor, reason: "\(what): \(error)", device: name)
            }
        }

        let deviceBytes = try await control(.getDescriptor(type: USBDescriptorType.device.rawValue,
                                                           length: UInt16(USBDeviceDescriptor.length)))
        let deviceDescriptor = try decode("device descriptor") { () throws(ReaderWireError) in
            try USBDeviceDescriptor(decoding: deviceBytes)
        }
        let head = try await control(.getDescriptor(type: USBDescriptorType.configuration.rawValue,
                                                    length: UInt16(USBConfigurationDescriptor.length)))
        let header = try decode("configuration descriptor") { () throws(ReaderWireError) in
            try USBConfigurationDescriptor(decoding: head)
        }
        let full = try await control(.getDescriptor(type: USBDescriptorType.configuration.rawValue,
                                                    length: max(header.totalLength, UInt16(USBConfigurationDescriptor.length))))
        let configuration = try decode("configuration") { () throws(ReaderWireError) in
            try USBConfiguration(decoding: full)
        }
        _ = try await control(.setConfiguration(configuration.descriptor.configurationValue))

        guard let interface = configuration.interfaces.first(where: {
            $0.descriptor.interfaceClass == USBInterfaceDescriptor.smartCardClass
        }) else {
            throw USBError(code: .noCCIDInterface, reason: "no interface of class 0B", device: name)
        }
        let endpoints = interface.endpoints
        guard let bulkIn = endpoints.first(where: { $0.transferType == .bulk && $0.isIn }),
              let bulkOut = endpoints.first(where: { $0.transferType == .bulk && !$0.isIn }) else {
            throw USBError(code: .noCCIDInterface, reason: "interface \(interface.descriptor.interfaceNumber) lacks bulk IN and OUT endpoints", device: name)
        }
        guard interface.ccid != nil else {
            throw USBError(code: .noCCIDInterface, reason: "interface \(interface.descriptor.interfaceNumber) has no CCID class descriptor", device: name)
        }
        let interruptIn = endpoints.first { $0.transferType == .interrupt && $0.isIn }
        return USBIPBulkPipe(connection: connection, device: device, deviceDescriptor: deviceDescriptor,
                             configuration: configuration, interface: interface, bulkIn: bulkIn, bulkOut: bulkOut,
                             interruptIn: interruptIn, location: location, writeTimeout: max(timeout, .seconds(5)))
    }

    // MARK: CCIDBulkPipe

    /// Sends one bulk OUT transfer within ``writeTimeout``.
    package func write(_ bytes: [UInt8]) async throws {
        try await write(bytes, timeout: writeTimeout)
    }

    /// Sends one bulk OUT transfer within `timeout` or ``writeTimeout``, whichever is shorter (then
    /// the URB is unlinked, with the connection's unlink grace).
    /// Posts a bulk-IN URB for the answer in the same write, unless one is posted already.
    package func write(_ bytes: [UInt8], timeout: Duration) async throws {
        let limit = min(timeout, writeTimeout)
        try await settleDirectWrite()
        let ret: USBIPSubmitReturn
        if posted.withLock({ $0.bulkIn == nil }) {
            let pipelined: (out: USBIPSubmitReturn, posted: UInt32)
            do {
                pipelined = try await connection.submitPipelined(out: bulkOut.number, data: bytes, in: bulkIn.number,
                                                                 length: postedLength, timeout: limit)
            } catch {
                throw Self.usbError(error, device: deviceID)
            }
            posted.withLock { $0.bulkIn = pipelined.posted }
            ret = pipelined.out
        } else {
            ret = try await submit(.out, bulkOut, length: bytes.count, data: bytes, timeout: limit)
        }
        try Self.check(ret, device: deviceID, what: "bulk OUT")
    }

    /// Reads one bulk IN transfer: the answer of the URB posted with the last write, or of a new
    /// one whose request is rounded up to a multiple of `wMaxPacketSize`.
    package func read(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        try await settleDirectWrite()
        let ret: USBIPSubmitReturn
        if let bulkIn = posted.withLock({ posted -> UInt32? in defer { posted.bulkIn = nil }; return posted.bulkIn }) {
            do {
                ret = try await connection.awaitPosted(bulkIn, timeout: timeout)
            } catch {
                throw Self.usbError(error, device: deviceID)
            }
        } else {
            ret = try await submit(.in, bulkIn, length: Self.rounded(maxLength, bulkIn), timeout: timeout)
        }
        try Self.check(ret, device: deviceID, what: "bulk IN")
        return ret.data
    }

    /// Writes one bulk OUT transfer and reads the bulk IN transfer that answers it on the calling
    /// thread (``USBIPConnection/exchange(out:data:in:length:)``: one write of both URBs, then
    /// `recv` until both returns are there, within the connection's direct-read window). When
    /// the answer takes longer the exchange goes on as ``write(_:timeout:)`` would have left it:
    /// the next ``read(maxLength:timeout:)`` gives the bulk OUT's outcome (within `timeout`, or
    /// ``writeTimeout`` if shorter) and then the answer. `unavailable` while an IN URB posted
    /// earlier is unread (its answer belongs to the next read).
    package func exchangeDirectly(_ bytes: [UInt8], timeout: Duration) throws -> CCIDDirectExchange {
        guard posted.withLock({ $0.bulkIn == nil && $0.bulkOut == nil }) else { return .unavailable }
        let exchange: USBIPConnection.Exchange
        do {
            exchange = try connection.exchange(out: bulkOut.number, data: bytes, in: bulkIn.number, length: postedLength)
        } catch {
            throw Self.usbError(error, device: deviceID)
        }
        switch exchange {
        case .completed(_, let answer):
            try Self.check(answer, device: deviceID, what: "bulk IN")
            return .answer(answer.data)
        case .pending(let out, let input):
            let limit = min(timeout, writeTimeout)
            posted.withLock { $0 = Posted(bulkIn: input, bulkOut: (out, limit)) }
            return .written
        }
    }

    /// Reads one interrupt IN transfer.
    package func readInterrupt(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        guard let interruptIn else {
            throw USBError(code: .transferFailed, reason: "the CCID interface has no interrupt IN endpoint", device: deviceID)
        }
        let ret = try await submit(.in, interruptIn, length: Self.rounded(maxLength, interruptIn),
                                   interval: UInt32(interruptIn.interval), timeout: timeout)
        try Self.check(ret, device: deviceID, what: "interrupt IN")
        return ret.data
    }

    /// Unlinks pending URBs and closes the connection.
    package func close() async {
        await connection.close()
    }

    // MARK: Internals

    /// Waits for the outcome of a bulk OUT that ``exchangeDirectly(_:timeout:)`` left pending, if
    /// any, and throws if it failed (the posted IN URB then stays, as after a failed ``write(_:timeout:)``).
    private func settleDirectWrite() async throws {
        guard let (seqnum, timeout) = posted.withLock({ posted -> (UInt32, Duration)? in
            defer { posted.bulkOut = nil }
            return posted.bulkOut
        }) else { return }
        let ret: USBIPSubmitReturn
        do {
            ret = try await connection.awaitPosted(seqnum, timeout: timeout)
        } catch {
            throw Self.usbError(error, device: deviceID)
        }
        try Self.check(ret, device: deviceID, what: "bulk OUT")
    }

    private func submit(_ direction: USBIPDirection, _ endpoint: USBEndpointDescriptor, length: Int, data: [UInt8] = [],
                        interval: UInt32 = 0, timeout: Duration) async throws -> USBIPSubmitReturn {
        do {
            return try await connection.submit(direction: direction, endpoint: endpoint.number, length: length,
                                               data: data, interval: interval, timeout: timeout)
        } catch {
            throw Self.usbError(error, device: deviceID)
        }
    }

    private static func rounded(_ length: Int, _ endpoint: USBEndpointDescriptor) -> Int {
        let packet = max(1, Int(endpoint.maxPacketSize & 0x07FF))
        let wanted = max(1, length)
        return (wanted + packet - 1) / packet * packet
    }

    private static func usbError(_ error: any Error, device: String) -> any Error {
        switch error {
        case is CancellationError: error
        case let error as USBError: USBError(code: error.code, reason: error.reason, device: device)
        default: USBError(code: .transferFailed, reason: "\(error)", device: device)
        }
    }

    /// Maps a RET_SUBMIT status (a negative Linux errno) to an error.
    static func check(_ ret: USBIPSubmitReturn, device: String, what: String) throws(USBError) {
        switch ret.status {
        case 0:
            return
        case -32:
            throw USBError(code: .stalled, reason: "\(what): EPIPE", device: device)
        case -19, -108:
            throw USBError(code: .deviceGone, reason: "\(what): \(ret.status == -19 ? "ENODEV" : "ESHUTDOWN")", device: device)
        case -110, -62:
            throw USBError(code: .timeout, reason: "\(what): ETIMEDOUT", device: device)
        case -104, -2:
            throw USBError(code: .timeout, reason: "\(what): the URB was unlinked", device: device)
        default:
            throw USBError(code: .transferFailed, reason: "\(what): status \(ret.status)", device: device)
        }
    }
}
