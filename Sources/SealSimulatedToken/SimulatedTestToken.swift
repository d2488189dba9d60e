import Crypto
import SealFirmware
import SealHostDriver
import X509

/// A ready seal token for integrators' tests, in one call: a simulated chip in memory,
/// manufactured under the test vendor CA, personalized and ACTIVE, with the test PIN.
///
/// ```swift
/// import SealHostDriver
/// import SealSimulatedToken
///
/// let simulated = try await SimulatedTestToken.make()
/// let token = simulated.token
/// try await token.connect()
/// try await token.verifyPIN(SimulatedTestToken.pin)
/// let record = try await token.stamp(document: bytes, metadata: StampMetadata(time: now))
/// let report = await SimulatedTestToken.verifier.verify(record, document: bytes)
/// #expect(report.isValid)
/// await token.close()
/// ```
///
/// Nothing touches the disk or the network: each call makes a fresh chip (new chip ID, device
/// key, seal key and watermark key) that lives as long as its ``transport``. The chip is the real
/// firmware model behind the real APDU protocol, so the driver behaves exactly as with a token in
/// a reader — wrong PINs count down, a blocked PIN stays blocked, the audit log grows.
///
/// TEST ONLY: the vendor root's key is public (Fixtures/test-vendor-ca), so a record that verifies
/// against ``vendorRootPEM`` proves nothing about a real seal.
public struct SimulatedTestToken: Sendable {
    /// The PIN of every token ``make(personalization:)`` makes with the default personalization.
    public static let pin = TestCredentials.defaultPIN
    /// The PUK of every token ``make(personalization:)`` makes with the default personalization.
    public static let puk = TestCredentials.defaultPUK
    /// The test vendor root certificate (PEM) that certifies the simulated chips' device keys:
    /// the trust anchor to verify their stamp records against.
    public static let vendorRootPEM = TestCredentials.vendorRootCertificatePEM

    /// The in-memory transport to the chip.
    public let transport: InProcessTransport
    /// A token over ``transport``, not connected yet: call `SealToken.connect()` first.
    public let token: SealToken
    /// The chip's 16-byte ID.
    public let chipID: [UInt8]
    /// The personalization the chip received (organization, seal name, PIN, PUK, watermark key).
    public let personalization: PersonalizationData

    /// The watermark key the issuer gave the chip: pass it as
    /// `StampVerificationOptions.watermarkKey` to check expiration codes too.
    public var watermarkKey: [UInt8] { personalization.watermarkKey }

    /// A verifier trusting the test vendor root (``vendorRootPEM``) and nothing else.
    ///
    /// (The root is a constant that the test suite parses; were it ever unparsable, this verifier
    /// would trust nothing and every record would fail its device-certificate-chain check.)
    public static let verifier: StampVerifier =
        (try? StampVerifier(trustedRootsPEM: vendorRootPEM)) ?? StampVerifier(trustedRoots: [Certificate]())

    /// The personalization ``make(personalization:)`` uses by default: organization
    /// "SealKit Demo Co.", seal "Demo Contract Seal", PIN ``pin`` (3 tries), PUK ``puk``
    /// (10 tries), watermarks valid for a year, and `watermarkKey`.
    public static func defaultPersonalization(watermarkKey: [UInt8]) -> PersonalizationData {
        TokenStore.defaultPersonalization(watermarkKey: watermarkKey)
    }

    /// Makes a fresh simulated token: manufactures a chip in memory under the test vendor CA,
    /// personalizes it as an issuer would (over the APDU protocol, with the test issuer key) and
    /// activates it.
    ///
    /// - Parameter personalization: What the issuer writes; ``defaultPersonalization(watermarkKey:)``
    ///   with a random watermark key when `nil`.
    /// - Throws: ``SimulatorError`` with code ``SimulatorError/Code-swift.struct/personalization``
    ///   when the personalization is refused (e.g. a PIN that is not 6 to 12 digits).
    public static func make(personalization: PersonalizationData? = nil) async throws(SimulatorError) -> SimulatedTestToken {
        let data = personalization ?? defaultPersonalization(watermarkKey: SystemChipRandom().randomBytes(count: 32))
        let transport: InProcessTransport
        let chipID: [UInt8]
        do {
            (transport, chipID) = try manufactureInMemory()
        } catch let error as SimulatorError {
            throw error
        } catch {
            throw SimulatorError(.manufacture, "cannot make a simulated test token: \(error)")
        }
        do {
            // Parsed here rather than shared with manufacturing, whose arguments move with the
            // backing store into the transport's region.
            let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
            try await TokenFactory.personalize(transport: transport, issuerKey: issuerKey, data: data, activate: true)
        } catch {
            throw SimulatorError(.personalization, "cannot personalize the simulated test token: \(error)")
        }
        // The chip's key-agreement certificate is checked against the test vendor root, so the
        // channel authenticates the chip as it does for a real token with its vendor's root.
        return SimulatedTestToken(transport: transport,
                                  token: SealToken(transport: transport, secureChannel: .testVendorRoot),
                                  chipID: chipID, personalization: data)
    }

    /// A chip manufactured into memory under the test vendor CA, for the test issuer key.
    private static func manufactureInMemory() throws -> (InProcessTransport, [UInt8]) {
        let backing = InMemoryBackingStore()
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
        let chipID = try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(),
                                                  issuerPublicKey: issuerKey.publicKey)
        return (try InProcessTransport(name: "SealKit simulated test token", backing: backing), chipID)
    }
}
