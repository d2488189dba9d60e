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
    ///   - backing: where the chip's NVM is kept (a state file or memory).
    ///   - ca: the vendor CA that certifies the chip's device key.
    ///   - issuerPublicKey: the key that will authenticate personalization and lifecycle commands.
    ///   - chipID: 16 bytes; random (from `random`) when nil.
    ///   - random: the chip's randomness (device key, chip ID).
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
            let keyAgreementCertificate = try ca.issueKeyAgreementCertificate(
                chipID: id, keyAgreementPublicKeyX963: try SealChip.keyAgreementPublicKey(nvm: nvm))
            try SealChip.installKeyAgreementCertificate(nvm: nvm, der: keyAgreementCertificate)
        } catch let error as SimulatorError {
            throw error
        } catch {
            throw SimulatorError(.manufacture, "manufacture failed: \(error)")
        }
        return id
    }

    /// Personalizes a MANUFACTURED token over any transport, as an issuer would, and optionally
    /// activates it. Returns the seal public key the chip generated.
    ///
    /// - Parameters:
    ///   - transport: the MANUFACTURED token's transport.
    ///   - issuerKey: the issuer key installed at manufacture.
    ///   - data: what the issuer writes.
    ///   - activate: whether to move the token to ACTIVE afterwards.
    ///   - secureChannel: How the chip is authenticated before the issuer channel opens: by default
    ///     under the test vendor root, which every chip ``manufacture(backing:ca:issuerPublicKey:chipID:random:)``
    ///     makes with ``VendorCA/testVendor()`` chains to; pass the roots of another ``VendorCA``.
    @discardableResult
    public static func personalize(
        transport: any CardTransport, issuerKey: P256.Signing.PrivateKey, data: PersonalizationData, activate: Bool,
        secureChannel: SecureChannelSettings = .testVendorRoot
    ) async throws -> [UInt8] {
        let token = SealToken(transport: transport, secureChannel: secureChannel)
        _ = try await token.connect()
        try await token.authenticateIssuer(using: P256IssuerSigner(privateKey: issuerKey))
        let publicKey = try await token.personalize(data)
        if activate {
            try await token.setLifecycle(.active)
        }
        await token.disconnect()
        return publicKey
    }

    /// Makes a ready-to-use test token at `target` when none exists: manufactured under the test
    /// vendor CA with the test issuer key, personalized like the default token
    /// (``TokenStore/defaultPersonalization(watermarkKey:)``) and activated; its watermark key is
    /// written to `watermarkKeyFile`. Built in a staging file and renamed into place, so an
    /// interrupted run never leaves a half-made token. Used for the default token and for every
    /// slot of `sealsim serve`.
    ///
    /// - Returns: `true` when a token was made, `false` when one already existed.
    @discardableResult
    package static func provisionTestToken(at target: URL, watermarkKeyFile: URL, label: String) async throws -> Bool {
        guard !FileManager.default.fileExists(atPath: target.path) else { return false }
        let directory = target.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(target.lastPathComponent + ".making", isDirectory: false)
        try? FileManager.default.removeItem(at: staging)
        do {
            let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
            try manufacture(backing: FileBackingStore(url: staging), ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
            let watermarkKey = SystemChipRandom().randomBytes(count: 32)
            let transport = try InProcessTransport(name: "\(label) (personalization)", backing: FileBackingStore(url: staging))
            try await personalize(transport: transport, issuerKey: issuerKey,
                                  data: TokenStore.defaultPersonalization(watermarkKey: watermarkKey), activate: true)
            try Data(hexString(watermarkKey).utf8).write(to: watermarkKeyFile, options: .atomic)
            try FileManager.default.moveItem(at: staging, to: target)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if error is SimulatorError { throw error }
            throw SimulatorError(.personalization, "cannot make the token of \(label) in \(target.path): \(error)")
        }
        return true
    }

    /// SHA-256 of the bytes of an imprint image or physical fingerprint: the physical-feature hash.
    public static func featureHash(of bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}

extension Data {
    var bytes: [UInt8] { [UInt8](self) }
}
