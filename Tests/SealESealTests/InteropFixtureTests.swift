import Foundation
import SealESeal
import SealGMCrypto
import Testing
import ZIPFoundation

/// The real files from another implementation (ofdrw, Apache-2.0) in ../shared/fixtures/gbt38540,
/// each giving what its NOTICE.md states. The folder sits beside the package in CI and in the
/// work tree; where it is absent these tests are skipped.
enum InteropFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/gbt38540")

    static var isPresent: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("NOTICE.md").path)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// An entry of an OFD container (a ZIP), read through ZIPFoundation.
    static func entry(_ path: String, of name: String) throws -> [UInt8] {
        let archive = try Archive(url: directory.appendingPathComponent(name), accessMode: .read)
        let entry = try #require(archive[path], "\(name) has no \(path)")
        var bytes: [UInt8] = []
        _ = try archive.extract(entry, skipCRC32: false) { bytes += $0 }
        return bytes
    }
}

@Suite(.enabled(if: InteropFixtures.isPresent, "../shared/fixtures/gbt38540 is not beside the package"))
struct InteropFixtureTests {
    let verifier = SESVerifier(roots: [])

    /// Real tax e-invoices: seal signature, stamp signature and dataHash (SM3 of Signature.xml) all verify;
    /// their roots are not configured, so the verdict is "unknown root", never "invalid".
    @Test(arguments: ["ofdrw-converter-1.ofd", "ofdrw-sign-signedFile.ofd", "ofdrw-sign-v4signed.ofd"])
    func signedInvoicesVerifyCompletely(file: String) throws {
        let signature = try SESSignature(derEncoded: InteropFixtures.entry("Doc_0/Signs/Sign_0/SignedValue.dat", of: file))
        #expect(signature.version == 4 && signature.seal.header.version == 4)
        #expect(signature.propertyInfo == "/Doc_0/Signs/Sign_0/Signature.xml")
        let document = try InteropFixtures.entry("Doc_0/Signs/Sign_0/Signature.xml", of: file)
        let report = verifier.verify(signature, document: document)
        #expect(report.outcome(of: .makerSignature) == .passed, "\(report.checks)")
        #expect(report.outcome(of: .signerSignature) == .passed, "\(report.checks)")
        #expect(report.outcome(of: .dataHash) == .passed, "\(report.checks)")
        #expect(report.outcome(of: .signerInCertificateList) == .passed, "\(report.checks)")
        #expect(report.quirks.contains { $0.kind == .pictureTypeOFD })
        #expect(report.quirks.contains { $0.kind == .explicitDefaultFalse })
        // Certificates and seal were valid at timeInfo; only the roots are missing.
        #expect(report.verdict == .unknownRoot, "\(report.checks)")
        // The document changed by one byte no longer matches dataHash.
        let changed = verifier.verify(signature, document: document + [0x20])
        #expect(changed.outcome(of: .dataHash) != .passed)
        #expect(changed.verdict == .invalid)
    }

    @Test(arguments: [("ofdrw-gm-UserV1.esl", 1), ("ofdrw-gm-UserV4.esl", 4), ("ofdrw-gm-UserV5.esl", 5)])
    func bareSealsParseAndTheirMakerSignatureVerifies(file: String, version: Int) throws {
        let seal = try SESeal(derEncoded: InteropFixtures.bytes(file))
        #expect(seal.header.version == version)
        #expect(seal.header.identifier == "ES")
        #expect(seal.picture.type == "PNG")
        #expect(seal.isVersion1Layout == (version == 1))
        #expect(seal.property.certificateListType == (version == 1 ? nil : 1))
        let report = verifier.verify(seal, at: seal.property.createDate)
        #expect(report.outcome(of: .makerSignature) == .passed, "\(report.checks)")
        // The maker's root is not configured: reported apart from a bad signature.
        #expect(report.outcome(of: .makerCertificateChain).map { if case .unknownRoot = $0 { true } else { false } } == true)
    }

    @Test(arguments: [("ofdrw-gm-SignedValueV4.dat", 4), ("ofdrw-gm-SignedValueV5.dat", 5)])
    func signaturesParseAndVerify(file: String, version: Int) throws {
        let signature = try SESSignature(derEncoded: InteropFixtures.bytes(file))
        #expect(signature.version == version)
        let report = verifier.verify(signature)
        #expect(report.outcome(of: .signerSignature) == .passed, "\(report.checks)")
        #expect(report.outcome(of: .makerSignature) == .passed, "\(report.checks)")
        #expect(report.outcome(of: .signerInCertificateList) == .passed, "\(report.checks)")
        #expect(report.outcome(of: .dataHash) == .notChecked("no document given"))
        // ofdrw made the v5 sample in 2026 with its 2020–2022 test certificates: judged at its own
        // timeInfo, both certificates had expired, so it is invalid though every signature holds.
        if version == 5 {
            #expect(report.outcome(of: .signerCertificateValidity) != .passed)
            #expect(report.verdict == .invalid)
        } else {
            #expect(report.verdict == .unknownRoot, "\(report.checks)")
        }
    }

    @Test func signerCertificateParses() throws {
        let pem = try String(contentsOf: InteropFixtures.directory.appendingPathComponent("ofdrw-gm-sign_cert.pem"), encoding: .utf8)
        let certificate = try SM2Certificate(pemRepresentation: pem)
        #expect(certificate.notBefore < certificate.notAfter)
        #expect(certificate.subjectDescription.contains("CN = Test Certificate"), "\(certificate.subjectDescription)")
        // The same ofdrw test root issued it as the signer of SignedValueV4.dat (a later certificate,
        // another key), and the root is not given: it is not self-issued.
        let signature = try SESSignature(derEncoded: InteropFixtures.bytes("ofdrw-gm-SignedValueV4.dat"))
        let signer = try SM2Certificate(derEncoded: signature.signerCertificate)
        #expect(certificate.issuerDER == signer.issuerDER)
        #expect(!certificate.isSelfIssued)
    }

    @Test func otherVendorsSealParsesButItsMakerSignatureDoesNotVerify() throws {
        let seal = try SESeal(derEncoded: InteropFixtures.bytes("ofdrw-sign-SESealData.DER"))
        #expect(seal.header.vendorID == "Vid HebeiGede")
        #expect(seal.extensions.count == 3)
        #expect(seal.quirks.contains { $0.kind == .explicitDefaultFalse })
        let report = verifier.verify(seal, at: seal.property.createDate)
        guard case .failed = report.outcome(of: .makerSignature) else {
            Issue.record("the maker signature of SESealData.DER verified: \(report.checks)")
            return
        }
        #expect(report.verdict == .invalid)
    }
}
