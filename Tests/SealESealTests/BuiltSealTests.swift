import SealTestSupport
import Foundation
import SealESeal
import SealGMCrypto
import SwiftASN1
import Testing

/// Seals SealKit builds, and signatures assembled around them here, checked by SealKit's verifier
/// and by the openssl command line, with a PKI that openssl made.
@Suite(.enabled(if: OpenSSLCommandLine.isAvailable, "the openssl command line is not installed"))
struct BuiltSealTests {
    // A 1×1 PNG (its signature bytes and IHDR are all the builder looks at: nothing).
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0x42, count: 40)

    func builder(_ pki: SM2TestPKI) -> SESealBuilder {
        let start = pki.signer.notBefore
        return SESealBuilder(vendorID: "SealKit", sealID: "SEALKIT-TEST-0001", type: 1, name: "SealKit 测试专用章",
                             signerCertificates: [pki.signer.derRepresentation], createDate: start,
                             validStart: start, validEnd: start.addingTimeInterval(180 * 86_400),
                             picture: SESSealPicture(type: "PNG", data: Self.png, width: 40, height: 40))
    }

    @Test func builtSealVerifiesToItsRoot() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let seal = try builder(pki).build(makerCertificate: pki.maker, makerKey: pki.makerKey)
        #expect(seal.header == SESHeader(identifier: "ES", version: 4, vendorID: "SealKit"))
        #expect(seal.property.name == "SealKit 测试专用章")
        #expect(seal.quirks.isEmpty)
        let time = seal.property.createDate.addingTimeInterval(3600)
        #expect(SESVerifier(roots: [pki.root]).verify(seal, at: time).verdict == .valid)
        // No root, or another root: intact but unknown, not invalid.
        #expect(SESVerifier(roots: []).verify(seal, at: time).verdict == .unknownRoot)
        let other = SESVerifier(roots: [pki.otherRoot]).verify(seal, at: time)
        #expect(other.verdict == .unknownRoot)
        #expect(other.outcome(of: .makerSignature) == .passed)
        // Outside the seal's validity period.
        let late = SESVerifier(roots: [pki.root]).verify(seal, at: seal.property.validEnd.addingTimeInterval(1))
        #expect(late.verdict == .invalid)
        #expect(late.outcome(of: .sealValidityPeriod) != .passed)
    }

    @Test func openSSLShowsTheStandardsStructureAndVerifiesTheMakerSignature() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let seal = try builder(pki).build(makerCertificate: pki.maker, makerKey: pki.makerKey)
        try pki.write(seal.derRepresentation, to: "seal.der")
        let parsed = try OpenSSLCommandLine.run(["asn1parse", "-inform", "DER", "-in", "seal.der"], in: pki.directory)
        try #require(parsed.status == 0, "\(parsed.output)")
        // depth and tag of every element, as openssl prints them
        let elements = parsed.output.split(separator: "\n").map { line -> String in
            let depth = line.split(separator: "d=").dropFirst().first?.prefix { $0.isNumber } ?? ""
            let afterForm = line.split(separator: "cons: ").dropFirst().first ?? line.split(separator: "prim: ").dropFirst().first ?? ""
            let tag = afterForm.split(separator: " ").first ?? ""
            return "\(depth) \(tag)"
        }
        let expected = [
            "0 SEQUENCE",                      // SESeal
            "1 SEQUENCE",                      //   SES_SealInfo
            "2 SEQUENCE",                      //     SES_Header
            "3 IA5STRING", "3 INTEGER", "3 IA5STRING",     // ID, version, Vid
            "2 IA5STRING",                     //     esID
            "2 SEQUENCE",                      //     SES_ESPropertyInfo
            "3 INTEGER", "3 UTF8STRING", "3 INTEGER",       // type, name, certListType
            "3 SEQUENCE", "4 OCTET",           //       certList of certificates
            "3 GENERALIZEDTIME", "3 GENERALIZEDTIME", "3 GENERALIZEDTIME",
            "2 SEQUENCE",                      //     SES_ESPictrueInfo
            "3 IA5STRING", "3 OCTET", "3 INTEGER", "3 INTEGER",
            "1 OCTET",                         //   cert (maker)
            "1 OBJECT",                        //   signAlgID
            "1 BIT",                           //   signedValue
        ]
        #expect(elements == expected, "\(parsed.output)")
        #expect(parsed.output.contains(":ES") && parsed.output.contains("INTEGER           :04"))
        #expect(parsed.output.contains(":SM2-with-SM3"))

        // openssl verifies the maker's signature over SES_SealInfo with the maker certificate's key.
        try pki.write(seal.makerSignedBytes, to: "sealinfo.der")
        try pki.write(seal.makerSignature, to: "signature.der")
        #expect(seal.derRepresentation[4..<(4 + seal.makerSignedBytes.count)].elementsEqual(seal.makerSignedBytes))
        try pki.write(Array(pki.maker.publicKey.pemRepresentation.utf8), to: "maker-public.pem")
        let verified = try OpenSSLCommandLine.run(["dgst", "-sm3", "-verify", "maker-public.pem", "-sigopt", "distid:1234567812345678",
                                                   "-signature", "signature.der", "sealinfo.der"], in: pki.directory)
        #expect(verified.status == 0 && verified.output.contains("Verified OK"), "\(verified.output)")
    }

    /// A certificate "issued" by the signer's (end-entity) key does not chain through it, even when
    /// the signer certificate is given as a root or an intermediate.
    @Test func onlyCACertificatesIssue() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        #expect(pki.root.isCertificateAuthority && !pki.signer.isCertificateAuthority)
        let id = "distid:1234567812345678"
        for step in [["genpkey", "-algorithm", "SM2", "-out", "rogue.key"],
                     ["req", "-new", "-key", "rogue.key", "-sm3", "-sigopt", id, "-subj", "/C=CN/O=SealKit Test/CN=rogue", "-out", "rogue.csr"],
                     ["x509", "-req", "-in", "rogue.csr", "-vfyopt", id, "-CA", "signer.pem", "-CAkey", "signer.key", "-set_serial", "99",
                      "-sm3", "-sigopt", id, "-days", "30", "-out", "rogue.pem"]] {
            let result = try OpenSSLCommandLine.run(step, in: pki.directory)
            try #require(result.status == 0, "\(result.output)")
        }
        let rogue = try SM2Certificate(pemRepresentation: String(contentsOf: pki.directory.appendingPathComponent("rogue.pem"), encoding: .utf8))
        let rogueKey = try SM2PrivateKey(pemRepresentation: String(contentsOf: pki.directory.appendingPathComponent("rogue.key"), encoding: .utf8))
        #expect(rogue.isIssued(by: pki.signer))
        let seal = try builder(pki).build(makerCertificate: rogue, makerKey: rogueKey)
        let time = seal.property.createDate.addingTimeInterval(60)
        for verifier in [SESVerifier(roots: [pki.signer]), SESVerifier(roots: [pki.root], intermediates: [pki.signer])] {
            let report = verifier.verify(seal, at: time)
            #expect(report.outcome(of: .makerSignature) == .passed)
            #expect(report.outcome(of: .makerCertificateChain) != .passed)
            #expect(report.verdict == .invalid, "\(report.checks)")
        }
    }

    @Test func builderRefusesWhatTheStandardDoesNotAllow() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        var bad = builder(pki)
        bad.picture = SESSealPicture(type: "ofd", data: [1], width: 1, height: 1)
        #expect(throws: SESError(code: .malformed, reason: "")) { try bad.build(makerCertificate: pki.maker, makerKey: pki.makerKey) }
        bad = builder(pki)
        bad.signerCertificates = []
        #expect(throws: SESError(code: .malformed, reason: "")) { try bad.build(makerCertificate: pki.maker, makerKey: pki.makerKey) }
        // The signer's key with the maker's certificate.
        #expect(throws: SESError(code: .malformed, reason: "")) { try builder(pki).build(makerCertificate: pki.maker, makerKey: pki.signerKey) }
    }

    @Test func signatureOverABuiltSealVerifiesWithDocumentAndChains() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let seal = try builder(pki).build(makerCertificate: pki.maker, makerKey: pki.makerKey)
        let document = Array("<ofd:Signature/>".utf8)
        let time = seal.property.createDate.addingTimeInterval(86_400)
        let bytes = try SignatureAssembly(seal: seal, time: time, document: document).der(pki)
        let signature = try SESSignature(derEncoded: bytes)
        #expect(signature.quirks.isEmpty)
        let verifier = SESVerifier(roots: [pki.root])
        let report = verifier.verify(signature, document: document)
        #expect(report.verdict == .valid, "\(report.checks)")
        #expect(report.checks.count == 11)
        #expect(SESVerifier(roots: [pki.otherRoot]).verify(signature, document: document).verdict == .unknownRoot)
        #expect(verifier.verify(signature, document: document + [0]).verdict == .invalid)

        // A signer whose certificate is not in the seal's list.
        let stranger = try SignatureAssembly(seal: seal, time: time, document: document, signedByMaker: true).der(pki)
        let strangerReport = verifier.verify(try SESSignature(derEncoded: stranger), document: document)
        #expect(strangerReport.outcome(of: .signerSignature) == .passed)
        #expect(strangerReport.outcome(of: .signerInCertificateList) != .passed)
        #expect(strangerReport.verdict == .invalid)

        // Signed after the seal expired: judged at timeInfo, not now.
        let late = try SignatureAssembly(seal: seal, time: seal.property.validEnd.addingTimeInterval(60), document: document).der(pki)
        #expect(verifier.verify(try SESSignature(derEncoded: late), document: document).outcome(of: .sealValidityPeriod) != .passed)
    }

    @Test func realFileQuirksAreAcceptedAndReported() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        var sealBuilder = builder(pki)
        sealBuilder.extensions = [SESExtension(oid: "1.2.156.10197.6.7.2.2.1", isCritical: false, value: Array("2.1".utf8))]
        let seal = try sealBuilder.build(makerCertificate: pki.maker, makerKey: pki.makerKey)
        let document = Array("document".utf8)
        let time = seal.property.createDate.addingTimeInterval(60)
        var assembly = SignatureAssembly(seal: seal, time: time, document: document)
        assembly.rawSignerSignature = true
        assembly.trailingBytes = [0, 0, 0]
        let signature = try SESSignature(derEncoded: try assembly.der(pki))
        let kinds = Set(signature.quirks.map(\.kind))
        #expect(kinds == [.rawSignature, .trailingBytes])
        let report = SESVerifier(roots: [pki.root]).verify(signature, document: document)
        #expect(report.verdict == .valid, "\(report.checks)")

        // The seal's extension re-encoded with an explicit critical FALSE (as GOMAIN and Koal write it)
        // parses, with the quirk reported; the maker signature, made over the DER form, then fails —
        // it is verified over the bytes as received.
        let der = seal.derRepresentation
        let marker: [UInt8] = [0x04, 0x03] + Array("2.1".utf8)
        let at = try #require((0..<der.count - marker.count).first { Array(der[$0..<$0 + marker.count]) == marker })
        var explicitFalse = Array(der[..<at]) + [0x01, 0x01, 0x00] + Array(der[at...])
        try growLengths(&explicitFalse, by: 3, enclosing: at)
        let quirky = try SESeal(derEncoded: explicitFalse)
        #expect(quirky.quirks.map(\.kind) == [.explicitDefaultFalse])
        #expect(quirky.extensions.first?.isCritical == false)
        #expect(SESVerifier(roots: [pki.root]).verify(quirky, at: time).outcome(of: .makerSignature) != .passed)
    }
}

/// Adds `delta` to the length of every element of `bytes` whose content contains `offset`
/// (all of them long-form here: the seal is large).
func growLengths(_ bytes: inout [UInt8], by delta: Int, enclosing offset: Int) throws {
    var index = 0
    while index < offset {
        let lengthByte = bytes[index + 1]
        var headerLength = 2
        var length = Int(lengthByte)
        if lengthByte & 0x80 != 0 {
            let count = Int(lengthByte & 0x7F)
            headerLength = 2 + count
            length = bytes[(index + 2)..<(index + 2 + count)].reduce(0) { $0 << 8 | Int($1) }
        }
        let end = index + headerLength + length
        if index + headerLength <= offset && offset <= end && bytes[index] & 0x20 != 0 {
            let newLength = length + delta
            let count = headerLength - 2
            if count == 0 {
                guard newLength < 0x80 else { throw SM2TestPKIError(message: "short length overflows") }
                bytes[index + 1] = UInt8(newLength)
            } else {
                for position in 0..<count {
                    bytes[index + 2 + position] = UInt8((newLength >> (8 * (count - 1 - position))) & 0xFF)
                }
            }
            index += headerLength  // descend
        } else {
            index = end
        }
    }
}
