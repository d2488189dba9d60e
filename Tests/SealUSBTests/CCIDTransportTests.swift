import Crypto
import SealUSB
import SealReaderWire
import SealSimulatorServers
import SealSimulatedToken
import SealFirmware
import SealHostDriver
import SealProtocol
import Testing

/// A reader that powers on with `atr` and answers every XfrBlock with `answer(apdu)`.
/// The SPEC §2.2 reference ATR (chaining and extended length): TS, T0, TD1, TD2, the seal
/// applet's historical bytes, TCK.
private let referenceATR: [UInt8] = {
    var bytes: [UInt8] = [0x3B, 0x80 | UInt8(SealApplet.historicalBytes.count), 0x81, 0x01] + SealApplet.historicalBytes
    bytes.append(bytes[1...].reduce(0, ^))
    return bytes
}()

private func reader(atr: [UInt8] = referenceATR,
                    answer: @escaping @Sendable ([UInt8]) -> [UInt8] = { _ in [0x90, 0x00] }) -> @Sendable (CCIDMessage) -> [ScriptedRead] {
    { message in
        switch message.kind {
        case .iccPowerOn: [.transfer(Reply.dataBlock(message.sequence, atr))]
        case .iccPowerOff: [.transfer(Reply.slotStatus(message.sequence))]
        case .xfrBlock(_, _, let apdu): [.transfer(Reply.dataBlock(message.sequence, answer(apdu)))]
        default: [.transfer(Reply.failed(message.sequence, icc: .active, error: .commandNotSupported))]
        }
    }
}

private let select = ccidHex("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01 00")

@Suite("CCID host session and transport")
struct CCIDTransportTests {
    // MARK: Power and exchange

    @Test("connect powers on and returns the DataBlock's ATR")
    func connect() async throws {
        let pipe = ScriptedCCIDPipe(responder: reader())
        let transport = CCIDTransport(pipe: pipe, description: testCCIDDescriptor())
        #expect(try await transport.connect() == referenceATR)
        #expect(pipe.writes == [ccidHex("62 00 00 00 00 00 00 00 00 00")])
        #expect(await transport.isPowered)
        #expect(transport.name == "CCID 1209:5ea1 at test")
    }

    @Test("transmit sends one XfrBlock and returns the response")
    func transmit() async throws {
        let pipe = ScriptedCCIDPipe(responder: reader(answer: { _ in ccidHex("01 02 90 00") }))
        let transport = CCIDTransport(pipe: pipe, description: testCCIDDescriptor())
        _ = try await transport.connect()
        #expect(try await transport.transmit(select) == ccidHex("01 02 90 00"))
        #expect(pipe.writes[1] == ccidHex("6F 0F 00 00 00 00 01 00 00 00") + select)
    }

    @Test("bSeq increments modulo 256")
    func sequenceWraps() async throws {
        let pipe = ScriptedCCIDPipe(responder: reader())
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        for _ in 0..<300 { _ = try await transport.transmit(select) }
        let sequences = pipe.writtenMessages.map(\.sequence)
        #expect(sequences == (0...300).map { UInt8($0 % 256) })
    }

    @Test("reset is IccPowerOff then IccPowerOn; disconnect powers off once; transmit afterwards is notConnected")
    func resetAndDisconnect() async throws {
        let pipe = ScriptedCCIDPipe(responder: reader())
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        #expect(try await transport.reset() == referenceATR)
        // connect() on a powered transport is a reset.
        _ = try await transport.connect()
        await transport.disconnect()
        await transport.disconnect()
        #expect(pipe.writtenMessages.map(\.kind.messageType) == [0x62, 0x63, 0x62, 0x63, 0x62, 0x63])
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) { try await transport.transmit(select) }
        await transport.close()
        #expect(pipe.isClosed)
        await #expect(throws: SealDriverError.self) { try await transport.connect() }
    }

    @Test("an empty APDU is refused without traffic")
    func emptyAPDU() async throws {
        let pipe = ScriptedCCIDPipe(responder: reader())
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) { try await transport.transmit([]) }
        #expect(pipe.writes.count == 1)
    }

    @Test("a TPDU-level reader is refused")
    func tpduReader() async {
        let pipe = ScriptedCCIDPipe(responder: reader())
        let transport = CCIDTransport(pipe: pipe, description: testCCIDDescriptor(exchangeLevel: CCIDClassDescriptor.Feature.tpduLevelExchange))
        await #expect(throws: SealDriverError(code: .notSupportedByToken, reason: "")) { try await transport.connect() }
        #expect(pipe.writes.isEmpty)
    }

    @Test("send passes other commands through the session's checks")
    func send() async throws {
        let pipe = ScriptedCCIDPipe { message in
            [.transfer(CCIDMessage(sequence: message.sequence, kind: .slotStatus(status: .active, error: .commandNotSupported, clock: .stoppedLow)).encoded())]
        }
        let transport = CCIDTransport(pipe: pipe)
        let reply = try await transport.send(.getSlotStatus)
        #expect(reply.kind == .slotStatus(status: .active, error: .commandNotSupported, clock: .stoppedLow))
    }

    // MARK: Reply checks

    @Test("a reply with the wrong bSeq is a typed error")
    func outOfSequence() async throws {
        var session = CCIDHostSession()
        _ = try session.start(.iccPowerOn(.automatic))
        try session.receive(Reply.dataBlock(1, referenceATR))
        #expect(throws: USBError(code: .sequenceMismatch, reason: "")) { try session.next() }
        #expect(!session.isBusy)

        let pipe = ScriptedCCIDPipe { message in [.transfer(Reply.dataBlock(message.sequence &+ 1, referenceATR))] }
        let error = await #expect(throws: SealDriverError.self) { try await CCIDTransport(pipe: pipe).connect() }
        #expect(error?.code == .transportFailure)
        #expect(error?.reason.contains("bSeq 1, expected 0") == true)
    }

    @Test("a reply for another slot is a typed error")
    func wrongSlot() async throws {
        var session = CCIDHostSession(slot: 0)
        _ = try session.start(.iccPowerOn(.automatic))
        try session.receive(Reply.dataBlock(0, referenceATR, slot: 1))
        #expect(throws: USBError(code: .slotMismatch, reason: "")) { try session.next() }

        let pipe = ScriptedCCIDPipe { message in [.transfer(Reply.dataBlock(message.sequence, referenceATR, slot: 3))] }
        await #expect(throws: SealDriverError(code: .transportFailure, reason: "")) { try await CCIDTransport(pipe: pipe).connect() }
    }

    @Test("a reply of the wrong type, or a command on bulk IN, is unexpectedMessage")
    func wrongType() throws {
        var session = CCIDHostSession()
        _ = try session.start(.xfrBlock(bwi: 0, levelParameter: 0, data: select))
        try session.receive(Reply.slotStatus(0))
        #expect(throws: USBError(code: .unexpectedMessage, reason: "")) { try session.next() }

        _ = try session.start(.getSlotStatus)
        try session.receive(CCIDMessage(sequence: 1, kind: .abort).encoded())
        #expect(throws: USBError(code: .unexpectedMessage, reason: "")) { try session.next() }

        _ = try session.start(.getSlotStatus)
        try session.receive(CCIDMessage(sequence: 2, kind: .unknown(type: 0x8F, specific: [], data: [])).encoded())
        #expect(throws: USBError(code: .unexpectedMessage, reason: "")) { try session.next() }
    }

    @Test("a second command while one is in flight is busy; a reply kind cannot be sent")
    func busy() throws {
        var session = CCIDHostSession()
        _ = try session.start(.getSlotStatus)
        #expect(throws: USBError(code: .busy, reason: "")) { try session.start(.getSlotStatus) }
        session.abandon()
        #expect(throws: USBError(code: .unexpectedMessage, reason: "")) {
            try session.start(.slotStatus(status: .active, error: .commandNotSupported, clock: .running))
        }
    }

    @Test("a reply longer than dwMaxCCIDMessageLength is malformed")
    func tooLong() async throws {
        let pipe = ScriptedCCIDPipe { message in
            [.transfer(Reply.dataBlock(message.sequence, [UInt8](repeating: 0x3B, count: 262)))]
        }
        let error = await #expect(throws: SealDriverError.self) {
            try await CCIDTransport(pipe: pipe, description: testCCIDDescriptor(maxMessageLength: 271)).connect()
        }
        #expect(error?.code == .transportFailure)
        #expect(error?.reason.contains("lengthTooLarge") == true)
    }

    // MARK: Time extension

    @Test("time extensions are skipped and extend the wait")
    func timeExtension() async throws {
        let pipe = ScriptedCCIDPipe { message in
            guard case .xfrBlock = message.kind else { return reader()(message) }
            return [.transfer(Reply.timeExtension(message.sequence, multiplier: 3)),
                    .transfer(Reply.timeExtension(message.sequence, multiplier: 0)),
                    .transfer(Reply.dataBlock(message.sequence, [0x90, 0x00]))]
        }
        let transport = CCIDTransport(pipe: pipe, configuration: .init(replyTimeout: .seconds(2)))
        _ = try await transport.connect()
        #expect(try await transport.transmit(select) == [0x90, 0x00])
        #expect(pipe.readTimeouts == [.seconds(2), .seconds(2), .seconds(6), .seconds(2)])
    }

    @Test("time extensions are bounded")
    func timeExtensionBounded() async throws {
        var session = CCIDHostSession(maximumTimeExtensions: 2)
        _ = try session.start(.iccPowerOn(.automatic))
        for _ in 0..<3 { try session.receive(Reply.timeExtension(0, multiplier: 1)) }
        #expect(try session.next() == .timeExtension(multiplier: 1))
        #expect(try session.next() == .timeExtension(multiplier: 1))
        #expect(throws: USBError(code: .timeExtensionLimit, reason: "")) { try session.next() }

        let pipe = ScriptedCCIDPipe { message in
            Array(repeating: .transfer(Reply.timeExtension(message.sequence, multiplier: 1)), count: 10)
        }
        let transport = CCIDTransport(pipe: pipe, configuration: .init(maximumTimeExtensions: 4))
        await #expect(throws: SealDriverError(code: .noResponse, reason: "")) { try await transport.connect() }
    }

    // MARK: Failures

    @Test("ICC_MUTE is noResponse")
    func mute() async throws {
        var session = CCIDHostSession()
        _ = try session.start(.iccPowerOn(.automatic))
        try session.receive(Reply.failed(0, icc: .presentInactive, error: .iccMute))
        let failure = #expect(throws: USBError(code: .iccMute, reason: "")) { try session.next() }
        #expect(failure?.slotError == .iccMute)

        let pipe = ScriptedCCIDPipe { [.transfer(Reply.failed($0.sequence, icc: .presentInactive, error: .iccMute))] }
        await #expect(throws: SealDriverError(code: .noResponse, reason: "")) { try await CCIDTransport(pipe: pipe).connect() }
    }

    @Test("an absent ICC is cardRemoved, and the transport is no longer powered")
    func absent() async throws {
        var session = CCIDHostSession()
        _ = try session.start(.iccPowerOn(.automatic))
        try session.receive(Reply.failed(0, icc: .absent, error: .iccMute))
        let failure = #expect(throws: USBError(code: .cardAbsent, reason: "")) { try session.next() }
        #expect(failure?.slotError == .iccMute)

        let pipe = ScriptedCCIDPipe { message in
            guard case .xfrBlock = message.kind else { return reader()(message) }
            return [.transfer(Reply.failed(message.sequence, icc: .absent, error: .iccMute))]
        }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        await #expect(throws: SealDriverError(code: .cardRemoved, reason: "")) { try await transport.transmit(select) }
        #expect(await !transport.isPowered)
    }

    @Test("other failures are transportFailure naming bError", arguments: [
        (CCIDSlotError.hardwareError, "HW_ERROR"), (.xfrParityError, "XFR_PARITY_ERROR"), (.slotBusy, "CMD_SLOT_BUSY"),
        (.aborted, "CMD_ABORTED"), (.badField(offset: 7), "BAD_FIELD_AT_OFFSET_7"),
    ])
    func otherFailures(error: CCIDSlotError, name: String) async throws {
        var session = CCIDHostSession()
        _ = try session.start(.getParameters)
        try session.receive(CCIDMessage(sequence: 0, kind: .parameters(status: .init(icc: .active, command: .failed), error: error,
                                                                    protocolNumber: 0, data: [])).encoded())
        let failure = #expect(throws: USBError(code: .slotFailure, reason: "")) { try session.next() }
        #expect(failure?.slotError == error)

        let pipe = ScriptedCCIDPipe { [.transfer(Reply.failed($0.sequence, icc: .active, error: error))] }
        let thrown = await #expect(throws: SealDriverError.self) { try await CCIDTransport(pipe: pipe).connect() }
        #expect(thrown?.code == .transportFailure)
        #expect(thrown?.message.contains(name) == true)
    }

    // MARK: Chaining

    @Test("a chained response (bChainParameter 01, 03, 02) is reassembled")
    func chainedResponse() async throws {
        let pipe = ScriptedCCIDPipe { message in
            guard case .xfrBlock(_, let level, let data) = message.kind else { return reader()(message) }
            switch (level, data) {
            case (0, _): return [.transfer(Reply.dataBlock(message.sequence, ccidHex("AA AA"), chain: 0x01))]
            case (0x10, []) where message.sequence == 2: return [.transfer(Reply.dataBlock(message.sequence, ccidHex("BB"), chain: 0x03))]
            case (0x10, []): return [.transfer(Reply.dataBlock(message.sequence, ccidHex("CC 90 00"), chain: 0x02))]
            default: return []
            }
        }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        #expect(try await transport.transmit(select) == ccidHex("AA AA BB CC 90 00"))
        #expect(Array(pipe.writes.suffix(2)) == [ccidHex("6F 00 00 00 00 00 02 00 10 00"), ccidHex("6F 00 00 00 00 00 03 00 10 00")])
    }

    @Test("chain parameters out of order are chainingError")
    func chainErrors() throws {
        var session = CCIDHostSession()
        _ = try session.start(.xfrBlock(bwi: 0, levelParameter: 0, data: select))
        try session.receive(Reply.dataBlock(0, [0x90, 0x00], chain: 0x02))
        #expect(throws: USBError(code: .chainingError, reason: "")) { try session.next() }

        _ = try session.start(.xfrBlock(bwi: 0, levelParameter: 0, data: select))
        try session.receive(Reply.dataBlock(1, [0xAA], chain: 0x01))
        guard case .write = try session.next() else { Issue.record("expected a continue request"); return }
        try session.receive(Reply.dataBlock(2, [0x90, 0x00], chain: 0x00))
        #expect(throws: USBError(code: .chainingError, reason: "")) { try session.next() }

        _ = try session.start(.xfrBlock(bwi: 0, levelParameter: 0, data: select))
        try session.receive(Reply.dataBlock(3, [], chain: 0x10))
        #expect(throws: USBError(code: .chainingError, reason: "")) { try session.next() }
    }

    @Test("a reassembled response is bounded")
    func chainBound() throws {
        var session = CCIDHostSession(maximumResponseLength: 3)
        _ = try session.start(.xfrBlock(bwi: 0, levelParameter: 0, data: select))
        try session.receive(Reply.dataBlock(0, [1, 2], chain: 0x01))
        _ = try session.next()
        try session.receive(Reply.dataBlock(1, [3, 4], chain: 0x02))
        #expect(throws: USBError(code: .responseTooLong, reason: "")) { try session.next() }
    }

    @Test("a command longer than dwMaxCCIDMessageLength goes as an XfrBlock chain (01, 03, 02)")
    func commandChaining() async throws {
        let apdu = (0..<25).map { UInt8($0) }
        let pipe = ScriptedCCIDPipe { message in
            guard case .xfrBlock(_, let level, _) = message.kind else { return reader(atr: ccidHex("3B 80 80 01 01"))(message) }
            return level == 0x02 ? [.transfer(Reply.dataBlock(message.sequence, [0x90, 0x00]))]
                                 : [.transfer(Reply.dataBlock(message.sequence, chain: 0x10))]
        }
        let transport = CCIDTransport(pipe: pipe, description: testCCIDDescriptor(maxMessageLength: 20))
        _ = try await transport.connect()
        #expect(try await transport.transmit(apdu) == [0x90, 0x00])
        let parts = pipe.writtenMessages.dropFirst().map(\.kind)
        #expect(parts == [
            .xfrBlock(bwi: 0, levelParameter: 0x01, data: Array(apdu[0..<10])),
            .xfrBlock(bwi: 0, levelParameter: 0x03, data: Array(apdu[10..<20])),
            .xfrBlock(bwi: 0, levelParameter: 0x02, data: Array(apdu[20..<25])),
        ])
        #expect(pipe.writes.allSatisfy { $0.count <= 20 })
    }

    @Test("other commands that do not fit are commandTooLong")
    func commandTooLong() async throws {
        var session = CCIDHostSession(maximumMessageLength: 20)
        #expect(throws: USBError(code: .commandTooLong, reason: "")) { try session.start(.escape(data: [UInt8](repeating: 0, count: 11))) }
        #expect(throws: USBError(code: .commandTooLong, reason: "")) {
            try session.start(.xfrBlock(bwi: 0, levelParameter: 0x01, data: [UInt8](repeating: 0, count: 11)))
        }
        #expect(!session.isBusy)
    }

    // MARK: Transfers and zero-length packets

    @Test("a message over several full packets is reassembled; the ZLP after an exact multiple is skipped")
    func packetsAndZLP() async throws {
        // 54 data bytes make a 64-byte message: one full packet, then a ZLP.
        let exact = Reply.dataBlock(1, [UInt8](repeating: 0x11, count: 52) + [0x90, 0x00])
        // 140 data bytes make 150 bytes: 64 + 64 + 22.
        let long = Reply.dataBlock(2, [UInt8](repeating: 0x22, count: 138) + [0x90, 0x00])
        let pipe = ScriptedCCIDPipe { message in
            switch (message.kind, message.sequence) {
            case (.xfrBlock, 1): [.transfer(exact), .transfer([])]
            case (.xfrBlock, 2): [.transfer(Array(long[0..<64])), .transfer(Array(long[64..<128])), .transfer(Array(long[128...]))]
            default: reader()(message)
            }
        }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        #expect(try await transport.transmit(select).count == 54)
        #expect(try await transport.transmit(select).count == 140)
        #expect(pipe.pendingReads.isEmpty)
    }

    @Test("a ZLP inside a message means the transfer cut it short")
    func zlpInsideMessage() async throws {
        let long = Reply.dataBlock(1, [UInt8](repeating: 0x22, count: 90))
        let pipe = ScriptedCCIDPipe { message in
            guard case .xfrBlock = message.kind else { return reader()(message) }
            return [.transfer(Array(long[0..<64])), .transfer([])]
        }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(select) }
        #expect(error?.code == .transportFailure)
        #expect(error?.reason.contains("truncated") == true)
    }

    @Test("stray zero-length transfers are bounded")
    func strayZLPs() throws {
        var session = CCIDHostSession(maximumEmptyTransfers: 3)
        _ = try session.start(.getSlotStatus)
        for _ in 0..<3 { try session.receive([]) }
        #expect(try session.next() == .read)
        #expect(throws: USBError(code: .malformedMessage, reason: "")) { try session.receive([]) }
    }

    @Test("after a timeout, the late reply of the abandoned command is discarded")
    func lateReply() async throws {
        let pipe = ScriptedCCIDPipe { message in
            switch (message.kind, message.sequence) {
            case (.xfrBlock, 1): []   // no answer: the read times out
            case (.xfrBlock, 2): [.transfer(Reply.dataBlock(1, [0x6F, 0x00])), .transfer(Reply.dataBlock(2, [0x90, 0x00]))]
            default: reader()(message)
            }
        }
        let transport = CCIDTransport(pipe: pipe, configuration: .init(replyTimeout: .milliseconds(10)))
        _ = try await transport.connect()
        await #expect(throws: SealDriverError(code: .noResponse, reason: "")) { try await transport.transmit(select) }
        #expect(try await transport.transmit(select) == [0x90, 0x00])
    }

    @Test("interrupt IN: NotifySlotChange")
    func interrupt() async throws {
        let pipe = ScriptedCCIDPipe()
        pipe.queueInterrupt([0x50, 0x02])
        pipe.queueInterrupt([0x50])
        let transport = CCIDTransport(pipe: pipe)
        let message = try await transport.waitForInterrupt(timeout: .seconds(1))
        guard case .notifySlotChange(let change) = message else { Issue.record("not a slot change"); return }
        #expect(!change.isPresent(slot: 0) && change.hasChanged(slot: 0))
        await #expect(throws: SealDriverError(code: .transportFailure, reason: "")) { try await transport.waitForInterrupt(timeout: .seconds(1)) }
        await #expect(throws: SealDriverError(code: .noResponse, reason: "")) { try await transport.waitForInterrupt(timeout: .seconds(1)) }
    }

    // MARK: End to end

    @Test("SealToken over CCID: SELECT and GET DATA through an emulated reader with packets, ZLPs and chaining")
    func sealToken() async throws {
        let chipID: [UInt8] = Array(0x30...0x3F)
        let backing = InMemoryBackingStore()
        try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(),
                                     issuerPublicKey: P256.Signing.PrivateKey().publicKey, chipID: chipID)
        let card = try InProcessTransport(backing: backing)
        let pipe = EmulatedCCIDReader(card: card, packetSize: 64, chainPart: 100)
        let transport = CCIDTransport(pipe: pipe, description: testCCIDDescriptor(maxMessageLength: 271))
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        try await token.connect()
        let info = try await token.info()
        #expect(info.chipID == chipID)
        #expect(info.lifecycle == .manufactured)
        #expect(try await token.deviceCertificateDER().isEmpty == false)
        await token.disconnect()
        await transport.close()
    }

    @Test("concurrent transmits are serialized")
    func concurrent() async throws {
        let pipe = ScriptedCCIDPipe(responder: reader(answer: { $0 + [0x90, 0x00] }))
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<32 {
                group.addTask {
                    let apdu = ccidHex("00 CA 00") + [UInt8(index)]
                    let response = try await transport.transmit(apdu)
                    #expect(response == apdu + [0x90, 0x00])
                }
            }
            try await group.waitForAll()
        }
    }
}
