import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Testing

/// SealToken.resetTimeFloor (SPEC §8.16) against the real chip, in process, through the secure
/// channel the driver opens.
@Suite("Time floor reset through SealToken")
struct TimeFloorResetTests {
    @Test("two future stamps block honest ones; the issuer's reset through the SCP11a channel unblocks them")
    func issuerResetUnblocks() async throws {
        let simulated = try await SimulatedTestToken.make()
        let token = simulated.token
        try await token.connect()
        let now = UInt64(Date().timeIntervalSince1970)
        let future = now + 10 * 365 * 86_400
        let document = Array("time floor\n".utf8)
        for time in [future, future + 1] {
            try await token.verifyPIN(SimulatedTestToken.pin)
            _ = try await token.stamp(document: document, metadata: StampMetadata(time: time))
        }
        try await token.verifyPIN(SimulatedTestToken.pin)
        let blocked = await #expect(throws: SealDriverError.self) {
            try await token.stamp(document: document, metadata: StampMetadata(time: now))
        }
        #expect(blocked?.statusWord == .wrongData, "\(String(describing: blocked))")

        // Without the issuer's channel the chip refuses the reset.
        let refused = await #expect(throws: SealDriverError.self) { try await token.resetTimeFloor(to: now) }
        #expect(refused?.statusWord == .securityStatusNotSatisfied)

        let issuer = P256IssuerSigner(privateKey: try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM))
        try await token.authenticateIssuer(using: issuer)
        try await token.resetTimeFloor(to: now)
        try await token.verifyPIN(SimulatedTestToken.pin)
        let record = try await token.stamp(document: document, metadata: StampMetadata(time: now))
        #expect(record.metadata.time == now)
        await token.close()
    }
}
