// Workloads for profiling the SM2 STAMP against the raw one-shot SM2 signature (issue 12), run
// under `perf stat`, `perf record -g` or `valgrind --tool=callgrind` (docs/benchmarks.md):
//
//   sealbench sm2-token-image PATH        the SM2 benchmark token's NVM image
//   sealbench count-sm2 raw N             N one-shot `SM2PrivateKey.signature(for:)` calls
//   sealbench count-sm2 signer N          N signatures by an `SM2Signer` (how the chip signs)
//   sealbench count-sm2 chip N PATH       N STAMP APDUs into the chip through SCP11b (`ChipChannel`,
//                                         synchronous: callgrind-safe)
//   sealbench count-sm2 token N PATH      N STAMPs through `SealToken` and the in-process
//                                         transport, channel open (the benchmark's path; perf only:
//                                         it starts the concurrency pool)
//
// The raw and signer workloads use a fixed key and the 219-byte message of the benchmark, so that
// counts repeat run to run.
import Foundation
import SealFirmware
import SealGMCrypto
import SealHostDriver
import SealProtocol
import SealSimulatedToken

enum SM2Counts {
    enum Workload: String {
        case raw, signer, chip, token
    }

    static let message = [UInt8](repeating: 0x5A, count: 219)

    static func fixedKey() throws -> SM2PrivateKey {
        try SM2PrivateKey(rawRepresentation: [UInt8](repeating: 0x42, count: 32))
    }

    /// Runs `raw`, `signer` or `chip` `count` times, synchronously on the calling thread (called
    /// from top-level code without an `await`): valgrind 3.19 crashes once the Swift concurrency
    /// pool starts a worker thread.
    static func runSynchronously(_ workload: Workload, count: Int, image path: String?) throws {
        switch workload {
        case .raw:
            let key = try fixedKey()
            for _ in 0..<count { _ = try key.signature(for: message) }
        case .signer:
            let signer = try SM2Signer(key: try fixedKey())
            for _ in 0..<count { _ = try signer.signature(for: message) }
        case .chip:
            guard let path else { throw BenchError("count-sm2 chip needs the token image's path") }
            // The same loop as `count-stamps`, on the SM2 token's image.
            try InstructionCounts.countStamps(image: path, count: count)
        case .token:
            throw BenchError("count-sm2 token runs through the concurrency pool")
        }
    }

    /// `count` STAMPs through `SealToken` (perf only: this starts the concurrency pool).
    static func runThroughToken(count: Int, image path: String?) async throws {
        guard let path else { throw BenchError("count-sm2 token needs the token image's path") }
        let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let stamp = try StampBenchmark.stampCommand()
        try await Task.detached {
            let token = SealToken(transport: try InProcessTransport(backing: VolatileBackingStore(image: image)),
                                  secureChannel: .testVendorRoot)
            _ = try await token.connect()
            try await token.verifyPIN(TestCredentials.defaultPIN)
            for _ in 0..<count {
                let response = try await token.send(stamp)
                guard response.statusWord == .success else { throw BenchError("the token refused STAMP: \(response.statusWord)") }
            }
        }.value
    }
}
