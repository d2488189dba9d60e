import Foundation
@testable import SealFirmware
import SealHostDriver
import SealProtocol
@testable import SealSimulatedToken
import Testing

/// Issue 8: the stamp that verifies its PIN in the same transaction, and the driver's words for
/// a blocked PIN and an exhausted counter.
@Suite("SealToken.stamp(…pin:) and its errors")
struct StampWithPINTests {
    static let metadata = StampMetadata(time: 1_790_000_000)

    /// VERIFY and STAMP in one call: it re-selects the applet first, so it works whatever the PIN
    /// state was (here: cleared by a SELECT), and leaves a verifiable record.
    @Test func stampWithPINVerifiesInTheSameTransaction() async throws {
        let simulated = try await SimulatedTestToken.make()
        let token = simulated.token
        try await token.connect()
        try await token.verifyPIN(SimulatedTestToken.pin)
        try await token.select()   // what another application's SELECT does between two calls
        await #expect(throws: SealDriverError.self) {
            try await token.stamp(document: Array("x".utf8), metadata: Self.metadata)
        }
        let document = Array("one transaction".utf8)
        let record = try await token.stamp(document: document, metadata: Self.metadata, pin: SimulatedTestToken.pin)
        #expect(record.counter == 1)
        let report = await SimulatedTestToken.verifier.verify(record, document: document,
                                                              options: StampVerificationOptions(watermarkKey: simulated.watermarkKey))
        #expect(report.isValid, "\(report)")

        // A wrong PIN stamps nothing and spends one try.
        let wrong = await #expect(throws: SealDriverError.self) {
            try await token.stamp(document: document, metadata: Self.metadata, pin: "000000")
        }
        #expect(wrong?.triesRemaining == 2)
        #expect(try await token.info().counter == 1)
        // A malformed PIN is refused before anything is sent.
        let malformed = await #expect(throws: SealDriverError.self) {
            try await token.stamp(document: document, metadata: Self.metadata, pin: "12")
        }
        #expect(malformed?.code == .invalidArgument)
        await token.close()
    }

    /// Another application on a shared reader acts between two transactions of ours: this transport
    /// lets it SELECT the applet (clearing the PIN, SPEC §1.2, and ending our secure channel,
    /// §14.5) at the start of each transaction. `verifyPIN` then `stamp` (two transactions, what
    /// sealctl did before issue 8) fails: the channel is gone; `stamp(…pin:)` selects, opens a
    /// channel and verifies in one transaction, and succeeds.
    @Test func anotherApplicationBetweenTransactionsCannotSplitVerifyAndStamp() async throws {
        let simulated = try await SimulatedTestToken.make()
        let token = SealToken(transport: InterleavingTransport(simulated.transport), secureChannel: .testVendorRoot)
        try await token.connect()
        let document = Array("contended".utf8)
        let lost = await #expect(throws: SealDriverError.self) { try await token.verifyPIN(SimulatedTestToken.pin) }
        #expect(lost?.code == .secureChannelFailure, "\(String(describing: lost))")
        let split = await #expect(throws: SealDriverError.self) {
            try await token.stamp(document: document, metadata: Self.metadata)
        }
        #expect(split?.code == .secureChannelFailure, "\(String(describing: split))")
        let record = try await token.stamp(document: document, metadata: Self.metadata, pin: SimulatedTestToken.pin)
        #expect(record.counter == 1)
        await token.close()
    }

    /// The third wrong PIN blocks it: the message says so and names the command that unblocks it.
    @Test func theBlockingTryNamesTheUnblockCommand() async throws {
        let simulated = try await SimulatedTestToken.make()
        let token = simulated.token
        try await token.connect()
        for _ in 0..<2 { _ = try? await token.verifyPIN("000000") }
        let third = await #expect(throws: SealDriverError.self) { try await token.verifyPIN("000000") }
        #expect(third?.triesRemaining == 0)
        #expect(third?.message.contains("the PIN is now blocked") == true, "\(String(describing: third?.message))")
        #expect(third?.message.contains("sealctl pin unblock") == true)
        #expect(third?.message.contains("0 tries left") == false)
        let blocked = await #expect(throws: SealDriverError.self) { try await token.verifyPIN(SimulatedTestToken.pin) }
        #expect(blocked?.isBlocked == true)
        #expect(blocked?.message.contains("the PIN is blocked; unblock it with the PUK (`sealctl pin unblock`") == true,
                "\(String(describing: blocked?.message))")
        await token.close()
    }

    /// STAMP's 6985 at counter FFFFFFFF is reported as the exhausted counter, not a lifecycle problem.
    @Test func exhaustedCounterIsNamed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stamp-pin-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("token.nvm")
        try await TokenFactory.provisionTestToken(at: state, watermarkKeyFile: directory.appendingPathComponent("wm"), label: "test")
        let nvm = try NonVolatileMemory(backing: FileBackingStore(url: state))
        try nvm.write(RecordID.signatureCounter.rawValue, [0xFF, 0xFF, 0xFF, 0xFF])

        let token = SealToken(transport: try TokenStore.openToken(at: state), secureChannel: .testVendorRoot)
        try await token.connect()
        let error = await #expect(throws: SealDriverError.self) {
            try await token.stamp(document: Array("late".utf8), metadata: Self.metadata, pin: TestCredentials.defaultPIN)
        }
        #expect(error?.code == .counterExhausted)
        #expect(error?.isConditionsOfUseNotSatisfied == true)
        #expect(error?.message.contains("signature counter is exhausted") == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains("lifecycle") == false)
        await token.close()
    }
}

/// A transport whose every transaction starts with another application's SELECT of the seal applet.
private final class InterleavingTransport: CardTransport {
    let name = "interleaving"
    private let base: InProcessTransport

    init(_ base: InProcessTransport) { self.base = base }

    func connect() async throws -> [UInt8] { try await base.connect() }
    func reset() async throws -> [UInt8] { try await base.reset() }
    func disconnect() async { await base.disconnect() }
    nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] { try await base.transmit(apdu) }
    nonisolated(nonsending) func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        _ = try await base.transmit([0x00, 0xA4, 0x04, 0x00, UInt8(SealApplet.aid.count)] + SealApplet.aid + [0x00])
        return try await body()
    }
}
