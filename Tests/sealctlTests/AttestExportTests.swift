import Foundation
import Testing

@Suite("sealctl attest and export")
struct AttestExportTests {
    struct Statement: Decodable { let chipID: String; let counter: UInt32; let nonce: String; let keyPolicy: [String]; let sealPublicKey: String }
    struct AttestOutput: Decodable { let statement: Statement; let signedByDeviceCertificate: Bool }
    struct Check: Decodable { let id: String; let outcome: String }
    struct VerifyOutput: Decodable { let valid: Bool; let checks: [Check]; let statement: Statement? }

    @Test func attestAndVerifyOffline() async throws {
        let sandbox = try Sandbox()
        let info = try await sandbox.info()
        let nonce = "00112233445566778899AABBCCDDEEFF"
        let attest = try await sandbox.run(["attest", "--nonce", nonce, "--out", sandbox.path("att.json"), "--json"])
        #expect(attest.status == 0, "\(attest)")
        let read = try attest.decode(AttestOutput.self)
        #expect(read.signedByDeviceCertificate)
        #expect(read.statement.chipID == info.chipID && read.statement.nonce == nonce && read.statement.counter == info.counter)
        #expect(read.statement.sealPublicKey == info.sealPublicKey)

        let verify = try await sandbox.run(["attest", "verify", sandbox.path("att.json"), "--vendor-root", Sandbox.vendorRoot,
                                            "--nonce", nonce, "--json"])
        #expect(verify.status == 0, "\(verify)")
        let report = try verify.decode(VerifyOutput.self)
        #expect(report.valid && report.statement?.chipID == info.chipID)
        #expect(report.checks.allSatisfy { $0.outcome == "passed" }, "\(report.checks)")

        let text = try await sandbox.run(["attest", "verify", sandbox.path("att.json"), "--vendor-root", Sandbox.vendorRoot, "--nonce", nonce])
        #expect(text.status == 0 && text.stdout.contains("VALID: chip \(info.chipID)"), "\(text)")
    }

    @Test func staleNonceFails() async throws {
        let sandbox = try Sandbox()
        let attest = try await sandbox.run(["attest", "--nonce", "0102", "--out", sandbox.path("att.json")])
        #expect(attest.status == 0, "\(attest)")
        let verify = try await sandbox.run(["attest", "verify", sandbox.path("att.json"), "--vendor-root", Sandbox.vendorRoot,
                                            "--nonce", "0103", "--json"])
        #expect(verify.status == 1)
        let report = try verify.decode(VerifyOutput.self)
        #expect(!report.valid && report.checks.first { $0.id == "nonce" }?.outcome == "failed")
    }

    @Test func tamperedStatementFails() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.run(["attest", "--nonce", "01", "--out", sandbox.path("att.json")]).status == 0)
        var file = try #require(try JSONSerialization.jsonObject(with: try sandbox.read("att.json")) as? [String: Any])
        let statement = try #require(file["statement"] as? String)
        // The counter byte near the end of the statement: 00 → 01 (the format stays valid).
        let index = statement.index(statement.endIndex, offsetBy: -12)
        file["statement"] = statement.replacingCharacters(in: index...index, with: statement[index] == "0" ? "1" : "0")
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: sandbox.path("tampered.json")))
        let verify = try await sandbox.run(["attest", "verify", sandbox.path("tampered.json"), "--vendor-root", Sandbox.vendorRoot, "--json"])
        #expect(verify.status == 1, "\(verify)")
        let report = try verify.decode(VerifyOutput.self)
        #expect(report.checks.first { $0.id == "attestation-signature" }?.outcome == "failed")
    }

    @Test func untrustedRootFails() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.run(["attest", "--out", sandbox.path("att.json")]).status == 0)
        // Another self-signed root, made by openssl.
        let root = try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                      "-keyout", sandbox.path("other-key.pem"), "-subj", "/CN=Other Vendor", "-days", "1"],
                                     sandbox: sandbox)
        try root.standardOutput.write(to: URL(fileURLWithPath: sandbox.path("other-root.pem")))
        let verify = try await sandbox.run(["attest", "verify", sandbox.path("att.json"), "--vendor-root", sandbox.path("other-root.pem"), "--json"])
        #expect(verify.status == 1, "\(verify)")
        let report = try verify.decode(VerifyOutput.self)
        #expect(report.checks.first { $0.id == "device-certificate-chain" }?.outcome == "failed")
        #expect(report.checks.first { $0.id == "nonce" }?.outcome == "skipped")
    }

    @Test func vendorRootWithoutACertificateIsRefused() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.run(["attest", "--out", sandbox.path("att.json")]).status == 0)
        let verify = try await sandbox.run(["attest", "verify", sandbox.path("att.json"), "--vendor-root", Sandbox.issuerKey])
        #expect(verify.status == 1)
        #expect(verify.stderrLines.count == 1 && verify.standardError.contains("issuer-key.pem"), "\(verify)")
    }

    // MARK: Export, checked by openssl

    @Test func certificateAsPEMAndDER() async throws {
        let sandbox = try Sandbox()
        let info = try await sandbox.info()
        let pem = try await sandbox.run(["export", "certificate"])
        #expect(pem.status == 0, "\(pem)")
        try pem.standardOutput.write(to: URL(fileURLWithPath: sandbox.path("cert.pem")))

        let subject = try await openssl(["x509", "-in", sandbox.path("cert.pem"), "-noout", "-subject", "-nameopt", "RFC2253"], sandbox: sandbox)
        #expect(subject.stdout.contains("serialNumber=\(info.chipID)"), "\(subject)")
        let chain = try await openssl(["verify", "-CAfile", Sandbox.vendorRoot, sandbox.path("cert.pem")], sandbox: sandbox)
        #expect(chain.stdout.contains(": OK"), "\(chain)")

        let der = try await sandbox.run(["export", "certificate", "--der", "--out", sandbox.path("cert.der")])
        #expect(der.status == 0, "\(der)")
        let converted = try await openssl(["x509", "-inform", "DER", "-in", sandbox.path("cert.der"), "-outform", "PEM"], sandbox: sandbox)
        #expect(converted.stdout == pem.stdout)
    }

    @Test func publicKeyAsSubjectPublicKeyInfo() async throws {
        let sandbox = try Sandbox()
        let info = try await sandbox.info()
        let sealKey = try #require(info.sealPublicKey)
        let pem = try await sandbox.run(["export", "public-key", "--out", sandbox.path("seal.pem")])
        #expect(pem.status == 0, "\(pem)")
        let text = try await openssl(["pkey", "-pubin", "-in", sandbox.path("seal.pem"), "-noout", "-text"], sandbox: sandbox)
        #expect(text.stdout.contains("prime256v1") || text.stdout.contains("P-256"), "\(text)")
        // openssl prints the point as colon-separated hex under "pub:".
        let hex = text.stdout.split(separator: "\n").drop { !$0.hasPrefix("pub:") }.dropFirst()
            .prefix { $0.hasPrefix(" ") }.joined().filter(\.isHexDigit).uppercased()
        #expect(hex == sealKey, "openssl read \(hex)")

        let der = try await sandbox.run(["export", "public-key", "--der", "--out", sandbox.path("seal.der")])
        #expect(der.status == 0)
        let opensslDER = try await openssl(["pkey", "-pubin", "-in", sandbox.path("seal.pem"), "-outform", "DER"], sandbox: sandbox)
        #expect(opensslDER.standardOutput == (try sandbox.read("seal.der")))
    }

    @Test func exportJSONDescribesTheExport() async throws {
        let sandbox = try Sandbox()
        struct Out: Decodable { let encoding: String; let bytes: Int; let sha256: String; let data: String?; let out: String? }
        let result = try await sandbox.run(["export", "certificate", "--der", "--json"])
        #expect(result.status == 0, "\(result)")
        let out = try result.decode(Out.self)
        let base64 = try #require(out.data)
        let der = try #require(Data(base64Encoded: base64))
        #expect(out.encoding == "der" && out.bytes == der.count && out.out == nil)
        try der.write(to: URL(fileURLWithPath: sandbox.path("c.der")))
        let digest = try await openssl(["dgst", "-sha256", "-r", sandbox.path("c.der")], sandbox: sandbox)
        #expect(digest.stdout.uppercased().hasPrefix(out.sha256), "\(digest)")
    }
}

/// Runs the system's openssl — an implementation independent of SealKit's — in the sandbox.
func openssl(_ arguments: [String], sandbox: Sandbox) async throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    process.currentDirectoryURL = sandbox.directory
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errors = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let result = CommandResult(status: process.terminationStatus, standardOutput: data,
                               standardError: String(decoding: errors, as: UTF8.self))
    guard result.status == 0 else { throw SandboxError("openssl \(arguments.joined(separator: " ")): \(result)") }
    return result
}
