import SealTestSupport
import Foundation
import SealESeal
import SealGMCrypto
import SealOFD
import Testing

/// OFD documents SealKit signs: they verify in SealKit to the test PKI's root (which the openssl
/// command line made), a second signature leaves the first valid, earlier entries are copied byte
/// for byte, and the signature value verifies under the openssl command line.
@Suite(.enabled(if: OpenSSLCommandLine.isAvailable, "the openssl command line is not installed"))
struct SigningTests {
    // A little after now: the test PKI's certificates, made after this suite value, start now.
    let time = Date(timeIntervalSince1970: TimeInterval(Int(Date().timeIntervalSince1970) + 120))

    func request(_ pki: SM2TestPKI, page: Int = 1) throws -> OFDSigningRequest {
        OFDSigningRequest(page: page, x: 120, y: 200.5, seal: try TestDocuments.seal(pki, around: time),
                          certificate: pki.signer, key: pki.signerKey, time: time)
    }

    @Test func signedDocumentVerifiesToItsRoot() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let signed = try OFDSigner.sign(try OFDContainer(archiveBytes: try TestDocuments.unsigned()), request: try request(pki, page: 2))
        let container = try OFDContainer(archiveBytes: signed)
        let report = try OFDVerifier(sesVerifier: SESVerifier(roots: [pki.root])).verify(container)
        let signature = try #require(report.signatures.first)
        #expect(report.signatures.count == 1)
        #expect(signature.verdict == .valid, "\(signature.checks) \(signature.signatureValue?.checks ?? [])")
        #expect(report.verdict == .valid)
        #expect(report.unprotectedPaths.isEmpty)
        // OFD.xml (now naming the list) and every document entry are protected; the list is not.
        #expect(Set(signature.protectedPaths) == ["/OFD.xml", "/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml",
                                                  "/Doc_0/Pages/Page_1/Content.xml", "/Doc_0/Res/image.bin"])
        #expect(signature.checks.contains { $0.name == "stampAnnotationPage 1" && $0.outcome == .passed })
        let description = String(decoding: try #require(container["Doc_0/Signs/Sign_0/Signature.xml"]), as: UTF8.self)
        #expect(description.contains("PageRef=\"11\""), "page 2 is page object 11")
        #expect(description.contains("Boundary=\"120.00 200.50 40.00 40.00\""))
        #expect(description.contains("CheckMethod=\"1.2.156.10197.1.401\""))
        let ofd = String(decoding: try #require(container["OFD.xml"]), as: UTF8.self)
        #expect(ofd.contains("Signatures>/Doc_0/Signs/Signatures.xml</"))
        // Another root: intact, unknown root.
        #expect(try OFDVerifier(sesVerifier: SESVerifier(roots: [pki.otherRoot])).verify(container).verdict == .unknownRoot)
        // A changed page fails.
        let changed = try TestDocuments.replacing("Doc_0/Pages/Page_1/Content.xml", with: Array("x".utf8), in: signed)
        #expect(try OFDVerifier(sesVerifier: SESVerifier(roots: [pki.root])).verify(try OFDContainer(archiveBytes: changed)).verdict == .invalid)
    }

    @Test func secondSignatureKeepsTheFirstValidAndCopiesEntriesByteForByte() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let once = try OFDSigner.sign(try OFDContainer(archiveBytes: try TestDocuments.unsigned()), request: try request(pki))
        let twice = try OFDSigner.sign(try OFDContainer(archiveBytes: once), request: try request(pki, page: 2))
        let report = try OFDVerifier(sesVerifier: SESVerifier(roots: [pki.root])).verify(try OFDContainer(archiveBytes: twice))
        #expect(report.signatures.map(\.id) == ["2", "4"])
        #expect(report.signatures.map(\.descriptionPath) == ["/Doc_0/Signs/Sign_0/Signature.xml", "/Doc_0/Signs/Sign_1/Signature.xml"])
        #expect(report.signatures.allSatisfy { $0.verdict == .valid }, "\(report.signatures.map(\.checks))")
        #expect(report.verdict == .valid)
        // The second signature protects the first one's files.
        #expect(report.signatures[1].protectedPaths.contains("/Doc_0/Signs/Sign_0/SignedValue.dat"))
        // Every entry but the list is the same local header and the same stored (compressed) bytes
        // as in the once-signed archive.
        let before = storedEntries(once)
        let after = storedEntries(twice)
        #expect(before.count == 8 && after.count == 10)
        var compared = 0
        for (name, stored) in before where name != "Doc_0/Signs/Signatures.xml" {
            #expect(after[name].map(Array.init) == Array(stored), "\(name) was not copied byte for byte")
            compared += 1
        }
        #expect(compared == 7)
        let list = String(decoding: try #require(try OFDContainer(archiveBytes: twice)["Doc_0/Signs/Signatures.xml"]), as: UTF8.self)
        #expect(list.contains("MaxSignId>4<"))
    }

    @Test(.enabled(if: OFDFixtures.isPresent, "../shared/fixtures/gbt38540 is not beside the package"))
    func signingARealSignedInvoiceKeepsItsSignatureIntact() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let signed = try OFDSigner.sign(try OFDFixtures.container("ofdrw-converter-1.ofd"), request: try request(pki))
        let report = try OFDVerifier(sesVerifier: SESVerifier(roots: [pki.root])).verify(try OFDContainer(archiveBytes: signed))
        #expect(report.signatures.map(\.id) == ["2", "4"])
        // The tax bureau's signature: intact, its root not given; SealKit's: valid to the test root.
        #expect(report.signatures.map(\.verdict) == [.unknownRoot, .valid], "\(report.signatures.map(\.checks))")
        #expect(report.signatures[1].descriptionPath == "/Doc_0/Signs/Sign_1/Signature.xml")
        #expect(report.verdict == .unknownRoot)
    }

    @Test func openSSLVerifiesTheExtractedSignatureValue() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let signed = try OFDSigner.sign(try OFDContainer(archiveBytes: try TestDocuments.unsigned()), request: try request(pki))
        let container = try OFDContainer(archiveBytes: signed)
        let value = try SESSignature(derEncoded: try #require(container["Doc_0/Signs/Sign_0/SignedValue.dat"]))
        let description = try #require(container["Doc_0/Signs/Sign_0/Signature.xml"])
        // openssl's own SM3 of the extracted Signature.xml is the signature's dataHash.
        try pki.write(description, to: "Signature.xml")
        let digest = try OpenSSLCommandLine.run(["dgst", "-sm3", "-r", "Signature.xml"], in: pki.directory)
        #expect(digest.output.hasPrefix(value.dataHash.map { String(format: "%02x", $0) }.joined()), "\(digest.output)")
        // openssl verifies SM2-with-SM3 with the distinguishing ID over DER(TBS_Sign), using the
        // key of the certificate inside the signature.
        try pki.write(value.signerCertificate, to: "signer.der")
        try pki.write(value.signedBytes, to: "tbs.der")
        try pki.write(value.signature, to: "signature.der")
        #expect(try OpenSSLCommandLine.run(["x509", "-inform", "DER", "-in", "signer.der", "-pubkey", "-noout", "-out", "signer-key.pem"],
                                           in: pki.directory).status == 0)
        let verified = try OpenSSLCommandLine.run(["dgst", "-sm3", "-verify", "signer-key.pem", "-sigopt", "distid:1234567812345678",
                                                   "-signature", "signature.der", "tbs.der"], in: pki.directory)
        #expect(verified.status == 0 && verified.output.contains("Verified OK"), "\(verified.output)")
        // Without the ID (or over other bytes) it does not verify: the check can fail.
        let otherID = try OpenSSLCommandLine.run(["dgst", "-sm3", "-verify", "signer-key.pem", "-sigopt", "distid:0000000000000000",
                                                  "-signature", "signature.der", "tbs.der"], in: pki.directory)
        #expect(otherID.status != 0)
        // openssl asn1parse shows the SES_Signature structure: TBS_Sign with version 4 first.
        try pki.write(value.derRepresentation, to: "SignedValue.dat")
        let structure = try OpenSSLCommandLine.run(["asn1parse", "-inform", "DER", "-i", "-in", "SignedValue.dat"], in: pki.directory)
        #expect(structure.status == 0)
        #expect(structure.output.contains(":/Doc_0/Signs/Sign_0/Signature.xml"), "\(structure.output)")
        #expect(structure.output.contains(":sm2-with-SM3") || structure.output.contains(":SM2-with-SM3") || structure.output.contains("1.2.156.10197.1.501"),
                "\(structure.output)")
    }

    @Test func requestsThatCannotBeCarriedOutAreRefused() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let container = try OFDContainer(archiveBytes: try TestDocuments.unsigned())
        #expect(throws: OFDError(code: .invalidRequest, reason: "")) { try OFDSigner.sign(container, request: try request(pki, page: 3)) }
        var wrongKey = try request(pki)
        wrongKey.key = pki.makerKey
        #expect(throws: OFDError(code: .invalidRequest, reason: "")) { try OFDSigner.sign(container, request: wrongKey) }
        var notListed = try request(pki)
        (notListed.certificate, notListed.key) = (pki.maker, pki.makerKey)
        #expect(throws: OFDError(code: .invalidRequest, reason: "")) { try OFDSigner.sign(container, request: notListed) }
        var expired = try request(pki)
        expired.time = time.addingTimeInterval(400 * 86_400)
        #expect(throws: OFDError(code: .invalidRequest, reason: "")) { try OFDSigner.sign(container, request: expired) }
    }

    @Test func aSignatureThatProtectsTheListLocksTheDocument() throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let once = try OFDSigner.sign(try OFDContainer(archiveBytes: try TestDocuments.unsigned()), request: try request(pki))
        // Rewrite the first signature's description to also reference the list (as ofdrw's
        // WholeProtected mode does); the signer must then refuse to add a signature.
        var entries = try TestDocuments.entries(once)
        let index = try #require(entries.firstIndex { $0.0 == "Doc_0/Signs/Sign_0/Signature.xml" })
        entries[index].1 = Array(String(decoding: entries[index].1, as: UTF8.self)
            .replacingOccurrences(of: "</ofd:References>",
                                  with: "<ofd:Reference FileRef=\"/Doc_0/Signs/Signatures.xml\"><ofd:CheckValue>AA==</ofd:CheckValue></ofd:Reference></ofd:References>").utf8)
        let locked = try OFDContainer(archiveBytes: try TestDocuments.archive(entries))
        #expect(throws: OFDError(code: .locked, reason: "")) { try OFDSigner.sign(locked, request: try request(pki)) }
    }
}

/// Each entry's local header and stored (compressed) data, by name, read by walking the local
/// headers from the start of the archive (archives ZIPFoundation writes carry the sizes in the
/// local header: no data descriptors).
func storedEntries(_ archive: [UInt8]) -> [String: ArraySlice<UInt8>] {
    func field(_ at: Int, _ width: Int) -> Int { (0..<width).reduce(0) { $0 | Int(archive[at + $1]) << (8 * $1) } }
    var entries: [String: ArraySlice<UInt8>] = [:]
    var offset = 0
    while offset + 30 <= archive.count, field(offset, 4) == 0x0403_4B50 {
        let compressedSize = field(offset + 18, 4)
        let nameLength = field(offset + 26, 2)
        let extraLength = field(offset + 28, 2)
        let end = offset + 30 + nameLength + extraLength + compressedSize
        guard end <= archive.count else { break }
        let name = String(decoding: archive[(offset + 30)..<(offset + 30 + nameLength)], as: UTF8.self)
        entries[name] = archive[offset..<end]
        offset = end
    }
    return entries
}
