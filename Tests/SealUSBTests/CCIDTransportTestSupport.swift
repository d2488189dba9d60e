import SealUSB
import SealReaderWire
import SealSimulatorServers
import SealSimulatedToken
import SealFirmware
import SealHostDriver
import SealProtocol
import Synchronization

/// `"62 00"` → bytes (test literals only).
func ccidHex(_ text: String) -> [UInt8] {
    bytesFromHex(text) ?? []
}

/// One scripted bulk IN result.
enum ScriptedRead: Sendable, Equatable {
    /// One transfer with these bytes (`[]` is a zero-length packet).
    case transfer([UInt8])
    /// The read times out.
    case timeout
}

/// A ``CCIDBulkPipe`` whose bulk IN answers come from a responder called on every bulk OUT write,
/// or from reads queued by the test. Records writes and the timeouts of reads.
final class ScriptedCCIDPipe: CCIDBulkPipe {
    private struct State {
        var writes: [[UInt8]] = []
        var reads: [ScriptedRead] = []
        var interrupts: [[UInt8]] = []
        var readTimeouts: [Duration] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let responder: @Sendable (CCIDMessage) -> [ScriptedRead]

    /// `responder` gets every decoded bulk OUT message and returns the reads it causes.
    init(responder: @escaping @Sendable (CCIDMessage) -> [ScriptedRead] = { _ in [] }) {
        self.responder = responder
    }

    var writes: [[UInt8]] { state.withLock { $0.writes } }
    var writtenMessages: [CCIDMessage] { writes.compactMap { try? CCIDMessage(decoding: $0) } }
    var readTimeouts: [Duration] { state.withLock { $0.readTimeouts } }
    var pendingReads: [ScriptedRead] { state.withLock { $0.reads } }
    var isClosed: Bool { state.withLock { $0.closed } }

    func queue(_ reads: [ScriptedRead]) { state.withLock { $0.reads += reads } }
    func queueInterrupt(_ bytes: [UInt8]) { state.withLock { $0.interrupts.append(bytes) } }

    func write(_ bytes: [UInt8]) async throws {
        let reads = (try? CCIDMessage(decoding: bytes)).map(responder) ?? []
        state.withLock {
            $0.writes.append(bytes)
            $0.reads += reads
        }
    }

    func read(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        let next = state.withLock { state -> ScriptedRead in
            state.readTimeouts.append(timeout)
            return state.reads.isEmpty ? .timeout : state.reads.removeFirst()
        }
        switch next {
        case .transfer(let bytes): return bytes
        case .timeout: throw USBError(code: .timeout, reason: "scripted timeout")
        }
    }

    func readInterrupt(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        guard let bytes = state.withLock({ $0.interrupts.isEmpty ? nil : $0.interrupts.removeFirst() }) else {
            throw USBError(code: .timeout, reason: "no interrupt")
        }
        return bytes
    }

    func close() async { state.withLock { $0.closed = true } }
}

/// Reply builders.
enum Reply {
    static func dataBlock(_ sequence: UInt8, _ data: [UInt8] = [], status: CCIDSlotStatus = .active,
                          error: CCIDSlotError = .commandNotSupported, chain: UInt8 = 0, slot: UInt8 = 0) -> [UInt8] {
        CCIDMessage(slot: slot, sequence: sequence, kind: .dataBlock(status: status, error: error, chain: chain, data: data)).encoded()
    }

    static func slotStatus(_ sequence: UInt8, status: CCIDSlotStatus = .inactive, error: CCIDSlotError = .commandNotSupported) -> [UInt8] {
        CCIDMessage(sequence: sequence, kind: .slotStatus(status: status, error: error, clock: .running)).encoded()
    }

    static func failed(_ sequence: UInt8, icc: CCIDSlotStatus.ICCStatus, error: CCIDSlotError) -> [UInt8] {
        dataBlock(sequence, status: CCIDSlotStatus(icc: icc, command: .failed), error: error)
    }

    static func timeExtension(_ sequence: UInt8, multiplier: UInt8) -> [UInt8] {
        dataBlock(sequence, status: .timeExtension, error: CCIDSlotError(rawValue: multiplier))
    }
}

/// A single-slot APDU-level CCID reader in front of any ``CardTransport``: answers IccPowerOn,
/// IccPowerOff, GetSlotStatus and XfrBlock (with command chaining), optionally chaining its
/// responses in parts of `chainPart` bytes and delivering bulk IN in packets of `packetSize`
/// bytes, with a zero-length packet after a message that fills its last packet.
final class EmulatedCCIDReader: CCIDBulkPipe {
    private struct State {
        var reads: [[UInt8]] = []
        var command: [UInt8] = []
        var response: [UInt8] = []
        var zlps = 0
    }

    let card: any CardTransport
    let packetSize: Int?
    let chainPart: Int?
    private let state = Mutex(State())

    init(card: any CardTransport, packetSize: Int? = nil, chainPart: Int? = nil) {
        self.card = card
        self.packetSize = packetSize
        self.chainPart = chainPart
    }

    /// Zero-length packets sent so far.
    var zeroLengthPackets: Int { state.withLock { $0.zlps } }

    func write(_ bytes: [UInt8]) async throws {
        let message = try CCIDMessage(decoding: bytes)
        let seq = message.sequence
        var reply: [UInt8]
        switch message.kind {
        case .iccPowerOn:
            reply = Reply.dataBlock(seq, try await card.connect())
        case .iccPowerOff:
            await card.disconnect()
            reply = Reply.slotStatus(seq)
        case .getSlotStatus:
            reply = Reply.slotStatus(seq, status: .active)
        case .xfrBlock(_, let level, let data):
            switch level {
            case 0x01, 0x03:
                state.withLock { $0.command += data }
                reply = Reply.dataBlock(seq, chain: 0x10)
            case 0x10:
                reply = nextPart(seq)
            default:
                let apdu = state.withLock { state -> [UInt8] in
                    defer { state.command = [] }
                    return state.command + data
                }
                let response = try await card.transmit(apdu)
                state.withLock { $0.response = response }
                reply = nextPart(seq, first: true)
            }
        default:
            reply = Reply.failed(seq, icc: .active, error: .commandNotSupported)
        }
        enqueue(reply)
    }

    private func nextPart(_ seq: UInt8, first: Bool = false) -> [UInt8] {
        state.withLock { state in
            guard let part = chainPart, state.response.count > part else {
                defer { state.response = [] }
                return Reply.dataBlock(seq, state.response, chain: first ? 0x00 : 0x02)
            }
            let chunk = Array(state.response.prefix(part))
            state.response.removeFirst(part)
            return Reply.dataBlock(seq, chunk, chain: first ? 0x01 : 0x03)
        }
    }

    private func enqueue(_ message: [UInt8]) {
        state.withLock { state in
            guard let packetSize else {
                state.reads.append(message)
                return
            }
            var offset = 0
            while offset < message.count {
                state.reads.append(Array(message[offset ..< min(offset + packetSize, message.count)]))
                offset += packetSize
            }
            if message.count % packetSize == 0 {
                state.reads.append([])
                state.zlps += 1
            }
        }
    }

    func read(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        guard let next = state.withLock({ $0.reads.isEmpty ? nil : $0.reads.removeFirst() }) else {
            throw USBError(code: .timeout, reason: "the emulated reader has nothing to send")
        }
        return next
    }

    func readInterrupt(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        throw USBError(code: .timeout, reason: "no interrupt")
    }
}

/// A CCID class descriptor for tests.
func testCCIDDescriptor(maxMessageLength: UInt32 = 271, exchangeLevel: UInt32 = CCIDClassDescriptor.Feature.shortAPDULevelExchange) -> CCIDReaderDescription {
    CCIDReaderDescription(vendorID: 0x1209, productID: 0x5EA1, interfaceNumber: 0,
                          ccid: CCIDClassDescriptor(features: 0x0000_00FE | exchangeLevel, maxCCIDMessageLength: maxMessageLength),
                          bulkInPacketSize: 64, location: "test")
}
