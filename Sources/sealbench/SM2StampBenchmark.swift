// An SM2 STAMP in process beside a raw OpenSSL SM2 signature measured in the same run (issue 12:
// the STAMP may add at most 10 µs). See docs/benchmarks.md.
import Crypto
import Foundation
import SealGMCrypto
import SealHostDriver
import SealProtocol
import SealSimulatedToken

enum SM2StampBenchmark {
    /// An ACTIVE token with an SM2 seal key (SPEC §7.1), PIN-always off, as an NVM image.
    @MainActor
    static func makeTokenImage() async throws -> [UInt8] {
        let factoryBacking = FactoryBackingStore()
        let issuerKey = P256.Signing.PrivateKey()
        try TokenFactory.manufacture(backing: factoryBacking, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
        let setup = try InProcessTransport(backing: factoryBacking)
        var personalization = TokenStore.defaultPersonalization(watermarkKey: [UInt8](repeating: 7, count: 32))
        personalization.requiresPINPerStamp = false
        personalization.sealKeyAlgorithm = .sm2
        try await TokenFactory.personalize(transport: setup, issuerKey: issuerKey, data: personalization, activate: true)
        await setup.disconnect()
        guard let tokenImage = factoryBacking.image else { throw SealDriverError(code: .transportFailure, reason: "no token image") }
        return tokenImage
    }

    /// Interleaved rounds of raw SM2 signing (SealGMCrypto over OpenSSL, the 219-byte size of a
    /// stamp TBS) and SM2 STAMPs through SealToken and the in-process chip with the SCP11b channel
    /// open; prints both rates, the median per-round difference in µs per operation, and the goal.
    @MainActor
    static func run(seconds: Double) async throws {
        let tokenImage = try await makeTokenImage()
        let request = try StampRequest(documentDigest: Array(SHA256.hash(data: Array("benchmark document".utf8))),
                                       metadata: StampMetadata(time: 1_764_000_000, operatorID: "bench"))
        let command = SealCommand.stamp(request)
        let message = [UInt8](repeating: 0x5A, count: 219)
        let rounds = 20
        let slice = seconds / Double(rounds * 2)
        let result = try await Task.detached { () async throws -> (raw: Tally, stamp: Tally, differences: [Double]) in
            let rawKey = try SM2PrivateKey()
            let token = SealToken(transport: try InProcessTransport(backing: VolatileBackingStore(image: tokenImage)), secureChannel: .testVendorRoot)
            _ = try await token.connect()
            try await token.verifyPIN(TestCredentials.defaultPIN)
            guard await token.capabilities?.sealKeyAlgorithm == .sm2 else {
                throw SealDriverError(code: .malformedResponse, reason: "the benchmark token's seal key is not SM2")
            }
            let signRaw = { () throws in _ = try rawKey.signature(for: message) }
            let stamp = { () async throws in
                let response = try await token.send(command)
                guard response.statusWord == .success else { throw SealDriverError(statusWord: response.statusWord, command: "STAMP") }
            }
            for _ in 0..<50 { try signRaw(); try await stamp() }
            var raw = Tally(), stamped = Tally()
            var differences: [Double] = []
            for _ in 0..<rounds {
                let r = try await runFor(seconds: slice) { try signRaw() }
                let s = try await runFor(seconds: slice) { try await stamp() }
                raw.add(r); stamped.add(s)
                differences.append((s.elapsed / Double(s.count) - r.elapsed / Double(r.count)) * 1e6)
            }
            return (raw, stamped, differences)
        }.value
        let differences = result.differences.sorted()
        print(String(format: "raw SM2 sign (OpenSSL via SealGMCrypto): %10.0f signatures/s  (%d)", result.raw.perSecond, result.raw.count))
        print(String(format: "in-process SM2 STAMP (SealToken+chip, SCP11b channel open): %10.0f stamps/s      (%d)",
                     result.stamp.perSecond, result.stamp.count))
        print(String(format: "SM2 STAMP - raw SM2 sign: %+.1f us per operation, median of %d interleaved rounds (min %+.1f, max %+.1f; goal <= +10.0 us)",
                     median(differences), differences.count, differences.first ?? 0, differences.last ?? 0))
    }
}
