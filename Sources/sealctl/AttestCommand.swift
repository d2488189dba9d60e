import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol
import X509

/// `sealctl attest [read]` and `sealctl attest verify`, after `ykman piv keys attest` and
/// `ykman piv certificates export f9`: the chip's signed statement about its seal key, read from the
/// token and checked offline against the vendor roots.
struct Attest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the chip's attestation of its seal key, or check a saved one offline.",
        subcommands: [Read.self, Verify.self],
        defaultSubcommand: Read.self)

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the chip to attest its seal key (GET ATTESTATION); --out saves it for `attest verify`.",
            discussion: """
                The chip signs a statement of its chip ID, seal key, feature hash, key policy, counter, \
                lifecycle and the nonce with its device key. Without --nonce a random 32-byte nonce is \
                used and printed; give the verifier that nonce to prove the statement is fresh.
                """)

        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("Nonce to include, 0 to 32 bytes of hex (random 32 bytes when omitted).", valueName: "HEX"))
        var nonce: String?
        @Option(help: ArgumentHelp("Save the attestation here (JSON) for `sealctl attest verify`.", valueName: "FILE"))
        var out: String?

        func validate() throws {
            if let nonce { _ = try parseNonce(nonce) }
        }

        func run() async throws {
            var random = SystemRandomNumberGenerator()
            let nonceBytes = try nonce.map(parseNonce) ?? (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) }
            let (attestation, certificateDER) = try await withToken(target, output) { token in
                (try await token.attestation(nonce: nonceBytes), try await token.deviceCertificateDER())
            }
            let signed = (try? Certificate(derEncoded: certificateDER)).map { attestation.isSigned(by: $0) } ?? false
            if let out {
                do {
                    try AttestationFile(attestation, deviceCertificateDER: certificateDER).jsonData()
                        .write(to: URL(fileURLWithPath: out), options: .atomic)
                } catch {
                    throw CLIError("cannot write \(out): \(error.localizedDescription)")
                }
            }
            let statement = AttestationStatementOutput(attestation.statement)
            if output.json {
                struct Out: Encodable { let statement: AttestationStatementOutput; let signedByDeviceCertificate: Bool; let out: String? }
                try printJSON(Out(statement: statement, signedByDeviceCertificate: signed, out: out))
            } else {
                statement.lines.forEach { print($0) }
                print("signature:    \(signed ? "valid under the chip's device certificate" : "INVALID under the chip's device certificate")")
                if let out { print("attestation written to \(out); check it with: sealctl attest verify \(out) --vendor-root PEM --nonce \(statement.nonce)") }
            }
            if !signed { throw CLIError("the attestation's signature does not verify under the chip's device certificate") }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a saved attestation offline against trusted vendor roots.",
            discussion: """
                Checks that the device certificate chains to a --vendor-root and names the chip, that \
                the device key signed the statement, that the nonce is --nonce (skipped without it) and \
                that the seal key was generated on the chip. Exit status 0 when every check passes, 1 \
                when any fails.
                """)

        @Argument(help: "The attestation file written by `sealctl attest --out`.") var file: String
        @Option(help: ArgumentHelp("A trusted vendor root certificate (PEM or DER); repeat for several.", valueName: "FILE"))
        var vendorRoot: [String] = []
        @Option(help: ArgumentHelp("The nonce the attestation must carry (hex), to prove it is fresh.", valueName: "HEX"))
        var nonce: String?
        @Option(help: ArgumentHelp("Check the certificates as of this time (seconds since 1970 or ISO 8601) instead of now.", valueName: "TIME"))
        var at: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if vendorRoot.isEmpty { throw ValidationError("give at least one --vendor-root (the vendor CA that certifies the chips)") }
            if let nonce { _ = try parseNonce(nonce) }
            if let at, parseTime(at) == nil { throw ValidationError("--at must be seconds since 1970 or ISO 8601, got \(at)") }
        }

        func run() async throws {
            let file = try AttestationFile.read(self.file).decoded()
            let roots = try VendorRoots.load(vendorRoot)
            let time = at.flatMap(parseTime).map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date()
            let report = await AttestationVerifier(trustedRoots: roots).verify(
                statement: file.statement, signature: file.signature, certificateDER: file.certificate,
                expectedNonce: try nonce.map(parseNonce), at: time)
            let statement = report.statement.map(AttestationStatementOutput.init)
            let warning = VendorRoots.testRootWarning(roots)
            if json {
                struct Out: Encodable {
                    let valid: Bool
                    let statement: AttestationStatementOutput?
                    let checks: [AttestationCheckResult]
                    let testRootWarning: String?
                }
                try printJSON(Out(valid: report.isValid, statement: statement, checks: report.checks, testRootWarning: warning))
            } else {
                for check in report.checks {
                    print("\(check.outcome.mark) \(check.id): \(check.detail)")
                }
                statement?.lines.forEach { print($0) }
                if let warning { print("note: \(warning)") }
                if report.isValid {
                    print("VALID: chip \(statement?.chipID ?? "") attests seal key \(statement?.keyID ?? "")")
                } else {
                    let first = report.checks.first { $0.outcome == .failed }.map { "\($0.id): \($0.detail)" } ?? ""
                    print("INVALID: \(first)")
                }
            }
            if !report.isValid { throw ExitCode(1) }
        }
    }
}

extension AttestationCheckResult.Outcome {
    /// The four-character mark `verify` and `attest verify` print before a check.
    var mark: String {
        switch self {
        case .passed: "ok  "
        case .failed: "FAIL"
        case .skipped: "skip"
        }
    }
}

/// A nonce from hex: 0 to 32 bytes.
func parseNonce(_ text: String) throws -> [UInt8] {
    guard let bytes = bytesFromHex(text), bytes.count <= SealApplet.maxAttestationNonce else {
        throw ValidationError("--nonce must be 0 to \(SealApplet.maxAttestationNonce) bytes of hex, got \(text)")
    }
    return bytes
}
