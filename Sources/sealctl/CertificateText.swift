import X509

enum CertificateText {
    /// The subject of a DER certificate as text, or a note when it does not parse.
    static func subject(of der: [UInt8]) -> String {
        guard let certificate = try? Certificate(derEncoded: der) else { return "(unparseable certificate)" }
        return "\(certificate.subject)"
    }
}
