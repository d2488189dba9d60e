import Crypto
import Foundation
import SealProtocol
import SwiftASN1
import X509

/// A vendor certificate authority that certifies the device attestation keys of the chips it
/// manufactures (SPEC §12). The factory side of the simulator; real vendors keep this key in an HSM.
public struct VendorCA: Sendable {
    /// The CA certificate: the root a `StampVerifier` must trust for this vendor's chips.
    public let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    /// A CA from its certificate and P-256 private key, both PEM.
    ///
    /// - Throws: `SimulatorError` `invalidCredentials` when the key does not belong to the
    ///   certificate, or the PEM parsers' errors.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        certificate = try Certificate(pemEncoded: certificatePEM)
        privateKey = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        guard privateKey.publicKey == certificate.publicKey else {
            throw SimulatorError(.invalidCredentials, "the CA private key does not belong to the CA certificate")
        }
    }

    /// The test vendor CA of Fixtures/test-vendor-ca (TEST ONLY).
    public static func testVendor() throws -> VendorCA {
        try VendorCA(certificatePEM: TestCredentials.vendorRootCertificatePEM, privateKeyPEM: TestCredentials.vendorRootKeyPEM)
    }

    /// The OID of the X.520 serialNumber attribute, which carries the chip ID (SPEC §12).
    package static let serialNumberAttribute: ASN1ObjectIdentifier = [2, 5, 4, 5]

    /// Issues the device certificate for a chip: subject serialNumber = chip ID in uppercase hex.
    public func issueDeviceCertificate(chipID: [UInt8], devicePublicKeyX963: [UInt8], notBefore: Date = Date()) throws -> [UInt8] {
        try issueChipCertificate(chipID: chipID, publicKeyX963: devicePublicKeyX963, commonName: "SealKit Seal Chip",
                                 keyUsage: KeyUsage(digitalSignature: true), notBefore: notBefore)
    }

    /// Issues the certificate of a chip's secure-channel key-agreement key (SPEC §14.2): same
    /// subject as the device certificate but for its common name, key usage keyAgreement only.
    public func issueKeyAgreementCertificate(chipID: [UInt8], keyAgreementPublicKeyX963: [UInt8], notBefore: Date = Date()) throws -> [UInt8] {
        try issueChipCertificate(chipID: chipID, publicKeyX963: keyAgreementPublicKeyX963, commonName: "SealKit Seal Chip Key Agreement",
                                 keyUsage: KeyUsage(keyAgreement: true), notBefore: notBefore)
    }

    private func issueChipCertificate(chipID: [UInt8], publicKeyX963: [UInt8], commonName: String, keyUsage: KeyUsage,
                                      notBefore: Date) throws -> [UInt8] {
        let publicKey = try P256.Signing.PublicKey(x963Representation: publicKeyX963)
        let subject = DistinguishedName([
            RelativeDistinguishedName(.init(type: ASN1ObjectIdentifier.RDNAttributeType.organizationName,
                                            utf8String: organizationName)),
            RelativeDistinguishedName(.init(type: ASN1ObjectIdentifier.RDNAttributeType.commonName,
                                            utf8String: commonName)),
            RelativeDistinguishedName(try .init(type: Self.serialNumberAttribute, printableString: hexString(chipID))),
        ])
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(keyUsage)
            AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier)
        }
        // Serial: 16 random bytes with the top bit cleared, as RFC 5280 asks for positive serials.
        var serial = (0..<16).map { _ in UInt8.random(in: 0...255) }
        serial[0] &= 0x7F
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: .init(publicKey),
            notValidBefore: notBefore.addingTimeInterval(-3600), notValidAfter: notBefore.addingTimeInterval(20 * 365 * 86_400),
            issuer: self.certificate.subject, subject: subject, extensions: extensions, issuerPrivateKey: privateKey)
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    private var organizationName: String {
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == ASN1ObjectIdentifier.RDNAttributeType.organizationName {
                if let text = String(attribute.value) { return text }
            }
        }
        return "SealKit"
    }

    private var authorityKeyIdentifier: ArraySlice<UInt8>? {
        (try? certificate.extensions.subjectKeyIdentifier)?.keyIdentifier
    }
}
