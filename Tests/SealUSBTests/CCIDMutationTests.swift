import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import SealReaderWire
import SealSimulatedToken
@testable import SealUSB
import Synchronization
import Testing

/// An emulated CCID reader in front of the real in-process chip whose bulk IN transfers are damaged
/// at random from a seed: bytes flipped, transfers cut, dropped (the read times out), duplicated,
/// `bSeq`/`bSlot`/`dwLength`/`bStatus` rewritten, junk appended, stray ZLPs and time extensions.
final class MutatingCCIDPipe: CCIDBulkPipe {
    private struct State {
        var generator: UInt64
        var transfers = 0
        var damaged = 0
        var queued: [[UInt8]] = []
    }

    private let reader: EmulatedCCIDReader
    private let probability: Double
    private let state: Mutex<State>

    init(reader: EmulatedCCIDReader, seed: UInt64, probability: Double) {
        self.reader = reader
        self.probability = probability
        self.state = Mutex(State(generator: seed))
    }

    var transfers: Int { state.withLock { $0.transfers } }
    var damaged: Int { state.withLock { $0.damaged } }

    func write(_ bytes: [UInt8]) async throws { try await reader.write(bytes) }

    func read(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        if let next = state.withLock({ $0.queued.isEmpty ? nil : $0.queued.removeFirst() }) { return next }
        let transfer = try await reader.read(maxLength: maxLength, timeout: timeout)
        return try state.withLock { state throws(USBError) -> [UInt8] in
            state.transfers += 1
            var random = SplitMix(state: state.generator)
            defer { state.generator = random.state }
            guard Double(random.next() % 10_000) / 10_000 < probability else { return transfer }
            state.damaged += 1
            var bytes = transfer
            switch random.next() % 10 {
            case 0 where !bytes.isEmpty: bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            case 1: bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count + 1))))
            case 2: throw USBError(code: .timeout, reason: "the damaged transfer never came")
            case 3: state.queued.append(bytes)
            case 4 where bytes.count > 6: bytes[6] &+= UInt8(truncatingIfNeeded: random.next() | 1)
            case 5 where bytes.count > 5: bytes[5] = UInt8(truncatingIfNeeded: random.next())
            case 6 where bytes.count > 4: bytes[1 + Int(random.next() % 4)] = UInt8(truncatingIfNeeded: random.next())
            case 7 where bytes.count > 7: bytes[7] = [0x40, 0x41, 0x42, 0x80, 0x01][Int(random.next() % 5)]
            case 8: bytes += (0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            default:
                state.queued.append(bytes)
                bytes = random.next() % 2 == 0 ? [] : Reply.timeExtension(bytes.count > 6 ? bytes[6] : 0, multiplier: 255)
            }
            return bytes
        }
    }

    func readInterrupt(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        throw USBError(code: .timeout, reason: "no interrupt")
    }

    /// SplitMix64, seedable so a failing run can be replayed.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

@Suite("CCID replies damaged at random", .timeLimit(.minutes(2)))
struct CCIDMutationTests {
    @Test("SealToken over a CCID reader whose replies are damaged: every call ends in a value or a SealDriverError",
          arguments: [UInt64(0xCC1D_0008), 0x0BAD_5EED])
    func seededCCIDMutation(seed: UInt64) async throws {
        let session = try await SimulatedTestToken.make()
        let pipe = MutatingCCIDPipe(reader: EmulatedCCIDReader(card: session.transport, packetSize: 64, chainPart: 200),
                                    seed: seed, probability: 0.08)
        let transport = CCIDTransport(pipe: pipe, description: testCCIDDescriptor(maxMessageLength: 271),
                                      configuration: .init(replyTimeout: .milliseconds(50), commandTimeout: .seconds(2)))
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        var calls = 0
        var errors = 0
        let document = Array("CCID mutation test".utf8)
        func attempt(_ name: String, _ body: () async throws -> Void) async {
            calls += 1
            do {
                try await body()
            } catch is SealDriverError {
                errors += 1
            } catch {
                Issue.record("seed \(seed): \(name) threw \(type(of: error)) \(error)")
            }
        }
        let start = ContinuousClock.now
        while pipe.transfers < 4_000 && ContinuousClock.now - start < .seconds(60) {
            await attempt("connect") { try await token.connect() }
            await attempt("info") { _ = try await token.info() }
            await attempt("verifyPIN") { try await token.verifyPIN(TestCredentials.defaultPIN) }
            await attempt("stamp") { _ = try await token.stamp(document: document, metadata: StampMetadata(time: 1_790_000_000)) }
            await attempt("auditStatus") { _ = try await token.auditStatus() }
            await attempt("certificate") { _ = try await token.deviceCertificateDER() }
        }
        print("CCID seed \(String(seed, radix: 16)): \(pipe.transfers) transfers, \(pipe.damaged) damaged, \(calls) calls, \(errors) SealDriverErrors in \(ContinuousClock.now - start)")
        #expect(pipe.damaged > 50)
        #expect(errors > 0 && errors < calls)
        await token.close()
    }
}
