import SealHostDriver
import SealProtocol
import Synchronization

/// A test transport answering from a queue, a closure, or a ``FakeSealChip``. Records every APDU.
actor ScriptedTransport: CardTransport {
    enum Failure: Error { case queueExhausted, scripted }

    nonisolated let name: String
    private var atr: [UInt8]
    private var queue: [[UInt8]] = []
    private var handler: (@Sendable ([UInt8]) throws -> [UInt8])?
    private(set) var chip: FakeSealChip?
    private(set) var sent: [[UInt8]] = []
    private(set) var transactionCount = 0
    private(set) var openTransactions = 0
    private(set) var maxOpenTransactions = 0
    private(set) var connectCount = 0
    /// Thrown by the next transmit, then cleared.
    private var nextError: (any Error)?

    /// Answers each transmit with the next queued response.
    init(atr: [UInt8] = TestATR.reference, responses: [[UInt8]], name: String = "scripted") {
        self.atr = atr
        self.queue = responses
        self.name = name
    }

    /// Answers each transmit with `handler`.
    init(atr: [UInt8] = TestATR.reference, name: String = "scripted", handler: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        self.atr = atr
        self.handler = handler
        self.name = name
    }

    /// Answers with a fake seal applet.
    init(chip: FakeSealChip, name: String = "fake chip") {
        self.atr = chip.atr
        self.chip = chip
        self.name = name
    }

    func connect() async throws -> [UInt8] {
        connectCount += 1
        chip?.powerOn()
        return atr
    }

    func reset() async throws -> [UInt8] {
        chip?.powerOn()
        return atr
    }

    func disconnect() async {}

    func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        sent.append(apdu)
        if let error = nextError {
            nextError = nil
            throw error
        }
        if chip != nil {
            // Suspend so that concurrent callers could interleave if the token did not serialize.
            await Task.yield()
            return chip?.process(apdu) ?? []
        }
        if let handler { return try handler(apdu) }
        guard !queue.isEmpty else { throw Failure.queueExhausted }
        return queue.removeFirst()
    }

    nonisolated(nonsending) func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await begin()
        do {
            let result = try await body()
            await end()
            return result
        } catch {
            await end()
            throw error
        }
    }

    private func begin() {
        transactionCount += 1
        openTransactions += 1
        maxOpenTransactions = max(maxOpenTransactions, openTransactions)
    }

    private func end() { openTransactions -= 1 }

    func failNextTransmit(with error: any Error) { nextError = error }

    func updateChip(_ body: @Sendable (inout FakeSealChip) -> Void) {
        if var current = chip {
            body(&current)
            chip = current
        }
    }

    func clearLog() { sent = [] }
}

/// ATRs used by the tests.
enum TestATR {
    /// SPEC §2.2 reference ATR: chaining and extended length.
    static let reference: [UInt8] = make(SealApplet.historicalBytes)
    /// Chaining only (third capability byte 80).
    static let chainingOnly: [UInt8] = make([0x80, 0x73, 0x80, 0x00, 0x80, 0x54, 0x53, 0x45, 0x41, 0x4C])
    /// Neither chaining nor extended length.
    static let shortOnly: [UInt8] = make([0x80, 0x73, 0x80, 0x00, 0x00, 0x54, 0x53, 0x45, 0x41, 0x4C])

    private static func make(_ historical: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x3B, 0x80 | UInt8(historical.count), 0x81, 0x01] + historical
        bytes.append(bytes[1...].reduce(0, ^))
        return bytes
    }
}

/// `data SW1 SW2` helper.
func answer(_ data: [UInt8] = [], _ sw: UInt16) -> [UInt8] {
    data + [UInt8(sw >> 8), UInt8(sw & 0xFF)]
}

/// Thread-safe event collector for trace handlers.
final class EventLog<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])

    func append(_ item: Element) { storage.withLock { $0.append(item) } }
    var all: [Element] { storage.withLock { $0 } }
}
