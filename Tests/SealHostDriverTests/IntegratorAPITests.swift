import Crypto
import Foundation
import SealHostDriver
import Testing
import X509

/// A directory of its own under the temporary directory, removed by the caller.
private func makeScratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("IntegratorAPITests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// `openssl dgst -sha256 -r FILE`, run as a subprocess: the digest as lowercase hex.
private func opensslSHA256(of url: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "dgst", "-sha256", "-r", url.path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    // `-r` prints "<hex> *<path>".
    return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

/// The process's peak resident set size in bytes (`getrusage`).
private func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024  // KiB on Linux
    #else
    getrusage(RUSAGE_SELF, &usage)
    return usage.ru_maxrss  // bytes on Darwin
    #endif
}

@Suite("SealDigest")
struct SealDigestTests {
    @Test func hashesBytes() {
        // FIPS 180-2 test vector.
        #expect(hexString(SealDigest.sha256(Array("abc".utf8)))
            == "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
        #expect(SealDigest.sha256([]).count == 32)
    }

    @Test func hashesAFileLargerThanTheChunkLikeOpenSSL() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("large.bin")
        // Two and a half chunks plus an odd tail, so the last read is short and not chunk-aligned.
        let size = SealDigest.fileChunkSize * 5 / 2 + 17
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: url)

        let streamed = try SealDigest.sha256(contentsOf: url)
        #expect(hexString(streamed).lowercased() == (try opensslSHA256(of: url)))
        #expect(streamed == SealDigest.sha256(bytes))
    }

    @Test func hashesAnEmptyFileAndOneOfExactlyOneChunk() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty")
        try Data().write(to: empty)
        #expect(try SealDigest.sha256(contentsOf: empty) == SealDigest.sha256([]))
        #expect(hexString(try SealDigest.sha256(contentsOf: empty)).lowercased() == (try opensslSHA256(of: empty)))

        let exact = directory.appendingPathComponent("exact")
        let bytes = [UInt8](repeating: 0xA5, count: SealDigest.fileChunkSize)
        try Data(bytes).write(to: exact)
        #expect(try SealDigest.sha256(contentsOf: exact) == SealDigest.sha256(bytes))
    }

    @Test func memoryDoesNotGrowWithTheFile() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A sparse 512 MiB file: no disk used, but every byte is read.
        let url = directory.appendingPathComponent("sparse.bin")
        let size: UInt64 = 512 << 20
        #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: size)
        try handle.close()

        let before = peakResidentBytes()
        let digest = try SealDigest.sha256(contentsOf: url)
        let growth = peakResidentBytes() - before
        #expect(digest.count == 32)
        // Reading the file whole would raise the peak by 512 MiB; chunks keep it near one chunk.
        #expect(growth < 64 << 20, "peak resident size grew by \(growth >> 20) MiB hashing \(size >> 20) MiB")
    }

    @Test func unreadableFilesAreAFileUnreadableError() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = #expect(throws: SealDriverError(code: .fileUnreadable, reason: "")) {
            try SealDigest.sha256(contentsOf: directory.appendingPathComponent("missing.pdf"))
        }
        #expect(missing?.reason.contains("missing.pdf") == true)
        #expect(missing?.message.contains("No such file") == true, "\(String(describing: missing))")
        // A directory opens but does not read.
        #expect(throws: SealDriverError(code: .fileUnreadable, reason: "")) { try SealDigest.sha256(contentsOf: directory) }
        #expect(throws: SealDriverError(code: .fileUnreadable, reason: "")) {
            try SealDigest.sha256(contentsOf: URL(string: "https://example.com/document.pdf")!)
        }
    }
}

@Suite("Integrator API: stamp and verify documents")
struct DocumentStampTests {
    @Test func stampsBytesAndFilesAndVerifiesThem() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("document.txt")
        try Data(harness.fixture.document).write(to: url)
        let options = StampVerificationOptions(now: StampFixture.now, watermarkKey: harness.fixture.watermarkKey)

        let fromBytes = try await harness.token.stamp(document: harness.fixture.document, metadata: stampMetadata)
        #expect(fromBytes.documentDigest == SealDigest.sha256(harness.fixture.document))
        let fromFile = try await harness.token.stamp(documentAt: url, metadata: stampMetadata)
        #expect(fromFile.documentDigest == fromBytes.documentDigest)
        #expect(fromFile.counter == fromBytes.counter + 1)

        for record in [fromBytes, fromFile] {
            let report = try await harness.fixture.verifier.verify(record, documentAt: url, options: options)
            #expect(report.isValid, "\(report)")
        }
        // The file changes: the record no longer verifies against it, and the failure is named.
        try Data(harness.fixture.document + [0x0A]).write(to: url)
        let report = try await harness.fixture.verifier.verify(fromFile, documentAt: url, options: options)
        #expect(report.failures.map(\.id) == [.documentDigest])
        let error = #expect(throws: SealDriverError(code: .stampInvalid, reason: "")) { try report.throwIfInvalid() }
        #expect(error?.failedCheck == .documentDigest)
    }

    @Test func anUnreadableFileIsRefusedBeforeAnythingIsSent() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        await harness.transport.clearLog()
        let missing = URL(fileURLWithPath: "/nonexistent/SealKit/document.pdf")
        await #expect(throws: SealDriverError(code: .fileUnreadable, reason: "")) {
            _ = try await harness.token.stamp(documentAt: missing, metadata: stampMetadata)
        }
        #expect(await harness.transport.sent.isEmpty)
        let record = try await harness.token.stamp(document: harness.fixture.document, metadata: stampMetadata)
        await #expect(throws: SealDriverError(code: .fileUnreadable, reason: "")) {
            _ = try await harness.fixture.verifier.verify(record, documentAt: missing)
        }
    }

    @Test func aTransportsOwnErrorArrivesAsATransportFailure() async throws {
        struct ReaderUnplugged: Error, CustomStringConvertible { var description: String { "reader unplugged" } }
        let harness = try TokenHarness()
        try await harness.ready()
        await harness.transport.failNextTransmit(with: ReaderUnplugged())
        let error = await #expect(throws: SealDriverError(code: .transportFailure, reason: "")) {
            _ = try await harness.token.stamp(document: harness.fixture.document, metadata: stampMetadata)
        }
        #expect(error?.underlyingError is ReaderUnplugged)
        #expect(error?.reason.contains("reader unplugged") == true)
    }
}

@Suite("Integrator API: StampVerifier trust anchors")
struct TrustAnchorTests {
    @Test func pemAndDERBytesAreBothAccepted() async throws {
        let fixture = try StampFixture()
        let record = try fixture.record()
        let options = fixture.fullOptions
        for bytes in [Array(try fixture.ca.pem.utf8), try fixture.ca.der] {
            let verifier = try StampVerifier(trustedRoots: bytes)
            #expect(verifier.trustedRoots == [fixture.ca.certificate])
            #expect(await verifier.verify(record, document: fixture.document, options: options).isValid)
        }
        // Two PEM blocks give two roots.
        let other = try TestCA(commonName: "Another Root")
        let both = try StampVerifier(trustedRoots: Array((try fixture.ca.pem + "\n" + other.pem).utf8))
        #expect(both.trustedRoots.count == 2)
    }

    @Test(arguments: ["garbage", "", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
    func pemWithoutACertificateIsRefused(text: String) {
        let error = #expect(throws: SealDriverError(code: .invalidTrustAnchors, reason: "")) {
            try StampVerifier(trustedRootsPEM: text)
        }
        #expect(error?.message.contains("PEM or DER") == true)
        #expect(throws: SealDriverError(code: .invalidTrustAnchors, reason: "")) {
            try StampVerifier(trustedRoots: Array(text.utf8))
        }
    }

    @Test func aPrivateKeyIsNotARoot() {
        let pem = P256.Signing.PrivateKey().pemRepresentation
        let error = #expect(throws: SealDriverError(code: .invalidTrustAnchors, reason: "")) {
            try StampVerifier(trustedRootsPEM: pem)
        }
        #expect(error?.reason.contains("PRIVATE KEY") == true, "\(String(describing: error))")
    }

    @Test func derThatIsNotACertificateIsRefused() throws {
        #expect(throws: SealDriverError(code: .invalidTrustAnchors, reason: "")) { try StampVerifier(trustedRootsDER: []) }
        #expect(throws: SealDriverError(code: .invalidTrustAnchors, reason: "")) {
            try StampVerifier(trustedRootsDER: [[0x30, 0x03, 0x02, 0x01, 0x01]])
        }
        #expect(throws: SealDriverError(code: .invalidTrustAnchors, reason: "")) {
            try StampVerifier(trustedRoots: [0x30, 0x03, 0x02, 0x01, 0x01])
        }
        // Intermediates, when given, must hold certificates too.
        let fixture = try StampFixture()
        #expect(throws: SealDriverError(code: .invalidTrustAnchors, reason: "")) {
            try StampVerifier(trustedRoots: try fixture.ca.der, intermediates: Array("none".utf8))
        }
    }
}
