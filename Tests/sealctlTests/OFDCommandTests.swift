import Foundation
import SealESeal
import SealGMCrypto
import Testing
import ZIPFoundation

/// `sealctl ofd verify` over the signed invoices of ../shared/fixtures/gbt38540 (skipped where
/// that folder is absent): intact, roots not given, exit 2.
@Suite(.enabled(if: SESFixtures.arePresent, "../shared/fixtures/gbt38540 is not beside the package"))
struct OFDVerifyFixtureTests {
    @Test func signedInvoiceWithoutItsRootExits2() async throws {
        let path = SESFixtures.directory.appendingPathComponent("ofdrw-converter-1.ofd").path
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["ofd", "verify", path])
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.components(separatedBy: "\n").filter { $0.contains("reference /") && $0.hasSuffix(": passed") }.count == 13,
                "\(result.stdout)")
        #expect(result.stdout.contains("SES dataHash: passed"), "\(result.stdout)")
        #expect(result.stdout.hasSuffix("UNKNOWN ROOT\n"), "\(result.stdout)")
        let json = try await sandbox.run(["ofd", "verify", path, "--json"])
        #expect(json.status == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: json.standardOutput) as? [String: Any])
        #expect(object["verdict"] as? String == "UNKNOWN ROOT")
        let signatures = try #require(object["signatures"] as? [[String: Any]])
        #expect(signatures.count == 1 && signatures.first?["id"] as? String == "2")
        #expect((signatures.first?["protectedPaths"] as? [String])?.count == 13)
    }

    @Test func unreadableDocumentIsOneLineAndExit1() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write("junk.ofd", "not a zip")
        let result = try await sandbox.run(["ofd", "verify", path])
        #expect(result.status == 1 && result.stderrLines.count == 1, "\(result)")
    }
}

/// `sealctl ofd sign` then `sealctl ofd verify`: a seal built under a root the openssl command line
/// made; signed once and twice, every signature verifies to that root (exit 0), and is intact but
/// unknown under another root (exit 2).
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "the openssl command line is not installed"))
struct OFDSignCommandTests {
    @Test func signTwiceThenVerify() async throws {
        let sandbox = try Sandbox()
        let id = "distid:1234567812345678"
        var steps: [[String]] = []
        for name in ["root", "other"] {
            steps.append(["genpkey", "-algorithm", "SM2", "-out", "\(name).key"])
            steps.append(["req", "-x509", "-new", "-key", "\(name).key", "-sm3", "-sigopt", id,
                          "-subj", "/C=CN/O=SealKit Test/CN=\(name)", "-days", "30", "-out", "\(name).pem"])
        }
        steps.append(["genpkey", "-algorithm", "SM2", "-out", "signer.key"])
        steps.append(["req", "-new", "-key", "signer.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=signer", "-out", "signer.csr"])
        steps.append(["x509", "-req", "-in", "signer.csr", "-vfyopt", id, "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "5",
                      "-sm3", "-sigopt", id, "-days", "20", "-out", "signer.pem"])
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
        // The signer is also the seal's maker here: one certificate, in the seal's list.
        let signer = try SM2Certificate(pemRepresentation: String(decoding: sandbox.read("signer.pem"), as: UTF8.self))
        let signerKey = try SM2PrivateKey(pemRepresentation: String(decoding: sandbox.read("signer.key"), as: UTF8.self))
        let start = signer.notBefore
        let seal = try SESealBuilder(vendorID: "SealKit", sealID: "OFD-CLI-1", type: 1, name: "测试章", signerCertificates: [signer.derRepresentation],
                                     createDate: start, validStart: start, validEnd: start.addingTimeInterval(10 * 86_400),
                                     picture: SESSealPicture(type: "PNG", data: [0x89, 0x50, 0x4E, 0x47], width: 30, height: 30))
            .build(makerCertificate: signer, makerKey: signerKey)
        try Data(seal.derRepresentation).write(to: sandbox.directory.appendingPathComponent("seal.esl"))
        try Data(unsignedDocument()).write(to: sandbox.directory.appendingPathComponent("doc.ofd"))

        let sign = ["--seal", "seal.esl", "--key", "signer.key", "--cert", "signer.pem"]
        let first = try await sandbox.run(["ofd", "sign", "doc.ofd", "--page", "1", "--x", "100", "--y", "50"] + sign + ["--out", "once.ofd"])
        #expect(first.status == 0, "\(first)")
        let valid = try await sandbox.run(["ofd", "verify", "once.ofd", "--root", "root.pem"])
        #expect(valid.status == 0, "\(valid)")
        #expect(valid.stdout.hasSuffix("\nVALID\n"), "\(valid)")
        let second = try await sandbox.run(["ofd", "sign", "once.ofd", "--page", "1", "--x", "20", "--y", "50"] + sign + ["--out", "twice.ofd"])
        #expect(second.status == 0, "\(second)")
        let both = try await sandbox.run(["ofd", "verify", "twice.ofd", "--root", "root.pem", "--json"])
        #expect(both.status == 0, "\(both)")
        let object = try #require(try JSONSerialization.jsonObject(with: both.standardOutput) as? [String: Any])
        let verdicts = (object["signatures"] as? [[String: Any]])?.compactMap { $0["verdict"] as? String }
        #expect(verdicts == ["VALID", "VALID"], "\(both.stdout)")
        let unknown = try await sandbox.run(["ofd", "verify", "twice.ofd", "--root", "other.pem"])
        #expect(unknown.status == 2, "\(unknown)")

        // The HTML report: one section per signature with its checks, the verdict as the exit status says.
        let html = try await sandbox.run(["ofd", "verify", "twice.ofd", "--root", "root.pem", "--html", "twice.html"])
        #expect(html.status == 0, "\(html)")
        let page = String(decoding: try sandbox.read("twice.html"), as: UTF8.self)
        #expect(page.contains(#"id="verdict">VALID — every signature verifies and chains to a given root</p>"#), "\(page)")
        #expect(page.components(separatedBy: #"<section class="signature""#).count == 3, "\(page)")
        #expect(page.components(separatedBy: #"<tr><td><code>signerSignature</code></td><td class="badge passed">passed</td>"#).count == 3, "\(page)")
        #expect(page.components(separatedBy: #"<tr><td><code>dataHash</code></td><td class="badge passed">passed</td>"#).count == 3, "\(page)")
        #expect(page.contains("Content-Security-Policy") && !page.contains("<script"), "\(page)")
        let unknownHTML = try await sandbox.run(["ofd", "verify", "twice.ofd", "--root", "other.pem", "--html", "unknown.html"])
        #expect(unknownHTML.status == 2, "\(unknownHTML)")
        #expect(String(decoding: try sandbox.read("unknown.html"), as: UTF8.self).contains(#"class="verdict unknown" id="verdict">UNKNOWN ROOT"#))

        // Usage errors exit 64; a page that does not exist is one line and exit 1.
        let noPage = try await sandbox.run(["ofd", "sign", "doc.ofd", "--page", "0", "--x", "1", "--y", "1"] + sign + ["--out", "x.ofd"])
        #expect(noPage.status == 64, "\(noPage)")
        let farPage = try await sandbox.run(["ofd", "sign", "doc.ofd", "--page", "9", "--x", "1", "--y", "1"] + sign + ["--out", "x.ofd"])
        #expect(farPage.status == 1 && farPage.stderrLines.count == 1, "\(farPage)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.directory.appendingPathComponent("x.ofd").path))
    }

    /// A one-page OFD: OFD.xml, Document.xml and the page's content.
    func unsignedDocument() throws -> [UInt8] {
        let namespace = "http://www.ofdspec.org/2016"
        let entries = [
            ("OFD.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ofd:OFD xmlns:ofd=\"\(namespace)\" DocType=\"OFD\" Version=\"1.1\"><ofd:DocBody><ofd:DocInfo><ofd:DocID>cli</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"),
            ("Doc_0/Document.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ofd:Document xmlns:ofd=\"\(namespace)\"><ofd:CommonData><ofd:MaxUnitID>3</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID=\"1\" BaseLoc=\"Pages/Page_0/Content.xml\"/></ofd:Pages></ofd:Document>"),
            ("Doc_0/Pages/Page_0/Content.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ofd:Page xmlns:ofd=\"\(namespace)\"><ofd:Content><ofd:Layer ID=\"2\"/></ofd:Content></ofd:Page>"),
        ]
        let archive = try Archive(data: Data(), accessMode: .create)
        for (name, text) in entries {
            let data = Data(text.utf8)
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        return [UInt8](try #require(archive.data))
    }
}
