import SealReaderWire
import Testing
@testable import SealProtocol

/// One message and its exact wire bytes.
struct CCIDVector: Sendable, CustomTestStringConvertible {
    let name: String
    let message: CCIDMessage
    let bytes: [UInt8]
    var testDescription: String { name }
}

@Suite("CCID messages")
struct CCIDMessageTests {
    static let atr = hex("3B 8A 81 01 80 73 80 00 C0 54 53 45 41 4C F6")
    static let t1 = hex("11 10 00 4D 00 20 00")

    static let vectors: [CCIDVector] = [
        // PC_to_RDR
        .init(name: "IccPowerOn automatic", message: .init(slot: 0, sequence: 0x01, kind: .iccPowerOn(.automatic)),
              bytes: hex("62 00 00 00 00 00 01 00 00 00")),
        .init(name: "IccPowerOn 3 V slot 1", message: .init(slot: 1, sequence: 0xFF, kind: .iccPowerOn(.volts3)),
              bytes: hex("62 00 00 00 00 01 FF 02 00 00")),
        .init(name: "IccPowerOff", message: .init(sequence: 0x02, kind: .iccPowerOff),
              bytes: hex("63 00 00 00 00 00 02 00 00 00")),
        .init(name: "GetSlotStatus", message: .init(sequence: 0x03, kind: .getSlotStatus),
              bytes: hex("65 00 00 00 00 00 03 00 00 00")),
        .init(name: "XfrBlock", message: .init(sequence: 0x04, kind: .xfrBlock(bwi: 0x04, levelParameter: 0x0201, data: hex("00 A4 04 00 02 3F 00"))),
              bytes: hex("6F 07 00 00 00 00 04 04 01 02 00 A4 04 00 02 3F 00")),
        .init(name: "XfrBlock continue request", message: .init(sequence: 0x05, kind: .xfrBlock(bwi: 0, levelParameter: 0x0010, data: [])),
              bytes: hex("6F 00 00 00 00 00 05 00 10 00")),
        .init(name: "GetParameters", message: .init(sequence: 0x06, kind: .getParameters),
              bytes: hex("6C 00 00 00 00 00 06 00 00 00")),
        .init(name: "ResetParameters", message: .init(sequence: 0x07, kind: .resetParameters),
              bytes: hex("6D 00 00 00 00 00 07 00 00 00")),
        .init(name: "SetParameters T=1", message: .init(sequence: 0x08, kind: .setParameters(protocolNumber: 1, data: t1)),
              bytes: hex("61 07 00 00 00 00 08 01 00 00 11 10 00 4D 00 20 00")),
        .init(name: "Escape", message: .init(sequence: 0x09, kind: .escape(data: hex("DE AD"))),
              bytes: hex("6B 02 00 00 00 00 09 00 00 00 DE AD")),
        .init(name: "IccClock stop", message: .init(sequence: 0x0A, kind: .iccClock(clockCommand: 1)),
              bytes: hex("6E 00 00 00 00 00 0A 01 00 00")),
        .init(name: "T0APDU", message: .init(sequence: 0x0B, kind: .t0APDU(changes: 3, classGetResponse: 0x00, classEnvelope: 0x80)),
              bytes: hex("6A 00 00 00 00 00 0B 03 00 80")),
        .init(name: "Secure", message: .init(sequence: 0x0C, kind: .secure(bwi: 0, levelParameter: 0, data: hex("00 1E 1E 89 47 04 0C 04 02 01"))),
              bytes: hex("69 0A 00 00 00 00 0C 00 00 00 00 1E 1E 89 47 04 0C 04 02 01")),
        .init(name: "Mechanical", message: .init(sequence: 0x0D, kind: .mechanical(function: 2)),
              bytes: hex("71 00 00 00 00 00 0D 02 00 00")),
        .init(name: "Abort", message: .init(sequence: 0x0E, kind: .abort),
              bytes: hex("72 00 00 00 00 00 0E 00 00 00")),
        .init(name: "SetDataRateAndClockFrequency", message: .init(sequence: 0x0F, kind: .setDataRateAndClockFrequency(clockFrequency: 4_000, dataRate: 10_752)),
              bytes: hex("73 08 00 00 00 00 0F 00 00 00 A0 0F 00 00 00 2A 00 00")),
        // RDR_to_PC
        .init(name: "DataBlock ATR", message: .init(sequence: 0x01, kind: .dataBlock(status: .active, error: .commandNotSupported, chain: 0, data: atr)),
              bytes: hex("80 0F 00 00 00 00 01 00 00 00") + atr),
        .init(name: "DataBlock chained", message: .init(sequence: 0x02, kind: .dataBlock(status: .active, error: .init(rawValue: 0), chain: 0x01, data: hex("AA"))),
              bytes: hex("80 01 00 00 00 00 02 00 00 01 AA")),
        .init(name: "DataBlock time extension", message: .init(sequence: 0x03, kind: .dataBlock(status: .timeExtension, error: .init(rawValue: 2), chain: 0, data: [])),
              bytes: hex("80 00 00 00 00 00 03 80 02 00")),
        .init(name: "DataBlock mute", message: .init(sequence: 0x04, kind: .dataBlock(status: .init(icc: .presentInactive, command: .failed), error: .iccMute, chain: 0, data: [])),
              bytes: hex("80 00 00 00 00 00 04 41 FE 00")),
        .init(name: "SlotStatus", message: .init(sequence: 0x05, kind: .slotStatus(status: .inactive, error: .commandNotSupported, clock: .running)),
              bytes: hex("81 00 00 00 00 00 05 01 00 00")),
        .init(name: "SlotStatus absent, clock stopped", message: .init(slot: 2, sequence: 0x06, kind: .slotStatus(status: .init(icc: .absent, command: .failed), error: .iccMute, clock: .stoppedUnknown)),
              bytes: hex("81 00 00 00 00 02 06 42 FE 03")),
        .init(name: "Parameters", message: .init(sequence: 0x07, kind: .parameters(status: .active, error: .commandNotSupported, protocolNumber: 1, data: t1)),
              bytes: hex("82 07 00 00 00 00 07 00 00 01 11 10 00 4D 00 20 00")),
        .init(name: "Escape response", message: .init(sequence: 0x08, kind: .escapeResponse(status: .active, error: .commandNotSupported, data: hex("01 02 03"))),
              bytes: hex("83 03 00 00 00 00 08 00 00 00 01 02 03")),
        .init(name: "DataRateAndClockFrequency", message: .init(sequence: 0x09, kind: .dataRateAndClockFrequency(status: .active, error: .commandNotSupported, clockFrequency: 4_000, dataRate: 10_752)),
              bytes: hex("84 08 00 00 00 00 09 00 00 00 A0 0F 00 00 00 2A 00 00")),
        // Unknown
        .init(name: "unknown type", message: .init(sequence: 0x0A, kind: .unknown(type: 0x99, specific: hex("01 02 03"), data: hex("FF"))),
              bytes: hex("99 01 00 00 00 00 0A 01 02 03 FF")),
    ]

    @Test("encodes to the literal bytes", arguments: vectors)
    func encode(vector: CCIDVector) {
        #expect(vector.message.encoded() == vector.bytes)
        #expect(vector.message.header.encoded == Array(vector.bytes.prefix(10)))
    }

    @Test("decodes the literal bytes", arguments: vectors)
    func decode(vector: CCIDVector) throws {
        let decoded = try #require(try CCIDMessage.decode(from: vector.bytes))
        #expect(decoded.message == vector.message)
        #expect(decoded.consumed == vector.bytes.count)
        #expect(try CCIDMessage(decoding: vector.bytes) == vector.message)
        #expect(vector.message.kind.messageType == vector.bytes[0])
    }

    @Test("every proper prefix needs more bytes, and is truncated as a whole transfer", arguments: vectors)
    func prefixes(vector: CCIDVector) throws {
        for length in 0..<vector.bytes.count {
            let prefix = Array(vector.bytes.prefix(length))
            #expect(try CCIDMessage.decode(from: prefix) == nil, "prefix of \(length) bytes decoded")
            #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try CCIDMessage(decoding: prefix) }
        }
    }

    @Test("a byte after the message is trailing in a whole transfer, left over incrementally", arguments: vectors)
    func trailing(vector: CCIDVector) throws {
        let bytes = vector.bytes + [0x00]
        #expect(throws: ReaderWireError(code: .trailingBytes, reason: "")) { try CCIDMessage(decoding: bytes) }
        let decoded = try #require(try CCIDMessage.decode(from: bytes))
        #expect(decoded.consumed == vector.bytes.count)
    }

    @Test("a stream decodes identically across arbitrary splits", arguments: [1, 2, 3, 5, 7, 10, 11, 64, 1000])
    func incremental(chunk: Int) throws {
        let stream = Self.vectors.flatMap(\.bytes)
        var buffer: [UInt8] = []
        var decoded: [CCIDMessage] = []
        var offset = 0
        while offset < stream.count {
            buffer += stream[offset ..< min(offset + chunk, stream.count)]
            offset += chunk
            while let (message, consumed) = try CCIDMessage.decode(from: buffer) {
                decoded.append(message)
                buffer.removeFirst(consumed)
            }
        }
        #expect(buffer.isEmpty)
        #expect(decoded == Self.vectors.map(\.message))
    }

    @Test("decodes from a slice with a non-zero start index")
    func slice() throws {
        let bytes = hex("00 00") + Self.vectors[4].bytes
        let decoded = try #require(try CCIDMessage.decode(from: bytes[2...]))
        #expect(decoded.message == Self.vectors[4].message)
    }

    // MARK: Errors

    @Test("dwLength over the maximum fails as soon as the header is there")
    func lengthTooLarge() throws {
        let huge = hex("6F FF FF FF FF 00 00 00 00 00")
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) { try CCIDMessage.decode(from: huge) }
        // 10 + 262 = 272 > 271; 10 + 261 = 271 is fine (and waits for data).
        let over = hex("6F 06 01 00 00 00 00 00 00 00")
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) { try CCIDMessage.decode(from: over, maximumLength: 271) }
        let atLimit = hex("6F 05 01 00 00 00 00 00 00 00")
        #expect(try CCIDMessage.decode(from: atLimit, maximumLength: 271) == nil)
        let whole = atLimit + [UInt8](repeating: 0x55, count: 261)
        #expect(try CCIDMessage.decode(from: whole, maximumLength: 271)?.consumed == 271)
        // The default bound admits an extended APDU.
        #expect(CCIDMessage.defaultMaximumLength >= 10 + 65_544)
        #expect(throws: ReaderWireError(code: .lengthTooLarge, reason: "")) {
            try CCIDMessage(decoding: CCIDHeader(messageType: 0x80, length: UInt32(CCIDMessage.defaultMaximumLength), slot: 0, sequence: 0).encoded)
        }
    }

    @Test("dwLength that does not fit the type is invalidLength, still framed",
          arguments: [
            hex("63 01 00 00 00 00 00 00 00 00 AA"),          // IccPowerOff with data
            hex("62 01 00 00 00 00 00 00 00 00 AA"),          // IccPowerOn with data
            hex("65 02 00 00 00 00 00 00 00 00 AA BB"),       // GetSlotStatus with data
            hex("72 01 00 00 00 00 00 00 00 00 AA"),          // Abort with data
            hex("81 01 00 00 00 00 00 00 00 00 AA"),          // SlotStatus with data
            hex("73 07 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07"),     // 7 of 8 bytes
            hex("84 09 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 09"),
          ])
    func invalidLength(bytes: [UInt8]) throws {
        #expect(throws: ReaderWireError(code: .invalidLength, reason: "")) { try CCIDMessage.decode(from: bytes) }
        let header = try #require(CCIDHeader.peek(bytes))
        #expect(header.messageSize == bytes.count)
    }

    @Test("a failed DataRateAndClockFrequency may come without its 8 bytes")
    func failedDataRate() throws {
        let message = try CCIDMessage(decoding: hex("84 00 00 00 00 00 01 40 00 00"))
        #expect(message.kind == .dataRateAndClockFrequency(status: .init(icc: .active, command: .failed), error: .commandNotSupported,
                                                           clockFrequency: 0, dataRate: 0))
    }

    @Test("RFU header bytes are ignored when decoding and written as zero")
    func rfuIgnored() throws {
        let message = try CCIDMessage(decoding: hex("63 00 00 00 00 00 07 AA BB CC"))
        #expect(message.kind == .iccPowerOff)
        #expect(message.encoded() == hex("63 00 00 00 00 00 07 00 00 00"))
    }

    @Test("unknown specific bytes are padded or cut to three")
    func unknownSpecific() {
        #expect(CCIDMessage(sequence: 0, kind: .unknown(type: 0x10, specific: [1], data: [])).encoded() == hex("10 00 00 00 00 00 00 01 00 00"))
        #expect(CCIDMessage(sequence: 0, kind: .unknown(type: 0x10, specific: [1, 2, 3, 4], data: [])).encoded() == hex("10 00 00 00 00 00 00 01 02 03"))
    }

    @Test("header peek reads dwLength little-endian")
    func header() throws {
        let header = try #require(CCIDHeader.peek(hex("80 04 03 02 01 05 06 07 08 09")))
        #expect(header.length == 0x0102_0304)
        #expect(header.slot == 5)
        #expect(header.sequence == 6)
        #expect(header.specific == (7, 8, 9))
        #expect(CCIDHeader.peek(hex("80 04 03 02 01 05 06 07 08")) == nil)
    }

    @Test("header append writes dwLength little-endian after what is there, every byte of it")
    func headerAppend() {
        let header = CCIDHeader(messageType: 0x80, length: 0x0102_0304, slot: 5, sequence: 6, specific: (7, 8, 9))
        var bytes: [UInt8] = [0xEE]
        header.append(to: &bytes)
        #expect(bytes == hex("EE 80 04 03 02 01 05 06 07 08 09"))
        #expect(header.encoded == hex("80 04 03 02 01 05 06 07 08 09"))
        #expect(CCIDHeader(messageType: 0x6F, length: 0xFFFF_FFFF, slot: 0, sequence: 255).encoded == hex("6F FF FF FF FF 00 FF 00 00 00"))
    }

    // MARK: Status, errors, chaining

    @Test("bStatus splits into ICC and command status")
    func status() {
        #expect(CCIDSlotStatus(rawValue: 0x00).iccStatus == .active)
        #expect(CCIDSlotStatus(rawValue: 0x01).iccStatus == .presentInactive)
        #expect(CCIDSlotStatus(rawValue: 0x42).iccStatus == .absent)
        #expect(CCIDSlotStatus(rawValue: 0x42).commandStatus == .failed)
        #expect(CCIDSlotStatus(rawValue: 0x80).commandStatus == .timeExtension)
        #expect(CCIDSlotStatus(rawValue: 0xC3).commandStatus == .rfu)
        #expect(CCIDSlotStatus(rawValue: 0xC3).iccStatus == .rfu)
        #expect(CCIDSlotStatus(icc: .presentInactive, command: .failed).rawValue == 0x41)
        #expect(CCIDSlotStatus.timeExtension.rawValue == 0x80)
    }

    @Test("bError values carry the CCID names")
    func errorNames() {
        let names: [(UInt8, String)] = [
            (0xFF, "CMD_ABORTED"), (0xFE, "ICC_MUTE"), (0xFD, "XFR_PARITY_ERROR"), (0xFC, "XFR_OVERRUN"),
            (0xFB, "HW_ERROR"), (0xF8, "BAD_ATR_TS"), (0xF7, "BAD_ATR_TCK"), (0xF6, "ICC_PROTOCOL_NOT_SUPPORTED"),
            (0xF5, "ICC_CLASS_NOT_SUPPORTED"), (0xF4, "PROCEDURE_BYTE_CONFLICT"), (0xF3, "DEACTIVATED_PROTOCOL"),
            (0xF2, "BUSY_WITH_AUTO_SEQUENCE"), (0xF0, "PIN_TIMEOUT"), (0xEF, "PIN_CANCELLED"), (0xE0, "CMD_SLOT_BUSY"),
            (0x00, "CMD_NOT_SUPPORTED"), (0x07, "BAD_FIELD_AT_OFFSET_7"), (0x80, "USER_DEFINED_80"),
        ]
        for (raw, name) in names { #expect(CCIDSlotError(rawValue: raw).name == name) }
        #expect(CCIDSlotError.iccMute.rawValue == 0xFE)
        #expect(CCIDSlotError.slotBusy.rawValue == 0xE0)
        #expect(CCIDSlotError.pinCancelled.rawValue == 0xEF)
        #expect(CCIDSlotError(rawValue: 0x05).badFieldOffset == 5)
        #expect(CCIDSlotError(rawValue: 0x7F).badFieldOffset == 127)
        #expect(CCIDSlotError(rawValue: 0x00).badFieldOffset == nil)
        #expect(CCIDSlotError(rawValue: 0x80).badFieldOffset == nil)
        #expect(CCIDSlotError.badField(offset: 1) == CCIDSlotError(rawValue: 1))
    }

    @Test("chain parameters")
    func chain() {
        #expect(CCIDChainParameter.begins.hasMore)
        #expect(CCIDChainParameter.continues.hasMore)
        #expect(!CCIDChainParameter.ends.hasMore)
        #expect(!CCIDChainParameter.complete.hasMore)
        #expect(!CCIDChainParameter.continueRequest.hasMore)
        #expect(CCIDChainParameter.continueRequest.rawValue == 0x10)
    }

    @Test("reply status and direction accessors")
    func accessors() {
        #expect(CCIDMessage.Kind.iccPowerOn(.automatic).isCommand)
        #expect(!CCIDMessage.Kind.slotStatus(status: .active, error: .commandNotSupported, clock: .running).isCommand)
        #expect(CCIDMessage.Kind.abort.replyStatus == nil)
        let reply = CCIDMessage.Kind.parameters(status: .inactive, error: .iccMute, protocolNumber: 0, data: [])
        #expect(reply.replyStatus?.status == .inactive)
        #expect(reply.replyStatus?.error == .iccMute)
        #expect(CCIDMessage.Kind.xfrBlock(bwi: 0, levelParameter: 0, data: []).name == "PC_to_RDR_XfrBlock")
    }

    @Test("error equality uses the code only")
    func errorEquality() {
        #expect(ReaderWireError(code: .truncated, reason: "a") == ReaderWireError(code: .truncated, reason: "b"))
        #expect(ReaderWireError(code: .truncated, reason: "") != ReaderWireError(code: .lengthTooLarge, reason: ""))
        #expect("\(ReaderWireError(code: .invalidLength, reason: "x"))" == "ReaderWireError.invalidLength: x")
    }

    // MARK: Interrupt messages

    @Test("NotifySlotChange encodes two bits per slot")
    func notifySlotChange() throws {
        let change = CCIDSlotChange(slots: [(present: true, changed: true)])
        #expect(CCIDInterruptMessage.notifySlotChange(change).encoded() == hex("50 03"))
        let five = CCIDSlotChange(slots: [(true, false), (false, true), (true, true), (false, false), (true, true)])
        #expect(five.bitmap == hex("39 03"))
        #expect(five.isPresent(slot: 0) && !five.hasChanged(slot: 0))
        #expect(!five.isPresent(slot: 1) && five.hasChanged(slot: 1))
        #expect(five.isPresent(slot: 4) && five.hasChanged(slot: 4))
        #expect(!five.isPresent(slot: 99))
        #expect(five.slotCount == 8)

        #expect(try CCIDInterruptMessage(decoding: hex("50 02")) == .notifySlotChange(CCIDSlotChange(bitmap: [0x02])))
        #expect(try CCIDInterruptMessage(decoding: hex("51 00 05 01")) == .hardwareError(slot: 0, sequence: 5, code: 1))
        #expect(CCIDInterruptMessage.hardwareError(slot: 1, sequence: 2, code: 1).encoded() == hex("51 01 02 01"))
        #expect(try CCIDInterruptMessage(decoding: hex("5F 01")) == .unknown(type: 0x5F, data: [0x01]))
    }

    @Test("malformed interrupt transfers")
    func interruptErrors() {
        #expect(throws: ReaderWireError(code: .empty, reason: "")) { try CCIDInterruptMessage(decoding: []) }
        #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try CCIDInterruptMessage(decoding: hex("50")) }
        #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try CCIDInterruptMessage(decoding: hex("51 00 01")) }
        #expect(throws: ReaderWireError(code: .trailingBytes, reason: "")) { try CCIDInterruptMessage(decoding: hex("51 00 01 01 00")) }
    }

    @Test("interrupt messages decode incrementally by slot count")
    func interruptIncremental() {
        #expect(CCIDInterruptMessage.decode(from: hex("50")) == nil)
        #expect(CCIDInterruptMessage.decode(from: hex("50 03 51"))?.consumed == 2)
        #expect(CCIDInterruptMessage.decode(from: hex("50 03"), slotCount: 5) == nil)
        #expect(CCIDInterruptMessage.decode(from: hex("50 03 00"), slotCount: 5)?.consumed == 3)
        #expect(CCIDInterruptMessage.decode(from: hex("51 00 01")) == nil)
        #expect(CCIDInterruptMessage.decode(from: hex("51 00 01 01 50"))?.message == .hardwareError(slot: 0, sequence: 1, code: 1))
    }
}

@Suite("CCID decoding of arrays and of other collections agree")
struct CCIDArrayDecodingTests {
    static let messages: [CCIDMessage] = [
        CCIDMessage(slot: 0, sequence: 7, kind: .xfrBlock(bwi: 2, levelParameter: 0x0103, data: [0x00, 0xCA, 0x01, 0x02, 0x00])),
        CCIDMessage(slot: 1, sequence: 255, kind: .dataBlock(status: CCIDSlotStatus(rawValue: 0x40), error: CCIDSlotError(rawValue: 0xFE),
                                                             chain: 1, data: [0x90, 0x00])),
        CCIDMessage(slot: 0, sequence: 0, kind: .iccPowerOff),
        CCIDMessage(slot: 0, sequence: 3, kind: .dataBlock(status: CCIDSlotStatus(rawValue: 0), error: CCIDSlotError(rawValue: 0),
                                                           chain: 0, data: [UInt8](repeating: 0x5A, count: 300))),
    ]

    @Test("peek and decode of an array give what the generic code gives for the same bytes in a slice, whole or cut")
    func agree() throws {
        for message in Self.messages {
            let bytes = message.encoded() + [0xAB, 0xCD]   // a following message's first bytes
            let slice = ([0x00] + bytes)[1...]
            #expect(CCIDHeader.peek(bytes) == CCIDHeader.peek(slice))
            #expect(CCIDHeader.peek(bytes)?.messageSize == bytes.count - 2)
            let fromArray = try CCIDMessage.decode(from: bytes)
            let fromSlice = try CCIDMessage.decode(from: slice)
            #expect(fromArray?.message == message)
            #expect(fromArray?.consumed == bytes.count - 2)
            #expect(fromArray?.message == fromSlice?.message && fromArray?.consumed == fromSlice?.consumed)
            for cut in [0, 5, 9, 10, bytes.count - 3] {
                let head = Array(bytes.prefix(cut))
                // Incomplete unless the cut falls at or after the message's end (a message without data).
                #expect((try CCIDMessage.decode(from: head) == nil) == (cut < bytes.count - 2), "cut at \(cut)")
                #expect((CCIDHeader.peek(head) == nil) == (cut < CCIDHeader.size))
            }
        }
    }

    @Test("an array announcing more than the maximum length is refused as the generic decoder refuses it")
    func tooLong() {
        let bytes = CCIDMessage(slot: 0, sequence: 1, kind: .xfrBlock(bwi: 0, levelParameter: 0, data: [UInt8](repeating: 1, count: 300))).encoded()
        let arrayError = #expect(throws: ReaderWireError.self) { try CCIDMessage.decode(from: bytes, maximumLength: 271) }
        let sliceError = #expect(throws: ReaderWireError.self) { try CCIDMessage.decode(from: bytes[...], maximumLength: 271) }
        #expect(arrayError?.code == .lengthTooLarge)
        #expect(arrayError == sliceError)
        #expect(arrayError?.reason == sliceError?.reason)
    }
}
