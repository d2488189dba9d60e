import Crypto
import Foundation
import SealGMCrypto
import SealHostDriver
import SealSimulatedToken
import SealSM2Verifier
import Testing

/// An SM2 seal through the driver (SPEC §7.1): SealToken's signature hook, the record's algorithm,
/// StampVerifier with and without the SM2 verifier.
@Suite("SM2 seal through the driver")
struct SM2SealTests {
    private static func sm2Token() async throws -> SimulatedTestToken {
        var data = SimulatedTestToken.defaultPersonalization(watermarkKey: [UInt8](repeating: 3, count: 32))
        data.sealKeyAlgorithm = .sm2
        return try await SimulatedTestToken.make(personalization: data)
    }

    @Test("a record from an SM2 seal verifies with the SM2 hook; without it only stamp-signature fails")
    func recordVerifies() async throws {
        let session = try await Self.sm2Token()
        let token = session.token
        await token.addSignatureVerifier(SM2SealSignatureVerifier())
        let capabilities = try await token.connect()
        #expect(capabilities.sealKeyAlgorithm == .sm2)
        let document = Array("SM2 contract".utf8)
        let now = UInt64(Date().timeIntervalSince1970)
        let record = try await token.stamp(document: document, metadata: StampMetadata(time: now), pin: SimulatedTestToken.pin)
        #expect(record.sealKeyAlgorithm == .sm2)
        #expect(try SM2PublicKey(x963Representation: record.sealPublicKey).isValidSignature(record.signature, for: record.tbs.encoded()))

        let options = StampVerificationOptions(watermarkKey: session.watermarkKey)
        let withSM2 = await SimulatedTestToken.verifier.verifyingSM2().verify(record, document: document, options: options)
        #expect(withSM2.isValid, "\(withSM2.failures)")
        let p256Only = await SimulatedTestToken.verifier.verify(record, document: document, options: options)
        #expect(p256Only.failures.map(\.id) == [.stampSignature])
        #expect(p256Only.failures.first?.detail.contains("SM2") == true)

        // Claiming P-256 in the attestation breaks the attestation signature; the SM2 signature
        // never verifies as P-256 either.
        var relabelled = record
        relabelled.attestationStatement[17 + 16 + 65 + 32 + 32] &= ~0x40
        let relabelledReport = await SimulatedTestToken.verifier.verifyingSM2().verify(relabelled, document: document, options: options)
        #expect(relabelledReport.failures.map(\.id).contains(.stampSignature))
        #expect(!relabelledReport.isValid)

        // The audit log of an SM2 seal checks end to end through the hook.
        #expect(try await token.auditLog().count == 1)
        await token.close()
    }

    @Test("a token without the SM2 verifier refuses to return an SM2 stamp it cannot check")
    func tokenWithoutHook() async throws {
        let session = try await Self.sm2Token()
        let token = session.token
        try await token.connect()
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await token.stamp(document: Array("x".utf8), metadata: StampMetadata(time: UInt64(Date().timeIntervalSince1970)), pin: SimulatedTestToken.pin)
        }
        #expect(error?.code == .notSupportedByToken)
        await token.close()
    }

    @Test("a P-256 token reports no 85 and its records state P-256")
    func p256Unchanged() async throws {
        let session = try await SimulatedTestToken.make()
        let capabilities = try await session.token.connect()
        #expect(capabilities.sealKeyAlgorithm == nil)
        let record = try await session.token.stamp(document: [1, 2, 3], metadata: StampMetadata(time: UInt64(Date().timeIntervalSince1970)), pin: SimulatedTestToken.pin)
        #expect(record.sealKeyAlgorithm == .p256)
        await session.token.close()
    }
}
