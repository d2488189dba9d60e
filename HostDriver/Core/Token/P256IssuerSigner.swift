import Crypto

/// An ``IssuerSigner`` holding a P-256 private key in memory.
///
/// Stores the key's raw scalar rather than the `P256.Signing.PrivateKey` value so that the signer is
/// `Sendable` without `@unchecked`.
public struct P256IssuerSigner: IssuerSigner {
    let rawPrivateKey: [UInt8]
    /// The issuer public key (X9.63 uncompressed, 65 bytes) that the chip must hold.
    public let publicKeyX963: [UInt8]

    /// Creates a signer for `privateKey`.
    public init(privateKey: P256.Signing.PrivateKey) {
        self.rawPrivateKey = Array(privateKey.rawRepresentation)
        self.publicKeyX963 = Array(privateKey.publicKey.x963Representation)
    }

    /// Signs `tbs` with ECDSA P-256 / SHA-256 and returns the DER signature.
    public func sign(_ tbs: [UInt8]) async throws -> [UInt8] {
        let key = try P256.Signing.PrivateKey(rawRepresentation: rawPrivateKey)
        return Array(try key.signature(for: tbs).derRepresentation)
    }
}
