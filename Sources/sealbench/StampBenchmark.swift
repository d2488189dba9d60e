// The default benchmark: in-process STAMP/s beside raw swift-crypto P-256 signatures/s measured in
// the same run, and their ratio (goal: 0.7 or better). See docs/benchmarks.md.
import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken

/// An NVM backing store that keeps nothing: the benchmark measures the chip, not the simulator's
/// durability layer (the state-file figure is printed separately).
final class VolatileBackingStore: NVMBackingStore {
    var image: [UInt8]?
    init(image: [UInt8]?) { self.image = image }
    func load() throws -> [UInt8]? { image }
    func store(_ image: [UInt8]) throws {}
    func store(snapshot: NVMSnapshot) throws {}
}

/// The in-memory store the benchmark token is made in. `InProcessTransport` takes its store as
/// `sending`, and the image is read back after personalization: this box is shared on purpose,
/// used by one task at a time (the transport is disconnected before the image is read).
final class FactoryBackingStore: NVMBackingStore, @unchecked Sendable {
    private let memory = InMemoryBackingStore()
    var image: [UInt8]? { memory.image }
    func load() throws -> [UInt8]? { try memory.load() }
    func store(_ image: [UInt8]) throws { try memory.store(image) }
    func store(snapshot: NVMSnapshot) throws { try memory.store(snapshot: snapshot) }
}

enum StampBenchmark {
    /// Measures for about `seconds` and prints the figures; throws what setup or a STAMP throws.
    /// On the main actor, like the top-level code it was: setup runs there, the measurement in a
    /// detached task.
    @MainActor
    static func run(seconds: Double) async throws {
        #if DEBUG
        print("note: debug build; run `swift run -c release sealbench` for representative figures")
        #endif
        // One ACTIVE personalized token, kept as an NVM image every measurement starts from.
        let factoryBacking = FactoryBackingStore()
        let issuerPEM = P256.Signing.PrivateKey().pemRepresentation
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerPEM)
        try TokenFactory.manufacture(backing: factoryBacking, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
        let setup = try InProcessTransport(backing: factoryBacking)
        let personalization = TokenStore.defaultPersonalization(watermarkKey: [UInt8](repeating: 7, count: 32))
        try await TokenFactory.personalize(transport: setup, issuerKey: try P256.Signing.PrivateKey(pemRepresentation: issuerPEM),
                                           data: personalization, activate: true)
        await setup.disconnect()
        guard let tokenImage = factoryBacking.image else { throw SealDriverError(code: .transportFailure, reason: "no token image") }

        let request = try StampRequest(documentDigest: Array(SHA256.hash(data: Array("benchmark document".utf8))),
                                       metadata: StampMetadata(time: 1_764_000_000, operatorID: "bench"))
        let command = SealCommand.stamp(request)
        let message = [UInt8](repeating: 0x5A, count: 219)  // the size of a stamp TBS
        let rounds = 20
        let slice = seconds / Double(rounds * 3)

        // Everything is measured in one detached task on the cooperative pool, as an integrator's
        // async code would call it (from the main actor every SealToken call would add two thread
        // switches), and in interleaved short rounds, so that load from other processes hits raw
        // signing and STAMP alike; the ratio is the median of the per-round ratios.
        let result = try await Task.detached { () async throws -> (raw: Tally, stamp: Tally, chip: Tally, ratios: [Double], file: Tally,
                                                                  handshakes: Tally, wrapUnwrap: Tally) in
            let rawKey = P256.Signing.PrivateKey()
            let token = SealToken(transport: try InProcessTransport(backing: VolatileBackingStore(image: tokenImage)))
            _ = try await token.connect()
            try await token.verifyPIN(TestCredentials.defaultPIN)
            let chipNVM = try NonVolatileMemory(backing: VolatileBackingStore(image: tokenImage))
            let chip = try SealChip(nvm: chipNVM, random: SystemChipRandom())
            _ = try chip.powerOn()
            _ = chip.process(try SealCommand.select().encoded())
            // STAMP and VERIFY travel only inside the secure channel (SPEC §14): SecureChannelBenchmark.swift.
            let chipChannel = try ChipChannel(chip: chip, keyAgreementKey: try SecureChannelBenchmark.keyAgreementKey(chipNVM))
            _ = try chipChannel.send(SealCommand.verify(pin: TestCredentials.defaultPIN))

            let signRaw = { () throws in _ = try rawKey.signature(for: message) }
            let stampThroughDriver = { () async throws in
                let response = try await token.send(command)
                guard response.statusWord == .success else { throw SealDriverError(statusWord: response.statusWord, command: "STAMP") }
            }
            let stampOnChip = { () throws in
                guard try chipChannel.send(command).statusWord == .success else {
                    throw SealDriverError(code: .transportFailure, reason: "chip refused STAMP")
                }
            }
            // Warm-up.
            for _ in 0..<50 { try signRaw(); try await stampThroughDriver(); try stampOnChip() }

            var raw = Tally(), stamp = Tally(), chipOnly = Tally()
            var ratios: [Double] = []
            for _ in 0..<rounds {
                let r = try await runFor(seconds: slice) { try signRaw() }
                let s = try await runFor(seconds: slice) { try await stampThroughDriver() }
                let c = try await runFor(seconds: slice) { try stampOnChip() }
                raw.add(r); stamp.add(s); chipOnly.add(c)
                ratios.append((Double(s.count) / s.elapsed) / (Double(r.count) / r.elapsed))
            }

            // With the simulator's state file: every committed STAMP rewrites and fsyncs the image.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealbench-\(getpid())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let stateFile = FileBackingStore(url: directory.appendingPathComponent("token.nvm"))
            try stateFile.store(tokenImage)
            let fileToken = SealToken(transport: try InProcessTransport(backing: stateFile))
            _ = try await fileToken.connect()
            try await fileToken.verifyPIN(TestCredentials.defaultPIN)
            var file = Tally()
            file.add(try await runFor(seconds: min(1, seconds / 4)) {
                let response = try await fileToken.send(command)
                guard response.statusWord == .success else { throw SealDriverError(statusWord: response.statusWord, command: "STAMP") }
            })
            let handshakeChip = try SealChip(nvm: try NonVolatileMemory(backing: VolatileBackingStore(image: tokenImage)), random: SystemChipRandom())
            _ = try handshakeChip.powerOn()
            _ = handshakeChip.process(try SealCommand.select().encoded())
            let handshakes = try await SecureChannelBenchmark.handshakes(
                chip: handshakeChip, key: try SecureChannelBenchmark.keyAgreementKey(chipNVM), seconds: min(1, seconds / 4))
            let wrapUnwrap = try await SecureChannelBenchmark.wrapUnwrapRounds(commandData: try request.encoded(), seconds: min(1, seconds / 4))
            return (raw, stamp, chipOnly, ratios, file, handshakes, wrapUnwrap)
        }.value

        let ratios = result.ratios.sorted()
        let median = ratios[ratios.count / 2]
        print(String(format: "raw P-256 ECDSA sign (swift-crypto):     %10.0f signatures/s  (%d)", result.raw.perSecond, result.raw.count))
        print(String(format: "in-process STAMP (SealToken+chip, SCP11b channel open): %10.0f stamps/s      (%d)", result.stamp.perSecond, result.stamp.count))
        print(String(format: "  chip alone (SealChip.process):         %10.0f stamps/s      (%d)", result.chip.perSecond, result.chip.count))
        print(String(format: "  with the state file (fsync per stamp): %10.0f stamps/s      (%d)", result.file.perSecond, result.file.count))
        SecureChannelBenchmark.report(handshakes: result.handshakes, wrapUnwrap: result.wrapUnwrap)
        print(String(format: "ratio STAMP/raw: %.2f median of %d interleaved rounds (min %.2f, max %.2f; goal >= 0.70)",
                     median, ratios.count, ratios.first ?? 0, ratios.last ?? 0))
    }
}
