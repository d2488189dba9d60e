import Crypto
import SealProtocol

/// Checks a seal's signature under its public key for one `SealKeyAlgorithm`: the hook through
/// which ``StampVerifier`` and ``SealToken`` verify seals of any algorithm without this module
/// linking a C library.
///
/// P-256 is built in (``P256SealSignatureVerifier``). SM2 needs OpenSSL, which the driver core may
/// not link (docs/architecture.md): a target above it supplies the SM2 verifier (`SealSM2Verifier`'s
/// `SM2SealSignatureVerifier`), and the application adds it:
///
/// ```swift
/// var verifier = try StampVerifier(trustedRootsPEM: vendorRootPEM)
/// verifier.addSignatureVerifier(SM2SealSignatureVerifier())
/// ```
public protocol SealSignatureVerifier: Sendable {
    /// The algorithm this verifier checks.
    var algorithm: SealKeyAlgorithm { get }

    /// Whether `signature` (DER `SEQUENCE { r, s }`) is this algorithm's signature over `message`
    /// by the key `publicKey` (65-byte uncompressed point). `false` for anything malformed.
    func isValidSignature(_ signature: [UInt8], over message: [UInt8], publicKey: [UInt8]) -> Bool
}

/// ECDSA P-256 with SHA-256, through swift-crypto: the built-in ``SealSignatureVerifier``.
public struct P256SealSignatureVerifier: SealSignatureVerifier {
    /// Creates the verifier.
    public init() {}

    /// `SealKeyAlgorithm.p256`.
    public var algorithm: SealKeyAlgorithm { .p256 }

    /// Whether `signature` is a DER ECDSA P-256/SHA-256 signature over `message` by `publicKey` (X9.63).
    public func isValidSignature(_ signature: [UInt8], over message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard let key = try? P256.Signing.PublicKey(x963Representation: publicKey),
              let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return key.isValidSignature(ecdsa, for: message)
    }
}

/// The verifiers a ``StampVerifier`` or ``SealToken`` holds, one per algorithm.
struct SealSignatureVerifiers: Sendable {
    private var byAlgorithm: [SealKeyAlgorithm: any SealSignatureVerifier] = [.p256: P256SealSignatureVerifier()]

    mutating func add(_ verifier: any SealSignatureVerifier) {
        byAlgorithm[verifier.algorithm] = verifier
    }

    func verifier(for algorithm: SealKeyAlgorithm) -> (any SealSignatureVerifier)? {
        byAlgorithm[algorithm]
    }

    /// The algorithms with a verifier, for messages.
    var algorithms: [SealKeyAlgorithm] { SealKeyAlgorithm.allCases.filter { byAlgorithm[$0] != nil } }
}

extension StampRecord {
    /// The seal key's algorithm, as the record's attestation statement states it (key policy
    /// bit 6, SPEC §9.4; signed by the device key, so changing it fails the attestation check):
    /// P-256 when the statement does not decode.
    public var sealKeyAlgorithm: SealKeyAlgorithm {
        (try? AttestationStatement(decoding: attestationStatement))?.keyPolicy.sealKeyAlgorithm ?? .p256
    }
}
