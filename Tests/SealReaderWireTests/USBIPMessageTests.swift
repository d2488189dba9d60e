import SealReaderWire
import Testing
@testable import SealProtocol

/// `text` as bytes, NUL-padded to `size`.
private func field(_ text: String, _ size: Int) -> [UInt8] {
    Array(text.utf8) + [UInt8](repeating: 0, count: size - text.utf8.count)
}

@Suite("USB/IP messages")
struct USBIPMessageTests {
    static let path = "/sys/devices/pci0000:00/0000:00:1d.1/usb2/2-1"

    static let device = USBIPDevice(
        path: path, busID: "2-1", busNumber: 2, deviceNumber: 3, speed: .full,
        vendorID: 0x1209, productID: 0x5EA1, bcdDevice: 0x0100, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0,
        configurationValue: 1, numberOfConfigurations: 1,
        interfaces: [USBIPInterface(interfaceClass: 0x0B), USBIPInterface(interfaceClass: 0xFF, interfaceSubClass: 1, interfaceProtocol: 2)])

    /// The 312-byte record of ``device``.
    static let record: [UInt8] = field(path, 256) + field("2-1", 32)
        + hex("00 00 00 02  00 00 00 03  00 00 00 02  12 09  5E A1  01 00  00 00 00  01 01 02")

    // MARK: Operation phase

    @Test("OP_REQ_DEVLIST")
    func requestDeviceList() throws {
        let bytes = hex("01 11 80 05 00 00 00 00")
        #expect(USBIPOperationRequest.deviceList.encoded() == bytes)
        let decoded = try #require(try USBIPOperationRequest.decode(from: bytes))
        #expect(decoded.message == .deviceList)
        #expect(decoded.consumed == 8)
    }

    @Test("OP_REQ_IMPORT")
    func requestImport() throws {
        let bytes = hex("01 11 80 03 00 00 00 00") + field("1-1", 32)
        #expect(USBIPOperationRequest.importDevice(busID: "1-1").encoded() == bytes)
        let decoded = try #require(try USBIPOperationRequest.decode(from: bytes))
        #expect(decoded.message == .importDevice(busID: "1-1"))
        #expect(decoded.consumed == 40)
        for length in 0..<bytes.count { #expect(try USBIPOperationRequest.decode(from: Array(bytes.prefix(length))) == nil) }
    }

    @Test("a bus ID that is not UTF-8 is refused, in OP_REQ_IMPORT, OP_REP_IMPORT and OP_REP_DEVLIST",
          arguments: [[0xFF], [0x31, 0x2D, 0xC3], [0x31, 0x2D, 0xED, 0xA0, 0x80], [0xC0, 0xAF]] as [[UInt8]])
    func invalidBusID(bytes: [UInt8]) throws {
        let busID = bytes + [UInt8](repeating: 0, count: 32 - bytes.count)
        let request = hex("01 11 80 03 00 00 00 00") + busID
        #expect(throws: ReaderWireError(code: .invalidValue, reason: "")) { try USBIPOperationRequest.decode(from: request) }

        var record = Self.record
        record.replaceSubrange(256 ..< 288, with: busID)
        let importReply = hex("01 11 00 03 00 00 00 00") + record
        #expect(throws: ReaderWireError(code: .invalidValue, reason: "")) { try USBIPOperationReply.decode(from: importReply) }
        let listReply = hex("01 11 00 05 00 00 00 00  00 00 00 01") + record + hex("0B 00 00 00  FF 01 02 00")
        #expect(throws: ReaderWireError(code: .invalidValue, reason: "")) { try USBIPOperationReply.decode(from: listReply) }
    }

    @Test("a bus id longer than 31 bytes is cut so that a NUL ends it")
    func longBusID() {
        let bytes = USBIPOperationRequest.importDevice(busID: String(repeating: "x", count: 40)).encoded()
        #expect(bytes.count == 40)
        #expect(bytes[39] == 0)
    }

    @Test("a long bus ID is cut at a character boundary, so what is sent decodes")
    func longMultibyteBusID() throws {
        let bytes = USBIPOperationRequest.importDevice(busID: String(repeating: "é", count: 20)).encoded()
        let decoded = try #require(try USBIPOperationRequest.decode(from: bytes))
        #expect(decoded.message == .importDevice(busID: String(repeating: "é", count: 15)))
    }

    @Test("OP_REP_DEVLIST with interfaces")
    func replyDeviceList() throws {
        let bytes = hex("01 11 00 05 00 00 00 00  00 00 00 01") + Self.record + hex("0B 00 00 00  FF 01 02 00")
        #expect(Self.record.count == 312)
        #expect(USBIPOperationReply.deviceList(status: 0, devices: [Self.device]).encoded() == bytes)
        let decoded = try #require(try USBIPOperationReply.decode(from: bytes))
        #expect(decoded.message == .deviceList(status: 0, devices: [Self.device]))
        #expect(decoded.consumed == bytes.count)
        #expect(Self.device.hasCCIDInterface)
        for length in 0..<bytes.count {
            #expect(try USBIPOperationReply.decode(from: Array(bytes.prefix(length))) == nil)
        }
        #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try USBIPOperationReply(decoding: Array(bytes.dropLast())) }
        #expect(throws: ReaderWireError(code: .trailingBytes, reason: "")) { try USBIPOperationReply(decoding: bytes + [0]) }
    }

    @Test("OP_REP_DEVLIST empty, two devices, and a failed status")
    func replyDeviceListVariants() throws {
        let empty = hex("01 11 00 05 00 00 00 00  00 00 00 00")
        #expect(USBIPOperationReply.deviceList(status: 0, devices: []).encoded() == empty)
        #expect(try USBIPOperationReply(decoding: empty) == .deviceList(status: 0, devices: []))

        var second = Self.device
        second.busID = "2-2"
        second.interfaces = []
        second.numberOfInterfaces = 0
        let two = USBIPOperationReply.deviceList(status: 0, devices: [Self.device, second])
        #expect(try USBIPOperationReply(decoding: two.encoded()) == two)

        let failed = hex("01 11 00 05 00 00 00 01")
        #expect(USBIPOperationReply.deviceList(status: 1, devices: [Self.device]).encoded() == failed)
        #expect(try USBIPOperationReply(decoding: failed) == .deviceList(status: 1, devices: []))
    }

    @Test("bNumInterfaces rules the interface entries written")
    func interfaceCount() {
        var device = Self.device
        device.numberOfInterfaces = 3
        let bytes = device.encoded(interfaces: true)
        #expect(bytes.count == 312 + 12)
        #expect(Array(bytes.suffix(4)) == hex("00 00 00 00"))
        device.numberOfInterfaces = 1
        #expect(device.encoded(interfaces: true).count == 316)
        #expect(device.encoded(interfaces: false) == Array(Self.record.prefix(311)) + [1])
    }

    @Test("OP_REP_IMPORT success and refusal")
    func replyImport() throws {
        var imported = Self.device
        imported.interfaces = []
        let bytes = hex("01 11 00 03 00 00 00 00") + Self.record
        #expect(USBIPOperationReply.importDevice(status: 0, device: Self.device).encoded() == bytes)
        let decoded = try #require(try USBIPOperationReply.decode(from: bytes))
        #expect(decoded.message == .importDevice(status: 0, device: imported))
        #expect(decoded.consumed == 320)
        for length in 0..<bytes.count { #expect(try USBIPOperationReply.decode(from: Array(bytes.prefix(length))) == nil) }

        let refused = hex("01 11 00 03 00 00 00 01")
        #expect(USBIPOperationReply.importDevice(status: 1, device: Self.device).encoded() == refused)
        #expect(try USBIPOperationReply(decoding: refused) == .importDevice(status: 1, device: nil))
    }

    @Test("operation errors: bad version, unknown codes, too many devices")
    func operationErrors() {
        #expect(throws: ReaderWireError(code: .badVersion, reason: "")) { try USBIPOperationRequest.decode(from: hex("01 06 80 05 00 00 00 00")) }
        #expect(throws: ReaderWireError(code: .badVersion, reason: "")) { try USBIPOperationReply.decode(from: hex("01 10 00 05 00 00 00 00")) }
        #expect(throws: ReaderWireError(code: .unknownCode, reason: "")) { try USBIPOperationRequest.decode(from: hex("01 11 80 01 00 00 00 00")) }
        // A reply code where a request is expected, and vice versa.
        #expect(throws: ReaderWireError(code: .unknownCode, reason: "")) { try USBIPOperationRequest.decode(from: hex("01 11 00 05 00 00 00 00")) }
        #expect(throws: ReaderWireError(code: .unknownCode, reason: "")) { try USBIPOperationReply.decode(from: hex("01 11 80 05 00 00 00 00")) }
        let many = hex("01 11 00 05 00 00 00 00  00 00 04 01")
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) { try USBIPOperationReply.decode(from: many) }
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) {
            try USBIPOperationReply.decode(from: hex("01 11 00 05 00 00 00 00  00 00 00 03"), maximumDevices: 2)
        }
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) {
            try USBIPOperationReply.decode(from: hex("01 11 00 05 00 00 00 00  FF FF FF FF"))
        }
        #expect(USBIPOperationHeader.peek(hex("01 11 00 05 00 00 00")) == nil)
    }

    // MARK: URB phase

    static let getDescriptor = USBIPCommand.submit(USBIPSubmit(
        seqnum: 1, devid: 0x0002_0003, direction: .in, endpoint: 0, transferBufferLength: 18,
        setup: .getDescriptor(type: 1, length: 18)))
    static let getDescriptorBytes = hex("""
        00 00 00 01  00 00 00 01  00 02 00 03  00 00 00 01  00 00 00 00
        00 00 00 00  00 00 00 12  00 00 00 00  00 00 00 00  00 00 00 00
        80 06 00 01 00 00 12 00
        """)

    static let bulkOut = USBIPCommand.submit(USBIPSubmit(
        seqnum: 2, devid: 0x0002_0003, direction: .out, endpoint: 2, transferFlags: 0,
        numberOfPackets: USBIP.nonISOPacketCount, data: hex("62 00 00 00 00 00 00 00 00 00")))
    static let bulkOutBytes = hex("""
        00 00 00 01  00 00 00 02  00 02 00 03  00 00 00 00  00 00 00 02
        00 00 00 00  00 00 00 0A  00 00 00 00  FF FF FF FF  00 00 00 00
        00 00 00 00 00 00 00 00
        62 00 00 00 00 00 00 00 00 00
        """)

    static let unlink = USBIPCommand.unlink(USBIPUnlink(seqnum: 5, devid: 0x0002_0003, direction: .in, endpoint: 1, unlinkSeqnum: 4))
    static let unlinkBytes = hex("""
        00 00 00 02  00 00 00 05  00 02 00 03  00 00 00 01  00 00 00 01
        00 00 00 04
        """) + [UInt8](repeating: 0, count: 24)

    @Test("CMD_SUBMIT control IN: the setup packet stays little-endian")
    func submitControl() throws {
        #expect(Self.getDescriptor.encoded() == Self.getDescriptorBytes)
        let decoded = try #require(try USBIPCommand.decode(from: Self.getDescriptorBytes))
        #expect(decoded.message == Self.getDescriptor)
        #expect(decoded.consumed == 48)
        guard case .submit(let submit) = decoded.message else { Issue.record("not a submit"); return }
        #expect(submit.setupPacket == .getDescriptor(type: 1, length: 18))
        #expect(submit.setupPacket?.isDeviceToHost == true)
    }

    @Test("CMD_SUBMIT bulk OUT carries its data; CMD_UNLINK")
    func submitOutAndUnlink() throws {
        #expect(Self.bulkOut.encoded() == Self.bulkOutBytes)
        #expect(try USBIPCommand(decoding: Self.bulkOutBytes) == Self.bulkOut)
        #expect(Self.unlink.encoded() == Self.unlinkBytes)
        #expect(try USBIPCommand(decoding: Self.unlinkBytes) == Self.unlink)
        #expect(Self.unlink.seqnum == 5)
    }

    @Test("every proper prefix of a command needs more bytes")
    func commandPrefixes() throws {
        for bytes in [Self.getDescriptorBytes, Self.bulkOutBytes, Self.unlinkBytes] {
            for length in 0..<bytes.count {
                let prefix = Array(bytes.prefix(length))
                #expect(try USBIPCommand.decode(from: prefix) == nil)
                #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try USBIPCommand(decoding: prefix) }
            }
            #expect(throws: ReaderWireError(code: .trailingBytes, reason: "")) { try USBIPCommand(decoding: bytes + [0]) }
        }
    }

    static let retIn = USBIPReturn.submit(USBIPSubmitReturn(seqnum: 7, status: 0, data: hex("80 02 00 00 00 00 01 00 00 00 90 00")))
    static let retInBytes = hex("""
        00 00 00 03  00 00 00 07  00 00 00 00  00 00 00 00  00 00 00 00
        00 00 00 00  00 00 00 0C  00 00 00 00  00 00 00 00  00 00 00 00
        00 00 00 00 00 00 00 00
        80 02 00 00 00 00 01 00 00 00 90 00
        """)
    static let retOut = USBIPReturn.submit(USBIPSubmitReturn(seqnum: 8, status: 0, actualLength: 10))
    static let retOutBytes = hex("""
        00 00 00 03  00 00 00 08  00 00 00 00  00 00 00 00  00 00 00 00
        00 00 00 00  00 00 00 0A  00 00 00 00  00 00 00 00  00 00 00 00
        00 00 00 00 00 00 00 00
        """)
    static let retStall = USBIPReturn.submit(USBIPSubmitReturn(seqnum: 9, status: -32))
    static let retUnlink = USBIPReturn.unlink(USBIPUnlinkReturn(seqnum: 10, status: -104))
    static let retUnlinkBytes = hex("""
        00 00 00 04  00 00 00 0A  00 00 00 00  00 00 00 00  00 00 00 00
        FF FF FF 98
        """) + [UInt8](repeating: 0, count: 24)

    @Test("RET_SUBMIT: IN data follows, OUT has none, status is signed")
    func returns() throws {
        #expect(Self.retIn.encoded(direction: .in) == Self.retInBytes)
        #expect(try USBIPReturn(decoding: Self.retInBytes, direction: .in) == Self.retIn)
        #expect(Self.retOut.encoded(direction: .out) == Self.retOutBytes)
        #expect(try USBIPReturn(decoding: Self.retOutBytes, direction: .out) == Self.retOut)
        let stall = Self.retStall.encoded(direction: .in)
        #expect(Array(stall[20..<24]) == hex("FF FF FF E0"))
        #expect(try USBIPReturn(decoding: stall, direction: .in) == Self.retStall)
        #expect(Self.retUnlink.encoded(direction: .out) == Self.retUnlinkBytes)
        #expect(try USBIPReturn(decoding: Self.retUnlinkBytes, direction: .out) == Self.retUnlink)
    }

    @Test("RET_SUBMIT's direction comes from the pending request, else from the header")
    func returnDirection() throws {
        // Header direction 0 (as Linux sends it), request was IN: the 12 data bytes are consumed.
        let viaLookup = try #require(try USBIPReturn.decode(from: Self.retInBytes, directionOf: { $0 == 7 ? .in : nil }))
        #expect(viaLookup.consumed == Self.retInBytes.count)
        // Without a lookup, the header's 0 means OUT: the data bytes are not part of the message.
        let viaHeader = try #require(try USBIPReturn.decode(from: Self.retInBytes))
        #expect(viaHeader.consumed == 48)
        // A header that says IN.
        var withIn = Self.retInBytes
        withIn[15] = 1
        #expect(try USBIPReturn.decode(from: withIn)?.consumed == withIn.count)
        // Prefixes of the IN return need more bytes.
        for length in 0..<Self.retInBytes.count {
            #expect(try USBIPReturn.decode(from: Array(Self.retInBytes.prefix(length)), directionOf: { _ in .in }) == nil)
        }
    }

    @Test("ISO packet descriptors follow the data")
    func iso() throws {
        let packets = [USBIPISOPacket(offset: 0, length: 4, actualLength: 4, status: 0),
                       USBIPISOPacket(offset: 4, length: 4, actualLength: 2, status: UInt32(bitPattern: -18))]
        let submit = USBIPCommand.submit(USBIPSubmit(seqnum: 3, devid: 1, direction: .out, endpoint: 3,
                                                     numberOfPackets: 2, data: hex("01 02 03 04 05 06 07 08"), isoPackets: packets))
        let bytes = submit.encoded()
        #expect(bytes.count == 48 + 8 + 32)
        #expect(Array(bytes[56..<60]) == hex("00 00 00 00"))
        #expect(Array(bytes[32..<36]) == hex("00 00 00 02"))
        #expect(Array(bytes[72..<76]) == hex("00 00 00 04"))
        #expect(try USBIPCommand(decoding: bytes) == submit)
        let ret = USBIPReturn.submit(USBIPSubmitReturn(seqnum: 3, numberOfPackets: 2, data: hex("01 02 03 04 05 06"), isoPackets: packets))
        #expect(try USBIPReturn(decoding: ret.encoded(direction: .in), direction: .in) == ret)
    }

    @Test("URB errors: unknown command, bad direction, oversize lengths, too many ISO packets")
    func urbErrors() throws {
        var unknown = Self.unlinkBytes
        unknown[3] = 5
        #expect(throws: ReaderWireError(code: .unknownCode, reason: "")) { try USBIPCommand.decode(from: unknown) }
        #expect(throws: ReaderWireError(code: .unknownCode, reason: "")) { try USBIPReturn.decode(from: unknown) }
        // A RET where a CMD is expected and vice versa.
        #expect(throws: ReaderWireError(code: .unknownCode, reason: "")) { try USBIPCommand.decode(from: Self.retOutBytes) }
        #expect(throws: ReaderWireError(code: .unknownCode, reason: "")) { try USBIPReturn.decode(from: Self.bulkOutBytes) }

        var direction = Self.getDescriptorBytes
        direction[15] = 2
        #expect(throws: ReaderWireError(code: .invalidValue, reason: "")) { try USBIPCommand.decode(from: direction) }

        var huge = Self.getDescriptorBytes
        huge.replaceSubrange(24..<28, with: hex("7F FF FF FF"))
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) { try USBIPCommand.decode(from: huge) }
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) {
            try USBIPCommand.decode(from: Self.bulkOutBytes, maximumTransferLength: 9)
        }
        #expect(try USBIPCommand.decode(from: Self.bulkOutBytes, maximumTransferLength: 10) != nil)

        var longReturn = Self.retInBytes
        longReturn.replaceSubrange(24..<28, with: hex("01 00 00 01"))
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) { try USBIPReturn.decode(from: longReturn, directionOf: { _ in .in }) }

        var isoCount = Self.getDescriptorBytes
        isoCount.replaceSubrange(32..<36, with: hex("00 00 04 01"))
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) { try USBIPCommand.decode(from: isoCount) }
    }

    @Test("a URB stream decodes identically across arbitrary splits", arguments: [1, 3, 7, 47, 48, 49, 100])
    func incremental(chunk: Int) throws {
        let commands = [Self.getDescriptor, Self.bulkOut, Self.unlink, Self.bulkOut]
        let stream = commands.flatMap { $0.encoded() }
        var buffer: [UInt8] = []
        var decoded: [USBIPCommand] = []
        var offset = 0
        while offset < stream.count {
            buffer += stream[offset ..< min(offset + chunk, stream.count)]
            offset += chunk
            while let (message, consumed) = try USBIPCommand.decode(from: buffer) {
                decoded.append(message)
                buffer.removeFirst(consumed)
            }
        }
        #expect(buffer.isEmpty)
        #expect(decoded == commands)

        let returns: [(USBIPReturn, USBIPDirection)] = [(Self.retIn, .in), (Self.retOut, .out), (Self.retUnlink, .out)]
        let returnStream = returns.flatMap { $0.0.encoded(direction: $0.1) }
        let directions: [UInt32: USBIPDirection] = [7: .in, 8: .out]
        buffer = []
        var decodedReturns: [USBIPReturn] = []
        offset = 0
        while offset < returnStream.count {
            buffer += returnStream[offset ..< min(offset + chunk, returnStream.count)]
            offset += chunk
            while let (message, consumed) = try USBIPReturn.decode(from: buffer, directionOf: { directions[$0] }) {
                decodedReturns.append(message)
                buffer.removeFirst(consumed)
            }
        }
        #expect(decodedReturns == returns.map(\.0))
    }

    @Test("setup packets")
    func setup() {
        #expect(USBSetupPacket.getDescriptor(type: 2, length: 0x0109).bytes == hex("80 06 00 02 00 00 09 01"))
        #expect(USBSetupPacket.setConfiguration(1).bytes == hex("00 09 01 00 00 00 00 00"))
        #expect(USBSetupPacket.setInterface(0, alternateSetting: 1).bytes == hex("01 0B 01 00 00 00 00 00"))
        #expect(USBSetupPacket.clearHalt(endpoint: 0x81).bytes == hex("02 01 00 00 81 00 00 00"))
        #expect(USBSetupPacket(bytes: hex("80 06 00 03 09 04 FF 00")) == .getDescriptor(type: 3, languageID: 0x0409, length: 255))
        #expect(USBSetupPacket(bytes: hex("80 06")) == nil)
        #expect(!USBSetupPacket.setConfiguration(1).isDeviceToHost)
    }

    @Test("speeds and strings")
    func misc() throws {
        #expect(USBIPSpeed.high.description == "high")
        #expect(USBIPSpeed(rawValue: 9).description == "speed 9")
        // Invalid UTF-8 in the path (shown, never used to find a device) is repaired, not fatal.
        var bytes = hex("01 11 00 03 00 00 00 00") + Self.record
        bytes[8] = 0xFF
        guard case .importDevice(_, let device) = try USBIPOperationReply(decoding: bytes) else { Issue.record(); return }
        #expect(device?.path.hasPrefix("\u{FFFD}") == true)
        #expect(ReaderWireError(code: .badVersion, reason: "x") == ReaderWireError(code: .badVersion, reason: "y"))
    }
}

@Suite("USB/IP bulk submits appended in place")
struct USBIPAppendBulkTests {
    @Test("appendBulk writes the bytes USBIPCommand.encoded() gives, OUT with data and IN with a length, one after the other")
    func sameBytesAsEncoded() {
        let data: [UInt8] = [0x6F, 5, 0, 0, 0, 0, 7, 0, 0, 0, 0x00, 0xCA, 0x01, 0x02, 0x00]
        let out = USBIPSubmit(seqnum: 41, devid: 0x0001_0002, direction: .out, endpoint: 1, data: data)
        let input = USBIPSubmit(seqnum: 42, devid: 0x0001_0002, direction: .in, endpoint: 2, transferBufferLength: 320)
        let interrupt = USBIPSubmit(seqnum: 43, devid: 0x0001_0002, direction: .in, endpoint: 3, transferBufferLength: 64, interval: 16)
        var bytes: [UInt8] = [0xEE]   // appends after what is there
        USBIPSubmit.appendBulk(seqnum: 41, devid: 0x0001_0002, direction: .out, endpoint: 1, transferBufferLength: 999,
                               data: data, to: &bytes)
        USBIPSubmit.appendBulk(seqnum: 42, devid: 0x0001_0002, direction: .in, endpoint: 2, transferBufferLength: 320,
                               data: [1, 2, 3], to: &bytes)
        USBIPSubmit.appendBulk(seqnum: 43, devid: 0x0001_0002, direction: .in, endpoint: 3, transferBufferLength: 64,
                               interval: 16, to: &bytes)
        let expected = [0xEE] + USBIPCommand.submit(out).encoded() + USBIPCommand.submit(input).encoded()
            + USBIPCommand.submit(interrupt).encoded()
        #expect(bytes == expected)
        // And a server decodes them back, the OUT with its data and the INs without.
        guard let (first, used) = try? USBIPCommand.decode(from: bytes, at: 1),
              let (second, _) = try? USBIPCommand.decode(from: bytes, at: 1 + used) else {
            Issue.record("the appended submits do not decode")
            return
        }
        #expect(first == .submit(out))
        #expect(second == .submit(input))
    }
}

/// The URB encoders and decoders that work in place (fields stored into a zeroed header, the
/// setup field of bulk URBs shared) against a field-by-field reference written here from the
/// protocol's layout.
@Suite("USB/IP URB headers in place")
struct USBIPInPlaceTests {
    /// The big-endian bytes of `values`.
    private static func words(_ values: [UInt32]) -> [UInt8] {
        values.flatMap { [UInt8($0 >> 24), UInt8(truncatingIfNeeded: $0 >> 16), UInt8(truncatingIfNeeded: $0 >> 8), UInt8(truncatingIfNeeded: $0)] }
    }

    /// RET_SUBMIT / RET_UNLINK as the layout says: five header words, then the return's own.
    private static func reference(_ message: USBIPReturn, direction: USBIPDirection) -> [UInt8] {
        switch message {
        case .submit(let ret):
            var out = words([3, ret.seqnum, ret.devid, ret.direction, ret.endpoint, UInt32(bitPattern: ret.status),
                             ret.actualLength, ret.startFrame, ret.numberOfPackets, ret.errorCount, 0, 0])
            if direction == .in { out += ret.data }
            for packet in ret.isoPackets { out += words([packet.offset, packet.length, packet.actualLength, packet.status]) }
            return out
        case .unlink(let ret):
            return words([4, ret.seqnum, ret.devid, ret.direction, ret.endpoint, UInt32(bitPattern: ret.status)])
                + [UInt8](repeating: 0, count: 24)
        }
    }

    static let returns: [(USBIPReturn, USBIPDirection)] = [
        // Every field non-zero and each of its bytes different, so a field stored at the wrong
        // offset or in the wrong order shows.
        (.submit(USBIPSubmitReturn(seqnum: 0x0102_0304, devid: 0x0506_0708, direction: 1, endpoint: 0x0A0B_0C0D,
                                   status: -0x0102_0304, actualLength: 5, startFrame: 0x1112_1314,
                                   numberOfPackets: 0xFFFF_FFFF, errorCount: 0x2122_2324, data: [1, 2, 3, 4, 5])), .in),
        (.submit(USBIPSubmitReturn(seqnum: 0xFFFF_FFFF, status: -32, actualLength: 271)), .out),
        (.submit(USBIPSubmitReturn(seqnum: 9, numberOfPackets: 2, data: [9, 8, 7, 6],
                                   isoPackets: [USBIPISOPacket(offset: 0, length: 2, actualLength: 2, status: 0),
                                                USBIPISOPacket(offset: 2, length: 2, actualLength: 1, status: UInt32(bitPattern: -18))])), .in),
        (.submit(USBIPSubmitReturn(seqnum: 1)), .in),
        (.unlink(USBIPUnlinkReturn(seqnum: 0x0102_0304, devid: 0x0506_0708, direction: 1, endpoint: 0x0A0B_0C0D, status: -104)), .out),
        (.unlink(USBIPUnlinkReturn(seqnum: 2, status: 0)), .out),
    ]

    @Test("returns appended one after another, after bytes already there, are the reference bytes")
    func returnsAppended() throws {
        var bytes: [UInt8] = [0xEE, 0xEF, 0xF0]
        var expected = bytes
        for (message, direction) in Self.returns {
            message.append(direction: direction, to: &bytes)
            expected += Self.reference(message, direction: direction)
            #expect(message.encoded(direction: direction) == Self.reference(message, direction: direction))
        }
        #expect(bytes == expected)
        // And the client's decoder reads each back from where it lies.
        var offset = 3
        for (message, direction) in Self.returns {
            let decoded = try #require(try USBIPReturn.decode(from: bytes, at: offset, directionOf: { _ in direction }))
            #expect(decoded.message == message)
            offset += decoded.consumed
        }
        #expect(offset == bytes.count)
    }

    @Test("a bulk submit's zero setup field and a control submit's own decode as sent, at any offset, and no prefix decodes")
    func setupFields() throws {
        let bulk = USBIPCommand.submit(USBIPSubmit(seqnum: 0x0102_0304, devid: 0x0001_0002, direction: .in, endpoint: 2,
                                                   transferFlags: 0x0000_0201, transferBufferLength: 320, startFrame: 7,
                                                   numberOfPackets: 0xFFFF_FFFF, interval: 8))
        // Setup bytes that are zero but for one, first and last: not taken for the shared zeros.
        let lastOnly = USBIPCommand.submit(USBIPSubmit(seqnum: 5, devid: 1, direction: .out, endpoint: 0,
                                                       setup: USBSetupPacket(requestType: 0, request: 0, value: 0, index: 0, length: 0x0100),
                                                       data: []))
        let firstOnly = USBIPCommand.submit(USBIPSubmit(seqnum: 6, devid: 1, direction: .in, endpoint: 0, transferBufferLength: 18,
                                                        setup: USBSetupPacket(requestType: 0x80, request: 0, value: 0, index: 0, length: 0)))
        let control = USBIPCommand.submit(USBIPSubmit(seqnum: 7, devid: 1, direction: .in, endpoint: 0, transferBufferLength: 18,
                                                      setup: .getDescriptor(type: 1, length: 18)))
        let commands = [bulk, lastOnly, firstOnly, control]
        let stream: [UInt8] = [0xAA] + commands.flatMap { $0.encoded() }
        var offset = 1
        for command in commands {
            let decoded = try #require(try USBIPCommand.decode(from: stream, at: offset))
            #expect(decoded.message == command)
            #expect(decoded.message.encoded() == command.encoded())
            // Every shorter buffer (the command cut anywhere, the setup field included) needs more.
            for end in offset ..< offset + decoded.consumed {
                #expect(try USBIPCommand.decode(from: Array(stream[..<end]), at: offset) == nil)
            }
            offset += decoded.consumed
        }
        #expect(offset == stream.count)
        guard case .submit(let submit)? = try USBIPCommand.decode(from: stream, at: 1)?.message else {
            Issue.record("not a submit")
            return
        }
        #expect(submit.setup == [UInt8](repeating: 0, count: 8))
        #expect(submit.startFrame == 7 && submit.interval == 8 && submit.transferFlags == 0x201)
    }

    @Test("a start past the end or before the beginning decodes nothing")
    func offsets() throws {
        let bytes = USBIPCommand.submit(USBIPSubmit(seqnum: 1, devid: 1, direction: .in, endpoint: 2, transferBufferLength: 64)).encoded()
        #expect(try USBIPCommand.decode(from: bytes, at: bytes.count) == nil)
        #expect(try USBIPCommand.decode(from: bytes, at: bytes.count + 5) == nil)
        #expect(try USBIPCommand.decode(from: bytes, at: -1) == nil)
        #expect(try USBIPReturn.decode(from: bytes + bytes, at: 49) == nil)
    }
}
