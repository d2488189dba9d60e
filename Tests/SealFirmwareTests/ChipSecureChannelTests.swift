import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §14 on the chip: the key agreement, the status words that end a channel, the commands that
/// need one, and the security state bound to it.
struct ChipSecureChannelTests {
    @Test("the key-agreement key is separate from the device key, and its certificate is GET DATA 0120")
    func keyAgreementKey() throws {
        let harness = try ChipHarness.manufactured()
        let keyAgreement = try SealChip.keyAgreementPublicKey(nvm: harness.nvm)
        #expect(keyAgreement.count == 65 && keyAgreement != harness.devicePublicKey)
        harness.select()
        #expect(harness.getData(.keyAgreementCertificate).data == ChipFixture.keyAgreementCertificate)
        #expect(throws: SealChipError.self) {
            try SealChip.installKeyAgreementCertificate(nvm: harness.nvm, der: ChipFixture.keyAgreementCertificate)
        }
    }

    @Test("key-agreement errors: selection, P1-P2, length, template, variant")
    func handshakeErrors() throws {
        let harness = try ChipHarness.manufactured()
        let data = SCP11KeyAgreement.commandData(variant: .b, hostEphemeralPublicKey: Array(P256.KeyAgreement.PrivateKey().publicKey.x963Representation))
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x88, p1: 0, p2: 0x13, data: data, ne: 256), 0x6D00, "not selected")
        harness.select()
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x88, p1: 0, p2: 0x11, data: data, ne: 256), 0x6A86, "SCP11b with the SCP11a key ID")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x88, p1: 1, p2: 0x13, data: data, ne: 256), 0x6A86)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x88, p1: 0, p2: 0x13, data: Array(data.dropLast()), ne: 256), 0x6700)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x82, p1: 0, p2: 0x11, data: data, ne: 256), 0x6A80, "an SCP11b field under SCP11a")
        var notOnCurve = data
        notOnCurve[data.count - 1] ^= 1
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x88, p1: 0, p2: 0x13, data: notOnCurve, ne: 256), 0x6A80, "not a P-256 point")
        #expect(harness.chip.frontEnd.secureChannel == nil)
        harness.openChannel(.b)
        #expect(harness.chip.frontEnd.secureChannel?.variant == .b)
        // A failed handshake ends the open channel.
        #expect(harness.sendPlain(try CommandAPDU(cla: 0x80, ins: 0x88, p1: 0, p2: 0x13, data: notOnCurve, ne: 256).encoded()).sw == 0x6A80)
        #expect(harness.chip.frontEnd.secureChannel == nil)
    }

    @Test("SCP11a with a key other than the issuer's gives keys the chip does not share: the receipt fails")
    func wrongIssuerKey() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let cardKey = try harness.keyAgreementKey
        let impostor = P256.KeyAgreement.PrivateKey()
        var handshake = try SCP11HostHandshake(variant: .a, cardStaticKey: cardKey,
                                               issuerStaticSharedSecret: SCP11KeyAgreement.sharedSecret(impostor, cardKey))
        let response = harness.send(try handshake.command.encoded())
        #expect(response.sw == 0x9000)
        #expect(throws: SecureChannelError(code: .receiptMismatch, reason: "")) { try handshake.complete(with: response) }
    }

    @Test("6988 for a changed, replayed or reordered wrapped command; the channel and the PIN state end")
    func macFailures() throws {
        let harness = try ChipHarness.active()
        #expect(harness.chip.applet.security.pinVerified)
        let first = harness.wrappedBytes(SealCommand.getData(.counter))
        let second = harness.wrappedBytes(SealCommand.getData(.chipID))
        // Reordered: the second before the first.
        harness.expectSW(second, 0x6988, "reordered")
        #expect(harness.chip.frontEnd.secureChannel == nil && !harness.chip.applet.security.pinVerified)

        harness.openChannel(.b)
        harness.verifyPIN()
        let command = harness.wrappedBytes(SealCommand.getData(.counter))
        #expect(harness.unwrap(harness.sendPlain(command)).sw == 0x9000)
        harness.expectSW(command, 0x6988, "replayed")
        #expect(harness.chip.frontEnd.secureChannel == nil && !harness.chip.applet.security.pinVerified)

        harness.openChannel(.b)
        var changed = harness.wrappedBytes(SealCommand.stamp(try harness.stampRequest()))
        changed[10] ^= 0x01
        harness.expectSW(changed, 0x6988, "changed ciphertext")
        harness.expectSW(first, 0x6882, "wrapped command without a channel: a class error")
        #expect(harness.counter() == 0)
    }

    @Test("a plain command inside a channel is 6987 and ends it; GET RESPONSE stays plain")
    func plainInsideChannel() throws {
        let harness = try ChipHarness.active()
        #expect(harness.sendPlain(hex("00 CA 01 03 00")).sw == 0x6987)
        #expect(harness.chip.frontEnd.secureChannel == nil)
        #expect(!harness.chip.applet.security.pinVerified, "the PIN verified in the channel is gone with it")
        harness.expectSW(SealCommand.getData(.counter), 0x9000, "plain again outside")
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6982, "STAMP needs a channel")
        harness.expectSW(SealCommand.verify(pin: harness.fixture.pin), 0x6982, "so does VERIFY with a PIN")
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "the status query does not")
        harness.expectSW(SealCommand.changePIN(current: harness.fixture.pin, new: "4321"), 0x6982)
        harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "4321"), 0x6982)
    }

    @Test("a PIN verified in one channel does not carry to a new one, nor a SELECT")
    func pinBoundToChannel() throws {
        let harness = try ChipHarness.active()
        harness.openChannel(.b)
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "a new channel starts unverified")
        harness.verifyPIN()
        harness.select()
        #expect(harness.chip.frontEnd.secureChannel == nil, "SELECT ends the channel")
        harness.openChannel(.b)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6982)
        #expect(harness.counter() == 0)
    }

    @Test("inside the channel the stamp's digest and metadata travel encrypted")
    func stampEncrypted() throws {
        let harness = try ChipHarness.active()
        let request = try harness.stampRequest()
        let bytes = harness.wrappedBytes(SealCommand.stamp(request))
        let digest = request.documentDigest
        let found = (0...(bytes.count - digest.count)).contains { Array(bytes[$0..<$0 + digest.count]) == digest }
        #expect(!found)
        let response = harness.unwrap(harness.sendPlain(bytes))
        #expect(response.sw == 0x9000)
        #expect(try StampResponse(decoding: response.data).counter == 1)
    }
}
