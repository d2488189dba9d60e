import Foundation
import SealESeal
import SealGMCrypto
import Testing

/// The SM2 chip from the command line: `sealsim personalize --seal-algorithm sm2`, a GB/T 38540
/// seal made for the chip's key and installed with `sealsim personalize --ses-seal`, then
/// `sealctl ses stamp` writing an SES_Signature that `sealctl ses verify` accepts under the root.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "the openssl command line is not installed"))
struct SESStampCommandTests {
    private func openssl(_ steps: [[String]], in directory: URL) async throws {
        for step in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = step
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let status = try await Sandbox.wait(for: process, timeout: .seconds(60))
            try #require(status == 0, "openssl \(step.joined(separator: " "))")
        }
    }

    @Test func sesStampWritesASignatureThatVerifies() async throws {
        let sandbox = try Sandbox()
        let state = sandbox.path("sm2.nvm")
        let made = try await sandbox.run(["manufacture", "--state", state], executable: .sealsim)
        try #require(made.status == 0, "\(made)")
        let personalized = try await sandbox.run(
            ["personalize", "--state", state, "--seal-algorithm", "sm2", "--organization", "SealKit Test", "--seal-name", "SM2 seal",
             "--feature-hash", String(repeating: "ab", count: 32), "--pin", "123456", "--puk", "12345678", "--json"],
            executable: .sealsim)
        try #require(personalized.status == 0, "\(personalized)")
        let keyHex = try #require(try personalized.jsonLines().first?["sealPublicKey"] as? String)
        let key = try SM2PublicKey(x963Representation: stride(from: 0, to: keyHex.count, by: 2).map {
            UInt8(keyHex[keyHex.index(keyHex.startIndex, offsetBy: $0)...].prefix(2), radix: 16) ?? 0
        })
        try sandbox.write("chip.pub", key.pemRepresentation)

        let id = "distid:1234567812345678"
        try await openssl([
            ["genpkey", "-algorithm", "SM2", "-out", "root.key"],
            ["req", "-x509", "-new", "-key", "root.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=root", "-days", "30", "-out", "root.pem"],
            ["genpkey", "-algorithm", "SM2", "-out", "maker.key"],
            ["req", "-new", "-key", "maker.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=maker", "-out", "maker.csr"],
            ["x509", "-req", "-in", "maker.csr", "-vfyopt", id, "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "3",
             "-sm3", "-sigopt", id, "-days", "20", "-out", "maker.pem"],
            ["genpkey", "-algorithm", "SM2", "-out", "request.key"],
            ["req", "-new", "-key", "request.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=chip", "-out", "chip.csr"],
            ["x509", "-req", "-in", "chip.csr", "-vfyopt", id, "-force_pubkey", "chip.pub", "-CA", "root.pem", "-CAkey", "root.key",
             "-set_serial", "4", "-sm3", "-sigopt", id, "-days", "20", "-out", "chip.pem"],
        ], in: sandbox.directory)
        func text(_ name: String) throws -> String { String(decoding: try sandbox.read(name), as: UTF8.self) }
        let now = Date()
        let seal = try SESealBuilder(
            vendorID: "SealKit", sealID: "CLI-0001", type: 1, name: "SM2 seal",
            signerCertificates: [try SM2Certificate(pemRepresentation: text("chip.pem")).derRepresentation], createDate: now,
            validStart: now.addingTimeInterval(-3600), validEnd: now.addingTimeInterval(86_400),
            picture: SESSealPicture(type: "PNG", data: [UInt8](repeating: 0x42, count: 16_000), width: 40, height: 40)
        ).build(makerCertificate: try SM2Certificate(pemRepresentation: text("maker.pem")),
                makerKey: try SM2PrivateKey(pemRepresentation: text("maker.key")))
        try Data(seal.derRepresentation).write(to: sandbox.directory.appendingPathComponent("seal.esl"))

        let installed = try await sandbox.run(["personalize", "--state", state, "--ses-seal", sandbox.path("seal.esl"), "--activate"],
                                              executable: .sealsim)
        #expect(installed.status == 0, "\(installed)")
        #expect(installed.stdout.contains("read it back identical"))

        let document = try sandbox.write("Signature.xml", "<Signature>SealKit</Signature>")
        let stamped = try await sandbox.run(["ses", "stamp", "--token-state", state, "--pin", "123456", "--document", document,
                                             "--property-info", "/Doc_0/Signs/Sign_0/Signature.xml", "--out", sandbox.path("sig.der")])
        #expect(stamped.status == 0, "\(stamped)")
        let verified = try await sandbox.run(["ses", "verify", sandbox.path("sig.der"), "--root", sandbox.path("root.pem"),
                                              "--document", document])
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout.contains("VALID"))
        let signature = try SESSignature(derEncoded: [UInt8](try sandbox.read("sig.der")))
        #expect(signature.extensions.map(\.oid) == ["1.3.6.1.4.1.32473.38540.1"])
    }
}
