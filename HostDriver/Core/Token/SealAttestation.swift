import Crypto
import SealProtocol
import X509

/// A GET ATTESTATION answer: the parsed statement plus the exact bytes that were signed.
public struct SealAttestation: Hashable, Sendable {
    /// The parsed statement (SPEC §9.4).
    public var statement: AttestationStatement
    /// The statement bytes exactly as signed.
    public var statementBytes: [UInt8]
    /// The device key's DER ECDSA signature over ``statementBytes``.
    public var signature: [UInt8]

    /// Creates an attestation from its parts.
    package init(statement: AttestationStatement, statementBytes: [UInt8], signature: [UInt8]) {
        self.statement = statement
        self.statementBytes = statementBytes
        self.signature = signature
    }

    /// Whether ``signature`` verifies under the public key of `deviceCertificate`.
    ///
    /// This checks the signature only; whether the certificate is trusted and names this chip is
    /// ``StampVerifier``'s job.
    public func isSigned(by deviceCertificate: Certificate) -> Bool {
        guard let key = P256.Signing.PublicKey(deviceCertificate.publicKey),
              let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return key.isValidSignature(ecdsa, for: statementBytes)
    }
}
