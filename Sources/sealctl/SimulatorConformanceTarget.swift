import Crypto
import Foundation
import SealConformance
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import X509

/// Builds the conformance target for a simulated token under test: the simulator also offers what
/// a vendor's single token cannot — fresh MANUFACTURED tokens (in memory, under the same issuer key),
/// power-loss injection and a token that requires remote authorization.
enum SimulatorConformanceTarget {
    static func make(
        name: String, openToken: @escaping @Sendable () async throws -> any CardTransport, pin: String, puk: String,
        issuerKeyPEM: String, vendorRoots: [Certificate]
    ) throws -> ConformanceTarget {
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
        // Private keys are not Sendable; the closures carry the PEM and parse it where they run.
        @Sendable func manufacture() throws -> InProcessTransport {
            let backing = InMemoryBackingStore()
            let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
            try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
            return try InProcessTransport(name: "simulated fresh token", backing: backing)
        }
        return ConformanceTarget(
            name: name,
            openToken: openToken,
            pin: pin, puk: puk,
            issuerSigner: P256IssuerSigner(privateKey: issuerKey),
            vendorRoots: vendorRoots,
            makeFreshToken: { try manufacture() },
            makeRemoteAuthorizationToken: {
                let authority = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.remoteAuthorityKeyPEM)
                var data = TokenStore.defaultPersonalization(watermarkKey: SystemChipRandom().randomBytes(count: 32))
                data.remoteAuthorityKey = Array(authority.publicKey.x963Representation)
                data.requiresRemoteAuthorization = true
                let transport = try manufacture()
                let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
                try await TokenFactory.personalize(transport: transport, issuerKey: issuerKey, data: data, activate: true)
                return (transport, authority, data.pin)
            },
            isSimulator: true)
    }
}
