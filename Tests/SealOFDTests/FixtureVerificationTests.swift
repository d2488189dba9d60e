import Foundation
import SealESeal
import SealOFD
import Testing

/// The signed OFD files from ofdrw give what NOTICE.md states: every reference's SM3 digest, the
/// seal and stamp signatures and dataHash verify; their roots are not given, so the verdict is
/// "unknown root". A changed entry, a changed Signature.xml and an added entry are each found.
@Suite(.enabled(if: OFDFixtures.isPresent, "../shared/fixtures/gbt38540 is not beside the package"))
struct FixtureVerificationTests {
    let verifier = OFDVerifier(sesVerifier: SESVerifier(roots: []))

    @Test(arguments: OFDFixtures.signedDocuments)
    func signedDocumentsAreIntactWithAnUnknownRoot(file: String) throws {
        let report = try verifier.verify(try OFDFixtures.container(file))
        #expect(report.signatures.count == 1)
        let signature = try #require(report.signatures.first)
        #expect(signature.descriptionPath == "/Doc_0/Signs/Sign_0/Signature.xml")
        #expect(signature.type == "Seal")
        let references = signature.checks.filter { $0.name.hasPrefix("reference ") }
        #expect(references.count >= 10, "\(signature.checks)")
        #expect(signature.checks.allSatisfy { $0.outcome == .passed }, "\(signature.checks)")
        let value = try #require(signature.signatureValue)
        #expect(value.outcome(of: .dataHash) == .passed)
        #expect(value.outcome(of: .signerSignature) == .passed)
        #expect(value.outcome(of: .makerSignature) == .passed)
        #expect(signature.verdict == .unknownRoot, "\(value.checks)")
        #expect(report.verdict == .unknownRoot)
        #expect(report.unprotectedPaths.isEmpty, "\(report.unprotectedPaths)")
    }

    /// ofd-signatures.md §8: the tax invoice's 13 references, its StampAnnot on page object 1.
    @Test func invoiceHasItsThirteenReferences() throws {
        let report = try verifier.verify(try OFDFixtures.container("ofdrw-converter-1.ofd"))
        let signature = try #require(report.signatures.first)
        #expect(signature.id == "2")
        #expect(signature.provider == "gomain_eseal")
        #expect(signature.protectedPaths.count == 13)
        #expect(signature.protectedPaths.contains("/OFD.xml") && signature.protectedPaths.contains("/Doc_0/Res/image_78.jb2"))
        #expect(signature.checks.contains { $0.name == "stampAnnotationPage 1" && $0.outcome == .passed })
    }

    @Test func aChangedEntryFailsItsReference() throws {
        let original = try OFDFixtures.container("ofdrw-converter-1.ofd")
        let content = try #require(original["Doc_0/Pages/Page_0/Content.xml"])
        let changed = try TestDocuments.replacing("Doc_0/Pages/Page_0/Content.xml", with: content + Array(" ".utf8),
                                                  in: original.archiveBytes)
        let report = try verifier.verify(try OFDContainer(archiveBytes: changed))
        let signature = try #require(report.signatures.first)
        let check = try #require(signature.checks.first { $0.name == "reference /Doc_0/Pages/Page_0/Content.xml" })
        #expect(check.outcome != .passed)
        #expect(signature.checks.filter { $0.outcome != .passed }.count == 1)
        #expect(report.verdict == .invalid)
    }

    @Test func aChangedSignatureDescriptionFailsDataHash() throws {
        let original = try OFDFixtures.container("ofdrw-sign-signedFile.ofd")
        let description = try #require(original["Doc_0/Signs/Sign_0/Signature.xml"])
        let changed = try TestDocuments.replacing("Doc_0/Signs/Sign_0/Signature.xml", with: description + [0x0A], in: original.archiveBytes)
        let report = try verifier.verify(try OFDContainer(archiveBytes: changed))
        let signature = try #require(report.signatures.first)
        #expect(signature.signatureValue?.outcome(of: .dataHash) != .passed)
        #expect(report.verdict == .invalid)
    }

    @Test func anAddedEntryIsReportedUnprotected() throws {
        let original = try OFDFixtures.container("ofdrw-sign-v4signed.ofd")
        let changed = try TestDocuments.replacing("Doc_0/Res/added.png", with: [1, 2, 3], in: original.archiveBytes)
        let report = try verifier.verify(try OFDContainer(archiveBytes: changed))
        #expect(report.unprotectedPaths == ["/Doc_0/Res/added.png"])
        // Reported, not failed: the signed content is unchanged.
        #expect(report.verdict == .unknownRoot)
    }
}

/// Inputs that are not what they claim: typed errors, never a crash.
struct MalformedContainerTests {
    @Test func notAZipIsNotAContainer() {
        #expect(throws: OFDError(code: .notAContainer, reason: "")) { try OFDContainer(archiveBytes: Array("not a zip".utf8)) }
    }

    @Test func aZipWithoutOFDXMLIsMissingAnEntry() throws {
        let container = try OFDContainer(archiveBytes: try TestDocuments.archive([("readme.txt", [0x41])]))
        #expect(throws: OFDError(code: .missingEntry, reason: "")) { try OFDVerifier(sesVerifier: SESVerifier(roots: [])).verify(container) }
    }

    @Test func anUnsignedDocumentHasNoSignatureAndIsNotValid() throws {
        let container = try OFDContainer(archiveBytes: try TestDocuments.unsigned())
        let report = try OFDVerifier(sesVerifier: SESVerifier(roots: [])).verify(container)
        #expect(report.signatures.isEmpty)
        #expect(report.verdict == .invalid)
    }

    @Test func aSignatureListThatIsNotXMLIsMalformed() throws {
        var entries = try TestDocuments.entries(try TestDocuments.unsigned())
        entries[0].1 = Array(String(decoding: entries[0].1, as: UTF8.self)
            .replacingOccurrences(of: "</ofd:DocBody>", with: "<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>").utf8)
        entries.append(("Doc_0/Signs/Signatures.xml", Array("<ofd:Signatures".utf8)))
        let container = try OFDContainer(archiveBytes: try TestDocuments.archive(entries))
        #expect(throws: OFDError(code: .malformedXML, reason: "")) { try OFDVerifier(sesVerifier: SESVerifier(roots: [])).verify(container) }
    }
}
