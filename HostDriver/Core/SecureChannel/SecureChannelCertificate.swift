import Crypto
import Foundation
import SealProtocol
import SwiftASN1
import X509

/// The chip's key-agreement certificate (SPEC §14.2): the checks the host makes before it
/// trusts PK.SD.ECKA.
package enum SecureChannelCertificate {
    /// Parses the certificate, requires key usage keyAgreement and a P-256 key, and a valid chain
    /// now to one of the settings' roots — or, with no roots, the settings' explicit opt-out.
    package static func keyAgreementKey(certificateDER: [UInt8], settings: SecureChannelSettings) async throws -> P256.KeyAgreement.PublicKey {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: certificateDER)
        } catch {
            throw SealDriverError(code: .secureChannelFailure, reason: "the key-agreement certificate is not DER X.509: \(error)")
        }
        guard let usage = try? certificate.extensions.keyUsage, usage.keyAgreement, !usage.digitalSignature else {
            throw SealDriverError(code: .secureChannelFailure, reason: "the key-agreement certificate lacks key usage keyAgreement (only)")
        }
        guard let signingKey = P256.Signing.PublicKey(certificate.publicKey),
              let key = try? P256.KeyAgreement.PublicKey(x963Representation: signingKey.x963Representation) else {
            throw SealDriverError(code: .secureChannelFailure, reason: "the key-agreement certificate does not hold a P-256 key")
        }
        let trustedRoots = settings.trustedVendorRoots
        guard !trustedRoots.isEmpty else {
            guard settings.allowsUnauthenticatedChip else {
                throw SealDriverError(code: .chipNotAuthenticated,
                                      reason: "no trusted vendor root was given to check the chip's key-agreement certificate against")
            }
            return key
        }
        var verifier = Verifier(rootCertificates: CertificateStore(trustedRoots)) {
            RFC5280Policy()
        }
        if case .couldNotValidate(let failures) = await verifier.validate(leaf: certificate, intermediates: CertificateStore()) {
            let reasons = failures.map { "\($0.policyFailureReason)" }.joined(separator: "; ")
            throw SealDriverError(code: .chipNotAuthenticated,
                                  reason: "the key-agreement certificate does not chain to a trusted vendor root: \(reasons)")
        }
        return key
    }
}
