/// Produces the issuer's signature for EXTERNAL AUTHENTICATE (SPEC §8.4).
///
/// The issuer key normally lives in an HSM or a key service, hence `async`. ``P256IssuerSigner`` is
/// the in-memory implementation for tests, tools and the simulator.
public protocol IssuerSigner: Sendable {
    /// Signs `tbs` — `"SEALKIT-ISSUER-AUTH-V1" || chipID || challenge` (SPEC §9.1) — with the issuer
    /// private key: ECDSA over P-256 with SHA-256, returned as a DER `Ecdsa-Sig-Value` (≤ 72 bytes).
    func sign(_ tbs: [UInt8]) async throws -> [UInt8]
}
