import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("sealctl hashes documents in constant memory")
struct StreamingTests {
    /// A 512 MiB document (sparse: no disk used) is stamped and verified by processes that never
    /// grow near its size. The limit is the largest resident set of any child this test process
    /// has waited for, so a `sealctl` that read the whole document would exceed it.
    @Test func largeDocumentStampAndVerify() async throws {
        let sandbox = try Sandbox()
        let document = sandbox.path("large.bin")
        try Data().write(to: URL(fileURLWithPath: document))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: document))
        try handle.truncate(atOffset: 512 << 20)
        try handle.close()

        let stamp = try await sandbox.run(["stamp", "--document", document, "--pin", "123456", "--out", sandbox.path("large.json")])
        #expect(stamp.status == 0, "\(stamp)")
        let verify = try await sandbox.run(["verify", sandbox.path("large.json"), "--document", document,
                                            "--vendor-root", Sandbox.vendorRoot])
        #expect(verify.status == 0, "\(verify)")

        var usage = rusage()
        #if canImport(Darwin)
        #expect(getrusage(RUSAGE_CHILDREN, &usage) == 0)
        let maxResidentMiB = Int(usage.ru_maxrss) >> 20   // bytes on Darwin
        #else
        #expect(getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0)
        let maxResidentMiB = Int(usage.ru_maxrss) >> 10   // KiB on Linux
        #endif
        #expect(maxResidentMiB < 256, "a child reached \(maxResidentMiB) MiB for a 512 MiB document")
    }
}
