import SealProtocol
// USB/IP (Linux Documentation/usb/usbip_protocol.rst, version 0x0111): the operation phase
// (OP_REQ/OP_REP_DEVLIST, OP_REQ/OP_REP_IMPORT, 8-byte header) and the URB phase (48-byte
// headers: CMD_SUBMIT, RET_SUBMIT, CMD_UNLINK, RET_UNLINK). Everything is big-endian except the
// USB setup packet, which is carried as the 8 raw (little-endian) USB bytes.
//
// Pure: no I/O. Each message type has an incremental decoder, `decode(from:) → (message,
// consumed)?`, that returns nil while bytes are missing and throws a typed error for malformed
// input; lengths announced by the peer are bounded before anything is allocated.

// MARK: - Constants

/// USB/IP protocol constants.
@usableFromInline
package enum USBIP {
    /// The protocol version of the operation headers, `0x0111`.
    package static let version: UInt16 = 0x0111
    /// The IANA port, 3240.
    @usableFromInline package static let defaultPort: UInt16 = 3240

    /// `8005` OP_REQ_DEVLIST.
    package static let opRequestDeviceList: UInt16 = 0x8005
    /// `0005` OP_REP_DEVLIST.
    package static let opReplyDeviceList: UInt16 = 0x0005
    /// `8003` OP_REQ_IMPORT.
    package static let opRequestImport: UInt16 = 0x8003
    /// `0003` OP_REP_IMPORT.
    package static let opReplyImport: UInt16 = 0x0003

    /// `1` USBIP_CMD_SUBMIT.
    package static let commandSubmit: UInt32 = 1
    /// `2` USBIP_CMD_UNLINK.
    package static let commandUnlink: UInt32 = 2
    /// `3` USBIP_RET_SUBMIT.
    package static let returnSubmit: UInt32 = 3
    /// `4` USBIP_RET_UNLINK.
    package static let returnUnlink: UInt32 = 4

    /// Size of the operation header: version, code, status.
    package static let operationHeaderSize = 8
    /// Size of a device record without its interfaces.
    package static let deviceRecordSize = 312
    /// Size of one interface record in OP_REP_DEVLIST.
    package static let interfaceRecordSize = 4
    /// Size of every URB-phase header.
    package static let urbHeaderSize = 48
    /// Size of one ISO packet descriptor after the transfer data.
    package static let isoPacketDescriptorSize = 16
    /// The bus id field size in bytes.
    package static let busIDSize = 32
    /// The sysfs path field size in bytes.
    package static let pathSize = 256

    /// The default bound on transfer lengths accepted by the URB decoders (1 MiB).
    package static let defaultMaximumTransferLength = 1 << 20
    /// The default bound on the device count of OP_REP_DEVLIST.
    package static let defaultMaximumDevices = 1024
    /// The bound on ISO packets per URB (the Linux driver's `USBIP_MAX_ISO_PACKETS`).
    package static let maximumISOPackets = 1024

    /// `number_of_packets` for a non-isochronous URB as newer Linux kernels send it (`-1`);
    /// older ones send 0. Both mean "no ISO descriptors follow".
    package static let nonISOPacketCount: UInt32 = 0xFFFF_FFFF

    /// `USBIP_URB_SHORT_NOT_OK` transfer flag.
    package static let urbShortNotOK: UInt32 = 0x0001
    /// `USBIP_URB_ZERO_PACKET` transfer flag: end an OUT transfer that is a multiple of the
    /// packet size with a zero-length packet.
    package static let urbZeroPacket: UInt32 = 0x0040
}

/// The transfer direction of a URB.
package enum USBIPDirection: UInt32, Sendable, Hashable {
    /// 0: host to device.
    case out = 0
    /// 1: device to host.
    case `in` = 1
}

/// `speed` of a device record (Linux `enum usb_device_speed`).
public struct USBIPSpeed: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw value.
    public var rawValue: UInt32
    /// Wraps a raw value.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// 0: unknown.
    public static let unknown = USBIPSpeed(rawValue: 0)
    /// 1: low speed, 1.5 Mbit/s.
    public static let low = USBIPSpeed(rawValue: 1)
    /// 2: full speed, 12 Mbit/s.
    public static let full = USBIPSpeed(rawValue: 2)
    /// 3: high speed, 480 Mbit/s.
    public static let high = USBIPSpeed(rawValue: 3)
    /// 4: wireless USB.
    public static let wireless = USBIPSpeed(rawValue: 4)
    /// 5: SuperSpeed, 5 Gbit/s.
    public static let superSpeed = USBIPSpeed(rawValue: 5)
    /// 6: SuperSpeed+, 10 Gbit/s.
    public static let superSpeedPlus = USBIPSpeed(rawValue: 6)

    public var description: String {
        switch rawValue {
        case 0: "unknown"
        case 1: "low"
        case 2: "full"
        case 3: "high"
        case 4: "wireless"
        case 5: "super"
        case 6: "super+"
        default: "speed \(rawValue)"
        }
    }
}

// MARK: - Device records

/// One interface entry of an OP_REP_DEVLIST device record.
public struct USBIPInterface: Hashable, Sendable {
    /// `bInterfaceClass` (`0B` for CCID).
    public var interfaceClass: UInt8
    /// `bInterfaceSubClass`.
    public var interfaceSubClass: UInt8
    /// `bInterfaceProtocol`.
    public var interfaceProtocol: UInt8

    /// Creates an interface entry.
    package init(interfaceClass: UInt8, interfaceSubClass: UInt8 = 0, interfaceProtocol: UInt8 = 0) {
        self.interfaceClass = interfaceClass
        self.interfaceSubClass = interfaceSubClass
        self.interfaceProtocol = interfaceProtocol
    }
}

/// The 312-byte exported-device record of OP_REP_DEVLIST and OP_REP_IMPORT.
public struct USBIPDevice: Hashable, Sendable {
    /// `path[256]`: the sysfs path on the server, NUL-padded on the wire.
    public var path: String
    /// `busid[32]`, e.g. `"1-1"`, NUL-padded on the wire; what OP_REQ_IMPORT names.
    public var busID: String
    /// `busnum`.
    public var busNumber: UInt32
    /// `devnum`.
    public var deviceNumber: UInt32
    /// `speed`.
    public var speed: USBIPSpeed
    /// `idVendor`.
    public var vendorID: UInt16
    /// `idProduct`.
    public var productID: UInt16
    /// `bcdDevice`.
    public var bcdDevice: UInt16
    /// `bDeviceClass`.
    public var deviceClass: UInt8
    /// `bDeviceSubClass`.
    public var deviceSubClass: UInt8
    /// `bDeviceProtocol`.
    public var deviceProtocol: UInt8
    /// `bConfigurationValue`: the current configuration.
    public var configurationValue: UInt8
    /// `bNumConfigurations`.
    public var numberOfConfigurations: UInt8
    /// `bNumInterfaces`.
    public var numberOfInterfaces: UInt8
    /// The interface entries (OP_REP_DEVLIST only; empty after decoding OP_REP_IMPORT).
    ///
    /// OP_REP_DEVLIST encodes exactly ``numberOfInterfaces`` entries: missing ones as zeros,
    /// extra ones dropped.
    public var interfaces: [USBIPInterface]

    /// Creates a device record; `numberOfInterfaces` defaults to `interfaces.count`.
    package init(path: String, busID: String, busNumber: UInt32, deviceNumber: UInt32, speed: USBIPSpeed,
                vendorID: UInt16, productID: UInt16, bcdDevice: UInt16 = 0,
                deviceClass: UInt8 = 0, deviceSubClass: UInt8 = 0, deviceProtocol: UInt8 = 0,
                configurationValue: UInt8 = 1, numberOfConfigurations: UInt8 = 1,
                numberOfInterfaces: UInt8? = nil, interfaces: [USBIPInterface] = []) {
        self.path = path
        self.busID = busID
        self.busNumber = busNumber
        self.deviceNumber = deviceNumber
        self.speed = speed
        self.vendorID = vendorID
        self.productID = productID
        self.bcdDevice = bcdDevice
        self.deviceClass = deviceClass
        self.deviceSubClass = deviceSubClass
        self.deviceProtocol = deviceProtocol
        self.configurationValue = configurationValue
        self.numberOfConfigurations = numberOfConfigurations
        self.numberOfInterfaces = numberOfInterfaces ?? UInt8(clamping: interfaces.count)
        self.interfaces = interfaces
    }

    /// Whether an interface entry has class `0B` (CCID, smart card).
    public var hasCCIDInterface: Bool { interfaces.contains { $0.interfaceClass == 0x0B } }

    /// The 312-byte record; with `interfaces: true`, followed by ``numberOfInterfaces``
    /// 4-byte interface entries (OP_REP_DEVLIST).
    package func encoded(interfaces withInterfaces: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(USBIP.deviceRecordSize + (withInterfaces ? Int(numberOfInterfaces) * 4 : 0))
        out.append(contentsOf: fixedString(path, size: USBIP.pathSize))
        out.append(contentsOf: fixedString(busID, size: USBIP.busIDSize))
        out.appendBigEndian(busNumber)
        out.appendBigEndian(deviceNumber)
        out.appendBigEndian(speed.rawValue)
        out.appendBigEndian(vendorID)
        out.appendBigEndian(productID)
        out.appendBigEndian(bcdDevice)
        out.append(contentsOf: [deviceClass, deviceSubClass, deviceProtocol,
                                configurationValue, numberOfConfigurations, numberOfInterfaces])
        if withInterfaces {
            for index in 0..<Int(numberOfInterfaces) {
                let entry = index < interfaces.count ? interfaces[index] : USBIPInterface(interfaceClass: 0)
                out.append(contentsOf: [entry.interfaceClass, entry.interfaceSubClass, entry.interfaceProtocol, 0])
            }
        }
        return out
    }

    /// Decodes a record at `offset` (bounds already checked by the caller).
    ///
    /// - Throws: `.invalidValue` for a bus ID that is not UTF-8 (see ``USBIPReader/busID()``).
    fileprivate init(record reader: inout USBIPReader) throws(ReaderWireError) {
        path = reader.string(USBIP.pathSize)
        busID = try reader.busID()
        busNumber = reader.u32()
        deviceNumber = reader.u32()
        speed = USBIPSpeed(rawValue: reader.u32())
        vendorID = reader.u16()
        productID = reader.u16()
        bcdDevice = reader.u16()
        deviceClass = reader.u8()
        deviceSubClass = reader.u8()
        deviceProtocol = reader.u8()
        configurationValue = reader.u8()
        numberOfConfigurations = reader.u8()
        numberOfInterfaces = reader.u8()
        interfaces = []
    }
}

// MARK: - Operation header and messages

/// The 8-byte operation header: `version u16, code u16, status u32`.
package struct USBIPOperationHeader: Hashable, Sendable {
    /// `version`, `0x0111`.
    package var version: UInt16
    /// `code`, e.g. `0x8005`.
    package var code: UInt16
    /// `status`: 0 for success (always 0 in requests).
    package var status: UInt32

    /// Creates a header.
    package init(version: UInt16 = USBIP.version, code: UInt16, status: UInt32 = 0) {
        self.version = version
        self.code = code
        self.status = status
    }

    /// The 8 bytes.
    package var encoded: [UInt8] {
        var out: [UInt8] = []
        out.appendBigEndian(version)
        out.appendBigEndian(code)
        out.appendBigEndian(status)
        return out
    }

    /// Reads a header at the start of `buffer`, or `nil` when fewer than 8 bytes are there.
    /// The version is not checked here.
    package static func peek(_ buffer: [UInt8]) -> USBIPOperationHeader? {
        guard buffer.count >= USBIP.operationHeaderSize else { return nil }
        var reader = USBIPReader(buffer)
        return USBIPOperationHeader(version: reader.u16(), code: reader.u16(), status: reader.u32())
    }

    fileprivate static func checked(_ buffer: [UInt8], expecting codes: [UInt16], side: String) throws(ReaderWireError) -> USBIPOperationHeader? {
        guard let header = peek(buffer) else { return nil }
        guard header.version == USBIP.version else {
            throw ReaderWireError(code: .badVersion,
                                    reason: "version \(hex16(header.version)), expected \(hex16(USBIP.version))")
        }
        guard codes.contains(header.code) else {
            throw ReaderWireError(code: .unknownCode,
                                    reason: "operation code \(hex16(header.code)) is not a USB/IP \(side)")
        }
        return header
    }
}

/// A client's operation request.
package enum USBIPOperationRequest: Hashable, Sendable {
    /// OP_REQ_DEVLIST: list the exported devices.
    case deviceList
    /// OP_REQ_IMPORT: attach the device with this bus id; on success the connection switches to
    /// the URB phase.
    case importDevice(busID: String)

    /// The wire bytes.
    package func encoded() -> [UInt8] {
        switch self {
        case .deviceList:
            USBIPOperationHeader(code: USBIP.opRequestDeviceList).encoded
        case .importDevice(let busID):
            USBIPOperationHeader(code: USBIP.opRequestImport).encoded + fixedString(busID, size: USBIP.busIDSize)
        }
    }

    /// Decodes the request at the start of `buffer` (server side).
    ///
    /// - Returns: the request and its size, or `nil` when more bytes are needed.
    /// - Throws: ``ReaderWireError``: `.badVersion`, `.unknownCode` (any code but `8005`, `8003`),
    ///   `.invalidValue` for a bus ID that is not UTF-8.
    package static func decode(from buffer: [UInt8]) throws(ReaderWireError) -> (message: USBIPOperationRequest, consumed: Int)? {
        guard let header = try USBIPOperationHeader.checked(
            buffer, expecting: [USBIP.opRequestDeviceList, USBIP.opRequestImport], side: "request") else { return nil }
        switch header.code {
        case USBIP.opRequestDeviceList:
            return (.deviceList, USBIP.operationHeaderSize)
        default:
            let size = USBIP.operationHeaderSize + USBIP.busIDSize
            guard buffer.count >= size else { return nil }
            var reader = USBIPReader(buffer, at: USBIP.operationHeaderSize)
            return (.importDevice(busID: try reader.busID()), size)
        }
    }
}

/// A server's operation reply.
package enum USBIPOperationReply: Hashable, Sendable {
    /// OP_REP_DEVLIST: `status` and, when it is 0, the device records with their interfaces.
    case deviceList(status: UInt32, devices: [USBIPDevice])
    /// OP_REP_IMPORT: `status` (0 success, else an error and nothing follows) and the imported
    /// device's record (without interface entries).
    case importDevice(status: UInt32, device: USBIPDevice?)

    /// The wire bytes. A non-zero status writes the header only.
    package func encoded() -> [UInt8] {
        switch self {
        case .deviceList(let status, let devices):
            var out = USBIPOperationHeader(code: USBIP.opReplyDeviceList, status: status).encoded
            guard status == 0 else { return out }
            out.appendBigEndian(UInt32(clamping: devices.count))
            for device in devices { out.append(contentsOf: device.encoded(interfaces: true)) }
            return out
        case .importDevice(let status, let device):
            var out = USBIPOperationHeader(code: USBIP.opReplyImport, status: status).encoded
            guard status == 0, let device else { return out }
            out.append(contentsOf: device.encoded(interfaces: false))
            return out
        }
    }

    /// Decodes the reply at the start of `buffer` (client side).
    ///
    /// - Parameter maximumDevices: bound on OP_REP_DEVLIST's `ndev`, checked before anything else
    ///   is read.
    /// - Returns: the reply and its size, or `nil` when more bytes are needed.
    /// - Throws: ``ReaderWireError``: `.badVersion`, `.unknownCode` (any code but `0005`,
    ///   `0003`), `.lengthTooLarge` for too many devices, `.invalidValue` for a bus ID that is not
    ///   UTF-8.
    package static func decode(from buffer: [UInt8], maximumDevices: Int = USBIP.defaultMaximumDevices)
        throws(ReaderWireError) -> (message: USBIPOperationReply, consumed: Int)?
    {
        guard let header = try USBIPOperationHeader.checked(
            buffer, expecting: [USBIP.opReplyDeviceList, USBIP.opReplyImport], side: "reply") else { return nil }
        var reader = USBIPReader(buffer, at: USBIP.operationHeaderSize)
        if header.code == USBIP.opReplyImport {
            guard header.status == 0 else {
                return (.importDevice(status: header.status, device: nil), USBIP.operationHeaderSize)
            }
            guard reader.remaining >= USBIP.deviceRecordSize else { return nil }
            let device = try USBIPDevice(record: &reader)
            return (.importDevice(status: 0, device: device), reader.offset)
        }
        guard header.status == 0 else {
            return (.deviceList(status: header.status, devices: []), USBIP.operationHeaderSize)
        }
        guard reader.remaining >= 4 else { return nil }
        let count = reader.u32()
        guard count <= UInt32(clamping: maximumDevices) else {
            throw ReaderWireError(code: .lengthTooLarge,
                                    reason: "OP_REP_DEVLIST announces \(count) devices, more than \(maximumDevices)")
        }
        var devices: [USBIPDevice] = []
        for _ in 0..<count {
            guard reader.remaining >= USBIP.deviceRecordSize else { return nil }
            var device = try USBIPDevice(record: &reader)
            let interfaceBytes = Int(device.numberOfInterfaces) * USBIP.interfaceRecordSize
            guard reader.remaining >= interfaceBytes else { return nil }
            for _ in 0..<device.numberOfInterfaces {
                let entry = USBIPInterface(interfaceClass: reader.u8(), interfaceSubClass: reader.u8(),
                                           interfaceProtocol: reader.u8())
                _ = reader.u8()
                device.interfaces.append(entry)
            }
            devices.append(device)
        }
        return (.deviceList(status: 0, devices: devices), reader.offset)
    }

    /// Decodes an input that holds exactly one reply.
    ///
    /// - Throws: `.truncated` when it ends early, `.trailingBytes` when bytes follow, and the
    ///   errors of ``decode(from:maximumDevices:)``.
    package init(decoding bytes: [UInt8], maximumDevices: Int = USBIP.defaultMaximumDevices) throws(ReaderWireError) {
        guard let (message, consumed) = try Self.decode(from: bytes, maximumDevices: maximumDevices) else {
            throw ReaderWireError(code: .truncated, reason: "the reply ends after \(bytes.count) bytes")
        }
        try checkNoTrailing(bytes.count, consumed)
        self = message
    }
}

// MARK: - URB phase

/// A USB control-transfer setup packet (USB 2.0 §9.3), carried raw in CMD_SUBMIT's `setup[8]`
/// (its 16-bit fields are little-endian, unlike the rest of USB/IP).
package struct USBSetupPacket: Hashable, Sendable {
    /// `bmRequestType`: direction (bit 7, 1 = IN), type (bits 5–6), recipient (bits 0–4).
    package var requestType: UInt8
    /// `bRequest`.
    package var request: UInt8
    /// `wValue`.
    package var value: UInt16
    /// `wIndex`.
    package var index: UInt16
    /// `wLength`: the data-stage length.
    package var length: UInt16

    /// Creates a setup packet.
    package init(requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, length: UInt16) {
        self.requestType = requestType
        self.request = request
        self.value = value
        self.index = index
        self.length = length
    }

    /// Reads the 8 setup bytes; `nil` unless exactly 8.
    package init?(bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        requestType = bytes[0]
        request = bytes[1]
        value = readLittleEndian(bytes, at: 2, as: UInt16.self)
        index = readLittleEndian(bytes, at: 4, as: UInt16.self)
        length = readLittleEndian(bytes, at: 6, as: UInt16.self)
    }

    /// The 8 setup bytes.
    package var bytes: [UInt8] {
        var out: [UInt8] = [requestType, request]
        out.reserveCapacity(8)
        out.appendLittleEndian(value)
        out.appendLittleEndian(index)
        out.appendLittleEndian(length)
        return out
    }

    /// Whether the data stage is device-to-host.
    package var isDeviceToHost: Bool { requestType & 0x80 != 0 }

    /// `GET_DESCRIPTOR` (`80 06`) of `type` (1 device, 2 configuration, 3 string, …) and `index`.
    package static func getDescriptor(type: UInt8, index: UInt8 = 0, languageID: UInt16 = 0, length: UInt16) -> USBSetupPacket {
        USBSetupPacket(requestType: 0x80, request: 0x06, value: UInt16(type) << 8 | UInt16(index),
                       index: languageID, length: length)
    }

    /// `SET_CONFIGURATION` (`00 09`).
    package static func setConfiguration(_ value: UInt8) -> USBSetupPacket {
        USBSetupPacket(requestType: 0x00, request: 0x09, value: UInt16(value), index: 0, length: 0)
    }

    /// `SET_INTERFACE` (`01 0B`).
    package static func setInterface(_ interface: UInt8, alternateSetting: UInt8 = 0) -> USBSetupPacket {
        USBSetupPacket(requestType: 0x01, request: 0x0B, value: UInt16(alternateSetting), index: UInt16(interface), length: 0)
    }

    /// `CLEAR_FEATURE(ENDPOINT_HALT)` (`02 01`) for `endpoint` (address with direction bit).
    package static func clearHalt(endpoint: UInt8) -> USBSetupPacket {
        USBSetupPacket(requestType: 0x02, request: 0x01, value: 0, index: UInt16(endpoint), length: 0)
    }
}

/// One ISO packet descriptor following the transfer data: `offset, length, actual_length, status`.
package struct USBIPISOPacket: Hashable, Sendable {
    /// Offset of the packet in the transfer buffer.
    package var offset: UInt32
    /// Expected length.
    package var length: UInt32
    /// Actual length.
    package var actualLength: UInt32
    /// Status (negative errno as u32 bits).
    package var status: UInt32

    /// Creates a descriptor.
    package init(offset: UInt32, length: UInt32, actualLength: UInt32 = 0, status: UInt32 = 0) {
        self.offset = offset
        self.length = length
        self.actualLength = actualLength
        self.status = status
    }
}

/// The 20-byte basic header common to all URB-phase messages.
package struct USBIPBasicHeader: Hashable, Sendable {
    /// `command`: 1 CMD_SUBMIT, 2 CMD_UNLINK, 3 RET_SUBMIT, 4 RET_UNLINK.
    package var command: UInt32
    /// `seqnum`: the request's sequence number; a reply carries its request's.
    package var seqnum: UInt32
    /// `devid`: `busnum << 16 | devnum` in requests; 0 in replies.
    package var devid: UInt32
    /// `direction`: 0 OUT, 1 IN (0 in replies from Linux servers).
    package var direction: UInt32
    /// `ep`: the endpoint number without direction bit (0 in replies from Linux servers).
    package var endpoint: UInt32

    /// Creates a basic header.
    package init(command: UInt32, seqnum: UInt32, devid: UInt32 = 0, direction: UInt32 = 0, endpoint: UInt32 = 0) {
        self.command = command
        self.seqnum = seqnum
        self.devid = devid
        self.direction = direction
        self.endpoint = endpoint
    }

    /// Reads the basic header at the start of `buffer`, or `nil` when fewer than 48 bytes (a
    /// whole URB header) are there.
    package static func peek(_ buffer: [UInt8]) -> USBIPBasicHeader? {
        peek(buffer, at: 0)
    }

    /// Reads the basic header at `start` in `buffer`, or `nil` when fewer than 48 bytes follow it.
    static func peek(_ buffer: [UInt8], at start: Int) -> USBIPBasicHeader? {
        guard start >= 0, buffer.count - start >= USBIP.urbHeaderSize else { return nil }
        var reader = USBIPReader(buffer, at: start)
        return USBIPBasicHeader(command: reader.u32(), seqnum: reader.u32(), devid: reader.u32(),
                                direction: reader.u32(), endpoint: reader.u32())
    }

    fileprivate func append(to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: urbZeros[0..<20])
        out.withUnsafeMutableBytes { store(in: $0, at: start) }
    }

    /// Stores the five fields big-endian in the 20 bytes at `offset` of `raw` (the caller has made
    /// room): every encoder of a URB header writes its first 20 bytes through this.
    @inline(__always)
    fileprivate func store(in raw: UnsafeMutableRawBufferPointer, at offset: Int) {
        storeBigEndian(command, in: raw, at: offset)
        storeBigEndian(seqnum, in: raw, at: offset + 4)
        storeBigEndian(devid, in: raw, at: offset + 8)
        storeBigEndian(direction, in: raw, at: offset + 12)
        storeBigEndian(endpoint, in: raw, at: offset + 16)
    }
}

/// USBIP_CMD_SUBMIT: submit a URB.
package struct USBIPSubmit: Hashable, Sendable {
    /// `seqnum`.
    package var seqnum: UInt32
    /// `devid`: `busnum << 16 | devnum` of the imported device.
    package var devid: UInt32
    /// `direction`.
    package var direction: USBIPDirection
    /// `ep`: endpoint number, 0…15, without the direction bit.
    package var endpoint: UInt32
    /// `transfer_flags` (`USBIP_URB_*`).
    package var transferFlags: UInt32
    /// `transfer_buffer_length`: bytes to send (OUT, equals `data.count`) or to receive (IN).
    package var transferBufferLength: UInt32
    /// `start_frame` (ISO).
    package var startFrame: UInt32
    /// `number_of_packets`: ISO packet count, or 0 / `0xFFFFFFFF` for non-ISO.
    package var numberOfPackets: UInt32
    /// `interval` (interrupt and ISO).
    package var interval: UInt32
    /// `setup[8]`: the control setup packet for endpoint 0, zeros otherwise.
    package var setup: [UInt8]
    /// OUT data.
    package var data: [UInt8]
    /// ISO packet descriptors.
    package var isoPackets: [USBIPISOPacket]

    /// Creates a submit. For OUT, `transferBufferLength` defaults to `data.count`.
    package init(seqnum: UInt32, devid: UInt32, direction: USBIPDirection, endpoint: UInt32,
                transferFlags: UInt32 = 0, transferBufferLength: UInt32? = nil, startFrame: UInt32 = 0,
                numberOfPackets: UInt32 = 0, interval: UInt32 = 0, setup: USBSetupPacket? = nil,
                data: [UInt8] = [], isoPackets: [USBIPISOPacket] = []) {
        self.seqnum = seqnum
        self.devid = devid
        self.direction = direction
        self.endpoint = endpoint
        self.transferFlags = transferFlags
        self.transferBufferLength = transferBufferLength ?? UInt32(clamping: data.count)
        self.startFrame = startFrame
        self.numberOfPackets = numberOfPackets
        self.interval = interval
        self.setup = setup?.bytes ?? [UInt8](repeating: 0, count: 8)
        self.data = data
        self.isoPackets = isoPackets
    }

    /// The decoded setup packet (always 8 bytes on the wire).
    package var setupPacket: USBSetupPacket? { USBSetupPacket(bytes: setup) }

    /// A decoded submit: the setup field as it came (no zero-filled array made and replaced).
    fileprivate init(seqnum: UInt32, devid: UInt32, direction: USBIPDirection, endpoint: UInt32, transferFlags: UInt32,
                     transferBufferLength: UInt32, startFrame: UInt32, numberOfPackets: UInt32, interval: UInt32,
                     setupBytes: [UInt8], data: [UInt8], isoPackets: [USBIPISOPacket]) {
        self.seqnum = seqnum
        self.devid = devid
        self.direction = direction
        self.endpoint = endpoint
        self.transferFlags = transferFlags
        self.transferBufferLength = transferBufferLength
        self.startFrame = startFrame
        self.numberOfPackets = numberOfPackets
        self.interval = interval
        self.setup = setupBytes
        self.data = data
        self.isoPackets = isoPackets
    }

    /// Appends the wire bytes of a bulk or interrupt CMD_SUBMIT (no setup packet, no ISO
    /// descriptors, `transfer_flags` and `start_frame` 0) to `out`: the bytes
    /// `USBIPCommand.submit(USBIPSubmit(…)).encoded()` gives for the same fields, without making
    /// the submit's arrays or a fresh output array. A client that sends a command's two URBs
    /// in one write encodes both into one reused buffer this way.
    ///
    /// - Parameters:
    ///   - transferBufferLength: bytes to receive for IN; for OUT, `data.count` is sent whatever it says.
    ///   - data: the OUT data (ignored for IN).
    package static func appendBulk(seqnum: UInt32, devid: UInt32, direction: USBIPDirection, endpoint: UInt32,
                                   transferBufferLength: UInt32, interval: UInt32 = 0, data: [UInt8] = [],
                                   to out: inout [UInt8]) {
        // One zero-filled append, then the non-zero fields stored in place (a dozen
        // `appendBigEndian`s were a third of the client's own work per command).
        let start = out.count
        let length = direction == .out ? UInt32(clamping: data.count) : transferBufferLength
        // (A copy of a zero array: `repeatElement` went through `append(contentsOf:)`'s
        // generic element-by-element path.)
        out.append(contentsOf: urbZeros)
        out.withUnsafeMutableBytes { raw in
            func put(_ value: UInt32, at offset: Int) {
                storeBigEndian(value, in: raw, at: start + offset)
            }
            USBIPBasicHeader(command: USBIP.commandSubmit, seqnum: seqnum, devid: devid,
                             direction: direction.rawValue, endpoint: endpoint).store(in: raw, at: start)
            // 20: transfer_flags 0
            put(length, at: 24)
            // 28: start_frame 0; 32: number_of_packets 0
            put(interval, at: 36)
            // 40: setup[8] zeros
        }
        if direction == .out { out.append(contentsOf: data) }
    }
}

/// USBIP_RET_SUBMIT: the result of a CMD_SUBMIT.
package struct USBIPSubmitReturn: Hashable, Sendable {
    /// `seqnum` of the CMD_SUBMIT.
    package var seqnum: UInt32
    /// `devid` (0 from Linux servers).
    package var devid: UInt32
    /// `direction` as sent (0 from Linux servers; the client knows it from its request).
    package var direction: UInt32
    /// `ep` as sent.
    package var endpoint: UInt32
    /// `status`: 0 success, or a negative errno (`-32` EPIPE: stall; `-104` ECONNRESET: unlinked).
    package var status: Int32
    /// `actual_length`: bytes transferred; for IN, the data that follows.
    package var actualLength: UInt32
    /// `start_frame`.
    package var startFrame: UInt32
    /// `number_of_packets`.
    package var numberOfPackets: UInt32
    /// `error_count` (ISO).
    package var errorCount: UInt32
    /// IN data (`actual_length` bytes); empty for OUT.
    package var data: [UInt8]
    /// ISO packet descriptors.
    package var isoPackets: [USBIPISOPacket]

    /// Creates a return. For IN, `actualLength` defaults to `data.count`.
    package init(seqnum: UInt32, devid: UInt32 = 0, direction: UInt32 = 0, endpoint: UInt32 = 0,
                status: Int32 = 0, actualLength: UInt32? = nil, startFrame: UInt32 = 0,
                numberOfPackets: UInt32 = 0, errorCount: UInt32 = 0, data: [UInt8] = [],
                isoPackets: [USBIPISOPacket] = []) {
        self.seqnum = seqnum
        self.devid = devid
        self.direction = direction
        self.endpoint = endpoint
        self.status = status
        self.actualLength = actualLength ?? UInt32(clamping: data.count)
        self.startFrame = startFrame
        self.numberOfPackets = numberOfPackets
        self.errorCount = errorCount
        self.data = data
        self.isoPackets = isoPackets
    }
}

/// USBIP_CMD_UNLINK: cancel the pending URB `unlinkSeqnum`.
package struct USBIPUnlink: Hashable, Sendable {
    /// `seqnum` of this request.
    package var seqnum: UInt32
    /// `devid`.
    package var devid: UInt32
    /// `direction`.
    package var direction: USBIPDirection
    /// `ep`.
    package var endpoint: UInt32
    /// The seqnum of the CMD_SUBMIT to cancel.
    package var unlinkSeqnum: UInt32

    /// Creates an unlink request.
    package init(seqnum: UInt32, devid: UInt32, direction: USBIPDirection = .out, endpoint: UInt32 = 0, unlinkSeqnum: UInt32) {
        self.seqnum = seqnum
        self.devid = devid
        self.direction = direction
        self.endpoint = endpoint
        self.unlinkSeqnum = unlinkSeqnum
    }
}

/// USBIP_RET_UNLINK: the result of a CMD_UNLINK.
package struct USBIPUnlinkReturn: Hashable, Sendable {
    /// `seqnum` of the CMD_UNLINK.
    package var seqnum: UInt32
    /// `devid` (0 from Linux servers).
    package var devid: UInt32
    /// `direction` as sent.
    package var direction: UInt32
    /// `ep` as sent.
    package var endpoint: UInt32
    /// `status`: `-104` (ECONNRESET) when the URB was cancelled, 0 when it had already completed.
    package var status: Int32

    /// Creates an unlink return.
    package init(seqnum: UInt32, devid: UInt32 = 0, direction: UInt32 = 0, endpoint: UInt32 = 0, status: Int32) {
        self.seqnum = seqnum
        self.devid = devid
        self.direction = direction
        self.endpoint = endpoint
        self.status = status
    }
}

/// A URB-phase message from client to server.
package enum USBIPCommand: Hashable, Sendable {
    /// USBIP_CMD_SUBMIT.
    case submit(USBIPSubmit)
    /// USBIP_CMD_UNLINK.
    case unlink(USBIPUnlink)

    /// The `seqnum`.
    package var seqnum: UInt32 {
        switch self {
        case .submit(let submit): submit.seqnum
        case .unlink(let unlink): unlink.seqnum
        }
    }

    /// The wire bytes: the 48-byte header, then OUT data, then ISO descriptors.
    package func encoded() -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .submit(let submit):
            out.reserveCapacity(USBIP.urbHeaderSize + submit.data.count)
            USBIPBasicHeader(command: USBIP.commandSubmit, seqnum: submit.seqnum, devid: submit.devid,
                             direction: submit.direction.rawValue, endpoint: submit.endpoint).append(to: &out)
            out.appendBigEndian(submit.transferFlags)
            out.appendBigEndian(submit.transferBufferLength)
            out.appendBigEndian(submit.startFrame)
            out.appendBigEndian(submit.numberOfPackets)
            out.appendBigEndian(submit.interval)
            out.append(contentsOf: fixedBytes(submit.setup, size: 8))
            if submit.direction == .out { out.append(contentsOf: submit.data) }
            appendISO(submit.isoPackets, to: &out)
        case .unlink(let unlink):
            USBIPBasicHeader(command: USBIP.commandUnlink, seqnum: unlink.seqnum, devid: unlink.devid,
                             direction: unlink.direction.rawValue, endpoint: unlink.endpoint).append(to: &out)
            out.appendBigEndian(unlink.unlinkSeqnum)
            out.append(contentsOf: [UInt8](repeating: 0, count: 24))
        }
        return out
    }

    /// Decodes the command at the start of `buffer` (server side).
    ///
    /// - Parameter maximumTransferLength: bound on `transfer_buffer_length`, checked as soon as
    ///   the header is there.
    /// - Returns: the command and its size, or `nil` when more bytes are needed.
    /// - Throws: ``ReaderWireError``: `.unknownCode` (a command other than 1 or 2),
    ///   `.invalidValue` (direction other than 0/1), `.lengthTooLarge` (transfer length or ISO
    ///   packet count over the bound).
    package static func decode(from buffer: [UInt8], maximumTransferLength: Int = USBIP.defaultMaximumTransferLength)
        throws(ReaderWireError) -> (message: USBIPCommand, consumed: Int)?
    {
        try decode(from: buffer, at: 0, maximumTransferLength: maximumTransferLength)
    }

    /// Decodes the command that starts at `start` in `buffer` (server side), as
    /// ``decode(from:maximumTransferLength:)`` does at 0: a server reading a stream decodes the
    /// commands of one read where they lie, without copying the rest of the buffer for each.
    ///
    /// - Returns: the command and its size (counted from `start`), or `nil` when more bytes are needed.
    package static func decode(from buffer: [UInt8], at start: Int, maximumTransferLength: Int = USBIP.defaultMaximumTransferLength)
        throws(ReaderWireError) -> (message: USBIPCommand, consumed: Int)?
    {
        guard let basic = USBIPBasicHeader.peek(buffer, at: start) else { return nil }
        let direction = try checkedDirection(basic.direction)
        var reader = USBIPReader(buffer, at: start + 20)
        switch basic.command {
        case USBIP.commandSubmit:
            let flags = reader.u32()
            let length = reader.u32()
            let startFrame = reader.u32()
            let packets = reader.u32()
            let interval = reader.u32()
            // Bulk and interrupt URBs carry eight zero bytes: they share one array.
            let setup: [UInt8]
            if reader.isZero(8) {
                setup = zeroSetup
                reader.offset += 8
            } else {
                setup = reader.bytes(8)
            }
            try checkTransferLength(length, maximumTransferLength, "transfer_buffer_length")
            let isoCount = try isoPacketCount(packets)
            let dataCount = direction == .out ? Int(length) : 0
            guard reader.remaining >= dataCount + isoCount * USBIP.isoPacketDescriptorSize else { return nil }
            let data = reader.bytes(dataCount)
            let iso = readISO(isoCount, &reader)
            let submit = USBIPSubmit(seqnum: basic.seqnum, devid: basic.devid, direction: direction,
                                     endpoint: basic.endpoint, transferFlags: flags, transferBufferLength: length,
                                     startFrame: startFrame, numberOfPackets: packets, interval: interval,
                                     setupBytes: setup, data: data, isoPackets: iso)
            return (.submit(submit), reader.offset - start)
        case USBIP.commandUnlink:
            let unlink = USBIPUnlink(seqnum: basic.seqnum, devid: basic.devid, direction: direction,
                                     endpoint: basic.endpoint, unlinkSeqnum: reader.u32())
            return (.unlink(unlink), USBIP.urbHeaderSize)
        default:
            throw ReaderWireError(code: .unknownCode, reason: "URB command \(basic.command) is not CMD_SUBMIT (1) or CMD_UNLINK (2)")
        }
    }

    /// Decodes an input that holds exactly one command.
    ///
    /// - Throws: `.truncated`, `.trailingBytes`, and the errors of ``decode(from:maximumTransferLength:)``.
    package init(decoding bytes: [UInt8], maximumTransferLength: Int = USBIP.defaultMaximumTransferLength) throws(ReaderWireError) {
        guard let (message, consumed) = try Self.decode(from: bytes, maximumTransferLength: maximumTransferLength) else {
            throw ReaderWireError(code: .truncated, reason: "the command ends after \(bytes.count) bytes")
        }
        try checkNoTrailing(bytes.count, consumed)
        self = message
    }
}

/// A URB-phase message from server to client.
package enum USBIPReturn: Hashable, Sendable {
    /// USBIP_RET_SUBMIT.
    case submit(USBIPSubmitReturn)
    /// USBIP_RET_UNLINK.
    case unlink(USBIPUnlinkReturn)

    /// The `seqnum` of the request this answers.
    package var seqnum: UInt32 {
        switch self {
        case .submit(let submit): submit.seqnum
        case .unlink(let unlink): unlink.seqnum
        }
    }

    /// The wire bytes. `direction` says whether RET_SUBMIT's data is sent: the IN data of
    /// `data` follows the header only for IN transfers (Linux servers write 0 in the header's
    /// direction field, so it is passed separately).
    package func encoded(direction: USBIPDirection) -> [UInt8] {
        var out: [UInt8] = []
        if case .submit(let ret) = self { out.reserveCapacity(USBIP.urbHeaderSize + ret.data.count) }
        append(direction: direction, to: &out)
        return out
    }

    /// Appends the wire bytes ``encoded(direction:)`` gives to `out`: a server that answers the
    /// commands of one read with one write encodes every return into the same buffer.
    package func append(direction: USBIPDirection, to out: inout [UInt8]) {
        // One copy of a zero header, then the fields stored in place: a server writes two
        // returns per command, and a dozen `appendBigEndian`s each were most of their cost.
        let start = out.count
        out.append(contentsOf: urbZeros)
        switch self {
        case .submit(let ret):
            out.withUnsafeMutableBytes { raw in
                USBIPBasicHeader(command: USBIP.returnSubmit, seqnum: ret.seqnum, devid: ret.devid,
                                 direction: ret.direction, endpoint: ret.endpoint).store(in: raw, at: start)
                storeBigEndian(UInt32(bitPattern: ret.status), in: raw, at: start + 20)
                storeBigEndian(ret.actualLength, in: raw, at: start + 24)
                storeBigEndian(ret.startFrame, in: raw, at: start + 28)
                storeBigEndian(ret.numberOfPackets, in: raw, at: start + 32)
                storeBigEndian(ret.errorCount, in: raw, at: start + 36)
                // 40: 8 bytes of padding, zero
            }
            if direction == .in { out.append(contentsOf: ret.data) }
            if !ret.isoPackets.isEmpty { appendISO(ret.isoPackets, to: &out) }
        case .unlink(let ret):
            out.withUnsafeMutableBytes { raw in
                USBIPBasicHeader(command: USBIP.returnUnlink, seqnum: ret.seqnum, devid: ret.devid,
                                 direction: ret.direction, endpoint: ret.endpoint).store(in: raw, at: start)
                storeBigEndian(UInt32(bitPattern: ret.status), in: raw, at: start + 20)
                // 24: 24 bytes of padding, zero
            }
        }
    }

    /// Decodes the return at the start of `buffer` (client side).
    ///
    /// Whether RET_SUBMIT carries `actual_length` data bytes depends on the direction of the
    /// request, which Linux servers do not echo: `directionOf` maps a seqnum to the direction
    /// of the pending CMD_SUBMIT; when it returns `nil`, the header's own direction field is used.
    ///
    /// - Returns: the return and its size, or `nil` when more bytes are needed.
    /// - Throws: ``ReaderWireError``: `.unknownCode` (a command other than 3 or 4),
    ///   `.lengthTooLarge` (`actual_length` or ISO packet count over the bound),
    ///   `.invalidValue` (the header direction, when used, is not 0/1).
    package static func decode(
        from buffer: [UInt8], maximumTransferLength: Int = USBIP.defaultMaximumTransferLength,
        directionOf: (UInt32) -> USBIPDirection? = { _ in nil }
    ) throws(ReaderWireError) -> (message: USBIPReturn, consumed: Int)? {
        try decode(from: buffer, at: 0, maximumTransferLength: maximumTransferLength, directionOf: directionOf)
    }

    /// Decodes the return that starts at `start` in `buffer` (client side), as
    /// ``decode(from:maximumTransferLength:directionOf:)`` does at 0, so that a client decodes the
    /// returns of one read where they lie.
    ///
    /// - Returns: the return and its size (counted from `start`), or `nil` when more bytes are needed.
    package static func decode(
        from buffer: [UInt8], at start: Int, maximumTransferLength: Int = USBIP.defaultMaximumTransferLength,
        directionOf: (UInt32) -> USBIPDirection? = { _ in nil }
    ) throws(ReaderWireError) -> (message: USBIPReturn, consumed: Int)? {
        guard let basic = USBIPBasicHeader.peek(buffer, at: start) else { return nil }
        var reader = USBIPReader(buffer, at: start + 20)
        switch basic.command {
        case USBIP.returnSubmit:
            let status = Int32(bitPattern: reader.u32())
            let actual = reader.u32()
            let startFrame = reader.u32()
            let packets = reader.u32()
            let errorCount = reader.u32()
            try checkTransferLength(actual, maximumTransferLength, "actual_length")
            let isoCount = try isoPacketCount(packets)
            let direction: USBIPDirection
            if let known = directionOf(basic.seqnum) {
                direction = known
            } else {
                direction = try checkedDirection(basic.direction)
            }
            let dataCount = direction == .in ? Int(actual) : 0
            reader.offset = start + USBIP.urbHeaderSize
            guard reader.remaining >= dataCount + isoCount * USBIP.isoPacketDescriptorSize else { return nil }
            let data = reader.bytes(dataCount)
            let iso = readISO(isoCount, &reader)
            return (.submit(USBIPSubmitReturn(
                seqnum: basic.seqnum, devid: basic.devid, direction: basic.direction, endpoint: basic.endpoint,
                status: status, actualLength: actual, startFrame: startFrame, numberOfPackets: packets,
                errorCount: errorCount, data: data, isoPackets: iso)), reader.offset - start)
        case USBIP.returnUnlink:
            let status = Int32(bitPattern: reader.u32())
            return (.unlink(USBIPUnlinkReturn(seqnum: basic.seqnum, devid: basic.devid, direction: basic.direction,
                                              endpoint: basic.endpoint, status: status)), USBIP.urbHeaderSize)
        default:
            throw ReaderWireError(code: .unknownCode, reason: "URB command \(basic.command) is not RET_SUBMIT (3) or RET_UNLINK (4)")
        }
    }

    /// Decodes an input that holds exactly one return.
    ///
    /// - Throws: `.truncated`, `.trailingBytes`, and the errors of
    ///   ``decode(from:maximumTransferLength:directionOf:)``.
    package init(decoding bytes: [UInt8], direction: USBIPDirection,
                maximumTransferLength: Int = USBIP.defaultMaximumTransferLength) throws(ReaderWireError) {
        guard let (message, consumed) = try Self.decode(from: bytes, maximumTransferLength: maximumTransferLength,
                                                        directionOf: { _ in direction }) else {
            throw ReaderWireError(code: .truncated, reason: "the return ends after \(bytes.count) bytes")
        }
        try checkNoTrailing(bytes.count, consumed)
        self = message
    }
}

// MARK: - Helpers

/// Zeros for a URB header's fixed 48 bytes: encoders append a copy (one `memcpy`) and store the
/// non-zero fields in place.
private let urbZeros = [UInt8](repeating: 0, count: USBIP.urbHeaderSize)

/// The `setup` field of every bulk and interrupt CMD_SUBMIT, shared by the decoded submits.
private let zeroSetup = [UInt8](repeating: 0, count: 8)

/// Stores `value` big-endian at `offset` (the caller has made room).
@inline(__always)
private func storeBigEndian(_ value: UInt32, in raw: UnsafeMutableRawBufferPointer, at offset: Int) {
    raw.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
}

private func checkedDirection(_ raw: UInt32) throws(ReaderWireError) -> USBIPDirection {
    guard let direction = USBIPDirection(rawValue: raw) else {
        throw ReaderWireError(code: .invalidValue, reason: "direction \(raw) is neither 0 (OUT) nor 1 (IN)")
    }
    return direction
}

private func checkTransferLength(_ length: UInt32, _ maximum: Int, _ field: String) throws(ReaderWireError) {
    guard UInt64(length) <= UInt64(max(0, maximum)) else {
        throw ReaderWireError(code: .lengthTooLarge, reason: "\(field) \(length) exceeds the bound of \(maximum)")
    }
}

private func isoPacketCount(_ raw: UInt32) throws(ReaderWireError) -> Int {
    if raw == 0 || raw == USBIP.nonISOPacketCount { return 0 }
    guard raw <= UInt32(USBIP.maximumISOPackets) else {
        throw ReaderWireError(code: .lengthTooLarge,
                                reason: "number_of_packets \(raw) exceeds \(USBIP.maximumISOPackets)")
    }
    return Int(raw)
}

private func readISO(_ count: Int, _ reader: inout USBIPReader) -> [USBIPISOPacket] {
    guard count > 0 else { return [] }
    return (0..<count).map { _ in
        USBIPISOPacket(offset: reader.u32(), length: reader.u32(), actualLength: reader.u32(), status: reader.u32())
    }
}

private func appendISO(_ packets: [USBIPISOPacket], to out: inout [UInt8]) {
    for packet in packets {
        out.appendBigEndian(packet.offset)
        out.appendBigEndian(packet.length)
        out.appendBigEndian(packet.actualLength)
        out.appendBigEndian(packet.status)
    }
}

private func checkNoTrailing(_ count: Int, _ consumed: Int) throws(ReaderWireError) {
    guard consumed == count else {
        throw ReaderWireError(code: .trailingBytes, reason: "\(count - consumed) byte(s) after a \(consumed)-byte message")
    }
}

/// `text` as UTF-8, cut to `size - 1` bytes so a NUL always ends it, then NUL-padded to `size`.
/// `text` NUL-padded to `size` bytes, cut at a character boundary so that a NUL ends it and the
/// kept bytes stay valid UTF-8 (a bus ID cut inside a character would be refused on decoding).
private func fixedString(_ text: String, size: Int) -> [UInt8] {
    var kept: [UInt8] = []
    for scalar in text.unicodeScalars {
        let encoded = Array(String(scalar).utf8)
        guard kept.count + encoded.count <= size - 1 else { break }
        kept += encoded
    }
    return fixedBytes(kept, size: size)
}

private func fixedBytes(_ bytes: [UInt8], size: Int) -> [UInt8] {
    Array(bytes.prefix(size)) + [UInt8](repeating: 0, count: max(0, size - bytes.count))
}

private func hex16(_ value: UInt16) -> String { CodecHex.word(value) }

/// A big-endian cursor; callers check `remaining` before reading.
private struct USBIPReader {
    let buffer: [UInt8]
    var offset: Int

    init(_ buffer: [UInt8], at offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    var remaining: Int { buffer.count - offset }

    mutating func u8() -> UInt8 {
        guard offset < buffer.count else { return 0 }
        defer { offset += 1 }
        return buffer[offset]
    }

    // Read in place: these run for every field of every URB header, so they allocate nothing.
    // Past the end a missing byte reads as 0, as `u8` does (callers check `remaining` first).
    mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }

    /// One load where four bytes are there (every field of a URB header the decoders read after
    /// checking its size); byte by byte otherwise.
    @inline(__always)
    mutating func u32() -> UInt32 {
        guard offset >= 0, buffer.count - offset >= 4 else { return UInt32(u16()) << 16 | UInt32(u16()) }
        let value = buffer.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        offset += 4
        return value
    }

    /// Whether the next `count` bytes are there and all zero (nothing is consumed).
    func isZero(_ count: Int) -> Bool {
        guard offset >= 0, buffer.count - offset >= count else { return false }
        for index in offset ..< offset + count where buffer[index] != 0 { return false }
        return true
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        let end = Swift.min(buffer.count, offset + count)
        defer { offset = end }
        return Array(buffer[Swift.min(offset, end)..<end])
    }

    /// A NUL-padded string field: the bytes before the first NUL, as UTF-8 (invalid sequences
    /// repaired). Only for the sysfs path, which is shown and never used to find anything.
    mutating func string(_ size: Int) -> String {
        let raw = bytes(size)
        let text = raw.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    /// The NUL-padded bus ID field. A bus ID names the device to import, so a damaged one is
    /// refused rather than repaired: two different byte strings repaired to the same U+FFFD text
    /// would name the same device, and the repaired text would name none on the other side.
    ///
    /// - Throws: `.invalidValue` when the bytes before the first NUL are not valid UTF-8.
    mutating func busID() throws(ReaderWireError) -> String {
        let field = bytes(USBIP.busIDSize)
        let text = Array(field.prefix { $0 != 0 })
        guard let busID = String(validating: text, as: UTF8.self) else {
            throw ReaderWireError(code: .invalidValue, reason: "the bus ID \(hexString(text)) is not valid UTF-8")
        }
        return busID
    }
}
