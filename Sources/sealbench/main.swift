// sealbench — prints in-process STAMP/s beside raw swift-crypto P-256 signatures/s measured in the
// same run, and their ratio (goal: 0.7 or better). A benchmark, not a test: it asserts nothing.
//
//   swift run -c release sealbench [--seconds S]
import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulator

/// An NVM backing store that keeps nothing: the benchmark measures the chip, not the simulator's
/// durability layer (the state-file figure is printed separately).
final class VolatileBackingStore: NVMBackingStore {
    var image: [UInt8]?
    init(image: [UInt8]?) { self.image = image }
    func load() throws -> [UInt8]? { image }
    func store(_ image: [UInt8]) throws {}
    func store(snapshot: NVMSnapshot) throws {}
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` repeatedly for about `seconds` and returns operations per second.
///
/// Every measurement runs in a detached task on the cooperative pool, as an integrator's async
/// code would; measuring from the main actor would add two thread switches per call to the
/// `SealToken` actor that have nothing to do with the token.
func measure(seconds: Double, _ body: @escaping @Sendable () async throws -> Void) async throws -> (opsPerSecond: Double, count: Int) {
    try await Task.detached {
        try await measureHere(seconds: seconds, body)
    }.value
}

func measureHere(seconds: Double, _ body: () async throws -> Void) async throws -> (opsPerSecond: Double, count: Int) {
    // Warm-up, so first-call costs (allocation, caches) are not measured.
    for _ in 0..<20 { try await body() }
    var count = 0
    let start = now()
    var elapsed = 0.0
    repeat {
        for _ in 0..<50 { try await body() }
        count += 50
        elapsed = now() - start
    } while elapsed < seconds
    return (Double(count) / elapsed, count)
}

var seconds = 3.0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--seconds", let value = arguments.next(), let parsed = Double(value), parsed > 0 {
        seconds = parsed
    } else {
        FileHandle.standardError.write(Data("usage: sealbench [--seconds S]\n".utf8))
        exit(2)
    }
}

do {
    #if DEBUG
    print("note: debug build; run `swift run -c release sealbench` for representative figures")
    #endif
    // Raw swift-crypto: sign a message the size of a stamp TBS with a P-256 key.
    let message = [UInt8](repeating: 0x5A, count: 219)
    let rawKeyPEM = P256.Signing.PrivateKey().pemRepresentation
    let raw = try await Task.detached {
        let rawKey = try P256.Signing.PrivateKey(pemRepresentation: rawKeyPEM)
        return try await measureHere(seconds: seconds) { _ = try rawKey.signature(for: message) }
    }.value

    // One ACTIVE personalized token, kept as an NVM image every measurement starts from.
    let factoryBacking = InMemoryBackingStore()
    let issuerKey = P256.Signing.PrivateKey()
    try TokenFactory.manufacture(backing: factoryBacking, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
    let setup = try InProcessTransport(backing: factoryBacking)
    let personalization = TokenStore.defaultPersonalization(watermarkKey: [UInt8](repeating: 7, count: 32))
    try await TokenFactory.personalize(transport: setup, issuerKey: issuerKey, data: personalization, activate: true)
    await setup.disconnect()
    guard let tokenImage = factoryBacking.image else { throw SealDriverError(code: .transportFailure, reason: "no token image") }

    let request = try StampRequest(documentDigest: Array(SHA256.hash(data: Array("benchmark document".utf8))),
                                   metadata: StampMetadata(time: 1_764_000_000, operatorID: "bench"))
    let command = SealCommand.stamp(request)

    /// STAMP/s through SealToken (pipeline) and the in-process transport over `backing`.
    func driverStamps(_ backing: sending any NVMBackingStore, seconds: Double) async throws -> (opsPerSecond: Double, count: Int) {
        let token = SealToken(transport: try InProcessTransport(backing: backing))
        _ = try await token.connect()
        try await token.verifyPIN(TestCredentials.defaultPIN)
        return try await measure(seconds: seconds) {
            let response = try await token.send(command)
            guard response.statusWord == .success else { throw SealDriverError(statusWord: response.statusWord, command: "STAMP") }
        }
    }

    let stamps = try await driverStamps(VolatileBackingStore(image: tokenImage), seconds: seconds)

    // The chip alone (no driver): shows how much of a STAMP is the driver and transport.
    let stampBytes = try CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: request.encoded(), ne: 65536).encoded()
    let chipOnly = try await Task.detached {
        let chip = try SealChip(nvm: try NonVolatileMemory(backing: VolatileBackingStore(image: tokenImage)), random: SystemChipRandom())
        _ = try chip.powerOn()
        _ = chip.process(try SealCommand.select().encoded())
        _ = chip.process(try SealCommand.verify(pin: TestCredentials.defaultPIN).encoded())
        return try await measureHere(seconds: seconds) {
            guard case .response(let bytes) = chip.process(stampBytes), bytes.suffix(2) == [0x90, 0x00] else {
                throw SealDriverError(code: .transportFailure, reason: "chip refused STAMP")
            }
        }
    }.value

    // With the simulator's state file: every committed STAMP rewrites and fsyncs the image.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealbench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let stateFile = FileBackingStore(url: directory.appendingPathComponent("token.nvm"))
    try stateFile.store(tokenImage)
    let fileStamps = try await driverStamps(stateFile, seconds: min(seconds, 1))

    let ratio = stamps.opsPerSecond / raw.opsPerSecond
    print(String(format: "raw P-256 ECDSA sign (swift-crypto):     %10.0f signatures/s  (%d in %.1f s)", raw.opsPerSecond, raw.count, seconds))
    print(String(format: "in-process STAMP (SealToken+chip):       %10.0f stamps/s      (%d in %.1f s)", stamps.opsPerSecond, stamps.count, seconds))
    print(String(format: "  chip alone (SealChip.process):         %10.0f stamps/s", chipOnly.opsPerSecond))
    print(String(format: "  with the state file (fsync per stamp): %10.0f stamps/s", fileStamps.opsPerSecond))
    print(String(format: "ratio STAMP/raw: %.2f (goal >= 0.70)", ratio))
} catch {
    FileHandle.standardError.write(Data("sealbench: error: \(error)\n".utf8))
    exit(1)
}
