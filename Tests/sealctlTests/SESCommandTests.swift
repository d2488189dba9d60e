import Foundation
import SealESeal
import SealGMCrypto
import Testing

/// `sealctl ses verify` over the real files of ../shared/fixtures/gbt38540 (skipped where that
/// folder is absent): exit 2 when everything is intact but the root is not given, 1 when invalid.
@Suite(.enabled(if: SESFixtures.arePresent, "../shared/fixtures/gbt38540 is not beside the package"))
struct SESCommandTests {
    func fixture(_ name: String) -> String { SESFixtures.directory.appendingPathComponent(name).path }

    @Test func intactSignatureWithoutItsRootExits2() async throws {
        let result = try await Sandbox().run(["ses", "verify", fixture("ofdrw-gm-SignedValueV4.dat")])
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.contains("signerSignature: passed") && result.stdout.contains("makerSignature: passed"))
        #expect(result.stdout.contains("UNKNOWN ROOT"))
    }

    @Test func bareSealIsJudgedAtTheGivenTime() async throws {
        let sandbox = try Sandbox()
        let then = try await sandbox.run(["ses", "verify", fixture("ofdrw-gm-UserV4.esl"), "--at", "2021-01-01T00:00:00Z"])
        #expect(then.status == 2, "\(then)")
        // Today the seal and its maker certificate have expired.
        let now = try await sandbox.run(["ses", "verify", fixture("ofdrw-gm-UserV4.esl"), "--json"])
        #expect(now.status == 1, "\(now)")
        #expect(now.stdout.contains("\"verdict\" : \"INVALID\""), "\(now.stdout)")
    }

    @Test func badMakerSignatureExits1() async throws {
        let result = try await Sandbox().run(["ses", "verify", fixture("ofdrw-sign-SESealData.DER"), "--at", "2020-12-01T00:00:00Z"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("makerSignature: FAILED"))
        #expect(result.stdout.contains("accepted: explicitDefaultFalse"))
    }

    @Test func unreadableInputIsOneLineAndExit1() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write("junk.der", "not DER")
        let result = try await sandbox.run(["ses", "verify", path])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrLines.count == 1, "\(result)")
        let usage = try await sandbox.run(["ses", "verify", path, "--at", "soon"])
        #expect(usage.status == 64, "\(usage)")
    }
}

enum SESFixtures {
    static let directory = Sandbox.repository.deletingLastPathComponent().appendingPathComponent("shared/fixtures/gbt38540")
    static var arePresent: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("NOTICE.md").path) }
}

/// `sealctl ses verify --root`: a v4 seal SealKit builds under a root the openssl command line made
/// verifies (exit 0) with that root, and is intact but unknown (exit 2) under another.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "the openssl command line is not installed"))
struct SESCommandRootTests {
    @Test func sealUnderTheGivenRootExits0() async throws {
        let sandbox = try Sandbox()
        let id = "distid:1234567812345678"
        var steps: [[String]] = []
        for name in ["root", "other"] {
            steps.append(["genpkey", "-algorithm", "SM2", "-out", "\(name).key"])
            steps.append(["req", "-x509", "-new", "-key", "\(name).key", "-sm3", "-sigopt", id,
                          "-subj", "/C=CN/O=SealKit Test/CN=\(name)", "-days", "30", "-out", "\(name).pem"])
        }
        steps.append(["genpkey", "-algorithm", "SM2", "-out", "maker.key"])
        steps.append(["req", "-new", "-key", "maker.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=maker", "-out", "maker.csr"])
        steps.append(["x509", "-req", "-in", "maker.csr", "-vfyopt", id, "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "3",
                      "-sm3", "-sigopt", id, "-days", "20", "-out", "maker.pem"])
        for step in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = step
            process.currentDirectoryURL = sandbox.directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "openssl \(step.joined(separator: " "))")
        }
        let maker = try SM2Certificate(pemRepresentation: String(decoding: sandbox.read("maker.pem"), as: UTF8.self))
        let makerKey = try SM2PrivateKey(pemRepresentation: String(decoding: sandbox.read("maker.key"), as: UTF8.self))
        let start = maker.notBefore
        let seal = try SESealBuilder(vendorID: "SealKit", sealID: "CLI-1", type: 1, name: "测试章", signerCertificates: [maker.derRepresentation],
                                     createDate: start, validStart: start, validEnd: start.addingTimeInterval(10 * 86_400),
                                     picture: SESSealPicture(type: "PNG", data: [0x89, 0x50, 0x4E, 0x47], width: 30, height: 30))
            .build(makerCertificate: maker, makerKey: makerKey)
        try Data(seal.derRepresentation).write(to: sandbox.directory.appendingPathComponent("seal.esl"))
        let at = String(Int(start.timeIntervalSince1970) + 60)
        let valid = try await sandbox.run(["ses", "verify", "seal.esl", "--root", "root.pem", "--at", at])
        #expect(valid.status == 0, "\(valid)")
        #expect(valid.stdout.hasSuffix("VALID\n"), "\(valid)")
        let unknown = try await sandbox.run(["ses", "verify", "seal.esl", "--root", "other.pem", "--at", at])
        #expect(unknown.status == 2, "\(unknown)")
        // --intermediate is read; a certificate that issued nothing in the chain links nothing.
        let viaLeaf = try await sandbox.run(["ses", "verify", "seal.esl", "--root", "other.pem", "--intermediate", "maker.pem", "--at", at])
        #expect(viaLeaf.status == 2, "\(viaLeaf)")
        let notAPEM = try await sandbox.run(["ses", "verify", "seal.esl", "--root", "seal.esl", "--at", at])
        #expect(notAPEM.status == 1 && notAPEM.stderrLines.count == 1, "\(notAPEM)")
    }
}
