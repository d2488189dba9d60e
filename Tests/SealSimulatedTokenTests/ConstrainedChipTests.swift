import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Synchronization
import Testing

/// SPEC §3.5 (issue 9 finding 10): the host reads a chip's size limits at connect and stays within
/// them — short APDUs and chains without extended length, Le 00 and GET RESPONSE for large reads —
/// and refuses locally a command that cannot fit.
@Suite("A chip at the spec's minimums (SPEC §3.5)")
struct ConstrainedChipTests {
    /// An ACTIVE token in memory with the constrained profile (512-byte chain buffer, 1024-byte
    /// responses, no extended length), personalized with the test PIN.
    static func constrainedToken() async throws -> InProcessTransport {
        let backing = InMemoryBackingStore()
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
        try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
        let transport = try InProcessTransport(name: "constrained chip", backing: backing, capabilities: .constrained)
        var data = TokenStore.defaultPersonalization(watermarkKey: [UInt8](repeating: 0x5A, count: 32))
        data.requiresPINPerStamp = false
        try await TokenFactory.personalize(transport: transport, issuerKey: issuerKey, data: data, activate: true)
        return transport
    }

    /// Every APDU on the wire (not the unwrapped copies of the trace).
    final class Wire: Sendable {
        let events = Mutex<[APDUTraceEvent]>([])
        var handler: APDUTraceHandler {
            { event in if !event.decoded.hasPrefix("(unwrapped)") { self.events.withLock { $0.append(event) } } }
        }
        var commands: [[UInt8]] { events.withLock { $0.filter { $0.direction == .command }.map(\.bytes) } }
        var responses: [[UInt8]] { events.withLock { $0.filter { $0.direction == .response }.map(\.bytes) } }
    }

    @Test("connect reads the limits; VERIFY, STAMP, attestation and the device certificate go in short APDUs within them")
    func hostStaysWithinTheLimits() async throws {
        let transport = try await Self.constrainedToken()
        let wire = Wire()
        let token = SealToken(transport: transport, trace: wire.handler, secureChannel: .testVendorRoot)
        let capabilities = try await token.connect()
        #expect(capabilities == .constrained)
        let configuration = await token.pipelineConfiguration
        #expect(!configuration.extendedLength && configuration.commandChaining)
        #expect(configuration.maxCommandData == 512 && configuration.maxResponseLength == 1024)

        try await token.verifyPIN(TestCredentials.defaultPIN)
        let document = Array("a contract".utf8)
        var metadata = StampMetadata(time: 1_800_000_000, operatorID: "clerk 7", organizationUnit: String(repeating: "U", count: 64),
                                     approvalNode: String(repeating: "N", count: 64), documentName: String(repeating: "d", count: 100))
        metadata.latitudeMicrodegrees = 48_856_600
        metadata.longitudeMicrodegrees = 2_352_200
        let record = try await token.stamp(document: document, metadata: metadata)
        let report = await SimulatedTestToken.verifier.verify(record, document: document)
        #expect(report.isValid, "\(report.failures)")
        _ = try await token.attestation(nonce: [UInt8](repeating: 7, count: 32))
        let certificate = try await token.deviceCertificateDER()
        #expect(certificate.count > 256, "the device certificate is read in pieces (61xx)")
        _ = try await token.auditLog()
        await token.close()

        let commands = wire.commands
        #expect(!commands.isEmpty)
        for command in commands {
            // Short form only: header, and at most Lc (1) + 255 data bytes + Le (1).
            #expect(command.count <= 4 + 1 + 255 + 1, "\(command.count)-byte APDU")
            #expect(!(command.count > 5 && command[4] == 0x00), "an extended-length APDU: \(hexString(Array(command.prefix(8))))")
        }
        #expect(commands.contains { $0[0] & 0x10 != 0 }, "the wrapped STAMP is longer than 255 bytes: it went as a chain")
        #expect(wire.responses.allSatisfy { $0.count <= 256 + 2 })
        #expect(wire.responses.contains { $0.count >= 2 && $0[$0.count - 2] == 0x61 }, "large answers come in pieces (61xx)")
    }

    @Test("a STAMP too large for a 512-byte chain buffer (every field and a grant at their maximum) is refused by the host (commandTooLong) and nothing is sent")
    func oversizedStampIsRefusedLocally() async throws {
        let transport = try await Self.constrainedToken()
        let wire = Wire()
        let token = SealToken(transport: transport, trace: wire.handler, secureChannel: .testVendorRoot)
        try await token.connect()
        try await token.verifyPIN(TestCredentials.defaultPIN)
        let before = try await token.info().counter
        let sentBefore = wire.commands.count
        // Every field at its maximum: the wrapped STAMP is over 512 bytes.
        var metadata = StampMetadata(time: 1_800_000_000, operatorID: String(repeating: "o", count: 64),
                                     deviceFingerprint: [UInt8](repeating: 0xF0, count: 64),
                                     organizationUnit: String(repeating: "U", count: 64), approvalNode: String(repeating: "N", count: 64),
                                     documentName: String(repeating: "d", count: StampMetadata.maxDocumentNameLength),
                                     operatorBiometricReference: [UInt8](repeating: 0xB1, count: 32))
        metadata.latitudeMicrodegrees = 1
        metadata.longitudeMicrodegrees = 1
        let digest = [UInt8](repeating: 0xD0, count: 32)
        let plainRequest = try StampRequest(documentDigest: digest, metadata: metadata)
        let plainWrapped = SCP03SecureMessaging.wrappedLength(plainLength: SealCommand.stamp(plainRequest).data.count)
        // The largest grant: a document grant with a validity window, a stamp limit and a 72-byte signature.
        let grant = AuthorizationGrant(serial: .max, kind: .document, firstCounter: 1, lastCounter: .max, documentDigest: digest,
                                       notBefore: 1, notAfter: .max, maxStamps: .max, signature: [0x30, 0x46] + [UInt8](repeating: 0x02, count: 70))
        let request = try StampRequest(documentDigest: digest, metadata: metadata, grant: grant)
        let wrapped = SCP03SecureMessaging.wrappedLength(plainLength: SealCommand.stamp(request).data.count)
        print("largest STAMP: \(SealCommand.stamp(plainRequest).data.count) data bytes (\(plainWrapped) wrapped) without a grant, \(SealCommand.stamp(request).data.count) (\(wrapped) wrapped) with the largest grant")
        try #require(plainWrapped <= 512, "every STAMP without a grant fits the minimum")
        try #require(wrapped > 512)
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await token.stamp(documentDigest: digest, metadata: metadata, grant: grant)
        }
        #expect(error?.code == .commandTooLong, "\(String(describing: error))")
        let sentForTheStamp = wire.commands.dropFirst(sentBefore)
        #expect(!sentForTheStamp.contains { $0.count >= 2 && $0[1] == SealInstruction.stamp.rawValue }, "no STAMP part reached the chip")
        let after = SealToken(transport: transport, secureChannel: .testVendorRoot)
        try await after.connect()
        #expect(try await after.info().counter == before)
        await after.close()
        await token.close()
    }
}
