import Crypto
import Foundation
import SealProtocol
import Testing

@_spi(Testing) @testable import SealFirmware

/// Persistence across SealChip instances over one FileBackingStore, and the factory interface (SPEC §12).
@Suite("Chip persistence and manufacture")
struct ChipPersistenceTests {
    @Test("state survives a new SealChip over the same FileBackingStore")
    func fileBackedChip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ChipPersistence-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("chip.sknv").path
        let fixture = ChipFixture()

        var sealKey: [UInt8] = []
        var status: AuditStatus?
        do {
            let nvm = try NonVolatileMemory(backing: FileBackingStore(path: path))
            try SealChip.manufacture(nvm: nvm, chipID: fixture.chipID, issuerPublicKey: fixture.issuerPublicKey,
                                     random: SystemChipRandom())
            try SealChip.installDeviceCertificate(nvm: nvm, der: ChipFixture.certificate)
            let chip = try SealChip(nvm: nvm, random: SystemChipRandom())
            let h = try ChipHarness(wrapping: chip, nvm: nvm, fixture: fixture)
            h.select()
            h.authenticateIssuer()
            #expect(h.send(try SealCommand.personalize(fixture.personalization)).sw == 0x9000)
            h.expectSW(SealCommand.setLifecycle(.active), 0x9000)
            h.verifyPIN()
            #expect(h.stamp(try h.stampRequest()).0.sw == 0x9000)
            h.expectSW(SealCommand.verify(pin: "000000"), 0x63C2)
            sealKey = h.getData(.sealPublicKey).data
            status = try h.auditStatus()
            chip.powerOff()
        }

        let nvm = try NonVolatileMemory(backing: FileBackingStore(path: path))
        let chip = try SealChip(nvm: nvm, random: SystemChipRandom())
        #expect(!chip.isPowered)
        #expect(chip.lifecycleForDiagnostics == .active)
        let h = try ChipHarness(wrapping: chip, nvm: nvm, fixture: fixture)
        h.select()
        #expect(h.counter() == 1)
        #expect(h.getData(.sealPublicKey).data == sealKey)
        #expect((try h.auditStatus()) == status)
        h.expectSW(SealCommand.verifyStatus(), 0x63C2, "the try counter persisted")
        h.verifyPIN()
        let (_, stamp) = h.stamp(try h.stampRequest(time: 1_800_000_000))
        #expect(stamp?.counter == 2)
        #expect(h.getData(.deviceCertificate).data == ChipFixture.certificate)
    }

    @Test("manufacture validates its input and runs once; the certificate is installed once")
    func manufactureRules() throws {
        let fixture = ChipFixture()
        let nvm = try NonVolatileMemory(backing: InMemoryBackingStore())
        #expect(throws: SealChipError(.notManufactured, "")) { try SealChip(nvm: nvm, random: SystemChipRandom()) }
        #expect(throws: SealChipError(.notManufactured, "")) {
            try SealChip.installDeviceCertificate(nvm: nvm, der: ChipFixture.certificate)
        }
        #expect(throws: SealChipError(.invalidChipID, "")) {
            try SealChip.manufacture(nvm: nvm, chipID: [1, 2, 3], issuerPublicKey: fixture.issuerPublicKey, random: SystemChipRandom())
        }
        var offCurve = [UInt8](repeating: 0x22, count: 65)
        offCurve[0] = 0x04
        for key in [offCurve, Array(fixture.issuerKey.publicKey.compressedRepresentation), []] {
            #expect(throws: SealChipError(.invalidIssuerKey, "")) {
                try SealChip.manufacture(nvm: nvm, chipID: fixture.chipID, issuerPublicKey: key, random: SystemChipRandom())
            }
        }
        #expect(nvm.snapshot().isEmpty, "failed manufacture writes nothing")

        let devicePublicKey = try SealChip.manufacture(nvm: nvm, chipID: fixture.chipID,
                                                       issuerPublicKey: fixture.issuerPublicKey, random: SystemChipRandom())
        #expect(devicePublicKey.count == 65 && devicePublicKey.first == 0x04)
        #expect((try? P256.Signing.PublicKey(x963Representation: devicePublicKey)) != nil)
        #expect(throws: SealChipError(.alreadyManufactured, "")) {
            try SealChip.manufacture(nvm: nvm, chipID: fixture.chipID, issuerPublicKey: fixture.issuerPublicKey, random: SystemChipRandom())
        }
        for bad in [[], [0x04, 0x00], [0x30, 0x05, 0x01], [0x30] + [UInt8](repeating: 0, count: 9000)] as [[UInt8]] {
            #expect(throws: SealChipError(.invalidCertificate, "")) { try SealChip.installDeviceCertificate(nvm: nvm, der: bad) }
        }
        try SealChip.installDeviceCertificate(nvm: nvm, der: ChipFixture.certificate)
        #expect(throws: SealChipError(.certificateNotAllowed, "")) {
            try SealChip.installDeviceCertificate(nvm: nvm, der: ChipFixture.certificate)
        }
        let chip = try SealChip(nvm: nvm, random: SystemChipRandom())
        #expect(chip.lifecycleForDiagnostics == .manufactured)
        #expect(try chip.powerOn() == SealChip.answerToReset)
        #expect(nvm.read(RecordID.devicePrivateKey.rawValue)?.count == 32, "the private key stays in NVM")
    }

    @Test("no response ever contains private key material")
    func noPrivateKeyLeaves() throws {
        let harness = try ChipHarness.active(ChipFixture(withRemoteAuthority: true))
        let secrets = [RecordID.devicePrivateKey, .sealPrivateKey, .watermarkKey].compactMap { harness.nvm.read($0.rawValue) }
        #expect(secrets.count == 3)
        var transcript: [UInt8] = []
        for object in SealDataObject.allCases { transcript += harness.getData(object).data }
        transcript += harness.send(SealCommand.getAttestation(nonce: [1])).data
        let (response, _) = harness.stamp(try harness.stampRequest())
        transcript += response.data + harness.readAuditLog(0).data + harness.send(SealCommand.select()).data
        for secret in secrets {
            let window = Array(secret.prefix(8))
            let found = (0...(transcript.count - window.count)).contains { Array(transcript[$0..<$0 + window.count]) == window }
            #expect(!found)
        }
    }
}

