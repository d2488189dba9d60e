import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §8.3 GET CHALLENGE, §8.4 EXTERNAL AUTHENTICATE, §8.11 PERSONALIZE.
@Suite("Chip issuer authentication and personalization")
struct ChipIssuerTests {
    @Test("GET CHALLENGE: Le 10 or 00 short, extended ≥ 16; otherwise 6C10, 6700, 6A86")
    func getChallenge() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let a = harness.send(hex("00 84 00 00 10"))
        let b = harness.send(hex("00 84 00 00 00"))
        #expect(a.sw == 0x9000 && a.data.count == 16)
        #expect(b.sw == 0x9000 && b.data.count == 16)
        #expect(a.data != b.data)
        #expect(harness.send(hex("00 84 00 00 00 00 10")).data.count == 16)
        #expect(harness.send(hex("00 84 00 00 00 01 00")).data.count == 16, "extended Le 256")
        harness.expectSW(hex("00 84 00 00 08"), 0x6C10)
        harness.expectSW(hex("00 84 00 00 20"), 0x6C10)
        harness.expectSW(hex("00 84 00 00 00 00 0F"), 0x6C10)
        harness.expectSW(hex("00 84 00 00"), 0x6700)
        harness.expectSW(hex("00 84 00 00 01 00 10"), 0x6700, "data field")
        harness.expectSW(hex("00 84 01 00 10"), 0x6A86)
        harness.expectSW(hex("00 84 00 01 08"), 0x6A86, "P1-P2 before Le")
    }

    @Test("EXTERNAL AUTHENTICATE: valid, wrong key, wrong chip, not DER, stale challenge")
    func externalAuthenticate() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        harness.expectSW(SealCommand.externalAuthenticate(signature: [0x30, 0x00]), 0x6985, "no challenge")

        var challenge = harness.send(SealCommand.getChallenge()).data
        let valid = harness.signIssuerChallenge(challenge)
        harness.expectSW(hex("00 82 00 00") + [UInt8(valid.count)] + valid, 0x6A86)
        harness.expectSW(hex("00 82 01 01") + [UInt8(valid.count)] + valid, 0x6A86)
        harness.expectSW(hex("00 82 00 01"), 0x6700, "Lc absent")
        harness.expectSW(hex("00 82 00 01 49") + [UInt8](repeating: 0x30, count: 73), 0x6700, "73 bytes")
        harness.expectSW(SealCommand.externalAuthenticate(signature: valid), 0x9000, "earlier errors kept the challenge")
        harness.expectSW(SealCommand.externalAuthenticate(signature: valid), 0x6985, "the challenge was consumed")
        #expect(harness.chip.applet.security.issuerAuthenticated)

        challenge = harness.send(SealCommand.getChallenge()).data
        let otherKey = P256.Signing.PrivateKey()
        let foreign = try otherKey.signature(for: issuerAuthenticationTBS(chipID: harness.fixture.chipID, challenge: challenge))
        harness.expectSW(SealCommand.externalAuthenticate(signature: Array(foreign.derRepresentation)), 0x6300)
        #expect(!harness.chip.applet.security.issuerAuthenticated, "a failed attempt drops the authentication")
        harness.expectSW(SealCommand.externalAuthenticate(signature: harness.signIssuerChallenge(challenge)), 0x6985,
                         "consumed by the failed attempt")

        challenge = harness.send(SealCommand.getChallenge()).data
        harness.expectSW(SealCommand.externalAuthenticate(
            signature: harness.signIssuerChallenge(challenge, chipID: [UInt8](repeating: 0, count: 16))), 0x6300)
        challenge = harness.send(SealCommand.getChallenge()).data
        harness.expectSW(SealCommand.externalAuthenticate(signature: [0x01, 0x02, 0x03]), 0x6300, "not DER")

        let first = harness.send(SealCommand.getChallenge()).data
        _ = harness.send(SealCommand.getChallenge())
        harness.expectSW(SealCommand.externalAuthenticate(signature: harness.signIssuerChallenge(first)), 0x6300,
                         "a new challenge replaces the old one")
    }

    @Test("PERSONALIZE stores the data, generates the seal key and enters PERSONALIZED")
    func personalize() throws {
        let fixture = ChipFixture(withRemoteAuthority: true, requiresRemoteAuthorization: true)
        let harness = try ChipHarness.manufactured(fixture)
        harness.select()
        for object in [SealDataObject.pinStatus, .sealPublicKey, .personalization, .sealKeyID] {
            #expect(harness.getData(object).sw == 0x6A88, "\(object) absent when MANUFACTURED")
        }
        harness.authenticateIssuer()
        let response = harness.send(try SealCommand.personalize(fixture.personalization))
        #expect(response.sw == 0x9000)
        #expect(response.data.count == 67 && response.data.prefix(2) == [0x86, 0x41])
        let publicKey = Array(response.data.dropFirst(2))
        #expect(harness.getData(.sealPublicKey).data == publicKey)
        #expect((try? P256.Signing.PublicKey(x963Representation: publicKey)) != nil)
        #expect(harness.getData(.sealKeyID).data == sealKeyID(publicKeyX963: publicKey))
        #expect(harness.getData(.lifecycle).data == [0x03])
        let info = try PersonalizationInfo(decoding: harness.getData(.personalization).data)
        #expect(info == PersonalizationInfo(
            organizationName: "ACME Notaries", sealName: "Seal of the Registrar", featureHash: fixture.featureHash,
            requiresRemoteAuthorization: true, watermarkValiditySeconds: fixture.validity,
            remoteAuthorityKey: Array(fixture.authorityKey.publicKey.x963Representation)))
        #expect(harness.getData(.personalization).data.map { $0 } == info.encoded(), "ascending tags 41 42 43 48 49 4A")
        #expect(try PINStatus(decoding: harness.getData(.pinStatus).data) ==
                PINStatus(pinTriesRemaining: 3, pinTryLimit: 3, pukTriesRemaining: 5, pukTryLimit: 5))
        harness.expectSW(try SealCommand.personalize(fixture.personalization), 0x6985, "only once")
    }

    @Test("PERSONALIZE without 48/49 stores policy 0 and no remote-authority key")
    func personalizeMinimal() throws {
        let harness = try ChipHarness.personalized()
        let info = try PersonalizationInfo(decoding: harness.getData(.personalization).data)
        #expect(info.remoteAuthorityKey == nil && !info.requiresRemoteAuthorization)
    }

    /// The PERSONALIZE data with `tag` replaced by `value` (nil: removed); `extra` appended.
    private func personalizationData(_ fixture: ChipFixture, replacing tag: UInt8? = nil, with value: [UInt8]? = nil,
                                     extra: [UInt8] = []) throws -> [UInt8] {
        var objects = try TLV.decodeAll(fixture.personalization.encoded())
        if let tag {
            objects.removeAll { $0.tag == BERTag(rawValue: UInt32(tag)) }
            if let value { objects.append(TLV(tag: BERTag(rawValue: UInt32(tag)), value: value)) }
        }
        return objects.encoded() + extra
    }

    @Test("PERSONALIZE refuses bad data with 6A80 and changes nothing")
    func personalizeBadData() throws {
        let fixture = ChipFixture(withRemoteAuthority: true)
        let harness = try ChipHarness.manufactured(fixture)
        harness.select()
        harness.authenticateIssuer()
        var badPoint = [UInt8](repeating: 0x11, count: 65)
        badPoint[0] = 0x04
        let cases: [(String, [UInt8])] = [
            ("organization missing", try personalizationData(fixture, replacing: 0x41)),
            ("seal name missing", try personalizationData(fixture, replacing: 0x42)),
            ("feature hash missing", try personalizationData(fixture, replacing: 0x43)),
            ("PIN missing", try personalizationData(fixture, replacing: 0x44)),
            ("PIN limit missing", try personalizationData(fixture, replacing: 0x45)),
            ("PUK missing", try personalizationData(fixture, replacing: 0x46)),
            ("PUK limit missing", try personalizationData(fixture, replacing: 0x47)),
            ("validity missing", try personalizationData(fixture, replacing: 0x4A)),
            ("watermark key missing", try personalizationData(fixture, replacing: 0x4B)),
            ("duplicate tag", try personalizationData(fixture, extra: [0x41, 0x01, 0x41])),
            ("seal image hash (4C) of 1 byte", try personalizationData(fixture, extra: [0x4C, 0x01, 0x00])),
            ("unknown tag 4D", try personalizationData(fixture, extra: [0x4D, 0x01, 0x00])),
            ("unknown tag 40", try personalizationData(fixture, extra: [0x40, 0x01, 0x00])),
            ("empty organization", try personalizationData(fixture, replacing: 0x41, with: [])),
            ("organization of 65 bytes", try personalizationData(fixture, replacing: 0x41, with: [UInt8](repeating: 0x41, count: 65))),
            ("organization not UTF-8", try personalizationData(fixture, replacing: 0x41, with: [0xC3, 0x28])),
            ("feature hash of 31 bytes", try personalizationData(fixture, replacing: 0x43, with: [UInt8](repeating: 1, count: 31))),
            ("PIN of 3 digits", try personalizationData(fixture, replacing: 0x44, with: Array("123".utf8))),
            ("PIN with a letter", try personalizationData(fixture, replacing: 0x44, with: Array("12345a".utf8))),
            ("PIN limit 0", try personalizationData(fixture, replacing: 0x45, with: [0])),
            ("PIN limit 16", try personalizationData(fixture, replacing: 0x45, with: [16])),
            ("PIN of 5 digits (v2 minimum is 6)", try personalizationData(fixture, replacing: 0x44, with: Array("12345".utf8))),
            ("PIN limit 11 (v2 maximum is 10)", try personalizationData(fixture, replacing: 0x45, with: [11])),
            ("PUK limit 11 (v2 maximum is 10)", try personalizationData(fixture, replacing: 0x47, with: [11])),
            ("PIN limit of 2 bytes", try personalizationData(fixture, replacing: 0x45, with: [0, 3])),
            ("PUK of 7 digits", try personalizationData(fixture, replacing: 0x46, with: Array("1234567".utf8))),
            ("PUK of 17 digits", try personalizationData(fixture, replacing: 0x46, with: Array("12345678901234567".utf8))),
            ("PUK limit 0", try personalizationData(fixture, replacing: 0x47, with: [0])),
            ("remote key not on the curve", try personalizationData(fixture, replacing: 0x48, with: badPoint)),
            ("remote key of 64 bytes", try personalizationData(fixture, replacing: 0x48, with: [UInt8](repeating: 4, count: 64))),
            ("policy bit 3 (undefined in v2)", try personalizationData(fixture, replacing: 0x49, with: [0x08])),
            ("policy of 2 bytes", try personalizationData(fixture, replacing: 0x49, with: [0x00, 0x00])),
            ("validity 59", try personalizationData(fixture, replacing: 0x4A, with: [0, 0, 0, 59])),
            ("validity of 3 bytes", try personalizationData(fixture, replacing: 0x4A, with: [0, 0, 60])),
            ("watermark key of 31 bytes", try personalizationData(fixture, replacing: 0x4B, with: [UInt8](repeating: 1, count: 31))),
            ("trailing garbage", try personalizationData(fixture, extra: [0x41])),
            ("non-minimal length", [0x41, 0x81, 0x01, 0x41]),
        ]
        for (name, data) in cases {
            harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: data, ne: 256), 0x6A80, "\(name)")
        }
        var noKey = fixture
        noKey.withRemoteAuthority = false
        noKey.requiresRemoteAuthorization = false
        let policyWithoutKey = try personalizationData(noKey, replacing: 0x49, with: [0x01])
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: policyWithoutKey, ne: 256), 0x6A80,
                         "policy bit 0 without 48")
        #expect(harness.getData(.lifecycle).data == [0x01])
        #expect(harness.getData(.personalization).sw == 0x6A88)
        harness.expectSW(try SealCommand.personalize(fixture.personalization), 0x9000, "the issuer is still authenticated")
    }

    @Test("PERSONALIZE header, lifecycle and security errors in SPEC §5 order")
    func personalizeErrors() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let data = try harness.fixture.personalization.encoded()
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 1, p2: 0, data: data), 0x6A86)
        harness.expectSW(hex("80 50 00 00"), 0x6982, "outside a channel: the channel requirement before the length")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: data), 0x6982, "issuer channel not open")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: [0x41]), 0x6982, "security before data")
        harness.openChannel(.b)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: data), 0x6982, "the holder's channel is not enough")
        harness.authenticateIssuer()
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0), 0x6700, "Lc absent")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, ne: 256), 0x6700, "Le only")
        let personalized = try ChipHarness.personalized()
        personalized.select()
        personalized.authenticateIssuer()
        personalized.expectSW(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: [0x41]), 0x6985, "lifecycle before data")
    }
}
