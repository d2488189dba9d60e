#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import SealProtocol
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// An RFC 3161 time-stamp token (a CMS `SignedData` whose content is a `TSTInfo`), as a stamp
/// record carries it beside the chip's signature (docs/stamp-record.md, "Timestamp token").
///
/// A trusted time-stamping authority (TSA) signs that it saw the SHA-256 of the stamp signature at
/// its `genTime`: whoever trusts the TSA knows the stamp existed before that time, whatever time
/// the host gave the chip. The token is parsed with swift-asn1 (swift-certificates keeps its CMS
/// types behind SPI) and verified with swift-crypto and swift-certificates' public API:
/// ``verifySignature()`` checks the CMS signature (ECDSA or RSA) and ``verifyTSA(roots:)`` the TSA
/// certificate chain. The message imprint SealKit asks for and accepts is SHA-256.
public struct RFC3161TimestampToken: Sendable {
    /// The DER `ContentInfo`, exactly as carried.
    public let derEncoded: [UInt8]
    /// The time the TSA states it saw the imprint (`TSTInfo.genTime`).
    public let generationTime: Date
    /// The hash algorithm of the message imprint (`2.16.840.1.101.3.4.2.1` for SHA-256).
    package let imprintAlgorithm: String
    /// The hashed message of the message imprint.
    public let imprint: [UInt8]
    /// The TSA's serial number of the token (big-endian two's complement).
    package let serialNumber: [UInt8]
    /// The nonce of the request, echoed, when the request had one.
    public let nonce: [UInt8]?
    /// The TSA's policy OID.
    package let policy: String
    /// The certificates the token carries (the TSA's, and possibly intermediates).
    package let certificates: [Certificate]

    /// The `TSTInfo` DER (the signed content), its digest algorithm, the signed attributes as DER
    /// `SET`, the signature and the signer identification.
    let content: [UInt8]
    let digestAlgorithm: String
    let signedAttributes: [UInt8]
    let attributes: [(type: String, values: [ASN1Node])]
    let signatureAlgorithm: String
    let signature: [UInt8]
    let signer: SignerID

    enum SignerID: Sendable {
        case issuerAndSerial(DistinguishedName, [UInt8])
        case subjectKeyIdentifier([UInt8])
    }

    static let sha256OID = "2.16.840.1.101.3.4.2.1"
    static let signedDataOID = "1.2.840.113549.1.7.2"
    static let tstInfoOID = "1.2.840.113549.1.9.16.1.4"
    static let contentTypeAttribute = "1.2.840.113549.1.9.3"
    static let messageDigestAttribute = "1.2.840.113549.1.9.4"
    static let ecPublicKey = "1.2.840.10045.2.1"

    /// Parses a DER `TimeStampToken` (`ContentInfo` of `SignedData` with a `TSTInfo`).
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/malformedResponse`` naming what does not parse.
    public init(derEncoded bytes: [UInt8]) throws(SealDriverError) {
        do {
            self = try Self.parse(bytes)
        } catch let error as SealDriverError {
            throw error
        } catch {
            throw SealDriverError(code: .malformedResponse, reason: "timestamp token does not parse: \(error)")
        }
    }

    private init(derEncoded: [UInt8], generationTime: Date, imprintAlgorithm: String, imprint: [UInt8],
                 serialNumber: [UInt8], nonce: [UInt8]?, policy: String, certificates: [Certificate], content: [UInt8],
                 digestAlgorithm: String, signedAttributes: [UInt8], attributes: [(type: String, values: [ASN1Node])],
                 signatureAlgorithm: String, signature: [UInt8], signer: SignerID) {
        self.derEncoded = derEncoded
        self.generationTime = generationTime
        self.imprintAlgorithm = imprintAlgorithm
        self.imprint = imprint
        self.serialNumber = serialNumber
        self.nonce = nonce
        self.policy = policy
        self.certificates = certificates
        self.content = content
        self.digestAlgorithm = digestAlgorithm
        self.signedAttributes = signedAttributes
        self.attributes = attributes
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = signature
        self.signer = signer
    }

    // MARK: Verification

    /// Whether the message imprint is SHA-256 of `message` (for a stamp record: its signature).
    public func imprintMatches(_ message: [UInt8]) -> Bool {
        imprintAlgorithm == Self.sha256OID && imprint == Array(SHA256.hash(data: message))
    }

    /// The certificate that signed the token, found among the certificates it carries by the signer
    /// identification.
    public var signerCertificate: Certificate? {
        certificates.first { certificate in
            switch signer {
            case .issuerAndSerial(let issuer, let serial):
                return certificate.issuer == issuer && Array(certificate.serialNumber.bytes) == serial
            case .subjectKeyIdentifier(let identifier):
                return (try? certificate.extensions.subjectKeyIdentifier).flatMap { $0 }.map { Array($0.keyIdentifier) } == identifier
            }
        }
    }

    /// Checks the CMS signature: the signed attributes name the `TSTInfo` content type and hold
    /// its digest, and the signer certificate's key signed them. Digests SHA-256, SHA-384 and
    /// SHA-512; signatures ECDSA (P-256, P-384, P-521) and RSA PKCS #1 v1.5, through
    /// swift-certificates' public key.
    /// - Returns: `nil` when the signature verifies, else what is wrong.
    public func verifySignature() -> String? {
        guard let (contentDigest, algorithm) = Self.signatureProfile(digest: digestAlgorithm, signature: signatureAlgorithm) else {
            return "digest \(digestAlgorithm) with signature algorithm \(signatureAlgorithm) is not a profile SealKit verifies"
        }
        guard let contentType = attributes.first(where: { $0.type == Self.contentTypeAttribute }),
              contentType.values.count == 1,
              (try? ASN1ObjectIdentifier(derEncoded: contentType.values[0])).map({ "\($0)" }) == Self.tstInfoOID else {
            return "the signed attributes do not name the TSTInfo content type"
        }
        guard let digest = attributes.first(where: { $0.type == Self.messageDigestAttribute }), digest.values.count == 1,
              let value = try? ASN1OctetString(derEncoded: digest.values[0]) else {
            return "the signed attributes hold no message digest"
        }
        guard Array(value.bytes) == contentDigest(content) else {
            return "the message digest attribute is not the digest of the TSTInfo (the token was changed)"
        }
        guard let certificate = signerCertificate else { return "the token carries no certificate of its signer" }
        guard certificate.publicKey.isValidSignature(signature, for: signedAttributes, signatureAlgorithm: algorithm) else {
            return "the TSA's signature over the signed attributes does not verify"
        }
        return nil
    }

    /// The digest function and the X.509 signature algorithm of a SignerInfo's digest and
    /// signature algorithm OIDs (CMS names RSA and ECDSA signatures by the key type too).
    private static func signatureProfile(digest: String, signature: String)
        -> (([UInt8]) -> [UInt8], Certificate.SignatureAlgorithm)? {
        let ecdsa: Set<String> = [ecPublicKey, "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"]
        let rsa: Set<String> = ["1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13"]
        switch digest {
        case sha256OID where ecdsa.contains(signature):
            return ({ Array(SHA256.hash(data: $0)) }, .ecdsaWithSHA256)
        case "2.16.840.1.101.3.4.2.2" where ecdsa.contains(signature):
            return ({ Array(SHA384.hash(data: $0)) }, .ecdsaWithSHA384)
        case "2.16.840.1.101.3.4.2.3" where ecdsa.contains(signature):
            return ({ Array(SHA512.hash(data: $0)) }, .ecdsaWithSHA512)
        case sha256OID where rsa.contains(signature):
            return ({ Array(SHA256.hash(data: $0)) }, .sha256WithRSAEncryption)
        case "2.16.840.1.101.3.4.2.2" where rsa.contains(signature):
            return ({ Array(SHA384.hash(data: $0)) }, .sha384WithRSAEncryption)
        case "2.16.840.1.101.3.4.2.3" where rsa.contains(signature):
            return ({ Array(SHA512.hash(data: $0)) }, .sha512WithRSAEncryption)
        default:
            return nil
        }
    }

    /// Checks that the signer certificate chains to one of `roots` at ``generationTime`` (RFC 5280)
    /// and is a TSA certificate (extended key usage timeStamping, RFC 3161 §2.3).
    /// - Returns: `nil` when it does, else what is wrong.
    public func verifyTSA(roots: [Certificate]) async -> String? {
        guard !roots.isEmpty else { return "no TSA root is configured" }
        guard let leaf = signerCertificate else { return "the token carries no certificate of its signer" }
        do {
            guard let usage = try leaf.extensions.extendedKeyUsage, usage.contains(.timeStamping) else {
                return "\(leaf.subject) lacks the timeStamping extended key usage"
            }
        } catch {
            return "the TSA certificate's extensions do not parse: \(error)"
        }
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(fixedExpiryValidationTime: generationTime)
            TimeStampingUsagePolicy()
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(certificates)) {
        case .validCertificate:
            return nil
        case .couldNotValidate(let failures):
            let reasons = failures.map { "\($0.policyFailureReason)" }.joined(separator: "; ")
            return "\(leaf.subject) does not chain to a TSA root at the token's time\(reasons.isEmpty ? "" : ": \(reasons)")"
        }
    }

    // MARK: Requests and responses

    /// A DER `TimeStampReq` (RFC 3161 §2.4.1) for SHA-256 of `message`, asking for the TSA's
    /// certificate in the token; `nonce` (big-endian, positive) when given.
    public static func request(for message: [UInt8], nonce: [UInt8]?) -> [UInt8] {
        var serializer = DER.Serializer()
        try? serializer.appendConstructedNode(identifier: .sequence) { request in
            try request.serialize(1)
            try request.appendConstructedNode(identifier: .sequence) { imprint in
                try imprint.appendConstructedNode(identifier: .sequence) { algorithm in
                    try algorithm.serialize(try ASN1ObjectIdentifier(dotRepresentation: sha256OID))
                    try algorithm.serialize(ASN1Null())
                }
                try imprint.serialize(ASN1OctetString(contentBytes: ArraySlice(SHA256.hash(data: message))))
            }
            if let nonce {
                // A positive INTEGER (the serializer adds the leading zero a set top bit needs).
                let trimmed = Array(nonce.drop { $0 == 0 })
                try request.serialize(ArraySlice(trimmed.isEmpty ? [0] : trimmed))
            }
            try request.serialize(true)
        }
        return serializer.serializedBytes
    }

    /// The token of a DER `TimeStampResp` (RFC 3161 §2.4.2) whose status is granted (0) or
    /// grantedWithMods (1).
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/malformedResponse`` when the reply does not
    ///   parse, carries no token or reports another status.
    public init(timeStampResponse bytes: [UInt8]) throws(SealDriverError) {
        let token: [UInt8]
        do {
            let nodes = try Self.children(try DER.parse(bytes))
            guard nodes.count >= 1 else { throw SealDriverError(code: .malformedResponse, reason: "empty TimeStampResp") }
            let status = try Self.children(nodes[0])
            guard let first = status.first else { throw SealDriverError(code: .malformedResponse, reason: "empty PKIStatusInfo") }
            let code = try Int(derEncoded: first)
            guard code == 0 || code == 1 else {
                throw SealDriverError(code: .malformedResponse, reason: "the TSA refused the request (PKIStatus \(code))")
            }
            guard nodes.count >= 2 else { throw SealDriverError(code: .malformedResponse, reason: "the reply carries no token") }
            token = Array(nodes[1].encodedBytes)
        } catch let error as SealDriverError {
            throw error
        } catch {
            throw SealDriverError(code: .malformedResponse, reason: "TimeStampResp does not parse: \(error)")
        }
        try self.init(derEncoded: token)
    }

    // MARK: Parsing

    private struct Malformed: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let nodes) = node.content else { throw Malformed("\(node.identifier) is not constructed") }
        return Array(nodes)
    }

    private static func context(_ number: UInt) -> ASN1Identifier {
        ASN1Identifier(tagWithNumber: number, tagClass: .contextSpecific)
    }

    private static func oid(_ node: ASN1Node) throws -> String {
        "\(try ASN1ObjectIdentifier(derEncoded: node))"
    }

    private static func parse(_ bytes: [UInt8]) throws -> RFC3161TimestampToken {
        let contentInfo = try children(try DER.parse(bytes))
        guard contentInfo.count == 2, try oid(contentInfo[0]) == signedDataOID, contentInfo[1].identifier == context(0) else {
            throw Malformed("not a ContentInfo of SignedData")
        }
        let signedDataNodes = try children(contentInfo[1])
        guard signedDataNodes.count == 1 else { throw Malformed("[0] of ContentInfo must hold one SignedData") }
        var signedData = try children(signedDataNodes[0])[...]
        guard signedData.count >= 4 else { throw Malformed("SignedData too short") }
        _ = try Int(derEncoded: signedData.removeFirst())  // version
        _ = signedData.removeFirst()  // digestAlgorithms
        let encapsulated = try children(signedData.removeFirst())
        guard encapsulated.count == 2, try oid(encapsulated[0]) == tstInfoOID, encapsulated[1].identifier == context(0) else {
            throw Malformed("the encapsulated content is not a TSTInfo")
        }
        let eContent = try children(encapsulated[1])
        guard eContent.count == 1 else { throw Malformed("eContent") }
        let content = Array(try ASN1OctetString(derEncoded: eContent[0]).bytes)
        var certificates: [Certificate] = []
        if let next = signedData.first, next.identifier == context(0) {
            signedData.removeFirst()
            for node in try children(next) where node.identifier == .sequence {
                certificates.append(try Certificate(derEncoded: Array(node.encodedBytes)))
            }
        }
        if let next = signedData.first, next.identifier == context(1) { signedData.removeFirst() }  // CRLs
        guard let signerInfosNode = signedData.first else { throw Malformed("no signerInfos") }
        let signerInfos = try children(signerInfosNode)
        guard signerInfos.count == 1 else { throw Malformed("\(signerInfos.count) signer infos; a timestamp token has one") }
        var signerInfo = try children(signerInfos[0])[...]
        guard signerInfo.count >= 5 else { throw Malformed("SignerInfo too short") }
        _ = try Int(derEncoded: signerInfo.removeFirst())
        let sidNode = signerInfo.removeFirst()
        let signer: SignerID
        if sidNode.identifier == .sequence {
            let parts = try children(sidNode)
            guard parts.count == 2 else { throw Malformed("IssuerAndSerialNumber") }
            signer = .issuerAndSerial(try DistinguishedName(derEncoded: parts[0]), Array(try ArraySlice<UInt8>(derEncoded: parts[1])))
        } else if sidNode.identifier == context(0), case .primitive(let identifier) = sidNode.content {
            signer = .subjectKeyIdentifier(Array(identifier))
        } else {
            throw Malformed("unknown signer identifier")
        }
        let digestAlgorithm = try oid(try children(signerInfo.removeFirst())[0])
        let attributesNode = signerInfo.removeFirst()
        guard attributesNode.identifier == context(0) else { throw Malformed("a timestamp token must have signed attributes") }
        // The signature covers the attributes as an explicit SET OF (RFC 5652 §5.4).
        var signedAttributes = Array(attributesNode.encodedBytes)
        signedAttributes[0] = 0x31
        var attributes: [(type: String, values: [ASN1Node])] = []
        for attribute in try children(attributesNode) {
            let parts = try children(attribute)
            guard parts.count == 2 else { throw Malformed("Attribute") }
            attributes.append((try oid(parts[0]), try children(parts[1])))
        }
        let signatureAlgorithm = try oid(try children(signerInfo.removeFirst())[0])
        let signature = Array(try ASN1OctetString(derEncoded: signerInfo.removeFirst()).bytes)

        // TSTInfo (RFC 3161 §2.4.2).
        var info = try children(try DER.parse(content))[...]
        guard info.count >= 5 else { throw Malformed("TSTInfo too short") }
        _ = try Int(derEncoded: info.removeFirst())
        let policy = try oid(info.removeFirst())
        let imprintParts = try children(info.removeFirst())
        guard imprintParts.count == 2 else { throw Malformed("MessageImprint") }
        let imprintAlgorithm = try oid(try children(imprintParts[0])[0])
        let imprint = Array(try ASN1OctetString(derEncoded: imprintParts[1]).bytes)
        let serialNumber = Array(try ArraySlice<UInt8>(derEncoded: info.removeFirst()))
        let generationTime = try date(try GeneralizedTime(derEncoded: info.removeFirst()))
        var nonce: [UInt8]?
        for node in info where node.identifier == .integer {
            nonce = Array(try ArraySlice<UInt8>(derEncoded: node))
        }
        return RFC3161TimestampToken(
            derEncoded: bytes, generationTime: generationTime, imprintAlgorithm: imprintAlgorithm, imprint: imprint,
            serialNumber: serialNumber, nonce: nonce, policy: policy, certificates: certificates, content: content,
            digestAlgorithm: digestAlgorithm, signedAttributes: signedAttributes, attributes: attributes,
            signatureAlgorithm: signatureAlgorithm, signature: signature, signer: signer)
    }

    /// A GeneralizedTime (always UTC in DER) as a `Date`.
    private static func date(_ time: GeneralizedTime) throws -> Date {
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { throw Malformed("no UTC time zone") }
        calendar.timeZone = utc
        let components = DateComponents(year: time.year, month: time.month, day: time.day,
                                        hour: time.hours, minute: time.minutes, second: time.seconds)
        guard let date = calendar.date(from: components) else { throw Malformed("genTime is not a date") }
        return date.addingTimeInterval(time.fractionalSeconds)
    }
}

/// RFC 3161 §2.3: a TSA certificate's extended key usage is critical and names timeStamping. The
/// verifier refuses unknown critical extensions, so this policy declares that it handles the
/// extended key usage, and checks it on the leaf.
private struct TimeStampingUsagePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        guard let usage = try? chain.leaf.extensions.extendedKeyUsage, usage.contains(.timeStamping) else {
            return .failsToMeetPolicy(reason: "the TSA certificate lacks the timeStamping extended key usage")
        }
        return .meetsPolicy
    }
}
