import Crypto
import SealHostDriver
import SealProtocol
import SealSM2Verifier
import X509

// The few places where the suite goes through SealHostDriver's higher-level API (SealToken,
// StampVerifier, IssuerSigner) rather than raw APDUs: the driver is what integrators link, so a
// chip must work with it end to end.

/// The issuer's DER signature over `message` (SPEC §9.1), via the target's `IssuerSigner`.
func issuerSign(_ signer: any IssuerSigner, _ message: [UInt8]) async throws -> [UInt8] {
    try await signer.sign(message)
}

/// Stamps `document` through `SealToken` (its own connect, VERIFY, STAMP, attestation) and returns the record.
/// The driver authenticates the chip as the suite does (`chipTrust`, SPEC §14.2).
func stampWithDriver(_ transport: any CardTransport, chipTrust: SecureChannelSettings, pin: String, document: [UInt8]) async throws -> StampRecord {
    let token = SealToken(transport: transport, secureChannel: chipTrust)
    await token.addSignatureVerifier(SM2SealSignatureVerifier())
    _ = try await token.connect()
    try await token.verifyPIN(pin)
    let record = try await token.stamp(documentDigest: Array(SHA256.hash(data: document)), metadata: SuiteData.fullMetadata())
    await token.disconnect()
    return record
}

/// Reconnects through `SealToken` and recovers the stamp of `digest`/`metadata` from the audit log.
func recoverWithDriver(_ transport: any CardTransport, chipTrust: SecureChannelSettings, digest: [UInt8], metadata: StampMetadata) async throws -> StampRecord {
    let token = SealToken(transport: transport, secureChannel: chipTrust)
    await token.addSignatureVerifier(SM2SealSignatureVerifier())
    _ = try await token.connect()
    let record = try await token.recoverStamp(documentDigest: digest, metadata: metadata)
    await token.disconnect()
    return record
}

/// Fails unless `record` verifies against `document` and fails once one document byte changes.
func checkRecord(_ record: StampRecord, document: [UInt8], roots: [Certificate]) async throws {
    let verifier = StampVerifier(trustedRoots: roots).verifyingSM2()
    let report = await verifier.verify(record, document: document)
    try expect(report.isValid, "StampVerifier rejects the record: \(report.failures.map(\.description).joined(separator: "; "))")
    var changed = document
    changed[changed.count / 2] ^= 0x01
    let tampered = await verifier.verify(record, document: changed)
    try expect(!tampered.isValid, "StampVerifier accepts the record for a document with one byte changed")
    try expect(tampered.failures.map(\.id) == [.documentDigest],
               "a changed document must fail only the document-digest check, failed: \(tampered.failures.map(\.id.rawValue))")
}
