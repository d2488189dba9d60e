import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Synchronization
import Testing

/// The hostile-token harness (issue 8): a card that answers too little, too much, forever, garbage, or
/// nothing. Every `SealToken` call must end in a value or a `SealDriverError` (or `CancellationError`
/// when the caller cancels), never a crash or a hang, and allocate within the pipeline's bounds.
/// docs/hostile-token.md lists the cases and the bounds.
@Suite("A misbehaving token", .timeLimit(.minutes(2)))
struct HostileTokenTests {
    // MARK: Truncated and oversized answers

    @Test("a 0-byte answer is noResponse, a 1-byte answer malformedResponse, through SealToken.connect",
          arguments: [([UInt8](), SealDriverError.Code.noResponse), ([0x90], .malformedResponse)])
    func truncatedAnswers(answer bytes: [UInt8], code: SealDriverError.Code) async throws {
        let token = SealToken(transport: ScriptedTransport { _ in bytes }, secureChannel: .testVendorRoot)
        let error = await #expect(throws: SealDriverError.self) { try await token.connect() }
        #expect(error?.code == code)
        #expect(error?.command == "SELECT")
    }

    @Test("one answer longer than any R-APDU (65 536 data bytes + SW) is refused, not collected")
    func answerLongerThanAnyResponseAPDU() async throws {
        let transport = ScriptedTransport { _ in [UInt8](repeating: 0xA5, count: 70_000) + [0x90, 0x00] }
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await APDUPipeline(transport: transport).send(SealCommand.getData(.deviceCertificate))
        }
        #expect(error?.code == .responseTooLong)
        #expect(await transport.sent.count == 1)
    }

    @Test("an answer of exactly 65 536 data bytes and SW is accepted")
    func largestResponseAPDU() async throws {
        let transport = ScriptedTransport { _ in [UInt8](repeating: 0xA5, count: 65_536) + [0x90, 0x00] }
        let response = try await APDUPipeline(transport: transport).send(SealCommand.getData(.deviceCertificate))
        #expect(response.data.count == 65_536)
    }

    @Test("a response that grows with every GET RESPONSE stops at maxResponseLength")
    func growingGetResponse() async throws {
        let round = Mutex(0)
        let transport = ScriptedTransport { _ in
            let count = round.withLock { $0 += 1; return $0 }
            return [UInt8](repeating: 0x5A, count: min(count * 1_000, 65_536)) + [0x61, 0x00]
        }
        var configuration = APDUPipelineConfiguration()
        configuration.maxResponseLength = 100_000
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await APDUPipeline(transport: transport, configuration: configuration).send(SealCommand.getData(.counter))
        }
        #expect(error?.code == .responseTooLong)
        // 1 000 + 2 000 + … passes 100 000 bytes in the 14th answer.
        #expect(await transport.sent.count == 14)
    }

    @Test("an endless 61xx stream ends in getResponseLoopExceeded through SealToken")
    func endlessBytesRemaining() async throws {
        let transport = ScriptedTransport { _ in [0x61, 0x10] }
        let error = await #expect(throws: SealDriverError.self) { try await SealToken(transport: transport, secureChannel: .testVendorRoot).connect() }
        #expect(error?.code == .getResponseLoopExceeded)
        #expect(await transport.sent.count == 257)
    }

    @Test("6Cxx answered to the correction, and 61xx/6Cxx alternating, end in a typed error", arguments: [false, true])
    func wrongLengthLoops(alternate: Bool) async throws {
        let count = Mutex(0)
        let transport = ScriptedTransport { _ in
            let n = count.withLock { $0 += 1; return $0 }
            return alternate && n % 2 == 0 ? [0x61, 0x04] : [0x6C, 0x04]
        }
        let error = await #expect(throws: SealDriverError.self) { try await SealToken(transport: transport, secureChannel: .testVendorRoot).connect() }
        #expect(error?.code == (alternate ? .getResponseLoopExceeded : .wrongLengthLoop))
        #expect(await transport.sent.count <= 2 * 257)
    }

    // MARK: A card that stops answering

    @Test("a transport that reports noResponse after its own timeout ends the call with noResponse, in that time")
    func transportTimeoutEndsTheCall() async throws {
        let transport = SilentTransport(timeout: .milliseconds(200))
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        let start = ContinuousClock.now
        let error = await #expect(throws: SealDriverError.self) { try await token.connect() }
        #expect(error?.code == .noResponse)
        #expect(ContinuousClock.now - start < .seconds(30))   // 0.2 s; room for a machine whose cooperative threads are busy
    }

    @Test("a card that stops answering mid-session: the hung call ends when cancelled and the token is usable again")
    func hungTransportIsCancellable() async throws {
        let token = SealToken(transport: SilentTransport(timeout: nil), secureChannel: .testVendorRoot)
        let call = Task { try await token.connect() }
        try await Task.sleep(for: .milliseconds(100))
        call.cancel()
        let start = ContinuousClock.now
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(ContinuousClock.now - start < .seconds(30))   // at once; room for a machine whose cooperative threads are busy
        // The token is not wedged behind the cancelled call: the next one runs at once (and, the
        // session never having been established, is refused as notConnected).
        let error = await #expect(throws: SealDriverError.self) { try await token.chipID() }
        #expect(error?.code == .notConnected)
    }

    // MARK: Garbage in the objects the driver decodes

    /// Answers that pass the status-word checks but carry damaged data.
    static let garbage: [[UInt8]] = [
        [],
        [0x00],
        [0xFF],
        [0x6F, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],              // a TLV announcing 4 GiB
        [0x6F, 0x83, 0xFF, 0xFF, 0xFF] + [0x84, 0x01],    // a TLV announcing 16 MiB
        [UInt8](repeating: 0x6F, count: 300),               // 6F 6F 6F …: deep nesting
        [UInt8](repeating: 0x30, count: 600),
        Array((0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37) }),
        [0xBF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00],        // a tag number that never ends
    ]

    /// The commands whose answers are replaced: SELECT's FCI, capabilities, the objects `info()`
    /// reads, STAMP, READ AUDIT LOG, GET ATTESTATION.
    static let targets: [(name: String, matches: @Sendable ([UInt8]) -> Bool)] = [
        ("FCI", { $0.count >= 2 && $0[1] == 0xA4 }),
        ("capabilities", getData(.capabilities)),
        ("chip ID", getData(.chipID)),
        ("lifecycle", getData(.lifecycle)),
        ("counter", getData(.counter)),
        ("PIN status", getData(.pinStatus)),
        ("personalization", getData(.personalization)),
        ("seal public key", getData(.sealPublicKey)),
        ("key ID", getData(.sealKeyID)),
        ("audit status", getData(.auditStatus)),
        ("STAMP", { $0.count >= 2 && $0[1] == 0x54 }),
        ("READ AUDIT LOG", { $0.count >= 2 && $0[1] == 0x56 }),
        ("GET ATTESTATION", { $0.count >= 2 && $0[1] == 0x58 }),
    ]

    static func getData(_ object: SealDataObject) -> @Sendable ([UInt8]) -> Bool {
        { $0.count >= 4 && $0[1] == 0xCA && UInt16($0[2]) << 8 | UInt16($0[3]) == object.rawValue }
    }

    @Test("garbage in FCI, capabilities, info objects, STAMP, audit and attestation answers is malformedResponse",
          arguments: targets.indices)
    func garbageObjects(target index: Int) async throws {
        let target = Self.targets[index]
        for garbage in Self.garbage {
            let session = try await SimulatedTestToken.make()
            let hostile = HostileTransport(wrapping: session.transport) { command, answer in
                target.matches(command) && answer.suffix(2) == [0x90, 0x00] ? garbage + [0x90, 0x00] : nil
            }
            let token = SealToken(transport: hostile, secureChannel: .testVendorRoot)
            let outcome = await Self.run(token)
            #expect(hostile.mutatedAnswers > 0, "\(target.name) was never asked for")
            let shown = "\(target.name) ← \(hexString(Array(garbage.prefix(16))))"
            // The damaged answer is malformedResponse, or secureChannelFailure when it came through
            // the secure channel (its R-MAC no longer matches, SPEC §14.4); calls after a failed
            // connect are notConnected, and the newest audit entry is 6A88 when the damage stopped
            // every stamp.
            let detected: [SealDriverError.Code] = [.malformedResponse, .secureChannelFailure, .chipNotAuthenticated]
            for (operation, error) in outcome.errors {
                let emptyLog = operation == "auditEntry" && error.statusWord == .referencedDataNotFound
                #expect((detected + [.notConnected]).contains(error.code) || emptyLog, "\(shown): \(operation) threw \(error)")
            }
            #expect(outcome.errors.contains { detected.contains($0.1.code) }, "\(shown): the garbage went unnoticed")
            for (operation, error) in outcome.foreign {
                Issue.record("\(target.name): \(operation) threw \(type(of: error)) \(error)")
            }
            await token.close()
        }
    }

    // MARK: Seeded mutation of the real chip's answers

    @Test("thousands of randomly damaged answers from the in-process chip: every call ends in a value or a SealDriverError",
          arguments: [UInt64(0x5EA1_0008), 0xC0FF_EE00_0000_0001])
    func seededMutation(seed: UInt64) async throws {
        let session = try await SimulatedTestToken.make()
        let hostile = HostileTransport(wrapping: session.transport, seed: seed, probability: 0.12)
        let token = SealToken(transport: hostile, secureChannel: .testVendorRoot)
        var calls = 0
        var driverErrors = 0
        while hostile.exchanges < 5_000 {
            let outcome = await Self.run(token)
            calls += outcome.calls
            driverErrors += outcome.errors.count
            for (operation, error) in outcome.foreign {
                Issue.record("seed \(seed): \(operation) threw \(type(of: error)) \(error)")
            }
        }
        print("seed \(String(seed, radix: 16)): \(hostile.exchanges) exchanges, \(hostile.mutatedAnswers) damaged, \(calls) calls, \(driverErrors) SealDriverErrors")
        #expect(hostile.mutatedAnswers > 100)
        #expect(driverErrors > 0 && driverErrors < calls, "seed \(seed): \(driverErrors) errors in \(calls) calls")
        await token.close()
    }

    // MARK: Internals

    struct Outcome {
        var calls = 0
        var errors: [(String, SealDriverError)] = []
        var foreign: [(String, any Error)] = []
    }

    /// One round of everything a client does: connect, read, verify, stamp, audit, attest.
    static func run(_ token: SealToken) async -> Outcome {
        var outcome = Outcome()
        func attempt(_ name: String, _ body: () async throws -> Void) async {
            outcome.calls += 1
            do {
                try await body()
            } catch let error as SealDriverError {
                outcome.errors.append((name, error))
            } catch {
                outcome.foreign.append((name, error))
            }
        }
        let document = Array("hostile token test document".utf8)
        await attempt("connect") { try await token.connect() }
        await attempt("info") { _ = try await token.info() }
        await attempt("pinStatus") { _ = try await token.pinStatus() }
        await attempt("verifyPIN") { try await token.verifyPIN(TestCredentials.defaultPIN) }
        await attempt("stamp") { _ = try await token.stamp(document: document, metadata: StampMetadata(time: 1_790_000_000)) }
        await attempt("auditStatus") { _ = try await token.auditStatus() }
        await attempt("auditEntry") { _ = try await token.auditEntry(counter: 0) }
        await attempt("auditLog") { _ = try await token.auditLog() }
        await attempt("attestation") { _ = try await token.attestation(nonce: [1, 2, 3]) }
        await attempt("deviceCertificate") { _ = try await token.deviceCertificateDER() }
        return outcome
    }
}
