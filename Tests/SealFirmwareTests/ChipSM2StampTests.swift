import Crypto
import Foundation
import SealGMCrypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §7 tag `4E`, §8.5 capabilities `85`, §9.4 key policy bit 6, §8.13/§9.3 with an SM2 seal key.
@Suite("Chip SM2 seal key")
struct ChipSM2StampTests {
    private static func sm2Fixture() -> ChipFixture {
        var fixture = ChipFixture()
        fixture.sealKeyAlgorithm = .sm2
        return fixture
    }

    /// The TBS a verifier rebuilds from the personalization and the response (SPEC §9.3).
    private func rebuiltTBS(_ stamp: StampResponse, request: StampRequest, harness: ChipHarness) -> [UInt8] {
        StampTBS(
            chipID: harness.fixture.chipID, counter: stamp.counter, serial: stamp.serial, expiry: stamp.expiry,
            expirationCode: stamp.expirationCode, documentDigest: request.documentDigest,
            metadataDigest: Array(SHA256.hash(data: request.metadataEncoding)), seal: harness.fixture.sealIdentity,
            keyID: harness.getData(.sealKeyID).data, grantSerial: 0).encoded()
    }

    @Test("PERSONALIZE with 4E 02 generates an SM2 key on chip: 86 is a point on the SM2 curve, not on P-256")
    func personalizeSM2() throws {
        let harness = try ChipHarness.manufactured(Self.sm2Fixture())
        harness.select()
        harness.authenticateIssuer()
        let response = harness.send(try SealCommand.personalize(Self.sm2Fixture().personalization))
        #expect(response.sw == 0x9000)
        let fields = try TLV.decodeAll(response.data)
        let point = try #require(fields.first { $0.tag == SealTag.sealPublicKey }).value
        #expect(point.count == 65 && point.first == 0x04)
        #expect(try SM2PublicKey(x963Representation: point).x963Representation == point)
        #expect((try? P256.Signing.PublicKey(x963Representation: point)) == nil, "an SM2 point is not a P-256 point")
        #expect(harness.getData(.sealPublicKey).data == point)
        #expect(harness.getData(.sealKeyID).data == sealKeyID(publicKeyX963: point))
    }

    @Test("PERSONALIZE refuses an unknown seal key algorithm with 6A80 and stays MANUFACTURED")
    func unknownAlgorithm() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        harness.authenticateIssuer()
        var data = try ChipFixture().personalization.encoded()
        data += [0x4E, 0x01, 0x03]
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: data, ne: 256), 0x6A80)
        #expect(harness.getData(.lifecycle).data == [LifecycleState.manufactured.rawValue])
        data.removeLast(3)
        data += [0x4E, 0x02, 0x02, 0x00]
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: data, ne: 256), 0x6A80)
        #expect(harness.getData(.lifecycle).data == [LifecycleState.manufactured.rawValue])
    }

    @Test("capabilities carry 85 02 for an SM2 seal; a P-256 chip keeps the 21 bytes of v2")
    func capabilities() throws {
        let sm2 = try ChipHarness.personalized(Self.sm2Fixture())
        let bytes = sm2.getData(.capabilities).data
        #expect(bytes == hex("80 02 02 00 81 02 10 00 82 04 00 01 00 00 83 01 07 84 02 00 40 85 01 02"))
        #expect(try SealCapabilities(decoding: bytes).sealKeyAlgorithm == .sm2)
        let p256 = try ChipHarness.personalized()
        #expect(try SealCapabilities(decoding: p256.getData(.capabilities).data).sealKeyAlgorithm == nil)
        let manufactured = try ChipHarness.manufactured(Self.sm2Fixture())
        manufactured.select()
        #expect(manufactured.getData(.capabilities).data.count == 21, "no seal, no algorithm")
    }

    @Test("the attestation statement sets key policy bit 6 for SM2 only; the device key still signs it")
    func attestation() throws {
        for algorithm in SealKeyAlgorithm.allCases {
            var fixture = ChipFixture()
            fixture.sealKeyAlgorithm = algorithm
            let harness = try ChipHarness.personalized(fixture)
            var command = SealCommand.getAttestation(nonce: [0x42])
            command.ne = 65_536
            let response = harness.send(command)
            #expect(response.sw == 0x9000)
            let attestation = try AttestationResponse(decoding: response.data)
            let deviceKey = try P256.Signing.PublicKey(x963Representation: harness.devicePublicKey)
            #expect(deviceKey.isValidSignature(try P256.Signing.ECDSASignature(derRepresentation: attestation.signature),
                                               for: attestation.statementBytes))
            let statement = try AttestationStatement(decoding: attestation.statementBytes)
            #expect(statement.keyPolicy.contains(.sm2SealKey) == (algorithm == .sm2))
            #expect(statement.keyPolicy.sealKeyAlgorithm == algorithm)
            #expect(statement.sealPublicKey == harness.getData(.sealPublicKey).data)
        }
    }

    @Test("STAMP signs the TBS with SM2 (ID 1234567812345678): it verifies under the seal key, the counter advances, the audit entry holds the signature")
    func stampSM2() throws {
        let harness = try ChipHarness.active(Self.sm2Fixture())
        let sealKey = try SM2PublicKey(x963Representation: harness.getData(.sealPublicKey).data)
        for n: UInt32 in 1...3 {
            let request = try harness.stampRequest(time: 1_700_000_000 + UInt64(n))
            let (response, stamp) = harness.stamp(request)
            #expect(response.sw == 0x9000)
            let decoded = try #require(stamp)
            #expect(decoded.counter == n)
            #expect(harness.counter() == n)
            let tbs = rebuiltTBS(decoded, request: request, harness: harness)
            #expect(SM2Signature.isDER(decoded.signature))
            #expect(sealKey.isValidSignature(decoded.signature, for: tbs))
            #expect(!sealKey.isValidSignature(decoded.signature, for: tbs, distinguishingID: Array("ALICE123@YAHOO.COM".utf8)),
                    "Z_A binds the default distinguishing ID")
            #expect(!sealKey.isValidSignature(decoded.signature, for: tbs.dropLast() + [tbs.last.map { $0 ^ 1 } ?? 0]))
            let entryResponse = harness.readAuditLog(n)
            #expect(entryResponse.sw == 0x9000)
            let entry = try AuditEntry(decoding: entryResponse.data)
            #expect(entry.signature == decoded.signature)
            #expect(entry.tbs(chipID: harness.fixture.chipID, seal: harness.fixture.sealIdentity,
                              keyID: sealKeyID(publicKeyX963: sealKey.x963Representation)).encoded() == tbs)
        }
    }

    @Test("STAMP on an SM2 seal refuses in the order of §8.13 as on P-256, and a refusal changes nothing")
    func stampSM2Refusals() throws {
        let harness = try ChipHarness.active(Self.sm2Fixture())
        harness.expectSW([0x80, 0x54, 0x00, 0x00], 0x6700, "Lc absent")
        harness.expectSW(SealCommand.logout(), 0x9000)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6982, "PIN not verified")
        #expect(harness.counter() == 0)
    }

    @Test("the SM2 seal key survives a power cycle: stamps after a reboot verify under the same key")
    func stampAfterReboot() throws {
        let harness = try ChipHarness.active(Self.sm2Fixture())
        let key = harness.getData(.sealPublicKey).data
        let reopened = try harness.reopened()
        reopened.select()
        reopened.verifyPIN()
        #expect(reopened.getData(.sealPublicKey).data == key)
        let request = try reopened.stampRequest()
        let (_, stamp) = reopened.stamp(request)
        let decoded = try #require(stamp)
        #expect(try SM2PublicKey(x963Representation: key).isValidSignature(decoded.signature,
                                                                           for: rebuiltTBS(decoded, request: request, harness: reopened)))
    }

    /// Interoperation with an independent SM2 implementation: the `openssl` command-line tool
    /// verifies the chip's stamp signature over the TBS with the distinguishing ID.
    @Test("openssl verifies an SM2 stamp signature (SM3, distid 1234567812345678)",
          .enabled(if: OpenSSLTool.isAvailable))
    func opensslVerifies() async throws {
        let harness = try ChipHarness.active(Self.sm2Fixture())
        let request = try harness.stampRequest()
        let (_, stamp) = harness.stamp(request)
        let decoded = try #require(stamp)
        let tbs = rebuiltTBS(decoded, request: request, harness: harness)
        let key = try SM2PublicKey(x963Representation: harness.getData(.sealPublicKey).data)
        let directory = try OpenSSLTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(tbs).write(to: directory.appendingPathComponent("tbs.bin"))
        try Data(decoded.signature).write(to: directory.appendingPathComponent("stamp.sig"))
        try Data(key.pemRepresentation.utf8).write(to: directory.appendingPathComponent("seal.pem"))
        let arguments = ["dgst", "-sm3", "-verify", "seal.pem", "-sigopt", "distid:1234567812345678", "-signature", "stamp.sig", "tbs.bin"]
        let good = try await OpenSSLTool.run(arguments, in: directory)
        #expect(good.status == 0 && good.output.contains("Verified OK"), "\(good.output)")
        // The same command refuses a TBS that differs in one byte (the check can fail).
        var tampered = tbs
        tampered[20] ^= 0x01
        try Data(tampered).write(to: directory.appendingPathComponent("tbs.bin"))
        let bad = try await OpenSSLTool.run(arguments, in: directory)
        #expect(bad.status != 0, "\(bad.output)")
    }
}

/// The `openssl` command-line tool, run without blocking the test pool.
enum OpenSSLTool {
    static let executable: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static var isAvailable: Bool { executable != nil }

    /// Runs `openssl arguments…` in `directory`; its exit status and combined output.
    static func run(_ arguments: [String], in directory: URL) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? "openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = directory.appendingPathComponent("openssl-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try handle.close()
        return (status, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-chip-sm2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
