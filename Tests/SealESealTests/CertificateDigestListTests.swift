import SealTestSupport
import Foundation
import SealESeal
import SealGMCrypto
import Testing

/// `certListType` 2: the seal lists SM3 digests of the signers' certificates instead of the certificates.
@Suite(.enabled(if: OpenSSLCommandLine.isAvailable, "the openssl command line is not installed"))
struct CertificateDigestListTests {
    typealias T = AmbiguousInputTests

    static func seal(_ pki: SM2TestPKI, digest: [UInt8]) throws -> SESeal {
        let header = T.tlv(0x30, T.tlv(0x16, Array("ES".utf8)) + T.tlv(0x02, [4]) + T.tlv(0x16, Array("digest".utf8)))
        let time = { (date: Date) -> [UInt8] in
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMddHHmmss'Z'"
            formatter.timeZone = TimeZone(identifier: "UTC")
            return T.tlv(0x18, Array(formatter.string(from: date).utf8))
        }
        let start = pki.signer.notBefore
        let digestObject = T.tlv(0x30, T.tlv(0x13, Array("SM3".utf8)) + T.tlv(0x04, digest))
        let property = T.tlv(0x30, T.tlv(0x02, [2]) + T.tlv(0x0C, Array("个人章".utf8)) + T.tlv(0x02, [2]) + T.tlv(0x30, digestObject)
            + time(start) + time(start) + time(start.addingTimeInterval(86_400)))
        let picture = T.tlv(0x30, T.tlv(0x16, Array("PNG".utf8)) + T.tlv(0x04, [0x89]) + T.tlv(0x02, [20]) + T.tlv(0x02, [20]))
        let info = T.tlv(0x30, header + T.tlv(0x16, Array("DIGEST-1".utf8)) + property + picture)
        let signature = try pki.makerKey.signature(for: info)
        return try SESeal(derEncoded: T.tlv(0x30, info + T.tlv(0x04, pki.maker.derRepresentation)
            + Version1Tests.sm2WithSM3OID + T.tlv(0x03, [0] + signature)))
    }

    @Test func signerMatchedByItsSM3Digest() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let seal = try Self.seal(pki, digest: SM3.hash(pki.signer.derRepresentation))
        #expect(seal.property.certificateListType == 2)
        #expect(seal.property.signerCertificateDigests.map(\.type) == ["SM3"])
        let document = Array("doc".utf8)
        let time = pki.signer.notBefore.addingTimeInterval(60)
        let verifier = SESVerifier(roots: [pki.root])
        let signature = try SESSignature(derEncoded: SignatureAssembly(seal: seal, time: time, document: document).der(pki))
        #expect(verifier.verify(signature, document: document).verdict == .valid)

        let otherSeal = try Self.seal(pki, digest: SM3.hash(pki.maker.derRepresentation))
        let other = try SESSignature(derEncoded: SignatureAssembly(seal: otherSeal, time: time, document: document).der(pki))
        let report = verifier.verify(other, document: document)
        #expect(report.outcome(of: .makerSignature) == .passed)
        #expect(report.outcome(of: .signerInCertificateList) != .passed)
        #expect(report.verdict == .invalid)
    }
}
