import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SwiftASN1
import X509

/// A tiny vendor CA made with swift-certificates: a self-signed root and device certificates whose
/// subject serialNumber is the chip ID (SPEC §12).
struct TestCA {
    let key: P256.Signing.PrivateKey
    let certificate: Certificate
    let name: DistinguishedName

    static let notBefore = Date(timeIntervalSince1970: 1_700_000_000)
    static let notAfter = Date(timeIntervalSince1970: 2_000_000_000)

    init(commonName: String = "SealKit Test Vendor Root") throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("SealKit Test Vendor")
            CommonName(commonName)
        }
        self.key = key
        self.name = name
        self.certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Self.notBefore, notValidAfter: Self.notAfter,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    var pem: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    var der: [UInt8] {
        get throws { try Self.der(certificate) }
    }

    /// A device certificate for `serialNumber` (normally the chip ID in uppercase hex).
    func deviceCertificate(
        serialNumber: String?, publicKey: P256.Signing.PublicKey,
        notValidBefore: Date = TestCA.notBefore, notValidAfter: Date = TestCA.notAfter,
        isCA: Bool = false, digitalSignature: Bool = true
    ) throws -> [UInt8] {
        var rdns = [
            RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.organizationName,
                                                                          utf8String: "SealKit Test Vendor")),
            RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.commonName,
                                                                          utf8String: "Seal chip")),
        ]
        if let serialNumber {
            rdns.append(RelativeDistinguishedName(try RelativeDistinguishedName.Attribute(
                type: DeviceCertificateIdentity.serialNumberOID, printableString: serialNumber)))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(publicKey),
            notValidBefore: notValidBefore, notValidAfter: notValidAfter,
            issuer: name, subject: DistinguishedName(rdns), signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(isCA ? BasicConstraints.isCertificateAuthority(maxPathLength: 0) : BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: digitalSignature, keyCertSign: isCA))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return try Self.der(certificate)
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

/// Keys, identity and a CA from which consistent stamp records are built and signed.
struct StampFixture {
    let ca: TestCA
    let chipID: [UInt8]
    let deviceKey: P256.Signing.PrivateKey
    let sealKey: P256.Signing.PrivateKey
    let featureHash: [UInt8]
    let watermarkKey: [UInt8]
    let deviceCertificate: [UInt8]
    let document: [UInt8] = Array("The quick brown fox stamps the lazy dog.\n".utf8)

    /// A verification time inside the certificate validity and before the default expiry.
    static let now = Date(timeIntervalSince1970: 1_800_000_100)
    static let stampTime: UInt64 = 1_800_000_000
    static let validity: UInt64 = 86_400

    init() throws {
        ca = try TestCA()
        chipID = (0..<16).map { UInt8($0 * 13 + 3) }
        deviceKey = P256.Signing.PrivateKey()
        sealKey = P256.Signing.PrivateKey()
        featureHash = Array(SHA256.hash(data: Array("physical features".utf8)))
        watermarkKey = (0..<32).map { UInt8(255 - $0) }
        deviceCertificate = try ca.deviceCertificate(serialNumber: hexString(chipID), publicKey: deviceKey.publicKey)
    }

    var sealPublicKey: [UInt8] { Array(sealKey.publicKey.x963Representation) }

    var verifier: StampVerifier { StampVerifier(trustedRoots: [ca.certificate]) }

    var fullOptions: StampVerificationOptions {
        StampVerificationOptions(now: Self.now, watermarkKey: watermarkKey, lastSeenCounter: 6)
    }

    /// Everything that goes into a record; defaults give a valid one. Overrides let a test make a
    /// record that is consistently signed yet wrong in exactly one respect.
    struct Parameters {
        var counter: UInt32 = 7
        var metadata = StampMetadata(time: StampFixture.stampTime, latitudeMicrodegrees: 48_858_370,
                                     longitudeMicrodegrees: 2_294_481, operatorID: "op-17",
                                     deviceFingerprint: [0xDE, 0xAD, 0xBE, 0xEF], organizationUnit: "Registry",
                                     approvalNode: "node-3", documentName: "Contract no. 42.pdf",
                                     operatorBiometricReference: Array(SHA256.hash(data: Array("template".utf8))))
        var organizationName = "Example Registry"
        var sealName = "Official Seal"
        var sealImageHash: [UInt8]? = Array(SHA256.hash(data: Array("seal image".utf8)))
        var grantSerial: UInt32 = 0
        var expiry: UInt64?
        var serial: String?
        var expirationCode: String?
        var deviceCertificate: [UInt8]?
        var attestationChipID: [UInt8]?
        var attestationSealKey: [UInt8]?
        var attestationKeyID: [UInt8]?
        var attestationFeatureHash: [UInt8]?
        var keyPolicy: AttestationStatement.KeyPolicy = [.generatedOnChip, .neverExportable, .pinRequired]
        var attestationNonce: [UInt8]?
        var attestationCounter: UInt32?
    }

    func record(_ parameters: Parameters = Parameters()) throws -> StampRecord {
        let p = parameters
        let metadataEncoding = try p.metadata.encoded()
        let metadataDigest = Array(SHA256.hash(data: metadataEncoding))
        let serial = p.serial ?? Watermark.serial(chipID: chipID, counter: p.counter)
        let expiry = p.expiry ?? p.metadata.time + Self.validity
        let code = p.expirationCode ?? Watermark.expirationCode(watermarkKey: watermarkKey, serial: serial, expiry: expiry)
        let keyID = sealKeyID(publicKeyX963: sealPublicKey)
        let documentDigest = Array(SHA256.hash(data: document))
        let tbs = StampTBS(chipID: chipID, counter: p.counter, serial: serial, expiry: expiry, expirationCode: code,
                           documentDigest: documentDigest, metadataDigest: metadataDigest,
                           seal: SealIdentity(organizationName: p.organizationName, sealName: p.sealName,
                                              featureHash: featureHash, sealImageHash: p.sealImageHash),
                           keyID: keyID, grantSerial: p.grantSerial)
        let signature = Array(try sealKey.signature(for: tbs.encoded()).derRepresentation)
        let statement = AttestationStatement(
            chipID: p.attestationChipID ?? chipID, sealPublicKey: p.attestationSealKey ?? sealPublicKey,
            keyID: p.attestationKeyID ?? keyID, featureHash: p.attestationFeatureHash ?? featureHash,
            keyPolicy: p.keyPolicy, counter: p.attestationCounter ?? p.counter, lifecycle: LifecycleState.active.rawValue,
            audit: AuditStatus(oldestCounter: 1, newestCounter: p.attestationCounter ?? p.counter,
                               headHash: [UInt8](repeating: 0xA5, count: 32)),
            nonce: p.attestationNonce ?? StampRecord.attestationNonce(signature: signature))
        let statementBytes = statement.encoded()
        let attestationSignature = Array(try deviceKey.signature(for: statementBytes).derRepresentation)
        return StampRecord(
            chipID: chipID, counter: p.counter, serial: serial, expiry: expiry, expirationCode: code,
            documentDigest: documentDigest, metadata: p.metadata, metadataEncoding: metadataEncoding,
            metadataDigest: metadataDigest, featureHash: featureHash, keyID: keyID, sealPublicKey: sealPublicKey,
            grantSerial: p.grantSerial, signature: signature, organizationName: p.organizationName, sealName: p.sealName,
            sealImageHash: p.sealImageHash, attestationStatement: statementBytes, attestationSignature: attestationSignature,
            deviceCertificate: p.deviceCertificate ?? deviceCertificate)
    }
}

extension Array where Element == UInt8 {
    /// A copy with the byte at `index` (negative: from the end) XORed with 0x01.
    func flipping(at index: Int) -> [UInt8] {
        var copy = self
        let position = index >= 0 ? index : count + index
        copy[position] ^= 0x01
        return copy
    }
}
