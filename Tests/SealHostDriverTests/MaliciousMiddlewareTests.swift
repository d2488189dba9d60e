import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Synchronization
import Testing
import X509

/// Issue 9, finding 1: middleware on the reader path — between a real host (`SealToken`) and the
/// real chip (the in-process simulator) — rewrites the digest, replays, reorders or drops wrapped
/// APDUs. The secure channel (SPEC §14) catches every one and nothing is stamped.
@Suite("Middleware on the reader path", .timeLimit(.minutes(2)))
struct MaliciousMiddlewareTests {
    /// What the middleware does to the wrapped STAMP (`84 54`).
    enum Attack: String, CaseIterable, Sendable {
        /// Flips one byte of the encrypted digest and metadata.
        case rewriteDigest
        /// Holds the STAMP, answers the host a bare `6F00`, and never forwards it.
        case drop
        /// Holds the STAMP, answers `6F00`, and forwards it after the host's next command, so the
        /// chip receives the two in the opposite order.
        case reorder
    }

    /// A transport that sits between the host and the chip and attacks wrapped STAMPs.
    final class Middleware: CardTransport {
        struct State {
            var attack: Attack?
            var held: [UInt8]?
            var seen: [[UInt8]] = []
            var answersToHeld: [[UInt8]] = []
        }
        let inner: any CardTransport
        nonisolated let name = "middleware"
        let state: Mutex<State>

        init(wrapping inner: any CardTransport, attack: Attack?) {
            self.inner = inner
            self.state = Mutex(State(attack: attack))
        }

        var seen: [[UInt8]] { state.withLock { $0.seen } }
        var answersToHeld: [[UInt8]] { state.withLock { $0.answersToHeld } }

        func connect() async throws -> [UInt8] { try await inner.connect() }
        func reset() async throws -> [UInt8] { try await inner.reset() }
        func disconnect() async { await inner.disconnect() }
        func close() async { await inner.close() }

        /// Sends bytes of its own choosing to the chip (a replay).
        func inject(_ apdu: [UInt8]) async throws -> [UInt8] { try await inner.transmit(apdu) }

        nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
            let isWrappedStamp = apdu.count > 5 && apdu[0] & 0xEF == 0x84 && apdu[1] == 0x54
            let (attack, held): (Attack?, [UInt8]?) = state.withLock { state in
                state.seen.append(apdu)
                let held = state.held
                if isWrappedStamp, state.attack == .drop || state.attack == .reorder {
                    state.held = apdu
                } else if state.attack == .reorder {
                    state.held = nil
                }
                return (state.attack, held)
            }
            switch attack {
            case .rewriteDigest where isWrappedStamp:
                // The first ciphertext byte, after a short (5-byte) or extended (7-byte) header.
                var changed = apdu
                changed[apdu[4] == 0 ? 7 : 5] ^= 0x01
                return try await inner.transmit(changed)
            case .drop where isWrappedStamp, .reorder where isWrappedStamp:
                return [0x6F, 0x00]  // a bare error status: the only answer middleware can forge
            case .reorder:
                let answer = try await inner.transmit(apdu)
                if let held {
                    let late = try await inner.transmit(held)
                    state.withLock { $0.answersToHeld.append(late) }
                }
                return answer
            default:
                return try await inner.transmit(apdu)
            }
        }
    }

    static func vendorRoot() throws -> Certificate {
        try Certificate(pemEncoded: SimulatedTestToken.vendorRootPEM)
    }

    /// A host that opens the channel against the test vendor root, through `transport`.
    static func host(_ transport: any CardTransport) throws -> SealToken {
        SealToken(transport: transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [try vendorRoot()]))
    }

    /// The counter, read by an honest host straight from the chip.
    static func counter(_ session: SimulatedTestToken) async throws -> UInt32 {
        let honest = try host(session.transport)
        try await honest.connect()
        return try await honest.info().counter
    }

    @Test("every attack on the wrapped STAMP is caught and nothing is stamped", arguments: Attack.allCases)
    func attackIsCaught(_ attack: Attack) async throws {
        let session = try await SimulatedTestToken.make()
        let middleware = Middleware(wrapping: session.transport, attack: attack)
        let token = try Self.host(middleware)
        try await token.connect()
        #expect(await token.secureChannelVariant == .b)
        let digest = SealDigest.sha256(Array("contract v1".utf8))
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await token.stamp(documentDigest: digest, metadata: StampMetadata(time: 1_700_000_000), pin: SimulatedTestToken.pin)
        }
        #expect(error != nil, "\(attack)")
        if attack != .rewriteDigest {
            // The host goes on; its next wrapped command shows the chip that one is missing or late.
            let next = await #expect(throws: SealDriverError.self) { _ = try await token.info() }
            #expect(next?.code == .secureChannelFailure, "\(attack): \(String(describing: next))")
        } else {
            #expect(error?.code == .secureChannelFailure, "\(attack): \(String(describing: error))")
        }
        if attack == .reorder {
            #expect(middleware.answersToHeld.map { Array($0.suffix(2)) } == [[0x68, 0x82]],
                    "the late STAMP arrives after the chip ended the channel")
        }
        #expect(try await Self.counter(session) == 0, "\(attack): nothing stamped")
        // The PIN never crossed the reader in clear.
        let pin = Array(SimulatedTestToken.pin.utf8)
        #expect(!middleware.seen.contains { apdu in
            apdu.count >= pin.count && (0...(apdu.count - pin.count)).contains { Array(apdu[$0..<$0 + pin.count]) == pin }
        })
    }

    @Test("a recorded wrapped STAMP replayed in the same channel and in a later one is refused; one stamp only")
    func replayIsCaught() async throws {
        let session = try await SimulatedTestToken.make()
        let middleware = Middleware(wrapping: session.transport, attack: nil)
        let token = try Self.host(middleware)
        try await token.connect()
        let digest = SealDigest.sha256(Array("contract v2".utf8))
        let record = try await token.stamp(documentDigest: digest, metadata: StampMetadata(time: 1_700_000_000), pin: SimulatedTestToken.pin)
        #expect(record.counter == 1)
        let recorded = try #require(middleware.seen.last { $0.count > 5 && $0[0] & 0xEF == 0x84 && $0[1] == 0x54 })
        #expect(Array(try await middleware.inject(recorded).suffix(2)) == [0x69, 0x88], "replayed in the same channel")
        try await token.connect()
        #expect(Array(try await middleware.inject(recorded).suffix(2)) == [0x69, 0x88], "replayed in a new channel")
        #expect(try await Self.counter(session) == 1)
    }

    @Test("middleware that cannot open the channel cannot stamp: a plain STAMP is refused, even after the host's VERIFY")
    func plainStampAfterVerify() async throws {
        let session = try await SimulatedTestToken.make()
        let middleware = Middleware(wrapping: session.transport, attack: nil)
        let token = try Self.host(middleware)
        try await token.connect()
        try await token.verifyPIN(SimulatedTestToken.pin)
        let request = try StampRequest(documentDigest: SealDigest.sha256(Array("forged".utf8)), metadata: StampMetadata(time: 1))
        let plain = try SealCommand.stamp(request).encoded()
        #expect(Array(try await middleware.inject(plain).suffix(2)) == [0x69, 0x87], "plain inside the channel: 6987, channel ends")
        #expect(Array(try await middleware.inject(plain).suffix(2)) == [0x69, 0x82], "outside a channel: 6982")
        #expect(try await Self.counter(session) == 0)
    }

    @Test("a chip whose key-agreement key is not certified by the trusted vendor root is refused")
    func untrustedCertificate() async throws {
        let session = try await SimulatedTestToken.make()
        let otherRoot = try Certificate(pemEncoded: Self.otherRootPEM())
        let token = SealToken(transport: session.transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [otherRoot]))
        let error = await #expect(throws: SealDriverError.self) { try await token.connect() }
        #expect(error?.code == .chipNotAuthenticated)
    }

    /// A self-signed root that is not the test vendor's.
    static func otherRootPEM() throws -> String {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("Another Vendor") }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil)) },
            issuerPrivateKey: .init(key))
        return try certificate.serializeAsPEM().pemString
    }
}
