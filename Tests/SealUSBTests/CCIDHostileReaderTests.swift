import Foundation
import SealHostDriver
import SealProtocol
import SealReaderWire
@testable import SealUSB
import Synchronization
import Testing

/// A reader that misbehaves in real time: every bulk IN read waits `delay` (or, for a reader that
/// never answers, the whole `timeout` the transport gives it, as an honest pipe does) and returns
/// what `behaviour` says for the command in flight.
final class MisbehavingCCIDPipe: CCIDBulkPipe {
    enum Behaviour: Sendable {
        /// Time extension after time extension, with this multiplier.
        case endlessTimeExtensions(multiplier: UInt8)
        /// Nothing at all: every read times out after the timeout it was given.
        case silent
        /// One byte of a reply per read, each just in time, never a whole message.
        case trickle
        /// Response chain parts announcing more (bChainParameter 03) with no data, forever.
        case emptyChainParts
        /// The pipe closes (the reader is unplugged) at the first read of an XfrBlock.
        case unpluggedMidCommand
    }

    private struct State {
        var sequence: UInt8 = 0
        var isXfr = false
        var readTimeouts: [Duration] = []
        var reads = 0
    }

    let behaviour: Behaviour
    let delay: Duration
    private let state = Mutex(State())
    private static let atr: [UInt8] = [0x3B, 0x80, 0x80, 0x01, 0x01]

    init(_ behaviour: Behaviour, delay: Duration = .milliseconds(20)) {
        self.behaviour = behaviour
        self.delay = delay
    }

    var readTimeouts: [Duration] { state.withLock { $0.readTimeouts } }
    var reads: Int { state.withLock { $0.reads } }

    func write(_ bytes: [UInt8]) async throws {
        let message = try CCIDMessage(decoding: bytes)
        state.withLock {
            $0.sequence = message.sequence
            if case .xfrBlock = message.kind { $0.isXfr = true } else { $0.isXfr = false }
        }
    }

    func read(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        let (sequence, isXfr, reads) = state.withLock { state in
            state.readTimeouts.append(timeout)
            state.reads += 1
            return (state.sequence, state.isXfr, state.reads)
        }
        guard isXfr else {
            return Reply.dataBlock(sequence, Self.atr)   // IccPowerOn works; the XfrBlock misbehaves
        }
        switch behaviour {
        case .endlessTimeExtensions(let multiplier):
            try await Task.sleep(for: delay)
            return Reply.timeExtension(sequence, multiplier: multiplier)
        case .silent:
            try await Task.sleep(for: timeout)
            throw USBError(code: .timeout, reason: "nothing within \(timeout)")
        case .trickle:
            try await Task.sleep(for: min(delay, timeout))
            // Bytes of a header announcing a 64 KiB-ish body that never completes.
            let header = CCIDMessage(sequence: sequence, kind: .dataBlock(status: .active, error: .commandNotSupported, chain: 0,
                                                                           data: [UInt8](repeating: 0x90, count: 200))).encoded()
            return [header[(reads - 2) % header.count]]
        case .emptyChainParts:
            try await Task.sleep(for: delay)
            return Reply.dataBlock(sequence, [], chain: 0x03)
        case .unpluggedMidCommand:
            throw USBError(code: .deviceGone, reason: "the reader was unplugged")
        }
    }

    func readInterrupt(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        throw USBError(code: .timeout, reason: "no interrupt")
    }
}

private let selectAPDU = ccidHex("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01 00")

/// Replies to everything but the XfrBlock as a good reader would, and to the XfrBlock with `reply`.
private func misbehaving(_ reply: @escaping @Sendable (CCIDMessage) -> [ScriptedRead]) -> ScriptedCCIDPipe {
    ScriptedCCIDPipe { message in
        switch message.kind {
        case .iccPowerOn: [.transfer(Reply.dataBlock(message.sequence, [0x3B, 0x80, 0x80, 0x01, 0x01]))]
        case .iccPowerOff: [.transfer(Reply.slotStatus(message.sequence))]
        default: reply(message)
        }
    }
}

@Suite("A misbehaving CCID reader", .timeLimit(.minutes(1)))
struct CCIDHostileReaderTests {
    // MARK: Sequence numbers, slots, slot states

    @Test("replies with a wrong bSeq (earlier, later, far off) are sequenceMismatch", arguments: [UInt8(1), 2, 0x7F, 0xFF])
    func wrongSequence(offset: UInt8) async throws {
        let pipe = misbehaving { [.transfer(Reply.dataBlock($0.sequence &+ offset, [0x90, 0x00]))] }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect(error?.code == .transportFailure)
        #expect((error?.underlyingError as? USBError)?.code == .sequenceMismatch)
    }

    @Test("a reply for another slot is slotMismatch", arguments: [UInt8(1), 0xFF])
    func wrongSlot(slot: UInt8) async throws {
        let pipe = misbehaving { [.transfer(Reply.dataBlock($0.sequence, [0x90, 0x00], slot: slot))] }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect((error?.underlyingError as? USBError)?.code == .slotMismatch)
    }

    @Test("slot busy, ICC absent and ICC mute end the command with a typed error", arguments: [
        (CCIDSlotStatus.ICCStatus.active, CCIDSlotError.slotBusy, SealDriverError.Code.transportFailure),
        (.absent, .iccMute, .cardRemoved),
        (.presentInactive, .iccMute, .noResponse),
    ])
    func slotStates(icc: CCIDSlotStatus.ICCStatus, error slotError: CCIDSlotError, code: SealDriverError.Code) async throws {
        let pipe = misbehaving { [.transfer(Reply.failed($0.sequence, icc: icc, error: slotError))] }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect(error?.code == code)
    }

    @Test("dwLength lies: beyond dwMaxCCIDMessageLength is malformed; short of the transfer, the rest of the transfer is dropped")
    func lengthLies() async throws {
        // dwLength announcing 4 GiB.
        var header = Reply.dataBlock(0, [0x90, 0x00])
        header.replaceSubrange(1...4, with: [0xFF, 0xFF, 0xFF, 0xFF])
        let huge = header
        let pipe = misbehaving { message in
            var bytes = huge
            bytes[6] = message.sequence
            return [.transfer(bytes)]
        }
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect((error?.underlyingError as? USBError)?.code == .malformedMessage)

        // dwLength 0 with two bytes after it in the same transfer: the reply has no data, and the
        // two stray bytes are dropped with it, not taken as the start of the next reply.
        let lied = Mutex(false)
        let short = misbehaving { message in
            var bytes = Reply.dataBlock(message.sequence, [0x90, 0x00])
            let alreadyLied = lied.withLock { (value: inout Bool) -> Bool in
                defer { value = true }
                return value
            }
            if !alreadyLied {
                bytes.replaceSubrange(1...4, with: [0, 0, 0, 0])
            }
            return [.transfer(bytes)]
        }
        let shortTransport = CCIDTransport(pipe: short)
        _ = try await shortTransport.connect()
        #expect(try await shortTransport.transmit(selectAPDU) == [])
        #expect(try await shortTransport.transmit(selectAPDU) == [0x90, 0x00])
    }

    // MARK: Time

    @Test("endless time extensions of ×255 end within the command timeout, not replyTimeout × 255 × 64")
    func endlessTimeExtensionsEndWithinTheCommandTimeout() async throws {
        let pipe = MisbehavingCCIDPipe(.endlessTimeExtensions(multiplier: 255))
        let configuration = CCIDTransport.Configuration(replyTimeout: .seconds(1), maximumTimeExtensions: 10_000,
                                                        commandTimeout: .milliseconds(500))
        let transport = CCIDTransport(pipe: pipe, configuration: configuration)
        _ = try await transport.connect()
        let start = ContinuousClock.now
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .noResponse)
        print("CCID endless time extensions: noResponse after \(elapsed)")
        #expect(elapsed < .seconds(8), "took \(elapsed)")   // 0.5 s, with room for a loaded machine
        // No read was given more time than the command had left.
        #expect(pipe.readTimeouts.allSatisfy { $0 <= .milliseconds(500) }, "\(pipe.readTimeouts.max() ?? .zero)")
    }

    @Test("a reader that never answers ends with noResponse after replyTimeout")
    func silentReader() async throws {
        let pipe = MisbehavingCCIDPipe(.silent)
        let transport = CCIDTransport(pipe: pipe, configuration: .init(replyTimeout: .milliseconds(300)))
        _ = try await transport.connect()
        let start = ContinuousClock.now
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect(error?.code == .noResponse)
        #expect(ContinuousClock.now - start < .seconds(8))
    }

    @Test("a reader trickling one byte per read ends within the command timeout")
    func tricklingReader() async throws {
        let pipe = MisbehavingCCIDPipe(.trickle, delay: .milliseconds(20))
        let configuration = CCIDTransport.Configuration(replyTimeout: .seconds(1), commandTimeout: .milliseconds(600))
        let transport = CCIDTransport(pipe: pipe, configuration: configuration)
        _ = try await transport.connect()
        let start = ContinuousClock.now
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect(error?.code == .noResponse)
        #expect(ContinuousClock.now - start < .seconds(8))
    }

    @Test("response chain parts that announce more but carry nothing are chainingError, not an endless loop")
    func emptyChainParts() async throws {
        var session = CCIDHostSession()
        _ = try session.start(.xfrBlock(bwi: 0, levelParameter: 0, data: selectAPDU))
        try session.receive(Reply.dataBlock(0, [0xAA], chain: 0x01))
        guard case .write = try session.next() else { Issue.record("expected a continue request"); return }
        try session.receive(Reply.dataBlock(1, [], chain: 0x03))
        #expect(throws: USBError(code: .chainingError, reason: "")) { try session.next() }

        let pipe = MisbehavingCCIDPipe(.emptyChainParts, delay: .zero)
        let transport = CCIDTransport(pipe: pipe, configuration: .init(commandTimeout: .seconds(30)))
        _ = try await transport.connect()
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect((error?.underlyingError as? USBError)?.code == .chainingError)
        #expect(pipe.reads < 10)
    }

    @Test("a reader unplugged mid-command is cardRemoved, and the transport is no longer powered")
    func unpluggedMidCommand() async throws {
        let pipe = MisbehavingCCIDPipe(.unpluggedMidCommand)
        let transport = CCIDTransport(pipe: pipe)
        _ = try await transport.connect()
        let error = await #expect(throws: SealDriverError.self) { try await transport.transmit(selectAPDU) }
        #expect(error?.code == .cardRemoved)
        #expect(await !transport.isPowered)
    }
}
