import SealSimulatorServers
import SealReaderWire
import SealUSB
import SealHostDriver
import SealProtocol
import SealFirmware
import SealSimulatedToken
import Testing

@Suite("vpcd frame codec")
struct VPCDFrameCodecTests {
    @Test("encodes the 2-byte big-endian length then the payload")
    func encode() throws {
        #expect(try VPCDFrame.encode([UInt8]()) == [0x00, 0x00])
        #expect(try VPCDFrame.encode([0x04]) == [0x00, 0x01, 0x04])
        #expect(try VPCDFrame.encode([0x90, 0x00]) == [0x00, 0x02, 0x90, 0x00])
        let apdu: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0, 0x53, 0x45, 0x41, 0x4C, 0x4B, 0x49, 0x54, 0x01]
        #expect(try VPCDFrame.encode(apdu) == [0x00, 0x0E] + apdu)
        let long = [UInt8](repeating: 0xAB, count: 0x012C)
        let frame = try VPCDFrame.encode(long)
        #expect(frame.count == 2 + 300)
        #expect(Array(frame.prefix(2)) == [0x01, 0x2C])
        #expect(Array(frame.dropFirst(2)) == long)
    }

    @Test("the largest payload is 65 535 bytes; one more is refused")
    func encodeLimits() throws {
        let largest = try VPCDFrame.encode([UInt8](repeating: 0, count: 0xFFFF))
        #expect(Array(largest.prefix(2)) == [0xFF, 0xFF])
        #expect(largest.count == 0xFFFF + 2)
        #expect(throws: VPCDFrameError.payloadTooLong(0x10000)) {
            try VPCDFrame.encode([UInt8](repeating: 0, count: 0x10000))
        }
    }

    @Test("decodes one complete frame and then asks for more")
    func decodeWhole() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00, 0x02, 0x90, 0x00])
        #expect(try decoder.nextPayload() == [0x90, 0x00])
        #expect(try decoder.nextPayload() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test("a frame fed one byte at a time appears only with its last byte")
    func decodeByteByByte() throws {
        let frame: [UInt8] = [0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00]
        var decoder = VPCDFrameDecoder()
        for (index, byte) in frame.enumerated() {
            decoder.append([byte])
            if index < frame.count - 1 {
                #expect(try decoder.nextPayload() == nil, "complete after only \(index + 1) bytes")
                #expect(decoder.bufferedByteCount == index + 1)
            }
        }
        #expect(try decoder.nextPayload() == [0x00, 0xA4, 0x04, 0x00, 0x00])
        #expect(try decoder.nextPayload() == nil)
    }

    @Test("a header split across reads, and a payload split across reads")
    func decodeSplit() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00])
        #expect(try decoder.nextPayload() == nil)
        decoder.append([0x03, 0x11])
        #expect(try decoder.nextPayload() == nil)
        decoder.append([0x22, 0x33, 0x00])  // ends the frame and starts the next header
        #expect(try decoder.nextPayload() == [0x11, 0x22, 0x33])
        #expect(try decoder.nextPayload() == nil)
        decoder.append([0x01, 0x04])
        #expect(try decoder.nextPayload() == [0x04])
    }

    @Test("several frames in one read come out in order")
    func decodeSeveral() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00, 0x01, 0x01, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x90, 0x00, 0x00])
        #expect(try decoder.nextPayload() == [0x01])
        #expect(try decoder.nextPayload() == [0x04])
        #expect(try decoder.nextPayload() == [])
        #expect(try decoder.nextPayload() == [0x90, 0x00])
        #expect(try decoder.nextPayload() == nil)
        #expect(decoder.bufferedByteCount == 1)
    }

    @Test("a zero-length frame decodes to an empty payload")
    func decodeEmpty() throws {
        var decoder = VPCDFrameDecoder()
        decoder.append([0x00, 0x00])
        #expect(try decoder.nextPayload() == [])
        #expect(try decoder.nextPayload() == nil)
    }

    @Test("the largest frame decodes, split in uneven reads")
    func decodeLargest() throws {
        let payload = (0..<0xFFFF).map { UInt8(truncatingIfNeeded: $0) }
        let frame = try VPCDFrame.encode(payload)
        var decoder = VPCDFrameDecoder()
        var offset = 0
        var result: [UInt8]?
        for size in [1, 1, 7000, 1, 30000] + Array(repeating: 9999, count: 10) where offset < frame.count {
            let end = min(offset + size, frame.count)
            decoder.append(frame[offset..<end])
            offset = end
            result = try decoder.nextPayload()
            if offset < frame.count { #expect(result == nil) }
        }
        #expect(result == payload)
    }

    @Test("an oversize frame is refused at its header, before its payload arrives, and for good")
    func decodeOversize() throws {
        var decoder = VPCDFrameDecoder(maximumPayloadLength: 261)
        decoder.append([0x01, 0x06])
        #expect(decoder.maximumPayloadLength == 261)
        #expect(throws: VPCDFrameError.oversize(length: 262, limit: 261)) { _ = try decoder.nextPayload() }
        #expect(decoder.bufferedByteCount == 0)
        decoder.append([0x00, 0x01, 0x04])
        #expect(throws: VPCDFrameError.oversize(length: 262, limit: 261)) { _ = try decoder.nextPayload() }
    }

    @Test("a frame exactly at the limit is accepted")
    func decodeAtLimit() throws {
        var decoder = VPCDFrameDecoder(maximumPayloadLength: 3)
        decoder.append([0x00, 0x03, 0x01, 0x02, 0x03])
        #expect(try decoder.nextPayload() == [0x01, 0x02, 0x03])
        #expect(VPCDFrameDecoder(maximumPayloadLength: 1 << 20).maximumPayloadLength == 0xFFFF)
    }
}

@Suite("vpcd messages and the card state machine")
struct VPCDCardProtocolTests {
    static let selectSeal: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0, 0x53, 0x45, 0x41, 0x4C, 0x4B, 0x49, 0x54, 0x01]

    @Test("1-byte payloads are control messages, longer ones APDUs")
    func classify() {
        #expect(VPCDMessage(payload: [0x00]) == .powerOff)
        #expect(VPCDMessage(payload: [0x01]) == .powerOn)
        #expect(VPCDMessage(payload: [0x02]) == .reset)
        #expect(VPCDMessage(payload: [0x04]) == .atrRequest)
        #expect(VPCDMessage(payload: [0x03]) == .unknownControl(0x03))
        #expect(VPCDMessage(payload: [0xFF]) == .unknownControl(0xFF))
        #expect(VPCDMessage(payload: []) == .empty)
        #expect(VPCDMessage(payload: [0x00, 0x00]) == .commandAPDU([0x00, 0x00]))
        #expect(VPCDMessage(payload: Self.selectSeal) == .commandAPDU(Self.selectSeal))
        for payload: [UInt8] in [[0x00], [0x01], [0x02], [0x04], [0x09], [], Self.selectSeal] {
            #expect(VPCDMessage(payload: payload).payload == payload)
        }
    }

    @Test("power off, power on and reset map to chip actions and are not answered")
    func powerControl() {
        var machine = VPCDCardProtocol()
        #expect(machine.handle(.powerOff) == .powerOff)
        #expect(machine.handle(.powerOn) == .powerOn)
        #expect(machine.handle(.reset) == .reset)
        #expect(machine.handle(.unknownControl(0x03)) == .none)
        #expect(machine.handle(.empty) == .none)
        #expect(!machine.isAwaitingChipResponse)
    }

    @Test("the ATR request is answered with the seal ATR as one frame")
    func atrRequest() {
        var machine = VPCDCardProtocol()
        let atr: [UInt8] = [0x3B, 0x8A, 0x81, 0x01, 0x80, 0x73, 0x80, 0x00, 0xC0, 0x54, 0x53, 0x45, 0x41, 0x4C, 0xF6]
        #expect(SealChip.answerToReset == atr)
        #expect(machine.handle(.atrRequest) == .send([0x00, 0x0F] + atr))
        // Whatever the power state: vpcd polls it to see whether the card is present.
        #expect(machine.handle(.powerOff) == .powerOff)
        #expect(machine.handle(.atrRequest) == .send([0x00, 0x0F] + atr))
        var custom = VPCDCardProtocol(answerToReset: [0x3B, 0x80, 0x80, 0x01, 0x01])
        #expect(custom.handle(VPCDMessage(payload: [0x04])) == .send([0x00, 0x05, 0x3B, 0x80, 0x80, 0x01, 0x01]))
    }

    @Test("an APDU goes to the chip; its response comes back as one frame")
    func apduResponse() {
        var machine = VPCDCardProtocol()
        #expect(machine.handle(.commandAPDU(Self.selectSeal)) == .transmit(Self.selectSeal))
        #expect(machine.isAwaitingChipResponse)
        #expect(machine.handle(ChipResponse.response([0x6F, 0x01, 0x84, 0x90, 0x00])) == .send([0x00, 0x05, 0x6F, 0x01, 0x84, 0x90, 0x00]))
        #expect(!machine.isAwaitingChipResponse)
        #expect(machine.handle(.commandAPDU([0x00, 0x20, 0x00, 0x81])) == .transmit([0x00, 0x20, 0x00, 0x81]))
        #expect(machine.handle(ChipResponse.response([0x63, 0xC3])) == .send([0x00, 0x02, 0x63, 0xC3]))
    }

    @Test("a mute chip closes the connection, as a card that stops answering")
    func muteChip() {
        var machine = VPCDCardProtocol()
        #expect(machine.handle(.commandAPDU(Self.selectSeal)) == .transmit(Self.selectSeal))
        #expect(machine.handle(ChipResponse.mute) == .disconnect)
        #expect(!machine.isAwaitingChipResponse)
    }

    @Test("out-of-turn input: a message while the chip works, a response nobody asked for")
    func outOfTurn() {
        var machine = VPCDCardProtocol()
        #expect(machine.handle(ChipResponse.response([0x90, 0x00])) == .none)
        #expect(machine.handle(.commandAPDU(Self.selectSeal)) == .transmit(Self.selectSeal))
        #expect(machine.handle(.atrRequest) == .disconnect)
    }

    @Test("a response too long for one frame becomes 6F 00")
    func responseTooLong() {
        var machine = VPCDCardProtocol()
        _ = machine.handle(.commandAPDU([0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00]))
        let action = machine.handle(ChipResponse.response([UInt8](repeating: 0, count: 0x10000) + [0x90, 0x00]))
        #expect(action == .send([0x00, 0x02, 0x6F, 0x00]))
    }

    @Test("decoder and state machine together: vpcd's power-on sequence, byte stream in, frames out")
    func streamToActions() throws {
        var decoder = VPCDFrameDecoder()
        var machine = VPCDCardProtocol()
        // vpcd: ATR poll, power on, ATR request, SELECT — the last one split across two reads.
        let wire: [UInt8] = [0x00, 0x01, 0x04, 0x00, 0x01, 0x01, 0x00, 0x01, 0x04] + (try VPCDFrame.encode(Self.selectSeal))
        var actions: [VPCDAction] = []
        for chunk in [wire[..<11], wire[11...]] {
            decoder.append(chunk)
            while let payload = try decoder.nextPayload() {
                var action = machine.handle(VPCDMessage(payload: payload))
                if case .transmit = action { action = machine.handle(ChipResponse.response([0x90, 0x00])) }
                actions.append(action)
            }
        }
        let framedATR = try VPCDFrame.encode(SealChip.answerToReset)
        #expect(actions == [.send(framedATR), .powerOn, .send(framedATR), .send([0x00, 0x02, 0x90, 0x00])])
    }
}

@Suite("simulator control protocol")
struct VPCDControlProtocolTests {
    @Test("commands parse and print back")
    func roundTrip() throws {
        let cases: [(String, SimulatorControlCommand)] = [
            ("insert 0", .insert(slot: 0)), ("remove 1", .remove(slot: 1)), ("reset 12", .reset(slot: 12)),
            ("tear 0 3", .tear(slot: 0, atNVMWrite: 3)), ("tear 1 off", .tear(slot: 1, atNVMWrite: nil)), ("status", .status),
        ]
        for (line, command) in cases {
            #expect(try SimulatorControlCommand(parsing: line) == command)
            #expect(command.description == line)
        }
        #expect(try SimulatorControlCommand(parsing: "  INSERT   2 \r\n") == .insert(slot: 2))
    }

    @Test("malformed commands are refused", arguments: ["", "   ", "insert", "insert x", "insert -1", "insert 1 2", "eject 0",
                                                       "status 0", "tear 0", "tear 0 0", "tear 0 never"])
    func malformed(line: String) {
        #expect(throws: SimulatorError.self) { try SimulatorControlCommand(parsing: line) }
    }

    @Test("status replies parse and print back")
    func status() throws {
        let text = "mode=normal vpcd=127.0.0.1:35963 slot0=active,powered slot1=absent,unpowered"
        let status = try SimulatorStatus(parsing: text)
        #expect(status == SimulatorStatus(reversed: false, host: "127.0.0.1", basePort: 35963, slots: [
            SimulatorSlotStatus(slot: 0, state: .active, powered: true),
            SimulatorSlotStatus(slot: 1, state: .absent, powered: false),
        ]))
        #expect(status.description == text)
        let reversed = try SimulatorStatus(parsing: "mode=reversed vpcd=::1:40000 slot0=waiting,unpowered")
        #expect(reversed.reversed && reversed.host == "::1" && reversed.basePort == 40000)
        #expect(throws: SimulatorError.self) { try SimulatorStatus(parsing: "slot0=active,powered") }
        #expect(throws: SimulatorError.self) { try SimulatorStatus(parsing: "mode=normal vpcd=h:1 slot0=sleeping,powered") }
    }
}
