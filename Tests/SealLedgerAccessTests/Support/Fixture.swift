import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SwiftASN1
import X509

/// A vendor root made with swift-certificates, and device certificates under it whose subject
/// serialNumber is the chip ID (SPEC §12).
struct AccessTestCA: Sendable {
    let key: P256.Signing.PrivateKey
    let certificate: Certificate

    init() throws {
        key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("SealKit Access Test Vendor")
            CommonName("Access Test Root")
        }
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Date(timeIntervalSince1970: 1_700_000_000), notValidAfter: Date(timeIntervalSince1970: 2_000_000_000),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    var pem: String { get throws { try certificate.serializeAsPEM().pemString } }

    func deviceCertificate(chipID: [UInt8], publicKey: P256.Signing.PublicKey) throws -> [UInt8] {
        let subject = DistinguishedName([
            RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.commonName, utf8String: "Seal chip")),
            RelativeDistinguishedName(try RelativeDistinguishedName.Attribute(type: DeviceCertificateIdentity.serialNumberOID,
                                                                              printableString: hexString(chipID))),
        ])
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(publicKey),
            notValidBefore: Date(timeIntervalSince1970: 1_700_000_000), notValidAfter: Date(timeIntervalSince1970: 2_000_000_000),
            issuer: self.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

/// The personal values one organization's operator stamps with: distinctive, so that a search of a
/// response body for them cannot hit by chance (the coordinates are negative: '-' is in neither hex
/// nor base64).
struct PersonalValues: Sendable {
    let operatorID: String
    let latitude: Int32
    let longitude: Int32
    let deviceFingerprint: [UInt8]
    let biometricReference: [UInt8]

    static let alpha = PersonalValues(operatorID: "operator-alpha-4711", latitude: -34_603_722, longitude: -58_381_592,
                                      deviceFingerprint: Array("device-alpha-fp-93".utf8),
                                      biometricReference: Array(SHA256.hash(data: Array("biometric template alpha".utf8))))
    static let bravo = PersonalValues(operatorID: "operator-bravo-0815", latitude: -33_868_820, longitude: -151_209_290,
                                      deviceFingerprint: Array("device-bravo-fp-27".utf8),
                                      biometricReference: Array(SHA256.hash(data: Array("biometric template bravo".utf8))))
}

/// One chip of one organization, stamping valid records with personal data.
struct OrganizationChip: Sendable {
    let ca: AccessTestCA
    let organization: String
    let personal: PersonalValues
    let chipID: [UInt8]
    let deviceKey = P256.Signing.PrivateKey()
    let sealKey = P256.Signing.PrivateKey()
    let deviceCertificate: [UInt8]
    let stampTime = UInt64(Date().timeIntervalSince1970) - 60

    init(ca: AccessTestCA, organization: String, personal: PersonalValues, chip: UInt8) throws {
        self.ca = ca
        self.organization = organization
        self.personal = personal
        chipID = (0..<16).map { UInt8(truncatingIfNeeded: Int($0) * 7 + Int(chip)) }
        deviceCertificate = try ca.deviceCertificate(chipID: chipID, publicKey: deviceKey.publicKey)
    }

    /// A valid record at `counter`, its personal fields committed in the signed metadata and opened
    /// in the record (fresh salts each time).
    func record(counter: UInt32, document: String) throws -> StampRecord {
        let metadata = StampMetadata(time: stampTime, latitudeMicrodegrees: personal.latitude, longitudeMicrodegrees: personal.longitude,
                                     operatorID: personal.operatorID, deviceFingerprint: personal.deviceFingerprint,
                                     organizationUnit: "Legal", approvalNode: "node-2", documentName: "\(document).pdf",
                                     operatorBiometricReference: personal.biometricReference)
        let metadataEncoding = try metadata.encoded()
        let metadataDigest = Array(SHA256.hash(data: metadataEncoding))
        let sealPublicKey = Array(sealKey.publicKey.x963Representation)
        let serial = Watermark.serial(chipID: chipID, counter: counter)
        let expiry = stampTime + 5 * 365 * 86_400
        let code = Watermark.expirationCode(watermarkKey: [UInt8](repeating: 7, count: 32), serial: serial, expiry: expiry)
        let keyID = Array(SHA256.hash(data: sealPublicKey))
        let featureHash = Array(SHA256.hash(data: Array("features \(organization)".utf8)))
        let documentDigest = Array(SHA256.hash(data: Array(document.utf8)))
        let tbs = StampTBS(chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: code,
                           documentDigest: documentDigest, metadataDigest: metadataDigest,
                           seal: SealIdentity(organizationName: organization, sealName: "Contract Seal", featureHash: featureHash),
                           keyID: keyID, grantSerial: 0)
        let signature = Array(try sealKey.signature(for: tbs.encoded()).derRepresentation)
        let statement = AttestationStatement(
            chipID: chipID, sealPublicKey: sealPublicKey, keyID: keyID, featureHash: featureHash,
            keyPolicy: [.generatedOnChip, .neverExportable, .pinRequired], counter: counter,
            lifecycle: LifecycleState.active.rawValue,
            audit: AuditStatus(oldestCounter: 1, newestCounter: counter, headHash: [UInt8](repeating: 0x5A, count: 32)),
            nonce: StampRecord.attestationNonce(signature: signature)).encoded()
        return StampRecord(
            chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: code,
            documentDigest: documentDigest, metadata: metadata, metadataEncoding: metadataEncoding, metadataDigest: metadataDigest,
            featureHash: featureHash, keyID: keyID, sealPublicKey: sealPublicKey, grantSerial: 0, signature: signature,
            organizationName: organization, sealName: "Contract Seal",
            attestationStatement: statement, attestationSignature: Array(try deviceKey.signature(for: statement).derRepresentation),
            deviceCertificate: deviceCertificate)
    }
}

/// Every form in which a record's personal data could leak into a response: the plaintexts and
/// salts as text (hex in both cases, base64, decimal coordinates) and as raw bytes.
func personalNeedles(of record: StampRecord) -> [(name: String, bytes: [UInt8])] {
    let metadata = record.metadata
    var needles: [(String, [UInt8])] = []
    func bytesForms(_ name: String, _ bytes: [UInt8]) {
        needles.append(("\(name) hex", Array(hexString(bytes).utf8)))
        needles.append(("\(name) lowercase hex", Array(hexString(bytes).lowercased().utf8)))
        needles.append(("\(name) base64", Array(Data(bytes).base64EncodedString().utf8)))
        needles.append(("\(name) raw", bytes))
    }
    if let id = metadata.operatorID { needles.append(("operator ID", Array(id.utf8))) }
    if let lat = metadata.latitudeMicrodegrees, let lon = metadata.longitudeMicrodegrees {
        needles.append(("latitude", Array(String(lat).utf8)))
        needles.append(("longitude", Array(String(lon).utf8)))
    }
    if let location = metadata.plaintextBytes(.location) { needles.append(("location raw", location)) }
    if let fingerprint = metadata.deviceFingerprint { bytesForms("device fingerprint", fingerprint) }
    if let biometric = metadata.operatorBiometricReference { bytesForms("biometric reference", biometric) }
    for (field, salt) in metadata.salts.sorted(by: { $0.key < $1.key }) { bytesForms("\(field.rawValue) salt", salt) }
    return needles
}

/// The names of the needles found in `body`.
func leaks(of needles: [(name: String, bytes: [UInt8])], in body: [UInt8]) -> [String] {
    needles.filter { needle in body.firstRange(of: needle.bytes) != nil }.map(\.name)
}

/// A fresh directory under the temporary directory.
func makeScratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("SealLedgerAccessTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The repository root (docs/ and Tests/ live there).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
