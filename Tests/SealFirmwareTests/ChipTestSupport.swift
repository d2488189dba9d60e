import Crypto
import Foundation
import SealProtocol
import Testing

@testable import SealFirmware

// Shared helpers for the Chip*Tests suites. The chip is driven with raw APDU bytes only; the
// factory interface (manufacture) is the one non-APDU entry point.

/// Hex → bytes for readable APDU literals ("00 A4 04 00 ..."). Invalid hex yields `[]`, which the
/// chip answers 6700, so a typo fails the test loudly.
func hex(_ text: String) -> [UInt8] {
    bytesFromHex(text) ?? []
}

extension ResponseAPDU {
    /// The status word as a plain number, e.g. `0x9000`. `0x0000` stands for a mute chip.
    var sw: UInt16 { statusWord.rawValue }
}

/// The keys and personalization a test chip is built from.
struct ChipFixture {
    var issuerKey = P256.Signing.PrivateKey()
    var authorityKey = P256.Signing.PrivateKey()
    var chipID: [UInt8] = (0..<16).map { UInt8(0xC0 + $0) }
    var pin = "123456"
    var puk = "87654321"
    var pinTryLimit: UInt8 = 3
    var pukTryLimit: UInt8 = 5
    var validity: UInt32 = 86_400
    var watermarkKey: [UInt8] = (0..<32).map { UInt8($0 * 7 & 0xFF) }
    var featureHash: [UInt8] = Array(SHA256.hash(data: Array("physical feature".utf8)))
    /// Install the remote-authority key at personalization.
    var withRemoteAuthority = false
    /// Require a grant for every stamp (needs `withRemoteAuthority`).
    var requiresRemoteAuthorization = false
    /// Seal policy bit 1, "PIN always". Off here because most chip tests stamp several times per
    /// VERIFY; ChipPolicyTests covers the default (on) and the bit itself.
    var requiresPINPerStamp = false
    /// Seal policy bit 2: READ AUDIT LOG needs the PIN or the issuer.
    var auditLogRequiresAuthentication = false
    /// The seal image hash personalized (tag `4C`), none by default.
    var sealImageHash: [UInt8]?
    /// The time rollback tolerance personalized (tag `4D`).
    var timeToleranceSeconds = PersonalizationData.defaultTimeTolerance
    /// The seal key algorithm personalized (tag `4E`).
    var sealKeyAlgorithm: SealKeyAlgorithm = .p256

    static let defaultOrganization = "ACME Notaries"
    static let defaultSealName = "Seal of the Registrar"

    var sealIdentity: SealIdentity {
        SealIdentity(organizationName: Self.defaultOrganization, sealName: Self.defaultSealName, featureHash: featureHash,
                     sealImageHash: sealImageHash)
    }

    var issuerPublicKey: [UInt8] { Array(issuerKey.publicKey.x963Representation) }

    var personalization: PersonalizationData {
        PersonalizationData(
            organizationName: Self.defaultOrganization, sealName: Self.defaultSealName, featureHash: featureHash,
            pin: pin, pinTryLimit: pinTryLimit, puk: puk, pukTryLimit: pukTryLimit,
            remoteAuthorityKey: withRemoteAuthority ? Array(authorityKey.publicKey.x963Representation) : nil,
            requiresRemoteAuthorization: requiresRemoteAuthorization, watermarkValiditySeconds: validity,
            watermarkKey: watermarkKey, sealImageHash: sealImageHash, requiresPINPerStamp: requiresPINPerStamp,
            auditLogRequiresAuthentication: auditLogRequiresAuthentication, timeToleranceSeconds: timeToleranceSeconds,
            sealKeyAlgorithm: sealKeyAlgorithm)
    }

    /// A stand-in device certificate: one DER SEQUENCE of 604 bytes (the firmware does not parse X.509).
    static let certificate: [UInt8] = [0x30, 0x82, 0x02, 0x5C, 0x04, 0x82, 0x02, 0x58] + (0..<600).map { UInt8(($0 * 37 + 11) & 0xFF) }
    /// A stand-in key-agreement certificate (SPEC §14.2), 304 bytes.
    static let keyAgreementCertificate: [UInt8] = [0x30, 0x82, 0x01, 0x2C, 0x04, 0x82, 0x01, 0x28] + (0..<296).map { UInt8(($0 * 13 + 5) & 0xFF) }
}

/// One chip over an in-memory NVM, plus the host-side helpers to talk to it.
final class ChipHarness {
    let fixture: ChipFixture
    let backing: InMemoryBackingStore
    let nvm: NonVolatileMemory
    let chip: SealChip
    /// The device attestation public key returned by manufacture (empty when reopened from an image).
    var devicePublicKey: [UInt8] = []

    /// Opens a chip over `image` (or an empty NVM when nil, for manufacture) and powers it on.
    init(fixture: ChipFixture, image: [UInt8]?, seed: [UInt8] = [1]) throws {
        self.fixture = fixture
        backing = InMemoryBackingStore(image: image)
        nvm = try NonVolatileMemory(backing: backing)
        if image == nil {
            devicePublicKey = try SealChip.manufacture(
                nvm: nvm, chipID: fixture.chipID, issuerPublicKey: fixture.issuerPublicKey,
                random: SeededChipRandom(seed: seed + [0xFA]))
            try SealChip.installDeviceCertificate(nvm: nvm, der: ChipFixture.certificate)
            try SealChip.installKeyAgreementCertificate(nvm: nvm, der: ChipFixture.keyAgreementCertificate)
        }
        chip = try SealChip(nvm: nvm, random: SeededChipRandom(seed: seed))
        _ = try chip.powerOn()
    }

    /// Wraps a chip built elsewhere (e.g. over a FileBackingStore) and powers it on if needed.
    init(wrapping chip: SealChip, nvm: NonVolatileMemory, fixture: ChipFixture) throws {
        self.fixture = fixture
        self.backing = InMemoryBackingStore()
        self.nvm = nvm
        self.chip = chip
        if !chip.isPowered { _ = try chip.powerOn() }
    }

    /// The committed NVM image, to restore fresh chips from.
    var image: [UInt8] { backing.image ?? [] }

    /// A brand-new chip (new NVM, new SealChip) over a copy of this chip's image.
    func reopened(seed: [UInt8] = [2]) throws -> ChipHarness {
        let copy = try ChipHarness(fixture: fixture, image: image, seed: seed)
        copy.devicePublicKey = devicePublicKey
        return copy
    }

    // MARK: States

    static func manufactured(_ fixture: ChipFixture = ChipFixture()) throws -> ChipHarness {
        try ChipHarness(fixture: fixture, image: nil)
    }

    /// Manufactured and personalized; selected, issuer authenticated, PIN not verified.
    static func personalized(_ fixture: ChipFixture = ChipFixture()) throws -> ChipHarness {
        let harness = try manufactured(fixture)
        harness.select()
        harness.authenticateIssuer()
        let response = harness.send(try SealCommand.personalize(fixture.personalization))
        #expect(response.sw == 0x9000, "PERSONALIZE")
        return harness
    }

    /// ACTIVE, selected, issuer authenticated, PIN verified.
    static func active(_ fixture: ChipFixture = ChipFixture()) throws -> ChipHarness {
        let harness = try personalized(fixture)
        harness.expectSW(SealCommand.setLifecycle(.active), 0x9000)
        harness.verifyPIN()
        return harness
    }

    // MARK: Transport

    /// The host side of the open secure channel (SPEC §14), mirrored from what the chip does:
    /// while it is open, ``send(_:)-(CommandAPDU)`` wraps commands and unwraps responses.
    var channel: SCP03SecureMessaging?

    /// Sends raw bytes; a mute chip yields SW `0000`. While a channel is open, the bytes of one
    /// whole plain command (CLA `00` or `80`, not GET RESPONSE) are sent wrapped, as the host
    /// would send them, so that the tests of SPEC §3–§8 show the same ISO behaviour inside the
    /// channel (SPEC §14.4); everything else goes as it is (``sendPlain(_:)``).
    @discardableResult
    func send(_ bytes: [UInt8]) -> ResponseAPDU {
        if channel != nil, bytes.count >= 4, bytes[0] == 0x00 || bytes[0] == 0x80,
           !(bytes[0] == 0x00 && bytes[1] == 0xC0), let command = try? CommandAPDU(decoding: bytes) {
            return send(command)
        }
        return sendPlain(bytes)
    }

    /// Sends raw bytes exactly as given. A plain command other than GET RESPONSE ends the secure
    /// channel on the chip (SPEC §14.5), so it ends here too.
    @discardableResult
    func sendPlain(_ bytes: [UInt8]) -> ResponseAPDU {
        if bytes.count >= 4, bytes[0] & 0x04 == 0, !(bytes[0] & 0xEF == 0 && bytes[1] == 0xC0) {
            channel = nil
        }
        return transmit(bytes)
    }

    private func transmit(_ bytes: [UInt8]) -> ResponseAPDU {
        switch chip.process(bytes) {
        case .mute:
            return ResponseAPDU(data: [], statusWord: StatusWord(rawValue: 0))
        case .response(let raw):
            return (try? ResponseAPDU(decoding: raw)) ?? ResponseAPDU(data: raw, statusWord: StatusWord(rawValue: 0xFFFF))
        }
    }

    /// Sends a command: wrapped (and its response unwrapped, `61xx` fetched below the channel)
    /// while a secure channel is open, plain otherwise. SELECT goes plain and ends the channel.
    @discardableResult
    func send(_ command: CommandAPDU) -> ResponseAPDU {
        guard var open = channel, command.ins != SealInstruction.select.rawValue,
              !(command.cla == 0x00 && command.ins == SealInstruction.getResponse.rawValue) else {
            return sendPlain((try? command.encoded()) ?? [])
        }
        guard let wrapped = try? open.wrapCommand(command) else { return ResponseAPDU(data: [], statusWord: StatusWord(rawValue: 0xFFFF)) }
        var response = transmit((try? wrapped.encoded()) ?? [])
        var data = response.data
        while let remaining = response.statusWord.bytesRemaining {
            response = transmit((try? SealCommand.getResponse(ne: remaining == 0 ? 256 : remaining).encoded()) ?? [])
            data += response.data
        }
        if response.sw == 0x6987 || response.sw == 0x6988 {
            channel = nil
            return response
        }
        do {
            let plain = try open.unwrapResponse(ResponseAPDU(data: data, statusWord: response.statusWord))
            channel = open
            return plain
        } catch {
            channel = nil
            return ResponseAPDU(data: [], statusWord: StatusWord(rawValue: 0xFFFE))
        }
    }

    /// The bytes of `command` as the channel sends it (wrapped when one is open), for tests that
    /// hand the bytes to the chip themselves. Advances the channel as the chip will.
    func wrappedBytes(_ command: CommandAPDU) -> [UInt8] {
        guard var open = channel, let wrapped = try? open.wrapCommand(command) else { return (try? command.encoded()) ?? [] }
        channel = open
        return (try? wrapped.encoded()) ?? []
    }

    /// `command` wrapped in the open channel, split into raw chain parts at `sizes` (each part's
    /// data length; the rest goes in the last part), for chaining tests.
    func wrappedChain(_ command: CommandAPDU, sizes: [Int]) -> [[UInt8]] {
        guard var open = channel, let wrapped = try? open.wrapCommand(command) else { return [] }
        channel = open
        var parts: [[UInt8]] = []
        var rest = wrapped.data[...]
        for size in sizes {
            let part = Array(rest.prefix(size))
            rest = rest.dropFirst(size)
            parts.append([wrapped.cla | 0x10, wrapped.ins, wrapped.p1, wrapped.p2, UInt8(part.count)] + part)
        }
        parts.append([wrapped.cla, wrapped.ins, wrapped.p1, wrapped.p2, UInt8(rest.count)] + rest + [0x00])
        return parts
    }

    /// Unwraps a response received for a command sent with ``wrappedChain(_:sizes:)`` or
    /// ``wrappedBytes(_:)``.
    func unwrap(_ response: ResponseAPDU) -> ResponseAPDU {
        guard var open = channel, let plain = try? open.unwrapResponse(response) else {
            channel = nil
            return ResponseAPDU(data: [], statusWord: StatusWord(rawValue: 0xFFFE))
        }
        channel = open
        return plain
    }

    /// The chip's key-agreement public key (SPEC §14.2).
    var keyAgreementKey: P256.KeyAgreement.PublicKey {
        get throws { try P256.KeyAgreement.PublicKey(x963Representation: SealChip.keyAgreementPublicKey(nvm: nvm)) }
    }

    /// Opens a secure channel: SCP11b as the holder, SCP11a with the fixture's issuer key.
    func openChannel(_ variant: SCP11Variant) {
        channel = nil
        do {
            let cardKey = try keyAgreementKey
            var secret: [UInt8]?
            if variant == .a {
                let issuer = try P256.KeyAgreement.PrivateKey(rawRepresentation: fixture.issuerKey.rawRepresentation)
                secret = try SCP11KeyAgreement.sharedSecret(issuer, cardKey)
            }
            var handshake = try SCP11HostHandshake(variant: variant, cardStaticKey: cardKey, issuerStaticSharedSecret: secret)
            let response = transmit(try handshake.command.encoded())
            channel = try handshake.complete(with: response)
        } catch {
            Issue.record("opening \(variant): \(error)")
        }
    }

    func expectSW(_ command: CommandAPDU, _ sw: UInt16, _ comment: Comment? = nil,
                  sourceLocation: SourceLocation = #_sourceLocation) {
        let response = send(command)
        #expect(response.sw == sw, comment, sourceLocation: sourceLocation)
    }

    func expectSW(_ bytes: [UInt8], _ sw: UInt16, _ comment: Comment? = nil,
                  sourceLocation: SourceLocation = #_sourceLocation) {
        let response = send(bytes)
        #expect(response.sw == sw, comment, sourceLocation: sourceLocation)
    }

    // MARK: Host operations

    func select() {
        let response = send(SealCommand.select())
        #expect(response.sw == 0x9000, "SELECT")
    }

    /// Power-cycles the chip and selects the applet: a fresh session.
    func reboot() throws {
        chip.powerOff()
        _ = try chip.powerOn()
        select()
    }

    func signIssuerChallenge(_ challenge: [UInt8], chipID: [UInt8]? = nil) -> [UInt8] {
        let message = issuerAuthenticationTBS(chipID: chipID ?? fixture.chipID, challenge: challenge)
        return Array((try? fixture.issuerKey.signature(for: message))?.derRepresentation ?? Data())
    }

    /// Issuer authentication: the SCP11a channel (SPEC §14.3), in which PERSONALIZE and SET
    /// LIFECYCLE are accepted.
    func authenticateIssuer() {
        openChannel(.a)
    }

    /// The v1 issuer authentication (GET CHALLENGE + EXTERNAL AUTHENTICATE), plain.
    func authenticateIssuerWithChallenge() {
        let challenge = send(SealCommand.getChallenge())
        #expect(challenge.sw == 0x9000 && challenge.data.count == 16, "GET CHALLENGE")
        let response = send(SealCommand.externalAuthenticate(signature: signIssuerChallenge(challenge.data)))
        #expect(response.sw == 0x9000, "EXTERNAL AUTHENTICATE")
    }

    /// VERIFY inside the open channel, or a new SCP11b channel when none is open.
    func verifyPIN() {
        if channel == nil { openChannel(.b) }
        expectSW(SealCommand.verify(pin: fixture.pin), 0x9000, "VERIFY")
    }

    /// GET DATA with Le 00 (extended when the object may exceed 256 bytes); fetches 61xx remainders.
    func getData(_ object: SealDataObject) -> ResponseAPDU {
        var response = send(SealCommand.getData(object, ne: 65_536))
        var data = response.data
        while response.statusWord.bytesRemaining != nil {
            response = send(SealCommand.getResponse(ne: 256))
            data += response.data
        }
        return ResponseAPDU(data: data, statusWord: response.statusWord)
    }

    func counter() -> UInt32 {
        readBigEndian(getData(.counter).data, as: UInt32.self)
    }

    func auditStatus() throws -> AuditStatus {
        try AuditStatus(decoding: getData(.auditStatus).data)
    }

    func sealPublicKey() throws -> P256.Signing.PublicKey {
        try P256.Signing.PublicKey(x963Representation: getData(.sealPublicKey).data)
    }

    func stampRequest(digest: [UInt8]? = nil, time: UInt64 = 1_700_000_000, grant: AuthorizationGrant? = nil) throws -> StampRequest {
        try StampRequest(
            documentDigest: digest ?? Array(SHA256.hash(data: Array("document \(time)".utf8))),
            metadata: StampMetadata(time: time, latitudeMicrodegrees: 48_856_600, longitudeMicrodegrees: 2_352_200,
                                    operatorID: "op-7", organizationUnit: "Registry"),
            grant: grant)
    }

    /// Sends a STAMP and decodes the response; `nil` unless 9000.
    func stamp(_ request: StampRequest) -> (ResponseAPDU, StampResponse?) {
        let response = send(SealCommand.stamp(request))
        return (response, response.sw == 0x9000 ? try? StampResponse(decoding: response.data) : nil)
    }

    func readAuditLog(_ counter: UInt32) -> ResponseAPDU {
        send(SealCommand.readAuditLog(counter: counter))
    }

    // MARK: Grants

    func grant(serial: UInt32, kind: AuthorizationGrant.Kind, first: UInt32, last: UInt32, digest: [UInt8]?,
               chipID: [UInt8]? = nil, signer: P256.Signing.PrivateKey? = nil, notBefore: UInt64 = 0,
               notAfter: UInt64 = UInt64.max, maxStamps: UInt32? = nil) -> AuthorizationGrant {
        var grant = AuthorizationGrant(serial: serial, kind: kind, firstCounter: first, lastCounter: last,
                                       documentDigest: digest, notBefore: notBefore, notAfter: notAfter,
                                       maxStamps: maxStamps, signature: [])
        let key = signer ?? fixture.authorityKey
        let signed = grant.signedBytes(chipID: chipID ?? fixture.chipID)
        grant.signature = Array((try? key.signature(for: signed))?.derRepresentation ?? Data())
        return grant
    }
}

/// Rebuilds the TBS of an audit entry and checks its signature with the seal key.
func verifyAuditEntry(_ entry: AuditEntry, chipID: [UInt8], featureHash: [UInt8], sealKey: P256.Signing.PublicKey,
                      organizationName: String = ChipFixture.defaultOrganization, sealName: String = ChipFixture.defaultSealName) -> [UInt8]? {
    let seal = SealIdentity(organizationName: organizationName, sealName: sealName, featureHash: featureHash)
    let tbs = entry.tbs(chipID: chipID, seal: seal,
                        keyID: sealKeyID(publicKeyX963: Array(sealKey.x963Representation))).encoded()
    guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: entry.signature),
          sealKey.isValidSignature(signature, for: tbs) else { return nil }
    return tbs
}
