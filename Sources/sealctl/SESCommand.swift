import ArgumentParser
import Foundation
import SealESeal
import SealGMCrypto

/// `sealctl ses`: GB/T 38540 / GM/T 0031 electronic seals and signatures (docs/gbt38540.md).
struct SES: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ses",
        abstract: "GB/T 38540 and GM/T 0031 electronic seals (SESeal) and signatures (SES_Signature).",
        subcommands: [Verify.self, Stamp.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an SES_Signature or a bare SESeal (versions 1, 4 and 5).",
            discussion: """
                Checks the signer's and the maker's SM2 signatures, the signer against the seal's \
                certificate list, the seal's validity period, both certificates' validity and chains to \
                the --root certificates, and with --document the data hash. A signature is judged at its \
                own timeInfo; a bare seal at --at (default now). Exit status 0 when everything verifies \
                and chains to a given root, 2 when everything is intact but a chain ends at a root not \
                given, 1 when anything is invalid or the file cannot be read.
                """)

        @Argument(help: "The DER file: an SES_Signature (e.g. an OFD's SignedValue.dat) or an SESeal (.esl).")
        var file: String
        @Option(help: ArgumentHelp("A trusted SM2 root certificate (PEM); repeat for several.", valueName: "PEM"))
        var root: [String] = []
        @Option(help: ArgumentHelp("A CA certificate (PEM) that may link a certificate to a root; repeat for several.", valueName: "PEM"))
        var intermediate: [String] = []
        @Option(help: ArgumentHelp("The signed bytes (in OFD, the Signature.xml) to check the data hash against.", valueName: "FILE"))
        var document: String?
        @Option(help: ArgumentHelp("Judge a bare seal at this time (seconds since 1970 or ISO 8601) instead of now.", valueName: "TIME"))
        var at: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if let at, parseTime(at) == nil { throw ValidationError("--at must be seconds since 1970 or ISO 8601, got \(at)") }
        }

        func run() async throws {
            let bytes = try readFile(file)
            let verifier = SESVerifier(roots: try certificates(root), intermediates: try certificates(intermediate))
            let report: SESVerificationReport
            let kind: String
            do {
                let signature = try SESSignature(derEncoded: bytes)
                report = verifier.verify(signature, document: try document.map(readFile))
                kind = "SES_Signature v\(signature.version), seal \(signature.seal.sealID) \"\(signature.seal.property.name)\""
            } catch let signatureError as SESError {
                guard let seal = try? SESeal(derEncoded: bytes) else {
                    throw CLIError("\(file) is neither an SES_Signature nor an SESeal: \(signatureError)")
                }
                if document != nil { throw CLIError("--document goes with a signature; \(file) is a bare seal", status: .usage) }
                let time = at.flatMap(parseTime).map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date()
                report = verifier.verify(seal, at: time)
                kind = "SESeal v\(seal.header.version) \(seal.sealID) \"\(seal.property.name)\""
            }
            let verdict = switch report.verdict {
            case .valid: "VALID"
            case .unknownRoot: "UNKNOWN ROOT"
            case .invalid: "INVALID"
            }
            if json {
                struct Check: Encodable { let id: String; let outcome: String; let detail: String }
                struct Out: Encodable { let file: String; let verdict: String; let checks: [Check]; let quirks: [String] }
                let checks = report.checks.map { check -> Check in
                    switch check.outcome {
                    case .passed: Check(id: "\(check.id)", outcome: "passed", detail: "")
                    case .failed(let detail): Check(id: "\(check.id)", outcome: "failed", detail: detail)
                    case .unknownRoot(let detail): Check(id: "\(check.id)", outcome: "unknownRoot", detail: detail)
                    case .notChecked(let detail): Check(id: "\(check.id)", outcome: "notChecked", detail: detail)
                    }
                }
                try printJSON(Out(file: kind, verdict: verdict, checks: checks, quirks: report.quirks.map(\.description)))
            } else {
                print(kind)
                report.checks.forEach { print("  \($0)") }
                report.quirks.forEach { print("  accepted: \($0)") }
                print(verdict)
            }
            switch report.verdict {
            case .valid: return
            case .unknownRoot: throw ExitCode(2)
            case .invalid: throw ExitCode(1)
            }
        }

        private func certificates(_ paths: [String]) throws -> [SM2Certificate] {
            var certificates: [SM2Certificate] = []
            for path in paths {
                do {
                    certificates += try SM2Certificate.certificates(pemRepresentation: String(decoding: readFile(path), as: UTF8.self))
                } catch let error as GMCryptoError {
                    throw CLIError("\(path): \(error)")
                }
            }
            return certificates
        }

        private func readFile(_ path: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
            return [UInt8](data)
        }
    }
}
