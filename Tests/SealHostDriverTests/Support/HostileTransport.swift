import SealHostDriver
import SealProtocol
import Synchronization

/// SplitMix64: a small, seedable generator so a failing mutation run can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Wraps a real transport (the in-process chip) and rewrites its answers: either with a fixed rule
/// (garbage in one object) or at random from a seed (the mutation run). Counts the exchanges.
final class HostileTransport: CardTransport {
    /// How one answer is damaged.
    enum Mutation: CaseIterable, Sendable {
        case empty, oneByte, truncated, flippedByte, garbageData, appendedGarbage, bytesRemaining, wrongLength,
             oversized, statusOnly
    }

    /// Rewrites the answer to `command`; `nil` keeps it.
    typealias Rule = @Sendable (_ command: [UInt8], _ answer: [UInt8]) -> [UInt8]?

    private struct State {
        var generator: SeededGenerator
        var exchanges = 0
        var mutated = 0
    }

    let inner: any CardTransport
    nonisolated let name: String
    private let rule: Rule?
    private let probability: Double
    private let state: Mutex<State>

    /// Rewrites answers with `rule`.
    init(wrapping inner: any CardTransport, rule: @escaping Rule) {
        self.inner = inner
        self.name = "hostile(\(inner.name))"
        self.rule = rule
        self.probability = 0
        self.state = Mutex(State(generator: SeededGenerator(seed: 0)))
    }

    /// Damages each answer with `probability`, choosing the damage from `seed`.
    init(wrapping inner: any CardTransport, seed: UInt64, probability: Double) {
        self.inner = inner
        self.name = "mutated(\(inner.name), seed \(seed))"
        self.rule = nil
        self.probability = probability
        self.state = Mutex(State(generator: SeededGenerator(seed: seed)))
    }

    var exchanges: Int { state.withLock { $0.exchanges } }
    var mutatedAnswers: Int { state.withLock { $0.mutated } }

    func connect() async throws -> [UInt8] { try await inner.connect() }
    func reset() async throws -> [UInt8] { try await inner.reset() }
    func disconnect() async { await inner.disconnect() }
    func close() async { await inner.close() }

    nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        let answer = try await inner.transmit(apdu)
        if let rule {
            let rewritten = rule(apdu, answer)
            state.withLock {
                $0.exchanges += 1
                if rewritten != nil { $0.mutated += 1 }
            }
            return rewritten ?? answer
        }
        return state.withLock { state in
            state.exchanges += 1
            guard Double.random(in: 0..<1, using: &state.generator) < probability else { return answer }
            state.mutated += 1
            return Self.mutate(answer, using: &state.generator)
        }
    }

    static func mutate(_ answer: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        let mutation = Mutation.allCases.randomElement(using: &generator) ?? .empty
        let data = Array(answer.dropLast(2))
        let sw = Array(answer.suffix(2))
        func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        switch mutation {
        case .empty: return []
        case .oneByte: return random(1)
        case .truncated: return Array(answer.prefix(Int.random(in: 0...max(0, answer.count - 1), using: &generator)))
        case .flippedByte:
            guard !answer.isEmpty else { return random(2) }
            var bytes = answer
            bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            return bytes
        case .garbageData: return random(Int.random(in: 0...600, using: &generator)) + sw
        case .appendedGarbage: return data + random(Int.random(in: 1...64, using: &generator)) + sw
        case .bytesRemaining: return data + [0x61, UInt8.random(in: 0...255, using: &generator)]
        case .wrongLength: return [0x6C, UInt8.random(in: 0...255, using: &generator)]
        case .oversized: return random(Int.random(in: 65_537...70_000, using: &generator)) + [0x90, 0x00]
        case .statusOnly: return random(2)
        }
    }
}

/// A transport that accepts a command and never answers: `transmit` waits until its task is cancelled,
/// or, with a `timeout`, throws ``SealDriverError/Code-swift.struct/noResponse`` after it (as a
/// transport that owns a timeout does).
final class SilentTransport: CardTransport {
    nonisolated let name = "silent"
    let timeout: Duration?
    private let atr: [UInt8]
    private let answersBeforeSilence: Mutex<[[UInt8]]>

    init(atr: [UInt8] = TestATR.reference, answersBeforeSilence: [[UInt8]] = [], timeout: Duration?) {
        self.atr = atr
        self.timeout = timeout
        self.answersBeforeSilence = Mutex(answersBeforeSilence)
    }

    func connect() async throws -> [UInt8] { atr }
    func reset() async throws -> [UInt8] { atr }
    func disconnect() async {}

    nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        if let next = answersBeforeSilence.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return next }
        guard let timeout else {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        try await Task.sleep(for: timeout)
        throw SealDriverError(code: .noResponse, reason: "silent: nothing within \(timeout)")
    }
}
