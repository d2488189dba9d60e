import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol

/// The factory and issuer sides of a simulated token's life: manufacture (chip ID, on-chip device
/// key, device certificate from the vendor CA) and personalization through the real APDU protocol.
public enum TokenFactory {
    /// Manufactures a chip into `backing` and returns its chip ID.
    ///
    /// - Parameters:
    ///   - chipID: 16 bytes; random (from `random`) when nil.
    ///   - issuerPublicKey: the key that will authenticate personalization and lifecycle commands.
    @discardableResult
    public static func manufacture(
        backing: any NVMBackingStore, ca: VendorCA, issuerPublicKey: P256.Signing.PublicKey,
        chipID: [UInt8]? = nil, random: any ChipRandomSource = SystemChipRandom()
    ) throws -> [UInt8] {
        let id = chipID ?? random.randomBytes(count: 16)
        guard id.count == 16 else { throw SimulatorError(.invalidArgument, "a chip ID is 16 bytes, got \(id.count)") }
        do {
            let nvm = try NonVolatileMemory(backing: backing)
            let devicePublicKey = try SealChip.manufacture(nvm: nvm, chipID: id, issuerPublicKey: issuerPublicKey.x963Representation.bytes,
                                                           random: random)
            let certificate = try ca.issueDeviceCertificate(chipID: id, devicePublicKeyX963: devicePublicKey)
            try SealChip.installDeviceCertificate(nvm: nvm, der: certificate)
        } catch let error as SimulatorError {
            throw error
        } catch {
            throw SimulatorError(.manufacture, "manufacture failed: \(error)")
        }
        return id
    }

    /// Personalizes a MANUFACTURED token over any transport, as an issuer would, and optionally
    /// activates it. Returns the seal public key the chip generated.
    @discardableResult
    public static func personalize(
        transport: any CardTransport, issuerKey: P256.Signing.PrivateKey, data: PersonalizationData, activate: Bool
    ) async throws -> [UInt8] {
        let token = SealToken(transport: transport)
        _ = try await token.connect()
        try await token.authenticateIssuer(using: P256IssuerSigner(privateKey: issuerKey))
        let publicKey = try await token.personalize(data)
        if activate {
            try await token.setLifecycle(.active)
        }
        await token.disconnect()
        return publicKey
    }

    /// SHA-256 of the bytes of an imprint image or physical fingerprint: the physical-feature hash.
    public static func featureHash(of bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}

extension Data {
    var bytes: [UInt8] { [UInt8](self) }
}
