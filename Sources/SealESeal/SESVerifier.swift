import Foundation
import SealGMCrypto
import Synchronization

/// The result of one verification check.
public enum SESCheckOutcome: Hashable, Sendable {
    /// The check passed.
    case passed
    /// The check failed: the seal or signature is invalid.
    case failed(String)
    /// The certificate chain is intact but ends at a certificate that is not among the configured
    /// roots (and no configured certificate issued it).
    case unknownRoot(String)
    /// The check could not be made (e.g. no document was given for the data hash).
    case notChecked(String)
}

/// One verification check and its outcome.
public struct SESCheck: Hashable, Sendable, CustomStringConvertible {
    /// What was checked.
    public let id: ID
    /// How it came out.
    public let outcome: SESCheckOutcome

    /// The checks, in the order the verifier makes them.
    public struct ID: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case signatureAlgorithm, signerSignature, signerInCertificateList, makerSignature, criticalExtensions
            case sealValidityPeriod, makerCertificateValidity, makerCertificateChain
            case signerCertificateValidity, signerCertificateChain, dataHash, timeStamp
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The seal and signature use SM2-with-SM3 (1.2.156.10197.1.501).
        public static let signatureAlgorithm = ID(.signatureAlgorithm)
        /// The signer's signature over TBS_Sign verifies with the signer certificate's key.
        public static let signerSignature = ID(.signerSignature)
        /// The signer certificate is in the seal's certificate list (byte for byte, or by digest).
        public static let signerInCertificateList = ID(.signerInCertificateList)
        /// The maker's signature over the seal information verifies with the maker certificate's key.
        public static let makerSignature = ID(.makerSignature)
        /// No extension is marked critical (SealKit knows none, so a critical one cannot be honoured).
        public static let criticalExtensions = ID(.criticalExtensions)
        /// The verification time lies within the seal's validStart…validEnd.
        public static let sealValidityPeriod = ID(.sealValidityPeriod)
        /// The maker certificate is within its validity period at the verification time.
        public static let makerCertificateValidity = ID(.makerCertificateValidity)
        /// The maker certificate chains to a configured root.
        public static let makerCertificateChain = ID(.makerCertificateChain)
        /// The signer certificate is within its validity period at the verification time.
        public static let signerCertificateValidity = ID(.signerCertificateValidity)
        /// The signer certificate chains to a configured root.
        public static let signerCertificateChain = ID(.signerCertificateChain)
        /// SM3 of the document equals dataHash.
        public static let dataHash = ID(.dataHash)
        /// A timestamp is present; SealKit does not verify GB/T 20520 tokens yet.
        public static let timeStamp = ID(.timeStamp)

        /// The check's name, e.g. `makerSignature`.
        public var description: String { value.rawValue }
    }

    /// `id: outcome`.
    public var description: String {
        switch outcome {
        case .passed: "\(id): passed"
        case .failed(let why): "\(id): FAILED: \(why)"
        case .unknownRoot(let why): "\(id): unknown root: \(why)"
        case .notChecked(let why): "\(id): not checked: \(why)"
        }
    }
}

/// The overall verdict of a verification.
public enum SESVerdict: Hashable, Sendable {
    /// Every check passed and every chain ends at a configured root.
    case valid
    /// Every signature and hash is intact, but a chain ends at a root that was not configured.
    case unknownRoot
    /// Some check failed.
    case invalid
}

/// What verifying a seal or a signature found: every check, and the quirks the bytes carry.
public struct SESVerificationReport: Hashable, Sendable {
    /// The checks made, in order.
    public let checks: [SESCheck]
    /// The departures from strict DER the bytes carry (accepted).
    public let quirks: [SESQuirk]
    /// The time validity periods and chains were judged at.
    public let verificationTime: Date

    /// The outcome of one check, if it was made.
    public func outcome(of id: SESCheck.ID) -> SESCheckOutcome? {
        checks.first { $0.id == id }?.outcome
    }

    /// `.invalid` if any check failed, else `.unknownRoot` if a chain ends at an unconfigured root,
    /// else `.valid`. Checks that could not be made (`notChecked`) do not fail a verification.
    public var verdict: SESVerdict {
        if checks.contains(where: { if case .failed = $0.outcome { true } else { false } }) { return .invalid }
        if checks.contains(where: { if case .unknownRoot = $0.outcome { true } else { false } }) { return .unknownRoot }
        return .valid
    }
}

/// Verifies seals and signatures against configured root certificates.
///
/// The order follows GM/T 0031-2025 and GB/T 38540: the signer's signature, the signer in the
/// seal's certificate list, the seal (maker signature, validity period, maker certificate), the
/// signer certificate, the data hash. Validity periods and chains are judged at the signature's
/// timeInfo; a bare seal is judged at a time the caller gives.
public struct SESVerifier: Sendable {
    /// The SM2-with-SM3 signature algorithm OID.
    public static let sm2WithSM3 = "1.2.156.10197.1.501"

    /// The root certificates a chain must end at.
    public let roots: [SM2Certificate]
    /// Further CA certificates that may link a certificate to a root.
    public let intermediates: [SM2Certificate]
    private let cache = CertificateCache()

    /// Creates a verifier.
    ///
    /// - Parameters:
    ///   - roots: The trusted roots (none: every chain ends at an unknown root).
    ///   - intermediates: CA certificates that may sit between a certificate and a root.
    public init(roots: [SM2Certificate], intermediates: [SM2Certificate] = []) {
        self.roots = roots
        self.intermediates = intermediates
    }

    /// Verifies a signature and, when `document` is given, that its dataHash is SM3 of `document`
    /// (in OFD, the bytes of the `Signature.xml` that ``SESSignature/propertyInfo`` names).
    public func verify(_ signature: SESSignature, document: [UInt8]? = nil) -> SESVerificationReport {
        let time = signature.timeInfo
        var checks: [SESCheck] = []
        checks.append(algorithmCheck([signature.signatureAlgorithm, signature.seal.signatureAlgorithm]))
        let signer = certificate(signature.signerCertificate)
        switch signer {
        case .success(let certificate):
            checks.append(SESCheck(id: .signerSignature,
                                   outcome: signatureOutcome(signature.signature, over: signature.signedBytes, key: certificate.publicKey)))
        case .failure(let error):
            checks.append(SESCheck(id: .signerSignature, outcome: .failed("signer certificate: \(error)")))
        }
        checks.append(SESCheck(id: .signerInCertificateList, outcome: listOutcome(signature)))
        checks += sealChecks(signature.seal, at: time, extraExtensions: signature.extensions)
        if case .success(let certificate) = signer {
            checks.append(SESCheck(id: .signerCertificateValidity, outcome: validityOutcome(certificate, at: time)))
            checks.append(SESCheck(id: .signerCertificateChain, outcome: chainOutcome(certificate, at: time)))
        }
        if let document {
            let digest = SM3.hash(document)
            checks.append(SESCheck(id: .dataHash, outcome: digest == signature.dataHash
                ? .passed : .failed("SM3 of the document is \(hex(digest)), dataHash is \(hex(signature.dataHash))")))
        } else {
            checks.append(SESCheck(id: .dataHash, outcome: .notChecked("no document given")))
        }
        if signature.timeStamp != nil || signature.seal.timeStamp != nil {
            checks.append(SESCheck(id: .timeStamp, outcome: .notChecked("timestamps are not verified yet")))
        }
        return SESVerificationReport(checks: checks, quirks: signature.quirks, verificationTime: time)
    }

    /// Verifies a seal on its own: the maker's signature, the seal's validity period and the maker
    /// certificate's validity and chain at `time`.
    public func verify(_ seal: SESeal, at time: Date) -> SESVerificationReport {
        var checks = [algorithmCheck([seal.signatureAlgorithm])]
        checks += sealChecks(seal, at: time, extraExtensions: [])
        if seal.timeStamp != nil {
            checks.append(SESCheck(id: .timeStamp, outcome: .notChecked("timestamps are not verified yet")))
        }
        return SESVerificationReport(checks: checks, quirks: seal.quirks, verificationTime: time)
    }

    private func sealChecks(_ seal: SESeal, at time: Date, extraExtensions: [SESExtension]) -> [SESCheck] {
        var checks: [SESCheck] = []
        let maker = certificate(seal.makerCertificate)
        switch maker {
        case .success(let certificate):
            checks.append(SESCheck(id: .makerSignature,
                                   outcome: signatureOutcome(seal.makerSignature, over: seal.makerSignedBytes, key: certificate.publicKey)))
        case .failure(let error):
            checks.append(SESCheck(id: .makerSignature, outcome: .failed("maker certificate: \(error)")))
        }
        let critical = (seal.extensions + extraExtensions).filter(\.isCritical).map(\.oid)
        checks.append(SESCheck(id: .criticalExtensions, outcome: critical.isEmpty
            ? .passed : .failed("unknown critical extension \(critical.joined(separator: ", "))")))
        let property = seal.property
        checks.append(SESCheck(id: .sealValidityPeriod, outcome: property.validStart <= time && time <= property.validEnd
            ? .passed : .failed("\(iso(time)) is outside the seal's \(iso(property.validStart)) – \(iso(property.validEnd))")))
        if case .success(let certificate) = maker {
            checks.append(SESCheck(id: .makerCertificateValidity, outcome: validityOutcome(certificate, at: time)))
            checks.append(SESCheck(id: .makerCertificateChain, outcome: chainOutcome(certificate, at: time)))
        }
        return checks
    }

    private func algorithmCheck(_ algorithms: [String]) -> SESCheck {
        let other = algorithms.filter { $0 != Self.sm2WithSM3 }
        return SESCheck(id: .signatureAlgorithm, outcome: other.isEmpty
            ? .passed : .failed("unsupported signature algorithm \(other.joined(separator: ", "))"))
    }

    private func certificate(_ der: [UInt8]) -> Result<SM2Certificate, GMCryptoError> {
        do { return .success(try cache.certificate(der)) } catch let error as GMCryptoError {
            return .failure(error)
        } catch {
            return .failure(GMCryptoError(code: .invalidCertificate, reason: "\(error)"))
        }
    }

    /// A DER signature is used as it is; 64 bytes that are not DER are r‖s (Koal).
    private func signatureOutcome(_ value: [UInt8], over message: [UInt8], key: SM2PublicKey) -> SESCheckOutcome {
        let der: [UInt8]
        if SM2Signature.isDER(value) {
            der = value
        } else if value.count == SM2Signature.rawByteCount, let converted = try? SM2Signature.derFromRaw(value) {
            der = converted
        } else {
            return .failed("the signature is neither DER nor 64 bytes of r‖s (\(value.count) bytes)")
        }
        return key.isValidSignature(der, for: message) ? .passed : .failed("the SM2 signature does not verify")
    }

    private func listOutcome(_ signature: SESSignature) -> SESCheckOutcome {
        let property = signature.seal.property
        if property.certificateListType == 2 {
            for digest in property.signerCertificateDigests {
                guard digest.type.uppercased() == "SM3" else { continue }
                if SM3.hash(signature.signerCertificate) == digest.value { return .passed }
            }
            return .failed("no SM3 digest in the seal's certificate list matches the signer certificate")
        }
        return property.signerCertificates.contains(signature.signerCertificate)
            ? .passed : .failed("the signer certificate is not in the seal's certificate list")
    }

    private func validityOutcome(_ certificate: SM2Certificate, at time: Date) -> SESCheckOutcome {
        certificate.isValid(at: time) ? .passed
            : .failed("\(certificate.subjectDescription) is valid \(iso(certificate.notBefore)) – \(iso(certificate.notAfter)), not at \(iso(time))")
    }

    /// Walks issuer links through the intermediates to a root, each issuer a CA certificate valid at `time`.
    private func chainOutcome(_ leaf: SM2Certificate, at time: Date) -> SESCheckOutcome {
        var current = leaf
        for _ in 0..<8 {
            if roots.contains(where: { $0.derRepresentation == current.derRepresentation }) { return .passed }
            if let root = roots.first(where: { cache.isIssued(current, by: $0) }) {
                guard root.isCertificateAuthority else { return .failed("root \(root.subjectDescription) is not a CA certificate") }
                return root.isValid(at: time) ? .passed : .failed("root \(root.subjectDescription) is not valid at \(iso(time))")
            }
            if roots.contains(where: { $0.subjectDER == current.issuerDER }) {
                return .failed("\(current.subjectDescription) names a configured root as issuer, but its signature does not verify")
            }
            guard let next = intermediates.first(where: { cache.isIssued(current, by: $0) }) else {
                return .unknownRoot("\(current.subjectDescription) is issued by a certificate that is not configured")
            }
            guard next.isCertificateAuthority else {
                return .failed("intermediate \(next.subjectDescription) is not a CA certificate")
            }
            guard next.isValid(at: time) else {
                return .failed("intermediate \(next.subjectDescription) is not valid at \(iso(time))")
            }
            current = next
        }
        return .failed("the chain is longer than 8 certificates")
    }
}

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

private func iso(_ date: Date) -> String { date.formatted(.iso8601) }

/// Certificates decoded once per verifier, and issuer signatures checked once: OpenSSL 3 takes about
/// as long to decode an SM2 certificate as half an SM2 verification, and a seal's certificates
/// repeat from signature to signature (docs/gbt38540.md has the figures). Bounded: emptied when full.
final class CertificateCache: Sendable {
    private struct Link: Hashable {
        let certificate: [UInt8]
        let issuer: [UInt8]
    }
    private struct Entries {
        var certificates: [[UInt8]: SM2Certificate] = [:]
        var links: [Link: Bool] = [:]
    }
    private static let capacity = 256
    private let entries = Mutex(Entries())

    func certificate(_ der: [UInt8]) throws -> SM2Certificate {
        if let known = entries.withLock({ $0.certificates[der] }) { return known }
        let parsed = try SM2Certificate(derEncoded: der)
        entries.withLock {
            if $0.certificates.count >= Self.capacity { $0.certificates.removeAll() }
            $0.certificates[der] = parsed
        }
        return parsed
    }

    func isIssued(_ certificate: SM2Certificate, by issuer: SM2Certificate) -> Bool {
        // Names are compared first, without a lookup: most candidates are not the issuer.
        guard certificate.issuerDER == issuer.subjectDER else { return false }
        let link = Link(certificate: certificate.derRepresentation, issuer: issuer.derRepresentation)
        if let known = entries.withLock({ $0.links[link] }) { return known }
        let issued = certificate.isIssued(by: issuer)
        entries.withLock {
            if $0.links.count >= Self.capacity { $0.links.removeAll() }
            $0.links[link] = issued
        }
        return issued
    }
}
