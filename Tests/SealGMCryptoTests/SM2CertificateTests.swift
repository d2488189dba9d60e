import SealTestSupport
import Foundation
import SealGMCrypto
import Testing

@Suite struct SM2CertificateTests {
    /// A root and a leaf made and signed by the openssl command line (SM2-with-SM3, default ID).
    @Test(.enabled(if: OpenSSLCommandLine.isAvailable))
    func certificatesTheOpenSSLCommandLineIssues() throws {
        let directory = try OpenSSLCommandLine.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let id = "distid:1234567812345678"
        for step in [
            ["genpkey", "-algorithm", "SM2", "-out", "root.key"],
            ["req", "-x509", "-new", "-key", "root.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=Root",
             "-days", "30", "-out", "root.pem"],
            ["genpkey", "-algorithm", "SM2", "-out", "leaf.key"],
            ["req", "-new", "-key", "leaf.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=Leaf", "-out", "leaf.csr"],
            ["x509", "-req", "-in", "leaf.csr", "-vfyopt", id, "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "7",
             "-sm3", "-sigopt", id, "-days", "10", "-out", "leaf.pem"],
            ["x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der"],
        ] {
            let result = try OpenSSLCommandLine.run(step, in: directory)
            try #require(result.status == 0, "openssl \(step.joined(separator: " ")): \(result.output)")
        }
        let root = try SM2Certificate(pemRepresentation: String(contentsOf: directory.appendingPathComponent("root.pem"), encoding: .utf8))
        let leafDER = try [UInt8](Data(contentsOf: directory.appendingPathComponent("leaf.der")))
        let leaf = try SM2Certificate(derEncoded: leafDER)
        #expect(leaf.derRepresentation == leafDER)
        #expect(leaf.subjectDescription.contains("Leaf"))
        #expect(leaf.isIssued(by: root))
        #expect(root.isIssued(by: root) && root.isSelfIssued)
        #expect(!root.isIssued(by: leaf))
        let days = leaf.notAfter.timeIntervalSince(leaf.notBefore) / 86_400
        #expect(days == 10)
        #expect(leaf.isValid(at: leaf.notBefore.addingTimeInterval(1)))
        #expect(!leaf.isValid(at: leaf.notAfter.addingTimeInterval(1)))

        // One changed byte inside the TBSCertificate (in the serial number 7): the signature fails.
        var tampered = leafDER
        let serial: [UInt8] = [0x02, 0x01, 0x07]
        let at = try #require((0..<tampered.count - 2).first { Array(tampered[$0..<$0 + 3]) == serial })
        tampered[at + 2] = 0x08
        #expect(try !SM2Certificate(derEncoded: tampered).isIssued(by: root))

        // The leaf's key verifies what the leaf's private key (written by openssl) signs.
        let leafKey = try SM2PrivateKey(pemRepresentation: String(contentsOf: directory.appendingPathComponent("leaf.key"), encoding: .utf8))
        let message = Array("seal".utf8)
        #expect(leaf.publicKey.isValidSignature(try leafKey.signature(for: message), for: message))
    }

    @Test func refusesWhatIsNotOneCertificate() throws {
        #expect(throws: GMCryptoError(code: .invalidCertificate, reason: "")) { try SM2Certificate(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x00]) }
        #expect(throws: GMCryptoError(code: .invalidCertificate, reason: "")) { try SM2Certificate(pemRepresentation: "") }
    }
}
