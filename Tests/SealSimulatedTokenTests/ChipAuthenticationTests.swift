import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import SwiftASN1
import Synchronization
import Testing
import X509

/// Issue 9, chip authentication on by default (SPEC §14.2): a host authenticates the chip's
/// key-agreement certificate under the vendor roots it is given, refuses every chip when it is
/// given none, and takes an uncertified key only when the caller opts out by name.
@Suite("Chip authentication (SPEC §14.2)")
struct ChipAuthenticationTests {
    /// A vendor CA that is not the test vendor's: its own P-256 key and self-signed root.
    static func anotherVendor() throws -> VendorCA {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Another Chip Vendor")
            CommonName("Another Chip Vendor Root")
        }
        let root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-7200), notValidAfter: Date().addingTimeInterval(86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
                SubjectKeyIdentifier(keyIdentifier: ArraySlice(SHA256.hash(data: key.publicKey.x963Representation).prefix(20)))
            },
            issuerPrivateKey: .init(key))
        return try VendorCA(certificatePEM: try root.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// A chip manufactured in memory under `ca`, reached in process.
    static func chip(under ca: VendorCA) throws -> InProcessTransport {
        let backing = InMemoryBackingStore()
        try TokenFactory.manufacture(backing: backing, ca: ca, issuerPublicKey: P256.Signing.PrivateKey().publicKey)
        return try InProcessTransport(name: "chip of another vendor", backing: backing)
    }

    /// The instructions a token sent, from its trace (outgoing commands only).
    final class SentInstructions: Sendable {
        let instructions = Mutex<[UInt8]>([])
        var handler: APDUTraceHandler {
            { event in
                guard event.direction == .command, event.bytes.count >= 4, !event.decoded.hasPrefix("(unwrapped)") else { return }
                self.instructions.withLock { $0.append(event.bytes[1]) }
            }
        }
        var all: [UInt8] { instructions.withLock { $0 } }
    }

    @Test("a host that names no vendor root refuses a genuine chip: chipNotAuthenticated, and no key agreement is sent")
    func noRootRefusesByDefault() async throws {
        let simulated = try await SimulatedTestToken.make()
        let sent = SentInstructions()
        let token = SealToken(transport: simulated.transport, trace: sent.handler)
        let error = await #expect(throws: SealDriverError.self) { try await token.connect() }
        #expect(error?.code == .chipNotAuthenticated)
        #expect(error?.message.contains("vendor root") == true)
        #expect(!sent.all.contains(SCP11Variant.b.instruction), "the handshake must not start: \(sent.all)")
        #expect(sent.all.contains(SealInstruction.getData.rawValue), "the certificate was read")
        await token.close()
    }

    @Test("a chip whose key-agreement certificate chains to another vendor's root is refused under the test root")
    func anotherVendorsChipIsRefused() async throws {
        let transport = try Self.chip(under: try Self.anotherVendor())
        let sent = SentInstructions()
        let token = SealToken(transport: transport, trace: sent.handler, secureChannel: .testVendorRoot)
        let error = await #expect(throws: SealDriverError.self) { try await token.connect() }
        #expect(error?.code == .chipNotAuthenticated)
        #expect(error?.reason.contains("does not chain to a trusted vendor root") == true)
        #expect(!sent.all.contains(SCP11Variant.b.instruction))
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) { try await token.chipID() }
        await token.close()
    }

    @Test("the same chip is authenticated under its own vendor's root, and taken unauthenticated only by the named opt-out")
    func ownRootAndOptOut() async throws {
        let vendor = try Self.anotherVendor()
        let transport = try Self.chip(under: vendor)
        let authenticated = SealToken(transport: transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [vendor.certificate]))
        try await authenticated.connect()
        #expect(await authenticated.secureChannelVariant == .b)
        await authenticated.disconnect()

        #expect(SecureChannelSettings.unauthenticatedChip.allowsUnauthenticatedChip)
        #expect(SecureChannelSettings.unauthenticatedChip.trustedVendorRoots.isEmpty)
        #expect(!SecureChannelSettings().allowsUnauthenticatedChip, "authentication is on by default")
        let optedOut = SealToken(transport: transport, secureChannel: .unauthenticatedChip)
        try await optedOut.connect()
        #expect(await optedOut.secureChannelVariant == .b)
        await optedOut.close()
    }

    @Test("roots do not switch off the check: with roots given, the opt-out flag is ignored")
    func rootsWinOverTheOptOut() async throws {
        let transport = try Self.chip(under: try Self.anotherVendor())
        var settings = SecureChannelSettings.testVendorRoot
        settings.allowsUnauthenticatedChip = true
        let token = SealToken(transport: transport, secureChannel: settings)
        await #expect(throws: SealDriverError(code: .chipNotAuthenticated, reason: "")) { try await token.connect() }
        await token.close()
    }
}
