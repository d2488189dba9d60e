import Crypto
import Foundation
import SealHostDriver
import SealProtocol
@_spi(FixedExpiryValidationTime) import X509

/// A saved GET ATTESTATION answer (`sealctl attest --out`): the signed statement, the device's
/// signature over it and the device certificate, so that it can be checked offline later against
/// the vendor roots (`sealctl attest verify`). Byte strings are hex, the certificate base64 DER,
/// as in a stamp record (docs/stamp-record.md). Nothing unsigned is repeated beside the statement:
/// what `attest verify` shows is decoded from the signed bytes.
struct AttestationFile: Codable {
    static let currentFormatVersion = 1

    var formatVersion: Int
    /// The statement bytes exactly as signed (SPEC §9.4), hex.
    var statement: String
    /// The device key's DER ECDSA signature over the statement, hex.
    var signature: String
    /// The chip's device certificate, base64 of the DER.
    var deviceCertificate: String

    init(_ attestation: SealAttestation, deviceCertificateDER: [UInt8]) {
        formatVersion = Self.currentFormatVersion
        statement = hexString(attestation.statementBytes)
        signature = hexString(attestation.signature)
        deviceCertificate = Data(deviceCertificateDER).base64EncodedString()
    }

    func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// The parts as bytes.
    /// - Throws: ``CLIError`` naming the field that is not what the format says.
    func decoded() throws -> (statement: [UInt8], signature: [UInt8], certificate: [UInt8]) {
        guard formatVersion == Self.currentFormatVersion else {
            throw CLIError("attestation formatVersion \(formatVersion) is not \(Self.currentFormatVersion)")
        }
        guard let statement = bytesFromHex(statement) else { throw CLIError("attestation \"statement\" is not hex") }
        guard let signature = bytesFromHex(signature) else { throw CLIError("attestation \"signature\" is not hex") }
        guard let certificate = Data(base64Encoded: deviceCertificate) else {
            throw CLIError("attestation \"deviceCertificate\" is not base64")
        }
        return (statement, signature, [UInt8](certificate))
    }

    static func read(_ path: String) throws -> AttestationFile {
        let data = Data(try readFile(path, what: "attestation"))
        do {
            return try JSONDecoder().decode(AttestationFile.self, from: data)
        } catch {
            throw CLIError("\(path) is not an attestation file (sealctl attest --out): \(error.localizedDescription)")
        }
    }
}

/// One check of an attestation, as `attest verify` reports it.
struct AttestationCheckResult: Encodable {
    enum Outcome: String, Encodable { case passed, failed, skipped }
    let id: String
    let outcome: Outcome
    let detail: String
}

/// Checks a saved attestation offline: the statement parses, the device certificate chains to a
/// trusted vendor root and names the chip, the device key signed the statement, the nonce is the
/// one asked for, and the seal key was generated on the chip. All checks run, like
/// ``StampVerifier``'s, so the report shows everything that is wrong.
struct AttestationVerifier {
    let trustedRoots: [Certificate]

    struct Report {
        var checks: [AttestationCheckResult] = []
        var statement: AttestationStatement?
        var isValid: Bool { !checks.contains { $0.outcome == .failed } }

        mutating func add(_ id: String, _ passed: Bool, _ detail: String) {
            checks.append(.init(id: id, outcome: passed ? .passed : .failed, detail: detail))
        }
    }

    func verify(statement statementBytes: [UInt8], signature: [UInt8], certificateDER: [UInt8],
                expectedNonce: [UInt8]?, at time: Date) async -> Report {
        var report = Report()
        do {
            report.statement = try AttestationStatement(decoding: statementBytes)
            report.add("attestation-format", true, "\(statementBytes.count)-byte SEALKIT-ATTEST-V1 statement")
        } catch {
            report.add("attestation-format", false, "statement does not parse: \(error.reason)")
        }

        let certificate: Certificate?
        do {
            certificate = try Certificate(derEncoded: certificateDER)
        } catch {
            certificate = nil
            report.add("device-certificate-chain", false, "device certificate is not DER X.509: \(error)")
        }
        if let certificate {
            var verifier = Verifier(rootCertificates: CertificateStore(trustedRoots)) {
                RFC5280Policy(fixedExpiryValidationTime: time)
            }
            switch await verifier.validate(leaf: certificate, intermediates: CertificateStore()) {
            case .validCertificate(let chain):
                report.add("device-certificate-chain", true,
                           "\(certificate.subject) chains to \(chain.last?.subject.description ?? "a trusted root")")
            case .couldNotValidate(let failures):
                let reasons = failures.map { "\($0.policyFailureReason)" }.joined(separator: "; ")
                report.add("device-certificate-chain", false,
                           "\(certificate.subject) does not chain to a trusted root\(reasons.isEmpty ? "" : ": \(reasons)")")
            }
            let serials = DeviceCertificateIdentity.subjectSerialNumbers(of: certificate)
            if let statement = report.statement {
                let chipID = hexString(statement.chipID)
                report.add("device-certificate-chip-id", serials == [chipID],
                           "certificate serialNumber \(serials.isEmpty ? "absent" : serials.joined(separator: ", ")), statement chip ID \(chipID)")
            } else {
                report.add("device-certificate-chip-id", false, "cannot check: statement does not parse")
            }
        } else {
            report.add("device-certificate-chip-id", false, "cannot check: no device certificate")
        }

        let signed = certificate.map { certificate in
            guard let key = P256.Signing.PublicKey(certificate.publicKey),
                  let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: statementBytes)
        } ?? false
        report.add("attestation-signature", signed,
                   signed ? "ECDSA P-256 over the statement with the device certificate key"
                       : "the statement's signature does not verify under the device certificate key")

        guard let statement = report.statement else {
            report.add("nonce", false, "cannot check: statement does not parse")
            report.add("seal-key-id", false, "cannot check: statement does not parse")
            report.add("key-generated-on-chip", false, "cannot check: statement does not parse")
            return report
        }
        if let expectedNonce {
            report.add("nonce", statement.nonce == expectedNonce,
                       "statement nonce \(hexString(statement.nonce)), expected \(hexString(expectedNonce))")
        } else {
            report.checks.append(.init(id: "nonce", outcome: .skipped,
                                       detail: "no --nonce given: freshness not checked (statement nonce \(hexString(statement.nonce)))"))
        }
        let keyID = sealKeyID(publicKeyX963: statement.sealPublicKey)
        report.add("seal-key-id", keyID == statement.keyID,
                   "SHA-256(seal key) \(hexString(keyID)), statement \(hexString(statement.keyID))")
        report.add("key-generated-on-chip", statement.keyPolicy.contains(.generatedOnChip),
                   "key policy \(hexString([statement.keyPolicy.rawValue])) (bit 0 = generated on chip)")
        return report
    }
}

/// The decoded statement, for text and JSON output.
struct AttestationStatementOutput: Encodable {
    let chipID: String
    let sealPublicKey: String
    let keyID: String
    let featureHash: String
    let keyPolicy: [String]
    let counter: UInt32
    let lifecycle: String
    let nonce: String

    init(_ statement: AttestationStatement) {
        chipID = hexString(statement.chipID)
        sealPublicKey = hexString(statement.sealPublicKey)
        keyID = hexString(statement.keyID)
        featureHash = hexString(statement.featureHash)
        var policy: [String] = []
        if statement.keyPolicy.contains(.generatedOnChip) { policy.append("generatedOnChip") }
        if statement.keyPolicy.contains(.neverExportable) { policy.append("neverExportable") }
        if statement.keyPolicy.contains(.pinRequired) { policy.append("pinRequired") }
        if statement.keyPolicy.contains(.remoteAuthorizationRequired) { policy.append("remoteAuthorizationRequired") }
        keyPolicy = policy
        counter = statement.counter
        lifecycle = LifecycleState(rawValue: statement.lifecycle)?.description ?? "unknown (\(statement.lifecycle))"
        nonce = hexString(statement.nonce)
    }

    var lines: [String] {
        ["chip ID:      \(chipID)",
         "lifecycle:    \(lifecycle)",
         "counter:      \(counter)",
         "seal key ID:  \(keyID)",
         "seal key:     \(sealPublicKey)",
         "feature hash: \(featureHash)",
         "key policy:   \(keyPolicy.isEmpty ? "none" : keyPolicy.joined(separator: ", "))",
         "nonce:        \(nonce.isEmpty ? "(none)" : nonce)"]
    }
}
