import Crypto
import Foundation
import SealESeal
import SealGMCrypto

/// The digest a `References@CheckMethod` names. Producers write the SM3 OID (the tax invoices),
/// `SM3` (ofdrw, a JCA name) or the OID with `.2` (dms360); SHA-256 is read too. MD5 and SHA-1 —
/// what the schema lists, and MD5 its default when the attribute is absent — are not accepted.
enum OFDCheckMethod {
    case sm3, sha256

    static let sm3OID = "1.2.156.10197.1.401"

    init?(_ name: String?) {
        switch name?.trimmingCharacters(in: .whitespaces).lowercased() {
        case Self.sm3OID, "1.2.156.10197.1.401.2", "sm3": self = .sm3
        case "2.16.840.1.101.3.4.2.1", "sha256", "sha-256": self = .sha256
        default: return nil
        }
    }

    func digest(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sm3: SM3.hash(bytes)
        case .sha256: Array(SHA256.hash(data: bytes))
        }
    }
}

/// One check of a signature's OFD layer, and its outcome (in the words of `SESCheckOutcome`).
public struct OFDCheck: Hashable, Sendable, CustomStringConvertible {
    /// What was checked: `reference /path`, `signatureDescription`, `signedValue`, `propertyInfo`,
    /// `sealFile`, `stampAnnotationPage`.
    public let name: String
    /// Its outcome.
    public let outcome: SESCheckOutcome

    /// `name: passed`, or `name: FAILED: why`.
    public var description: String {
        switch outcome {
        case .passed: "\(name): passed"
        case .failed(let why): "\(name): FAILED: \(why)"
        case .unknownRoot(let why): "\(name): unknown root: \(why)"
        case .notChecked(let why): "\(name): not checked: \(why)"
        }
    }
}

/// What verifying one signature of an OFD found: its references, its description, and the
/// verification of its signature value by SealESeal.
public struct OFDSignatureReport: Hashable, Sendable {
    /// `Signature@ID` in the signature list.
    public let id: String
    /// `Signature@Type`: `Seal` (the default) or `Sign`.
    public let type: String
    /// The path of its Signature.xml, `/`-rooted.
    public let descriptionPath: String
    /// The provider named in `SignedInfo`, if any.
    public let provider: String?
    /// `SignatureDateTime` as written (informational; the signature's time is its timeInfo).
    public let signatureDateTime: String?
    /// The paths its References protect, `/`-rooted and resolved.
    public let protectedPaths: [String]
    /// The OFD checks: each reference's digest, then the signature value, propertyInfo, the seal
    /// file and the pages its stamp annotations name.
    public let checks: [OFDCheck]
    /// SealESeal's report on the `SES_Signature` (with dataHash checked against Signature.xml),
    /// nil when the signature value could not be read.
    public let signatureValue: SESVerificationReport?

    /// `.invalid` if an OFD check or the signature value failed, else `.unknownRoot` if a chain
    /// ends at a root not configured, else `.valid`.
    public var verdict: SESVerdict {
        if checks.contains(where: { if case .failed = $0.outcome { true } else { false } }) { return .invalid }
        guard let signatureValue else { return .invalid }
        return signatureValue.verdict
    }
}

/// What verifying an OFD container found.
public struct OFDVerificationReport: Hashable, Sendable {
    /// One report per signature in the list, in list order.
    public let signatures: [OFDSignatureReport]
    /// File entries no signature protects, other than the signature list and the signatures' own
    /// files: content added after signing, or left out when signing. Reported, not failed.
    public let unprotectedPaths: [String]

    /// `.invalid` when there is no signature or any is invalid, else `.unknownRoot` when any chain
    /// ends at a root not configured, else `.valid`.
    public var verdict: SESVerdict {
        let verdicts = signatures.map(\.verdict)
        if verdicts.isEmpty || verdicts.contains(.invalid) { return .invalid }
        return verdicts.contains(.unknownRoot) ? .unknownRoot : .valid
    }
}

/// Verifies every signature of an OFD container (GB/T 33190 §18, GB/T 38540): the list in
/// `OFD.xml`'s first `DocBody`, each Signature.xml, each reference's digest of the entry's stored
/// bytes, and the `SES_Signature` in SignedValue.dat through `SESVerifier` (SealESeal) with its dataHash
/// checked against the Signature.xml bytes (GB/T 33190 Table 67: the signature value is computed
/// over the signature description file). Beyond what ofdrw checks: propertyInfo names that
/// Signature.xml, a `Seal` file equals the seal inside the signature, every `StampAnnot` names a
/// page that exists, and entries no signature protects are listed.
public struct OFDVerifier: Sendable {
    /// The verifier of the signature values (roots, intermediates, certificate cache).
    public let sesVerifier: SESVerifier

    /// Creates a verifier.
    ///
    /// - Parameter sesVerifier: Verifies each `SES_Signature` against its roots.
    public init(sesVerifier: SESVerifier) {
        self.sesVerifier = sesVerifier
    }

    /// Verifies every signature of `container`.
    ///
    /// - Throws: ``OFDError`` when the container has no readable `OFD.xml`, or its signature list
    ///   is named but absent or unreadable. A document with no signature list gets a report with
    ///   no signatures (verdict `invalid`).
    public func verify(_ container: OFDContainer) throws -> OFDVerificationReport {
        try xmlLock.withLock { _ in try verifyHoldingXMLLock(container) }
    }

    private func verifyHoldingXMLLock(_ container: OFDContainer) throws -> OFDVerificationReport {
        let body = try OFDDocBody(container)
        guard let listEntry = body.signatureList else {
            return OFDVerificationReport(signatures: [], unprotectedPaths: [])
        }
        let list = try OFDSignatureList(try container.require(listEntry, for: "the signature list"), entry: listEntry)
        let pages = Set((try? pageObjectIDs(container, documentRoot: body.documentRoot)) ?? [])
        var reports: [OFDSignatureReport] = []
        var protected: Set<String> = []
        var signatureFiles: Set<String> = [listEntry]
        for entry in list.signatures {
            let (report, files) = verifySignature(entry, in: container, pages: pages)
            reports.append(report)
            protected.formUnion(report.protectedPaths.map(OFDPath.entryName))
            signatureFiles.formUnion(files)
        }
        let unprotected = container.entryNames.filter { !protected.contains($0) && !signatureFiles.contains($0) }
        return OFDVerificationReport(signatures: reports, unprotectedPaths: unprotected.map { "/" + $0 })
    }

    private func verifySignature(_ entry: OFDSignatureEntry, in container: OFDContainer,
                                 pages: Set<String>) -> (OFDSignatureReport, Set<String>) {
        func failed(_ name: String, _ why: String) -> OFDSignatureReport {
            OFDSignatureReport(id: entry.id, type: entry.type, descriptionPath: "/" + (entry.descriptionEntry ?? entry.baseLocation),
                               provider: nil, signatureDateTime: nil, protectedPaths: [],
                               checks: [OFDCheck(name: name, outcome: .failed(why))], signatureValue: nil)
        }
        guard let descriptionEntry = entry.descriptionEntry, let descriptionBytes = container[descriptionEntry] else {
            return (failed("signatureDescription", "\(entry.baseLocation) is not in the container"), [])
        }
        let description: OFDSignatureDescription
        do {
            description = try OFDSignatureDescription(descriptionBytes, entry: descriptionEntry)
        } catch {
            return (failed("signatureDescription", "\(error)"), [descriptionEntry])
        }
        var files: Set<String> = [descriptionEntry]
        var checks: [OFDCheck] = []
        var protectedPaths: [String] = []
        let method = OFDCheckMethod(description.checkMethod)
        if method == nil {
            checks.append(OFDCheck(name: "checkMethod", outcome: .failed("CheckMethod \(description.checkMethod ?? "absent (MD5 by the schema)") is not SM3 or SHA-256")))
        }
        if description.references.isEmpty {
            checks.append(OFDCheck(name: "references", outcome: .failed("the signature protects no file")))
        }
        for reference in description.references {
            let name = "reference \(reference.fileRef)"
            guard let path = OFDPath.resolve(reference.fileRef, from: descriptionEntry) else {
                checks.append(OFDCheck(name: name, outcome: .failed("the path leaves the package")))
                continue
            }
            protectedPaths.append("/" + path)
            guard let method else { continue }
            guard let bytes = container[path] else {
                checks.append(OFDCheck(name: name, outcome: .failed("no such entry")))
                continue
            }
            // Compared decoded: base64 text may differ in ways (whitespace) that say nothing.
            let expected = Data(base64Encoded: reference.checkValue, options: .ignoreUnknownCharacters).map { [UInt8]($0) }
            let outcome: SESCheckOutcome = if let expected {
                expected == method.digest(bytes) ? .passed : .failed("the digest of the entry differs from CheckValue")
            } else {
                .failed("CheckValue is not base64")
            }
            checks.append(OFDCheck(name: name, outcome: outcome))
        }
        var sesReport: SESVerificationReport?
        if let valueEntry = OFDPath.resolve(description.signedValueLocation, from: descriptionEntry),
           let valueBytes = container[valueEntry] {
            files.insert(valueEntry)
            if entry.type == "Seal" {
                do {
                    let signature = try SESSignature(derEncoded: valueBytes)
                    sesReport = sesVerifier.verify(signature, document: descriptionBytes)
                    checks.append(OFDCheck(name: "signedValue", outcome: .passed))
                    let named = OFDPath.resolve(signature.propertyInfo, from: "")
                    checks.append(OFDCheck(name: "propertyInfo", outcome: named == descriptionEntry ? .passed
                        : .failed("propertyInfo \(signature.propertyInfo) does not name /\(descriptionEntry)")))
                    if let sealLocation = description.sealLocation {
                        let sealEntry = OFDPath.resolve(sealLocation, from: descriptionEntry)
                        if let sealEntry { files.insert(sealEntry) }
                        let sealBytes = sealEntry.flatMap { container[$0] }
                        checks.append(OFDCheck(name: "sealFile", outcome: sealBytes == signature.seal.derRepresentation ? .passed
                            : .failed("\(sealLocation) is absent or differs from the seal in the signature")))
                    }
                } catch {
                    checks.append(OFDCheck(name: "signedValue", outcome: .failed("not an SES_Signature: \(error)")))
                }
            } else {
                checks.append(OFDCheck(name: "signedValue", outcome: .failed("Type=\(entry.type) (GB/T 35275 SignedData) is not verified by SealKit")))
            }
        } else {
            checks.append(OFDCheck(name: "signedValue", outcome: .failed("\(description.signedValueLocation) is not in the container")))
        }
        for annotation in description.stampAnnotations {
            checks.append(OFDCheck(name: "stampAnnotationPage \(annotation.id)", outcome: pages.contains(annotation.pageRef) ? .passed
                : .failed("PageRef \(annotation.pageRef) is not a page object of the document")))
        }
        let report = OFDSignatureReport(id: entry.id, type: entry.type, descriptionPath: "/" + descriptionEntry,
                                        provider: description.providerName, signatureDateTime: description.signatureDateTime,
                                        protectedPaths: protectedPaths, checks: checks, signatureValue: sesReport)
        return (report, files)
    }
}
