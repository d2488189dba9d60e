import SealTestSupport
import Foundation
import SealESeal
import SealGMCrypto
import Testing

/// GM/T 0031-2014 (version 1) seals and signatures, assembled here byte by byte after the 2014
/// standard's ASN.1 (no real v1 signature that verifies is at hand: dms360's is parse-only), signed
/// with the test PKI's keys.
@Suite(.enabled(if: OpenSSLCommandLine.isAvailable, "the openssl command line is not installed"))
struct Version1Tests {
    typealias T = AmbiguousInputTests

    static let sm2WithSM3OID = T.tlv(0x06, [0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x75])

    /// A v1 SESeal: SES_SealInfo with UTCTime dates and a certificate list of OCTET STRINGs, and
    /// SES_SignInfo whose signData covers SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }.
    static func seal(_ pki: SM2TestPKI, validity: (String, String), listEntries: [[UInt8]]) throws -> [UInt8] {
        let header = T.tlv(0x30, T.tlv(0x16, Array("ES".utf8)) + T.tlv(0x02, [1]) + T.tlv(0x16, Array("v1".utf8)))
        let utc = { (text: String) in T.tlv(0x17, Array(text.utf8)) }
        let property = T.tlv(0x30, T.tlv(0x02, [1]) + T.tlv(0x0C, Array("一号章".utf8)) + T.tlv(0x30, listEntries.joined().map { $0 })
            + utc(validity.0) + utc(validity.0) + utc(validity.1))
        let picture = T.tlv(0x30, T.tlv(0x16, Array("PNG".utf8)) + T.tlv(0x04, [0x89, 0x50]) + T.tlv(0x02, [40]) + T.tlv(0x02, [40]))
        let info = T.tlv(0x30, header + T.tlv(0x16, Array("V1-SEAL".utf8)) + property + picture)
        let certificate = T.tlv(0x04, pki.maker.derRepresentation)
        let signed = T.tlv(0x30, info + certificate + sm2WithSM3OID)
        let signature = try pki.makerKey.signature(for: signed)
        return T.tlv(0x30, info + T.tlv(0x30, certificate + sm2WithSM3OID + T.tlv(0x03, [0] + signature)))
    }

    static func signature(_ pki: SM2TestPKI, seal: [UInt8], timeInfo: [UInt8], document: [UInt8]) throws -> [UInt8] {
        let tbs = T.tlv(0x30, T.tlv(0x02, [1]) + seal + timeInfo + T.tlv(0x03, [0] + SM3.hash(document))
            + T.tlv(0x16, Array("Doc_0/Signs/Sign_0/Signature.xml".utf8)) + T.tlv(0x04, pki.signer.derRepresentation) + sm2WithSM3OID)
        return T.tlv(0x30, tbs + T.tlv(0x03, [0] + (try pki.signerKey.signature(for: tbs))))
    }

    @Test func versionOneSealAndSignatureVerify() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let utc = DateFormatter()
        utc.dateFormat = "yyMMddHHmmss'Z'"
        utc.timeZone = TimeZone(identifier: "UTC")
        let start = pki.signer.notBefore
        let validity = (utc.string(from: start), utc.string(from: start.addingTimeInterval(30 * 86_400)))
        let sealBytes = try Self.seal(pki, validity: validity,
                                      listEntries: [T.tlv(0x04, pki.signer.derRepresentation), T.tlv(0x16, Array("1".utf8))])
        let seal = try SESeal(derEncoded: sealBytes)
        #expect(seal.isVersion1Layout && seal.property.certificateListType == nil)
        #expect(seal.property.signerCertificates == [pki.signer.derRepresentation])
        #expect(seal.quirks.map(\.kind) == [.certificateListEntryNotCertificate])
        #expect(SESVerifier(roots: [pki.root]).verify(seal, at: start.addingTimeInterval(60)).verdict == .valid)

        // timeInfo as text in a BIT STRING, as dms360 writes it, one hour after the start (Beijing time given).
        let local = DateFormatter()
        local.dateFormat = "yyyy-MM-dd HH:mm:ss"
        local.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        let signingTime = start.addingTimeInterval(3600)
        let text = Array((local.string(from: signingTime) + "+08:00").utf8)
        let document = Array("<Signature/>".utf8)
        let signature = try SESSignature(derEncoded: Self.signature(pki, seal: sealBytes, timeInfo: T.tlv(0x03, [0] + text), document: document))
        #expect(signature.version == 1)
        #expect(signature.timeInfo == signingTime)
        #expect(signature.quirks.map(\.kind).contains(.textTimeInfo))
        let report = SESVerifier(roots: [pki.root]).verify(signature, document: document)
        #expect(report.verdict == .valid, "\(report.checks)")

        // A UTCTime timeInfo after the seal expired: judged at that time.
        let late = T.tlv(0x17, Array(utc.string(from: start.addingTimeInterval(31 * 86_400)).utf8))
        let expired = try SESSignature(derEncoded: Self.signature(pki, seal: sealBytes, timeInfo: late, document: document))
        #expect(SESVerifier(roots: [pki.root]).verify(expired, document: document).outcome(of: .sealValidityPeriod) != .passed)
    }
}
