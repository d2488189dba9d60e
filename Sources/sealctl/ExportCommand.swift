import ArgumentParser
import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import X509

/// `sealctl export certificate | public-key`, after `ykman piv certificates export` and
/// `pkcs15-tool --read-certificate / --read-public-key`.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the chip's device certificate or the seal public key.",
        subcommands: [CertificateCommand.self, PublicKey.self])

    enum Encoding: String, EnumerableFlag, Encodable {
        case pem, der

        static func help(for value: Encoding) -> ArgumentHelp? {
            switch value {
            case .pem: "PEM text."
            case .der: "DER bytes."
            }
        }
    }

    /// What both subcommands share.
    struct Options: ParsableArguments {
        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Flag var encoding: Encoding = .pem
        @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "FILE"))
        var out: String?

        func validate() throws {
            if encoding == .der && out == nil && !output.json && Terminal.standardOutputIsTerminal {
                throw ValidationError("DER is binary: give --out FILE, redirect standard output, or use --pem")
            }
        }
    }

    struct CertificateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "certificate",
            abstract: "The chip's device certificate (X.509, signed by the vendor CA; SPEC §12).")
        @OptionGroup var options: Options

        func run() async throws {
            let der = try await withToken(options.target, options.output) { token in try await token.deviceCertificateDER() }
            let certificate: Certificate
            do { certificate = try Certificate(derEncoded: der) } catch {
                throw CLIError("the token's device certificate is not DER X.509: \(error)")
            }
            let pem = try certificate.serializeAsPEM().pemString + "\n"
            try Export.emit(der: der, pem: pem, options, subject: "\(certificate.subject)")
        }
    }

    struct PublicKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public-key",
            abstract: "The seal public key as SubjectPublicKeyInfo (P-256): what a stamp record's signature verifies under.")
        @OptionGroup var options: Options

        func run() async throws {
            let info = try await withToken(options.target, options.output) { token in try await token.info() }
            guard let x963 = info.sealPublicKey else {
                throw CLIError("the token is \(info.lifecycle) and has no seal key")
            }
            let key: P256.Signing.PublicKey
            do { key = try P256.Signing.PublicKey(x963Representation: x963) } catch {
                throw CLIError("the token's seal key is not a P-256 point: \(error)")
            }
            try Export.emit(der: Array(key.derRepresentation), pem: key.pemRepresentation + "\n", options,
                            subject: "seal key \(info.sealKeyID.map { hexString($0) } ?? "")")
        }
    }

    /// Writes the export to `--out` or stdout; with `--json` prints a description (and the data
    /// itself when there is no `--out`: PEM text, or DER as base64).
    static func emit(der: [UInt8], pem: String, _ options: Options, subject: String) throws {
        let bytes = options.encoding == .der ? Data(der) : Data(pem.utf8)
        if let out = options.out {
            do {
                try bytes.write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw CLIError("cannot write \(out): \(error.localizedDescription)")
            }
        }
        if options.output.json {
            struct Out: Encodable {
                let subject: String
                let encoding: Encoding
                let sha256: String
                let bytes: Int
                let out: String?
                let data: String?
            }
            try printJSON(Out(
                subject: subject, encoding: options.encoding, sha256: hexString(SealDigest.sha256(der)), bytes: bytes.count,
                out: options.out,
                data: options.out != nil ? nil : (options.encoding == .der ? Data(der).base64EncodedString() : pem)))
        } else if let out = options.out {
            print("\(subject) written to \(out) (\(options.encoding.rawValue.uppercased()))")
        } else {
            FileHandle.standardOutput.write(bytes)
        }
    }
}
