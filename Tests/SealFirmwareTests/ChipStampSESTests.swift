import Crypto
import Foundation
import SealESeal
import SealGMCrypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §8.17 STAMP-SES, §8.18 PUT SES SEAL, §8.19 READ SES SEAL, §9.7 the chip's TBS_Sign and receipt.
@Suite("Chip STAMP-SES", .enabled(if: OpenSSLTool.isAvailable))
struct ChipStampSESTests {
    /// An SM2 chip in PERSONALIZED with a real-size GB/T 38540 seal built for its key: a root CA and
    /// a maker certificate from the openssl command line, the chip's certificate over the chip's
    /// own public key (`-force_pubkey`), the seal built and signed with SealESeal's builder.
    struct Setup {
        let harness: ChipHarness
        let seal: SESeal
        let chipCertificate: SM2Certificate
        let root: SM2Certificate
        let directory: URL

        static func make(pictureBytes: Int = 16_000) async throws -> Setup {
            var fixture = ChipFixture()
            fixture.sealKeyAlgorithm = .sm2
            let harness = try ChipHarness.personalized(fixture)
            let chipKey = try SM2PublicKey(x963Representation: harness.getData(.sealPublicKey).data)
            let directory = try OpenSSLTool.temporaryDirectory()
            try Data(chipKey.pemRepresentation.utf8).write(to: directory.appendingPathComponent("chip.pub"))
            let id = "distid:1234567812345678"
            let steps: [[String]] = [
                ["genpkey", "-algorithm", "SM2", "-out", "root.key"],
                ["req", "-x509", "-new", "-key", "root.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=root CA",
                 "-days", "3650", "-out", "root.pem"],
                ["genpkey", "-algorithm", "SM2", "-out", "maker.key"],
                ["req", "-new", "-key", "maker.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=maker", "-out", "maker.csr"],
                ["x509", "-req", "-in", "maker.csr", "-vfyopt", id, "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "10",
                 "-sm3", "-sigopt", id, "-days", "365", "-out", "maker.pem"],
                // The chip's certificate: the request is signed by a throwaway key, the certified key is the chip's.
                ["genpkey", "-algorithm", "SM2", "-out", "request.key"],
                ["req", "-new", "-key", "request.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=seal chip", "-out", "chip.csr"],
                ["x509", "-req", "-in", "chip.csr", "-vfyopt", id, "-force_pubkey", "chip.pub", "-CA", "root.pem", "-CAkey", "root.key",
                 "-set_serial", "11", "-sm3", "-sigopt", id, "-days", "365", "-out", "chip.pem"],
            ]
            for step in steps {
                let result = try await OpenSSLTool.run(step, in: directory)
                try #require(result.status == 0, "openssl \(step.joined(separator: " ")): \(result.output)")
            }
            func text(_ name: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) }
            let root = try SM2Certificate(pemRepresentation: text("root.pem"))
            let maker = try SM2Certificate(pemRepresentation: text("maker.pem"))
            let makerKey = try SM2PrivateKey(pemRepresentation: text("maker.key"))
            let chipCertificate = try SM2Certificate(pemRepresentation: text("chip.pem"))
            #expect(chipCertificate.publicKey.derRepresentation == chipKey.derRepresentation)
            let now = Date()
            let picture = SESSealPicture(type: "PNG", data: [0x89, 0x50, 0x4E, 0x47] + (0..<pictureBytes).map { UInt8(truncatingIfNeeded: $0 &* 31) },
                                         width: 40, height: 40)
            let seal = try SESealBuilder(vendorID: "SealKit", sealID: "SEALKIT-TEST-0001", type: 1, name: "SealKit test seal",
                                         signerCertificates: [chipCertificate.derRepresentation], createDate: now,
                                         validStart: now.addingTimeInterval(-3600), validEnd: now.addingTimeInterval(86_400 * 30),
                                         picture: picture).build(makerCertificate: maker, makerKey: makerKey)
            return Setup(harness: harness, seal: seal, chipCertificate: chipCertificate, root: root, directory: directory)
        }

        /// Writes the seal with PUT SES SEAL in `chunkSize` pieces at increasing offsets.
        func install(chunkSize: Int = 4000) {
            let bytes = seal.derRepresentation
            var offset = 0
            while offset < bytes.count {
                let chunk = Array(bytes[offset..<min(offset + chunkSize, bytes.count)])
                harness.expectSW(SealCommand.putSESSeal(offset: UInt16(offset), chunk: chunk), 0x9000, "PUT SES SEAL at \(offset)")
                offset += chunk.count
            }
        }

        /// Reads the seal back with READ SES SEAL in `size` pieces.
        func readBack(size: Int = 1000) -> [UInt8] {
            var out: [UInt8] = []
            while true {
                let response = harness.send(SealCommand.readSESSeal(offset: UInt16(out.count), ne: size))
                guard response.sw == 0x9000, !response.data.isEmpty else { break }
                out += response.data
            }
            return out
        }

        func activate() {
            harness.expectSW(SealCommand.setLifecycle(.active), 0x9000)
            harness.verifyPIN()
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    /// The STAMP-SES request for `document`: its SM3 digest as dataHash, the installed seal's hash.
    /// The stamp time is now: the seal and the certificates are valid from about now, and
    /// SESVerifier judges them at the signature's timeInfo.
    private func request(_ document: [UInt8], seal: SESeal, time: UInt64 = UInt64(Date().timeIntervalSince1970)) throws -> SESStampRequest {
        let stamp = try StampRequest(documentDigest: SM3.hash(document), metadata: StampMetadata(time: time))
        return try SESStampRequest(stamp: stamp, propertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml",
                                   sealHash: Array(SHA256.hash(data: seal.derRepresentation)))
    }

    @Test("a real-size seal (about 17 KB) goes in with PUT SES SEAL in chunks and reads back identically")
    func installAndReadBack() async throws {
        let setup = try await Setup.make()
        defer { setup.remove() }
        #expect(setup.seal.derRepresentation.count > 16_000)
        setup.harness.expectSW(SealCommand.readSESSeal(offset: 0), 0x6A88, "no seal yet")
        setup.install()
        #expect(setup.readBack() == setup.seal.derRepresentation)
        #expect(setup.readBack(size: 65_536) == setup.seal.derRepresentation, "extended Le")
        // Offset 0 starts again: a shorter seal replaces the longer one entirely.
        setup.harness.expectSW(SealCommand.putSESSeal(offset: 0, chunk: [0x30, 0x00]), 0x9000)
        #expect(setup.readBack() == [0x30, 0x00])
        setup.harness.expectSW(SealCommand.readSESSeal(offset: 3), 0x6A86, "offset past the end")
    }

    @Test("PUT SES SEAL refuses a gap, an overlap, no data, the wrong state and a P-256 seal key, and keeps the seal")
    func putRefusals() async throws {
        let setup = try await Setup.make(pictureBytes: 100)
        defer { setup.remove() }
        let harness = setup.harness
        harness.expectSW(SealCommand.putSESSeal(offset: 0, chunk: [1, 2, 3]), 0x9000)
        harness.expectSW(SealCommand.putSESSeal(offset: 4, chunk: [4]), 0x6A86, "a gap")
        harness.expectSW(SealCommand.putSESSeal(offset: 2, chunk: [4]), 0x6A86, "an overlap")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x4C, p1: 0, p2: 3), 0x6700, "no data")
        #expect(setup.readBack() == [1, 2, 3])
        harness.expectSW(SealCommand.setLifecycle(.active), 0x9000)
        harness.expectSW(SealCommand.putSESSeal(offset: 3, chunk: [4]), 0x6985, "ACTIVE")
        let p256 = try ChipHarness.personalized()
        p256.expectSW(SealCommand.putSESSeal(offset: 0, chunk: [1]), 0x6985, "P-256 seal key")
    }

    @Test("STAMP-SES signs the TBS_Sign the chip composes; the host rebuilds it with SESSignatureBuilder and SESVerifier accepts the SES_Signature")
    func stampSESInterop() async throws {
        let setup = try await Setup.make()
        defer { setup.remove() }
        setup.install()
        setup.activate()
        let harness = setup.harness
        let document = Array("<Signature>GB/T 38540 document</Signature>".utf8)
        let sesRequest = try request(document, seal: setup.seal)
        let response = harness.send(SealCommand.stampSES(sesRequest))
        #expect(response.sw == 0x9000)
        let decoded = try SESStampResponse(decoding: response.data)
        #expect(decoded.stamp.counter == 1)
        #expect(harness.counter() == 1, "the counter advances as for STAMP")

        // The native receipt: the seal key's SM2 signature over the SPEC §9.3 TBS, in the audit log.
        let sealKey = try SM2PublicKey(x963Representation: harness.getData(.sealPublicKey).data)
        let nativeTBS = StampTBS(
            chipID: harness.fixture.chipID, counter: 1, serial: decoded.stamp.serial, expiry: decoded.stamp.expiry,
            expirationCode: decoded.stamp.expirationCode, documentDigest: SM3.hash(document),
            metadataDigest: Array(SHA256.hash(data: sesRequest.stamp.metadataEncoding)), seal: harness.fixture.sealIdentity,
            keyID: harness.getData(.sealKeyID).data, grantSerial: 0).encoded()
        #expect(sealKey.isValidSignature(decoded.stamp.signature, for: nativeTBS))
        let entry = try AuditEntry(decoding: harness.readAuditLog(1).data)
        #expect(entry.signature == decoded.stamp.signature && entry.documentDigest == SM3.hash(document))

        // The host's copy of TBS_Sign: same seal, time, dataHash, propertyInfo and receipt.
        let receipt = SESStampReceipt(
            counter: 1, serial: decoded.stamp.serial, expiry: decoded.stamp.expiry, expirationCode: decoded.stamp.expirationCode,
            metadataDigest: Array(SHA256.hash(data: sesRequest.stamp.metadataEncoding)), grantSerial: 0,
            sealHash: sesRequest.sealHash, nativeSignature: decoded.stamp.signature)
        let builder = SESSignatureBuilder(
            seal: setup.seal, time: Date(timeIntervalSince1970: TimeInterval(sesRequest.stamp.metadata.time)),
            dataHash: SM3.hash(document), propertyInfo: sesRequest.propertyInfo,
            extensions: [SESExtension(oid: SESStampReceipt.extensionOID, isCritical: false, value: receipt.encoded())])
        let tbsSign = try builder.tbsSignDER()
        #expect(sealKey.isValidSignature(decoded.sesSignature, for: tbsSign), "the chip signed exactly this TBS_Sign")
        let signature = try SESSignatureBuilder.assemble(tbsSign: tbsSign, signerCertificate: setup.chipCertificate.derRepresentation,
                                                          signature: decoded.sesSignature)
        #expect(signature.version == 4 && signature.quirks.isEmpty)
        #expect(signature.extensions.map(\.oid) == [SESStampReceipt.extensionOID], "the OID reads back as written")
        #expect(try SESStampReceipt(decoding: signature.extensions[0].value) == receipt)

        let report = SESVerifier(roots: [setup.root]).verify(signature, document: document)
        #expect(report.verdict == .valid, "\(report.checks)")
        #expect(report.outcome(of: .signerSignature) == .passed && report.outcome(of: .dataHash) == .passed)
        #expect(SESVerifier(roots: [setup.root]).verify(signature, document: document + [0x20]).outcome(of: .dataHash) != .passed)

        // openssl verifies the SES signature over DER(TBS_Sign) with the chip's certificate.
        try Data(tbsSign).write(to: setup.directory.appendingPathComponent("tbs_sign.der"))
        try Data(decoded.sesSignature).write(to: setup.directory.appendingPathComponent("ses.sig"))
        let checked = try await OpenSSLTool.run(["dgst", "-sm3", "-verify", "chip.pub", "-sigopt", "distid:1234567812345678",
                                                 "-signature", "ses.sig", "tbs_sign.der"], in: setup.directory)
        #expect(checked.status == 0 && checked.output.contains("Verified OK"), "\(checked.output)")
    }

    @Test("STAMP-SES refusals in the order of §8.17 change nothing: P-256 key or no seal 6985, PIN 6982, a wrong seal hash 6A80")
    func stampSESRefusals() async throws {
        let setup = try await Setup.make(pictureBytes: 200)
        defer { setup.remove() }
        let harness = setup.harness
        harness.expectSW(SealCommand.setLifecycle(.active), 0x9000)
        harness.verifyPIN()
        let good = try request(Array("doc".utf8), seal: setup.seal)
        harness.expectSW(SealCommand.stampSES(good), 0x6985, "no seal installed")
        #expect(harness.counter() == 0)

        let installed = try await Setup.make(pictureBytes: 200)
        defer { installed.remove() }
        installed.install()
        installed.activate()
        let chip = installed.harness
        let valid = try request(Array("doc".utf8), seal: installed.seal)
        let other = try SESStampRequest(stamp: valid.stamp, propertyInfo: valid.propertyInfo, sealHash: [UInt8](repeating: 7, count: 32))
        chip.expectSW(SealCommand.stampSES(other), 0x6A80, "a seal other than the installed one")
        chip.expectSW(CommandAPDU(cla: 0x80, ins: 0x5E, p1: 0, p2: 0, data: valid.stamp.encoded(), ne: 256), 0x6A80,
                      "STAMP data without 9F22 9F23")
        chip.expectSW(CommandAPDU(cla: 0x80, ins: 0x5E, p1: 0, p2: 1, data: valid.encoded(), ne: 256), 0x6A86, "P1-P2")
        chip.expectSW(SealCommand.logout(), 0x9000)
        chip.expectSW(SealCommand.stampSES(valid), 0x6982, "PIN not verified")
        #expect(chip.counter() == 0, "no refusal advanced the counter")
        chip.verifyPIN()
        chip.expectSW(SealCommand.stampSES(valid), 0x9000)
        #expect(chip.counter() == 1)

        var p256Fixture = ChipFixture()
        p256Fixture.sealKeyAlgorithm = .p256
        let p256 = try ChipHarness.active(p256Fixture)
        p256.expectSW(SealCommand.stampSES(valid), 0x6985, "P-256 seal key")
    }

    @Test("timeInfo is the stamp time as GeneralizedTime, leap days and the year 9999 bound included")
    func generalizedTime() throws {
        // Expected values from Python's datetime.utcfromtimestamp, an independent calendar.
        for (seconds, expected) in [(UInt64(0), [1970, 1, 1, 0, 0, 0]), (951_782_400, [2000, 2, 29, 0, 0, 0]),
                                    (1_765_000_000, [2025, 12, 6, 5, 46, 40]), (253_402_300_799, [9999, 12, 31, 23, 59, 59])] {
            let time = try #require(SESTimeInfo.generalizedTime(secondsSince1970: seconds))
            #expect([time.year, time.month, time.day, time.hours, time.minutes, time.seconds] == expected, "\(seconds)")
        }
        #expect(SESTimeInfo.generalizedTime(secondsSince1970: 253_402_300_800) == nil)
    }
}
