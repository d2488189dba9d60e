import SealSimulatorServers
import SealReaderWire
import SealHostDriver
import SealProtocol
import SealFirmware
import SealSimulatedToken
import Testing

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
        #expect(!machine.isAwaitingChipResponse)
    }

    @Test("every payload shorter than 4 bytes that is not a control message is answered 67 00")
    func shortPayloads() {
        var machine = VPCDCardProtocol()
        let wrongLength: [UInt8] = [0x00, 0x02, 0x67, 0x00]
        var short: [[UInt8]] = [[], [0x00, 0xA4], [0x00, 0xA4, 0x04], [0xFF, 0xFF, 0xFF]]
        short += (0...255).filter { ![0x00, 0x01, 0x02, 0x04].contains($0) }.map { [UInt8($0)] }
        for payload in short {
            // Answered at once, without the chip: vpcd waits for an answer to anything it forwards.
            #expect(machine.handle(VPCDMessage(payload: payload)) == .send(wrongLength), "\(payload)")
            #expect(!machine.isAwaitingChipResponse)
        }
        // The 4-byte header is the shortest command that reaches the chip.
        #expect(machine.handle(VPCDMessage(payload: [0x00, 0x20, 0x00, 0x81])) == .transmit([0x00, 0x20, 0x00, 0x81]))
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

    @Test("framing the chip's answer into a reused buffer decides and writes what handle(_:) returns")
    func framingIntoMatchesHandle() {
        let responses: [ChipResponse] = [
            .response([0x6F, 0x01, 0x84, 0x90, 0x00]), .response([0x01, 0x90, 0x00]), .response([0x02, 0x90, 0x00]),
            .response([0x63, 0xC3]), .response([]), .response([UInt8](repeating: 0xA5, count: 300) + [0x90, 0x00]),
            .response([UInt8](repeating: 0, count: 0x10000) + [0x90, 0x00]), .response([0x01, 0x90, 0x00]), .mute,
        ]
        var reference = VPCDCardProtocol()
        var machine = VPCDCardProtocol()
        var frame: [UInt8] = []
        for response in responses {
            #expect(reference.handle(.commandAPDU(Self.selectSeal)) == .transmit(Self.selectSeal))
            #expect(machine.handle(.commandAPDU(Self.selectSeal)) == .transmit(Self.selectSeal))
            let expected = reference.handle(response)
            let kept = frame  // the last frame, still referenced (shared storage): must not change
            let keptBytes = kept.map { $0 }  // its bytes in storage of their own
            switch machine.handle(response, framingInto: &frame) {
            case .send: #expect(expected == .send(frame))
            case .disconnect: #expect(expected == .disconnect)
            case .none: Issue.record("a response to a command in progress was ignored")
            }
            #expect(kept == keptBytes)
            if case .disconnect = expected { #expect(frame == kept, "a mute chip leaves the buffer as it was") }
            #expect(!machine.isAwaitingChipResponse)
        }
        // A response nobody asked for: nothing to do, the buffer untouched.
        let before = frame
        #expect(machine.handle(ChipResponse.response([0x90, 0x00]), framingInto: &frame) == .none)
        #expect(frame == before)
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
            ("writes 3", .writes(slot: 3)), ("fresh 0", .fresh(slot: 0)),
        ]
        for (line, command) in cases {
            #expect(try SimulatorControlCommand(parsing: line) == command)
            #expect(command.description == line)
        }
        #expect(try SimulatorControlCommand(parsing: "  INSERT   2 \r\n") == .insert(slot: 2))
    }

    @Test("malformed commands are refused", arguments: ["", "   ", "insert", "insert x", "insert -1", "insert 1 2", "eject 0",
                                                       "status 0", "tear 0", "tear 0 0", "tear 0 never",
                                                       "writes", "writes x", "writes 0 1", "fresh", "fresh -1", "fresh 0 1"])
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
