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
