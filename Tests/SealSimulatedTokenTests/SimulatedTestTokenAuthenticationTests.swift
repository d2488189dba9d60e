import Foundation
@testable import SealHostDriver
import SealSimulatedToken
import Testing
import X509

/// Issue 9: the token a `SimulatedTestToken` hands out authenticates the chip's key-agreement
/// certificate against the test vendor root, as a real token's host does with its vendor's root.
@Suite("SimulatedTestToken chip authentication")
struct SimulatedTestTokenAuthenticationTests {
    @Test func theTokenTrustsTheTestVendorRootAndOpensTheChannel() async throws {
        let simulated = try await SimulatedTestToken.make()
        let roots = await simulated.token.secureChannelSettings.trustedVendorRoots
        #expect(roots == [try Certificate(pemEncoded: SimulatedTestToken.vendorRootPEM)])
        try await simulated.token.connect()
        #expect(await simulated.token.secureChannelVariant == .b)
        await simulated.token.close()
    }
}
