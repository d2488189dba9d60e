import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §8.5 GET DATA and §8.15 / §9.4 GET ATTESTATION.
@Suite("Chip GET DATA and attestation")
struct ChipDataTests {
    @Test("every GET DATA object of a personalized chip")
    func objects() throws {
        let harness = try ChipHarness.personalized()
        #expect(harness.getData(.chipID).data == harness.fixture.chipID)
        #expect(harness.getData(.lifecycle).data == [0x03])
        #expect(harness.getData(.counter).data == [0, 0, 0, 0])
        #expect(harness.getData(.pinStatus).data == [3, 3, 5, 5])
        #expect(harness.getData(.capabilities).data == hex("80 02 02 00 81 02 10 00 82 04 00 01 00 00 83 01 07 84 02 00 40"))
        #expect(harness.getData(.deviceCertificate).data == ChipFixture.certificate)
        let publicKey = harness.getData(.sealPublicKey).data
        #expect(publicKey.count == 65 && publicKey.first == 0x04)
        #expect(harness.getData(.sealKeyID).data == Array(SHA256.hash(data: publicKey)))
        #expect(harness.getData(.auditStatus).data == [UInt8](repeating: 0, count: 40))
        #expect(try PersonalizationInfo(decoding: harness.getData(.personalization).data).sealName == "Seal of the Registrar")
        for object in SealDataObject.allCases {
            #expect(harness.getData(object).sw == 0x9000, "\(object)")
        }
    }

    @Test("GET DATA: absent objects when MANUFACTURED, unknown tags, data field")
    func errors() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let absent: Set<SealDataObject> = [.pinStatus, .sealPublicKey, .personalization, .sealKeyID]
        for object in SealDataObject.allCases {
            #expect(harness.getData(object).sw == (absent.contains(object) ? 0x6A88 : 0x9000), "\(object)")
        }
        #expect(harness.getData(.lifecycle).data == [0x01])
        for tag in ["01 00", "01 0B", "00 00", "FF FF", "9F 7F"] {
            harness.expectSW(hex("00 CA \(tag) 00"), 0x6A88, "tag \(tag)")
        }
        harness.expectSW(hex("00 CA 01 01 01 00 00"), 0x6700, "data field")
        harness.expectSW(hex("00 CA 01 0B 01 00 00"), 0x6700, "length (6700) before unknown tag (6A88)")
        let noCertificate = try NonVolatileMemory(backing: InMemoryBackingStore())
        try SealChip.manufacture(nvm: noCertificate, chipID: harness.fixture.chipID,
                                 issuerPublicKey: harness.fixture.issuerPublicKey, random: SeededChipRandom(seed: [9]))
        let bare = try SealChip(nvm: noCertificate, random: SeededChipRandom(seed: [9]))
        _ = try bare.powerOn()
        _ = bare.process(SealCommand.select().encodedBytes)
        #expect(bare.process(hex("00 CA 01 06 00")) == .response([0x6A, 0x88]), "certificate not yet installed")
    }

    @Test("attestation is signed by the device key and describes the seal key")
    func attestation() throws {
        let fixture = ChipFixture(withRemoteAuthority: true, requiresRemoteAuthorization: true)
        let harness = try ChipHarness.personalized(fixture)
        let deviceKey = try P256.Signing.PublicKey(x963Representation: harness.devicePublicKey)
        for nonce in [[], [UInt8](repeating: 0xEE, count: 32), [0x01]] {
            var command = SealCommand.getAttestation(nonce: nonce)
            command.ne = 65_536
            let response = harness.send(command)
            #expect(response.sw == 0x9000)
            let attestation = try AttestationResponse(decoding: response.data)
            let signature = try P256.Signing.ECDSASignature(derRepresentation: attestation.signature)
            #expect(deviceKey.isValidSignature(signature, for: attestation.statementBytes))
            let statement = try AttestationStatement(decoding: attestation.statementBytes)
            let sealKey = harness.getData(.sealPublicKey).data
            #expect(statement.chipID == fixture.chipID)
            #expect(statement.sealPublicKey == sealKey)
            #expect(statement.keyID == sealKeyID(publicKeyX963: sealKey))
            #expect(statement.featureHash == fixture.featureHash)
            #expect(statement.keyPolicy == [.generatedOnChip, .neverExportable, .pinRequired, .remoteAuthorizationRequired])
            #expect(statement.counter == 0)
            #expect(statement.lifecycle == 0x03)
            #expect(statement.nonce == nonce)
        }
        let plain = try ChipHarness.active()
        _ = plain.stamp(try plain.stampRequest())
        var command = SealCommand.getAttestation(nonce: [7])
        command.ne = 65_536
        let statement = try AttestationStatement(decoding: AttestationResponse(decoding: plain.send(command).data).statementBytes)
        #expect(statement.keyPolicy == [.generatedOnChip, .neverExportable, .pinRequired])
        #expect(statement.counter == 1 && statement.lifecycle == 0x07)
    }

    @Test("GET ATTESTATION errors")
    func attestationErrors() throws {
        let harness = try ChipHarness.personalized()
        harness.select()  // plain, outside a channel
        harness.expectSW(SealCommand.getAttestation(nonce: [UInt8](repeating: 1, count: 33)), 0x6700)
        harness.expectSW(hex("80 58 00 01 00"), 0x6A86)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x58, p1: 1, p2: 0, data: [UInt8](repeating: 1, count: 33)), 0x6A86,
                         "P1-P2 before length")
        let noLe = harness.send(hex("80 58 00 00"))
        #expect(noLe.data.isEmpty && noLe.statusWord.bytesRemaining != nil, "no nonce, no Le: 61xx")
        let manufactured = try ChipHarness.manufactured()
        manufactured.select()
        manufactured.expectSW(SealCommand.getAttestation(nonce: []), 0x6985)
        manufactured.expectSW(SealCommand.getAttestation(nonce: [UInt8](repeating: 1, count: 33)), 0x6700,
                              "length before lifecycle")
    }
}
