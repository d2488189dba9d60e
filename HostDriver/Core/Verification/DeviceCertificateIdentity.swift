import Crypto
import SwiftASN1
import X509

/// Reads the chip identity out of a device certificate (SPEC §12).
package enum DeviceCertificateIdentity {
    /// `id-at-serialNumber` (2.5.4.5), which carries the chip ID as 32 uppercase hex digits.
    package static let serialNumberOID: ASN1ObjectIdentifier = [2, 5, 4, 5]

    /// Every `serialNumber` value in the certificate's subject, in order. A conforming device
    /// certificate has exactly one.
    package static func subjectSerialNumbers(of certificate: Certificate) -> [String] {
        var values: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == serialNumberOID {
                values.append(String(attribute.value) ?? "")
            }
        }
        return values
    }
}

/// What ``StampVerifier`` reads from a device certificate for every record: the chip ID in its
/// subject, its key as a P-256 verification key, and what is wrong with its profile (SPEC §12:
/// a P-256 key, keyUsage digitalSignature, not a CA). Derived once per validated certificate and
/// kept with its chain in the ``CertificateChainCache``: a chip's records share the certificate.
package struct DeviceCertificateProfile: Sendable {
    /// Every `serialNumber` in the subject (``DeviceCertificateIdentity/subjectSerialNumbers(of:)``).
    package let subjectSerialNumbers: [String]
    /// The certificate's key, when it is P-256.
    package let p256Key: P256.Signing.PublicKey?
    /// What does not conform, in words; empty when the profile holds.
    package let problems: [String]

    package init(_ certificate: Certificate) {
        subjectSerialNumbers = DeviceCertificateIdentity.subjectSerialNumbers(of: certificate)
        p256Key = P256.Signing.PublicKey(certificate.publicKey)
        var problems: [String] = []
        if p256Key == nil { problems.append("key is not P-256") }
        do {
            if let usage = try certificate.extensions.keyUsage {
                if !usage.digitalSignature { problems.append("key usage lacks digitalSignature") }
            } else {
                problems.append("no key usage extension")
            }
            switch try certificate.extensions.basicConstraints {
            case .notCertificateAuthority?: break
            case .isCertificateAuthority?: problems.append("it is a CA certificate")
            case nil: problems.append("no basic constraints extension")
            }
        } catch {
            problems.append("extensions do not parse: \(error)")
        }
        self.problems = problems
    }
}
