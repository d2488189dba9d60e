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

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` repeatedly for about `seconds` and returns operations per second.
func measure(seconds: Double, _ body: () async throws -> Void) async rethrows -> (opsPerSecond: Double, count: Int) {
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
    let rawKey = P256.Signing.PrivateKey()
    let message = [UInt8](repeating: 0x5A, count: 219)
    let raw = try await measure(seconds: seconds) { _ = try rawKey.signature(for: message) }

    // In-process STAMP: an ACTIVE simulated token on in-memory NVM, through the driver pipeline.
    let backing = InMemoryBackingStore()
    let issuerKey = P256.Signing.PrivateKey()
    try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
    let transport = try InProcessTransport(backing: backing)
    let personalization = TokenStore.defaultPersonalization(watermarkKey: [UInt8](repeating: 7, count: 32))
    try await TokenFactory.personalize(transport: transport, issuerKey: issuerKey, data: personalization, activate: true)
    let token = SealToken(transport: transport)
    _ = try await token.connect()
    try await token.verifyPIN(TestCredentials.defaultPIN)
    let request = try StampRequest(documentDigest: Array(SHA256.hash(data: Array("benchmark document".utf8))),
                                   metadata: StampMetadata(time: 1_764_000_000, operatorID: "bench"))
    let command = SealCommand.stamp(request)
    let stamps = try await measure(seconds: seconds) {
        let response = try await token.send(command)
        guard response.statusWord == .success else { throw SealDriverError(statusWord: response.statusWord, command: "STAMP") }
    }
    let ratio = stamps.opsPerSecond / raw.opsPerSecond
    print(String(format: "raw P-256 ECDSA sign (swift-crypto): %10.0f signatures/s  (%d in %.1f s)", raw.opsPerSecond, raw.count, seconds))
    print(String(format: "in-process STAMP (driver+chip):      %10.0f stamps/s      (%d in %.1f s)", stamps.opsPerSecond, stamps.count, seconds))
    print(String(format: "ratio STAMP/raw: %.2f (goal ≥ 0.70)", ratio))
} catch {
    FileHandle.standardError.write(Data("sealbench: error: \(error)\n".utf8))
    exit(1)
}
