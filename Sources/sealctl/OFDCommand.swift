import ArgumentParser
import Foundation
import SealESeal
import SealGMCrypto
import SealOFD

/// `sealctl ofd`: sign and verify OFD documents with GB/T 38540 seals (docs/gbt38540.md, "OFD").
struct OFD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ofd",
        abstract: "Sign and verify OFD documents (GB/T 33190 §18) with GB/T 38540 seal signatures.",
        subcommands: [Verify.self, Sign.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every signature of an OFD document.",
            discussion: """
                For each signature in the list OFD.xml names: every reference's digest (SM3 or SHA-256 \
                as CheckMethod says) of the entry's stored bytes, the SES_Signature in SignedValue.dat \
                (signer and maker signatures, certificate list, validity at timeInfo, chains to the \
                --root certificates, dataHash = SM3 of Signature.xml), propertyInfo, the seal file and \
                the stamped pages. Entries no signature protects are listed. Exit status 0 when \
                everything verifies and chains to a given root, 2 when everything is intact but a chain \
                ends at a root not given, 1 when anything is invalid, there is no signature, or the \
                file cannot be read.
                """)

        @Argument(help: "The OFD document.")
        var document: String
        @Option(help: ArgumentHelp("A trusted SM2 root certificate (PEM); repeat for several.", valueName: "PEM"))
        var root: [String] = []
        @Option(help: ArgumentHelp("A CA certificate (PEM) that may link a certificate to a root; repeat for several.", valueName: "PEM"))
        var intermediate: [String] = []
        @Flag(help: "Print JSON.") var json = false
        @Option(help: ArgumentHelp("Also write the report as a self-contained HTML page (the traceability report's style).", valueName: "FILE"))
        var html: String?

        func run() async throws {
            let container = try readContainer(document)
            let verifier = OFDVerifier(sesVerifier: SESVerifier(roots: try readCertificates(root), intermediates: try readCertificates(intermediate)))
            let report: OFDVerificationReport
            do { report = try verifier.verify(container) } catch let error as OFDError {
                throw CLIError("\(document): \(error)")
            }
            if let html {
                do { try Data(OFDReportHTML.render(document: document, report: report).utf8).write(to: URL(fileURLWithPath: html)) } catch {
                    throw CLIError("cannot write \(html): \(error.localizedDescription)")
                }
            }
            if json {
                try printJSON(OFDReportJSON(document: document, report: report))
            } else {
                if report.signatures.isEmpty { print("\(document): no signature") }
                for signature in report.signatures {
                    print("signature \(signature.id) (\(signature.type)) \(signature.descriptionPath)"
                          + (signature.provider.map { ", provider \($0)" } ?? "")
                          + (signature.signatureDateTime.map { ", \($0)" } ?? ""))
                    signature.checks.forEach { print("  \($0)") }
                    if let value = signature.signatureValue {
                        value.checks.forEach { print("  SES \($0)") }
                        value.quirks.forEach { print("  accepted: \($0)") }
                    }
                    print("  \(verdictText(signature.verdict))")
                }
                report.unprotectedPaths.forEach { print("unprotected: \($0)") }
                print(verdictText(report.verdict))
            }
            switch report.verdict {
            case .valid: return
            case .unknownRoot: throw ExitCode(2)
            case .invalid: throw ExitCode(1)
            }
        }
    }

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a GB/T 38540 seal signature to an OFD document.",
            discussion: """
                Writes Signs/Sign_N/Signature.xml (References with the SM3 digest of every entry, and a \
                StampAnnot placing the seal on the page) and SignedValue.dat (an SES_Signature v4 over \
                SM3 of that Signature.xml, signed with the SM2 key), and the entry in Signatures.xml. \
                Existing entries are copied byte for byte, so earlier signatures stay valid. The signer \
                certificate must be in the seal's certificate list.
                """)

        @Argument(help: "The OFD document to sign.")
        var document: String
        @Option(help: "The page to stamp, counted from 1.") var page: Int
        @Option(help: "The seal's left edge, in millimetres from the page's left edge.") var x: Double
        @Option(help: "The seal's top edge, in millimetres from the page's top edge.") var y: Double
        @Option(help: ArgumentHelp("The seal (SESeal, DER).", valueName: "SEAL.esl")) var seal: String
        @Option(help: ArgumentHelp("The signer's SM2 private key (PEM).", valueName: "KEY.pem")) var key: String
        @Option(help: ArgumentHelp("The signer's SM2 certificate (PEM).", valueName: "CERT.pem")) var cert: String
        @Option(help: ArgumentHelp("Where to write the signed document.", valueName: "SIGNED.ofd")) var out: String
        @Option(help: ArgumentHelp("The signing time (seconds since 1970 or ISO 8601) instead of now.", valueName: "TIME"))
        var at: String?

        func validate() throws {
            guard page >= 1 else { throw ValidationError("--page counts from 1, got \(page)") }
            guard x.isFinite, y.isFinite, x >= 0, y >= 0 else { throw ValidationError("--x and --y are millimetres ≥ 0") }
            if let at, parseTime(at) == nil { throw ValidationError("--at must be seconds since 1970 or ISO 8601, got \(at)") }
            guard out != document else { throw ValidationError("--out must differ from the document") }
        }

        func run() async throws {
            let container = try readContainer(document)
            let sealValue: SESeal
            let certificate: SM2Certificate
            let privateKey: SM2PrivateKey
            do {
                sealValue = try SESeal(derEncoded: readBytes(seal))
                certificate = try SM2Certificate(pemRepresentation: String(decoding: readBytes(cert), as: UTF8.self))
                privateKey = try SM2PrivateKey(pemRepresentation: String(decoding: readBytes(key), as: UTF8.self))
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("cannot read the seal, certificate or key: \(error)")
            }
            let time = at.flatMap(parseTime).map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date()
            let request = OFDSigningRequest(page: page, x: x, y: y, seal: sealValue, certificate: certificate, key: privateKey, time: time)
            let signed: [UInt8]
            do { signed = try OFDSigner.sign(container, request: request) } catch {
                throw CLIError("\(document): \(error)")
            }
            do {
                try Data(signed).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw CLIError("cannot write \(out): \(error.localizedDescription)")
            }
            print("signed \(document) → \(out)")
        }
    }
}

private func verdictText(_ verdict: SESVerdict) -> String {
    switch verdict {
    case .valid: "VALID"
    case .unknownRoot: "UNKNOWN ROOT"
    case .invalid: "INVALID"
    }
}

private func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    return [UInt8](data)
}

private func readContainer(_ path: String) throws -> OFDContainer {
    do { return try OFDContainer(archiveBytes: readBytes(path)) } catch let error as OFDError {
        throw CLIError("\(path): \(error)")
    }
}

private func readCertificates(_ paths: [String]) throws -> [SM2Certificate] {
    var certificates: [SM2Certificate] = []
    for path in paths {
        do {
            certificates += try SM2Certificate.certificates(pemRepresentation: String(decoding: readBytes(path), as: UTF8.self))
        } catch let error as GMCryptoError {
            throw CLIError("\(path): \(error)")
        }
    }
    return certificates
}

/// The JSON form of an OFD verification report.
private struct OFDReportJSON: Encodable {
    struct Check: Encodable {
        let name: String
        let outcome: String
        let detail: String

        init(name: String, outcome: SESCheckOutcome) {
            self.name = name
            switch outcome {
            case .passed: (self.outcome, detail) = ("passed", "")
            case .failed(let why): (self.outcome, detail) = ("failed", why)
            case .unknownRoot(let why): (self.outcome, detail) = ("unknownRoot", why)
            case .notChecked(let why): (self.outcome, detail) = ("notChecked", why)
            }
        }
    }

    struct Signature: Encodable {
        let id: String
        let type: String
        let description: String
        let provider: String?
        let signatureDateTime: String?
        let verdict: String
        let protectedPaths: [String]
        let checks: [Check]
        let signatureValueChecks: [Check]
        let quirks: [String]
    }

    let document: String
    let verdict: String
    let signatures: [Signature]
    let unprotectedPaths: [String]

    init(document: String, report: OFDVerificationReport) {
        self.document = document
        verdict = verdictText(report.verdict)
        unprotectedPaths = report.unprotectedPaths
        signatures = report.signatures.map { signature in
            Signature(id: signature.id, type: signature.type, description: signature.descriptionPath,
                      provider: signature.provider, signatureDateTime: signature.signatureDateTime,
                      verdict: verdictText(signature.verdict), protectedPaths: signature.protectedPaths,
                      checks: signature.checks.map { Check(name: $0.name, outcome: $0.outcome) },
                      signatureValueChecks: (signature.signatureValue?.checks ?? []).map { Check(name: "\($0.id)", outcome: $0.outcome) },
                      quirks: (signature.signatureValue?.quirks ?? []).map(\.description))
        }
    }
}
