import SealHostDriver
import SealReaderWire
import SealProtocol

/// A USB/IP client: lists a server's exported devices (a transport to one of them is
/// ``CCIDTransport/usbip(_:timeout:configuration:)``).
///
/// ```swift
/// let client = USBIPClient(address: try USBIPAddress(parsing: "127.0.0.1:3240"))
/// for device in try await client.devices() { print(device.busID, device.hasCCIDInterface) }
/// let transport = try await CCIDTransport.usbip("127.0.0.1:3240/1-1")
/// ```
///
/// All socket I/O is blocking POSIX I/O off the cooperative pool: connecting and the operation
/// phase on a dispatch queue, the URB phase on a dedicated reader thread.
public struct USBIPClient: Sendable {
    /// The server, and optionally the bus id to import.
    public var address: USBIPAddress
    /// Bound on connecting, on each whole operation-phase reply and on each descriptor request.
    public var timeout: Duration

    /// Creates a client. Nothing is contacted until ``devices()``.
    public init(address: USBIPAddress, timeout: Duration = .seconds(5)) {
        self.address = address
        self.timeout = timeout
    }

    /// Lists the exported devices (OP_REQ_DEVLIST on a connection of its own).
    ///
    /// - Throws: ``USBError``: `connectionFailed`, `connectionClosed`, `timeout`, `protocolError`.
    public func devices() async throws(USBError) -> [USBIPDevice] {
        let address = address
        let timeout = timeout
        return try await USBBlocking.run(label: "SealKit.USBIP.devlist") { () throws(USBError) -> [USBIPDevice] in
            let socket = try USBIPSocket.connect(host: address.host, port: address.port, timeout: timeout)
            defer { socket.close() }
            let reply = try Self.operation(.deviceList, on: socket, timeout: timeout)
            guard case .deviceList(let status, let devices) = reply else {
                throw USBError(code: .protocolError, reason: "OP_REP_IMPORT in reply to OP_REQ_DEVLIST")
            }
            guard status == 0 else {
                throw USBError(code: .protocolError, reason: "OP_REP_DEVLIST status \(status)")
            }
            return devices
        }
    }

    /// Imports a device and prepares its CCID interface: OP_REQ_IMPORT, then GET_DESCRIPTOR
    /// (device, configuration with the CCID class descriptor) and SET_CONFIGURATION over
    /// endpoint 0.
    ///
    /// - Parameter busID: the device to import; defaults to ``USBIPAddress/busID``, and without
    ///   either to the first exported device with a CCID interface (class `0B`).
    /// - Throws: ``USBError``: `deviceNotFound` (no such bus id, or no CCID device),
    ///   `importFailed` (the server refused), `noCCIDInterface`, `invalidDescriptor`,
    ///   `connectionFailed`, `connectionClosed`, `timeout`, `protocolError`.
    package func importDevice(busID: String? = nil) async throws(USBError) -> USBIPBulkPipe {
        var chosen = busID ?? address.busID
        if chosen == nil {
            let exported = try await devices()
            guard let first = exported.first(where: \.hasCCIDInterface) else {
                let listing = exported.isEmpty ? "it exports no device"
                    : "it exports " + exported.map { "\($0.busID) (\(USBDeviceID(vendorID: $0.vendorID, productID: $0.productID)))" }.joined(separator: ", ")
                throw USBError(code: .deviceNotFound, reason: "\(address.endpoint) has no device with a CCID interface: \(listing)")
            }
            chosen = first.busID
        }
        let bus = chosen ?? ""
        let address = address
        let timeout = timeout
        let (socket, device) = try await USBBlocking.run(label: "SealKit.USBIP.import") { () throws(USBError) -> (USBIPSocket, USBIPDevice) in
            let socket = try USBIPSocket.connect(host: address.host, port: address.port, timeout: timeout)
            do throws(USBError) {
                let reply = try Self.operation(.importDevice(busID: bus), on: socket, timeout: timeout)
                guard case .importDevice(let status, let device) = reply else {
                    throw USBError(code: .protocolError, reason: "OP_REP_DEVLIST in reply to OP_REQ_IMPORT")
                }
                guard status == 0, let device else {
                    // Linux usbip statuses: 1 ST_NA, 2 ST_DEV_BUSY, 3 ST_DEV_ERR, 4 ST_NODEV, 5 ST_ERROR.
                    let meaning = switch status {
                    case 1, 4: "no such device"
                    case 2: "busy: imported by another client"
                    case 3: "device error"
                    default: "error"
                    }
                    throw USBError(code: status == 1 || status == 4 ? .deviceNotFound : .importFailed,
                                   reason: "\(address.endpoint) answered OP_REQ_IMPORT for \(bus) with status \(status) (\(meaning))",
                                   device: bus)
                }
                return (socket, device)
            } catch {
                socket.close()
                throw error
            }
        }
        let connection = USBIPConnection(socket: socket, devid: device.busNumber << 16 | (device.deviceNumber & 0xFFFF))
        do throws(USBError) {
            try connection.start()
            return try await USBIPBulkPipe.prepare(connection: connection, device: device,
                                                   location: "\(address.endpoint)/\(bus)", timeout: timeout)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Sends one operation request and reads its reply (blocking). `timeout` bounds the whole
    /// reply, not each read: a server trickling a byte at a time cannot stretch it.
    static func operation(_ request: USBIPOperationRequest, on socket: USBIPSocket,
                          timeout: Duration) throws(USBError) -> USBIPOperationReply {
        let deadline = ContinuousClock.now + timeout
        try socket.sendAll(request.encoded())
        var buffer: [UInt8] = []
        while true {
            do {
                if let (reply, _) = try USBIPOperationReply.decode(from: buffer) { return reply }
            } catch {
                throw USBError(code: .protocolError, reason: "\(socket.peer): \(error)")
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw USBError(code: .timeout, reason: "\(socket.peer) sent \(buffer.count) bytes of its reply in \(timeout), not all of it")
            }
            let chunk = try socket.receive(maximum: 65_536, timeout: remaining)
            guard !chunk.isEmpty else {
                throw USBError(code: .connectionClosed,
                               reason: "\(socket.peer) closed the connection after \(buffer.count) bytes of the reply")
            }
            buffer.append(contentsOf: chunk)
        }
    }
}
