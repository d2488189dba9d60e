import SealGMCrypto
import SealHostDriver

/// SM2 seal signatures for `StampVerifier` and `SealToken`: SM2 with SM3 over SM3(Z_A ‖ TBS), Z_A
/// with the default distinguishing ID `1234567812345678`, computed by OpenSSL through
/// `SealGMCrypto`.
///
/// It lives in its own small target because the driver core may not link a C library
/// (docs/architecture.md); applications that meet SM2 seals add it:
///
/// ```swift
/// var verifier = try StampVerifier(trustedRootsPEM: vendorRootPEM)
/// verifier.addSignatureVerifier(SM2SealSignatureVerifier())
/// ```
public struct SM2SealSignatureVerifier: SealSignatureVerifier {
    /// Creates the verifier.
    public init() {}

    /// `SealKeyAlgorithm.sm2`.
    public var algorithm: SealKeyAlgorithm { .sm2 }

    /// Whether `signature` (DER) is an SM2 signature over `message` by `publicKey` (65-byte point).
    public func isValidSignature(_ signature: [UInt8], over message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard let key = try? SM2PublicKey(x963Representation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

extension StampVerifier {
    /// This verifier with SM2 seals verified too (``SM2SealSignatureVerifier``).
    public func verifyingSM2() -> StampVerifier {
        var copy = self
        copy.addSignatureVerifier(SM2SealSignatureVerifier())
        return copy
    }
}
