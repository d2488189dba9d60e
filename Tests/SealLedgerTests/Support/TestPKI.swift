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

/// Keys, a chip identity and a CA from which consistent, valid stamp records are built and signed
/// (the shape of SealHostDriverTests' fixture). Stamp times are now, so records verify today.
struct StampFixture: Sendable {
    let ca: TestCA
    let chipID: [UInt8]
    let deviceKey: P256.Signing.PrivateKey
    let sealKey: P256.Signing.PrivateKey
    let featureHash: [UInt8]
    let watermarkKey: [UInt8]
    let deviceCertificate: [UInt8]
    let stampTime: UInt64 = UInt64(Date().timeIntervalSince1970) - 60

    init(ca: TestCA? = nil, chip: UInt8 = 3) throws {
        self.ca = try ca ?? TestCA()
        chipID = (0..<16).map { UInt8(truncatingIfNeeded: Int($0) * 13 + Int(chip)) }
        deviceKey = P256.Signing.PrivateKey()
        sealKey = P256.Signing.PrivateKey()
        featureHash = Array(SHA256.hash(data: Array("physical features".utf8)))
        watermarkKey = (0..<32).map { UInt8(255 - $0) }
        deviceCertificate = try self.ca.deviceCertificate(serialNumber: hexString(chipID), publicKey: deviceKey.publicKey)
    }

    var sealPublicKey: [UInt8] { Array(sealKey.publicKey.x963Representation) }

    var verifier: StampVerifier { StampVerifier(trustedRoots: [ca.certificate]) }

    /// A valid record of `document` at `counter`; `operatorID` varies the signed metadata.
    func record(counter: UInt32, document: [UInt8] = Array("a document\n".utf8), operatorID: String = "op-17") throws -> StampRecord {
        let metadata = StampMetadata(time: stampTime, latitudeMicrodegrees: nil, longitudeMicrodegrees: nil, operatorID: operatorID,
                                     deviceFingerprint: nil, organizationUnit: "Registry", approvalNode: nil)
        let metadataEncoding = try metadata.encoded()
        let metadataDigest = Array(SHA256.hash(data: metadataEncoding))
        let serial = Watermark.serial(chipID: chipID, counter: counter)
        let expiry = stampTime + 10 * 365 * 86_400
        let code = Watermark.expirationCode(watermarkKey: watermarkKey, serial: serial, expiry: expiry)
        let keyID = sealKeyID(publicKeyX963: sealPublicKey)
        let documentDigest = Array(SHA256.hash(data: document))
        let tbs = StampTBS(chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: code,
                           documentDigest: documentDigest, metadataDigest: metadataDigest,
                           seal: SealIdentity(organizationName: "Example Registry", sealName: "Official Seal",
                                              featureHash: featureHash, sealImageHash: nil),
                           keyID: keyID, grantSerial: 0)
        let signature = Array(try sealKey.signature(for: tbs.encoded()).derRepresentation)
        let statement = AttestationStatement(
            chipID: chipID, sealPublicKey: sealPublicKey, keyID: keyID, featureHash: featureHash,
            keyPolicy: [.generatedOnChip, .neverExportable, .pinRequired], counter: counter,
            lifecycle: LifecycleState.active.rawValue,
            audit: AuditStatus(oldestCounter: 1, newestCounter: counter, headHash: [UInt8](repeating: 0xA5, count: 32)),
            nonce: StampRecord.attestationNonce(signature: signature))
        let statementBytes = statement.encoded()
        let attestationSignature = Array(try deviceKey.signature(for: statementBytes).derRepresentation)
        return StampRecord(
            chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: code,
            documentDigest: documentDigest, metadata: metadata, metadataEncoding: metadataEncoding,
            metadataDigest: metadataDigest, featureHash: featureHash, keyID: keyID, sealPublicKey: sealPublicKey,
            grantSerial: 0, signature: signature, organizationName: "Example Registry", sealName: "Official Seal",
            attestationStatement: statementBytes, attestationSignature: attestationSignature,
            deviceCertificate: deviceCertificate)
    }
}

/// A fresh directory under the temporary directory.
func makeScratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("SealLedgerTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The repository root (Fixtures/ and Tests/ live there).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Bytes from hex, for test data.
func hexBytes(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16) ?? 0)
        index = next
    }
    return out
}
