// Hashing a large document: `SealDigest.sha256(contentsOf:)` (streamed) beside `openssl dgst -sha256`
// on the same file, measured in the same run (goal: 0.8 of openssl's throughput or better).
import Foundation
import SealHostDriver

enum DigestBenchmark {
    /// Writes a `megabytes` MiB file in a temporary directory (so both read it from the page cache),
    /// then times, in `rounds` alternating rounds, openssl hashing it (a process, started and waited
    /// for) and `SealDigest.sha256(contentsOf:)`; the ratio is the median of per-round
    /// openssl-time / SealDigest-time. Throws when openssl is missing or disagrees on the digest.
    static func run(megabytes: Int = 256, rounds: Int = 5) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealbench-digest-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("document.bin")
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for index in chunk.indices { chunk[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw BenchError("cannot create \(file.path)")
        }
        let handle = try FileHandle(forWritingTo: file)
        for _ in 0..<megabytes { handle.write(Data(chunk)) }
        try handle.close()

        var openssl: [Double] = [], seal: [Double] = [], ratios: [Double] = []
        for _ in 0..<rounds {
            let startOpenSSL = now()
            let opensslDigest = try opensslSHA256(file.path)
            let o = now() - startOpenSSL
            let startSeal = now()
            let digest = try SealDigest.sha256(contentsOf: file)
            let s = now() - startSeal
            let hex = digest.map { String(format: "%02x", $0) }.joined()
            guard hex == opensslDigest else {
                throw BenchError("SealDigest \(hex) but openssl \(opensslDigest)")
            }
            openssl.append(o); seal.append(s); ratios.append(o / s)
        }
        let size = Double(megabytes) * 1_048_576
        print(String(format: "openssl dgst -sha256 of %d MiB:          %10.0f MB/s (median of %d)", megabytes, size / median(openssl) / 1e6, rounds))
        print(String(format: "SealDigest.sha256(contentsOf:) of it:    %10.0f MB/s (median of %d)", size / median(seal) / 1e6, rounds))
        let sorted = ratios.sorted()
        print(String(format: "ratio SealDigest/openssl: %.2f median of %d alternating rounds (min %.2f, max %.2f; goal >= 0.80)",
                     median(ratios), rounds, sorted.first ?? 0, sorted.last ?? 0))
    }

    /// `openssl dgst -sha256 -r PATH`'s hex digest.
    private static func opensslSHA256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "dgst", "-sha256", "-r", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let text = String(data: data, encoding: .utf8),
              let hex = text.split(separator: " ").first
        else { throw BenchError("openssl dgst failed (status \(process.terminationStatus))") }
        return String(hex)
    }
}
