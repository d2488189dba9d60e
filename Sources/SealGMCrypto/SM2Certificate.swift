import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An X.509 certificate with an SM2 public key, parsed by OpenSSL (swift-certificates does not know
/// the SM2 algorithms).
///
/// Only what e-seal verification needs is exposed: the key, the validity period, the names to build
/// a chain, and the check that an issuer signed it (SM2-with-SM3 with the default distinguishing ID,
/// which Chinese CAs use).
public struct SM2Certificate: Sendable {
    /// The certificate as received.
    public let derRepresentation: [UInt8]
    /// The subject public key.
    public let publicKey: SM2PublicKey
    /// Start of the validity period, to the second.
    public let notBefore: Date
    /// End of the validity period, to the second.
    public let notAfter: Date
    /// The DER subject name, to match issuers by.
    public let subjectDER: [UInt8]
    /// The DER issuer name.
    public let issuerDER: [UInt8]
    /// The subject as one line, `C=CN, O=…, CN=…`, for reports.
    public let subjectDescription: String
    /// Whether the certificate may issue certificates (OpenSSL's `X509_check_ca`: basic constraints
    /// CA:TRUE, or a v1 self-signed certificate, with keyCertSign where key usage is given).
    public let isCertificateAuthority: Bool
    private let certificate: X509Box

    /// Parses DER bytes (exactly one certificate, nothing after it).
    ///
    /// - Throws: ``GMCryptoError`` `.invalidCertificate` or `.notSM2Key`.
    public init(derEncoded: some Collection<UInt8>) throws {
        let der = Array(derEncoded)
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            let certificate = d2i_X509(nil, &cursor, buffer.count)
            if let certificate, let base = buffer.baseAddress, let end = cursor, end - base != buffer.count {
                X509_free(certificate)
                return nil
            }
            return certificate
        }
        guard let parsed else { throw GMCryptoError.openSSL(.invalidCertificate, "not one DER X.509 certificate") }
        let box = X509Box(owning: parsed)
        try self.init(box: box, der: der)
    }

    /// Parses the first PEM `CERTIFICATE` in `pemRepresentation`.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidCertificate` or `.notSM2Key`.
    public init(pemRepresentation: String) throws {
        let parsed = try withMemoryBIO(Array(pemRepresentation.utf8)) { PEM_read_bio_X509($0, nil, nil, nil) }
        guard let parsed else { throw GMCryptoError.openSSL(.invalidCertificate, "no PEM certificate") }
        let box = X509Box(owning: parsed)
        var output: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_X509(parsed, &output)
        guard length > 0, let output else { throw GMCryptoError.openSSL(.invalidCertificate, "i2d_X509 failed") }
        defer { sealkit_openssl_free(output) }
        try self.init(box: box, der: Array(UnsafeBufferPointer(start: output, count: Int(length))))
    }

    /// Reads every PEM `CERTIFICATE` in `pemRepresentation`, in order.
    ///
    /// - Throws: ``GMCryptoError`` `.invalidCertificate` when there is none or one is not SM2.
    public static func certificates(pemRepresentation: String) throws -> [SM2Certificate] {
        let marker = "-----END CERTIFICATE-----"
        let blocks = pemRepresentation.components(separatedBy: marker).dropLast()
        guard !blocks.isEmpty else { throw GMCryptoError(code: .invalidCertificate, reason: "no PEM certificate") }
        return try blocks.map { try SM2Certificate(pemRepresentation: $0 + marker) }
    }

    private init(box: X509Box, der: [UInt8]) throws {
        guard let keyPointer = X509_get0_pubkey(box.pointer) else {
            throw GMCryptoError.openSSL(.invalidCertificate, "the certificate's public key cannot be read")
        }
        EVP_PKEY_up_ref(keyPointer)
        publicKey = try SM2PublicKey(checking: EVPKey(owning: keyPointer))
        guard let start = X509_get0_notBefore(box.pointer).flatMap(date(of:)),
              let end = X509_get0_notAfter(box.pointer).flatMap(date(of:)) else {
            throw GMCryptoError.openSSL(.invalidCertificate, "the validity period cannot be read")
        }
        notBefore = start
        notAfter = end
        subjectDER = nameDER(X509_get_subject_name(box.pointer))
        issuerDER = nameDER(X509_get_issuer_name(box.pointer))
        subjectDescription = nameLine(X509_get_subject_name(box.pointer))
        isCertificateAuthority = X509_check_ca(box.pointer) != 0
        derRepresentation = der
        certificate = box
    }

    /// Whether `time` lies within the validity period (both ends included).
    public func isValid(at time: Date) -> Bool { notBefore <= time && time <= notAfter }

    /// Whether the subject of `issuer` is this certificate's issuer and its key made this
    /// certificate's SM2-with-SM3 signature (over the TBSCertificate as received, with the default
    /// distinguishing ID).
    public func isIssued(by issuer: SM2Certificate) -> Bool {
        guard issuerDER == issuer.subjectDER else { return false }
        let verified = X509_verify(certificate.pointer, issuer.publicKey.key.pointer) == 1
        ERR_clear_error()
        return verified
    }

    /// Whether the certificate names itself as its issuer.
    public var isSelfIssued: Bool { issuerDER == subjectDER }
}

/// An `X509` owned by Swift, with the default SM2 distinguishing ID attached once at creation (it is
/// what `X509_verify` uses for Z_A) and never modified afterwards, so sharing it across threads is safe.
final class X509Box: @unchecked Sendable {
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
        if let id = ASN1_OCTET_STRING_new() {
            if ASN1_OCTET_STRING_set(id, SM2.defaultDistinguishingID, Int32(SM2.defaultDistinguishingID.count)) == 1 {
                X509_set0_distinguishing_id(pointer, id)  // takes ownership
            } else {
                ASN1_OCTET_STRING_free(id)
            }
        }
    }

    deinit { X509_free(pointer) }
}

private func date(of time: UnsafePointer<ASN1_TIME>) -> Date? {
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
    return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
}

private func nameDER(_ name: OpaquePointer?) -> [UInt8] {
    guard let name else { return [] }
    var output: UnsafeMutablePointer<UInt8>? = nil
    let length = i2d_X509_NAME(name, &output)
    guard length > 0, let output else { return [] }
    defer { sealkit_openssl_free(output) }
    return Array(UnsafeBufferPointer(start: output, count: Int(length)))
}

private func nameLine(_ name: OpaquePointer?) -> String {
    guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
    defer { BIO_free(bio) }
    X509_NAME_print_ex(bio, name, 0, sealkit_name_print_flags)
    return String(decoding: readAll(bio), as: UTF8.self)
}
