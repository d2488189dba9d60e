import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §6 and §8.12: the command × state table, SET LIFECYCLE and termination.
@Suite("Chip lifecycle")
struct ChipLifecycleTests {
    /// One image per state; ACTIVE, SUSPENDED and TERMINATED carry one stamp.
    final class StateImages {
        let fixture = ChipFixture()
        var images: [LifecycleState: [UInt8]] = [:]

        init() throws {
            let manufactured = try ChipHarness.manufactured(fixture)
            images[.manufactured] = manufactured.image
            let personalized = try ChipHarness.personalized(fixture)
            images[.personalized] = personalized.image
            personalized.expectSW(SealCommand.setLifecycle(.active), 0x9000)
            personalized.verifyPIN()
            #expect(personalized.stamp(try personalized.stampRequest()).1 != nil)
            images[.active] = personalized.image
            personalized.expectSW(SealCommand.setLifecycle(.suspended), 0x9000)
            images[.suspended] = personalized.image
            personalized.expectSW(SealCommand.setLifecycle(.terminated), 0x9000)
            images[.terminated] = personalized.image
        }

        /// A fresh chip in `state`: selected, issuer authenticated, PIN verified where possible.
        func chip(_ state: LifecycleState) throws -> ChipHarness {
            let harness = try ChipHarness(fixture: fixture, image: images[state] ?? [])
            harness.select()
            harness.authenticateIssuer()
            if [.personalized, .active, .suspended].contains(state) { harness.verifyPIN() }
            return harness
        }
    }

    /// Sends a well-formed, otherwise acceptable `instruction` and returns its status word.
    private func run(_ instruction: SealInstruction, on harness: ChipHarness, state: LifecycleState) throws -> UInt16 {
        let fixture = harness.fixture
        switch instruction {
        case .select:
            return harness.send(SealCommand.select()).sw
        case .getResponse:
            // Plain, outside the channel (SPEC §14.4: GET RESPONSE is never wrapped).
            harness.select()
            #expect(harness.sendPlain(hex("00 CA 01 01")).sw == 0x6110)
            return harness.sendPlain(hex("00 C0 00 00 10")).sw
        case .getChallenge:
            return harness.send(SealCommand.getChallenge()).sw
        case .externalAuthenticate:
            let challenge = harness.send(SealCommand.getChallenge()).data
            return harness.send(SealCommand.externalAuthenticate(signature: harness.signIssuerChallenge(challenge))).sw
        case .getData:
            return harness.send(SealCommand.getData(.chipID)).sw
        case .verify:
            return harness.send(SealCommand.verify(pin: fixture.pin)).sw
        case .changeReferenceData:
            return harness.send(SealCommand.changePIN(current: fixture.pin, new: "246800")).sw
        case .resetRetryCounter:
            return harness.send(SealCommand.resetRetryCounter(puk: fixture.puk, newPIN: "246800")).sw
        case .personalize:
            return harness.send(try SealCommand.personalize(fixture.personalization)).sw
        case .setLifecycle:
            let target: LifecycleState = switch state {
            case .personalized, .suspended: .active
            case .active: .suspended
            default: .terminated
            }
            return harness.send(SealCommand.setLifecycle(target)).sw
        case .stamp:
            return harness.send(SealCommand.stamp(try harness.stampRequest(time: 1_800_000_000))).sw
        case .getAttestation:
            // The v2 statement (with the audit head) makes the response longer than 256 bytes:
            // ask with an extended Le so that success is 9000, not 61xx.
            var command = SealCommand.getAttestation(nonce: [1, 2, 3])
            command.ne = 65536
            return harness.send(command).sw
        case .readAuditLog:
            return harness.send(SealCommand.readAuditLog(counter: 0)).sw
        case .resetTimeFloor:
            return harness.send(SealCommand.resetTimeFloor(to: 1_700_000_000)).sw
        case .putSESSeal:
            return harness.send(SealCommand.putSESSeal(offset: 0, chunk: [0x30, 0x00])).sw
        case .readSESSeal:
            return harness.send(SealCommand.readSESSeal(offset: 0)).sw
        case .stampSES:
            let stamp = try harness.stampRequest(time: 1_800_000_000)
            return harness.send(SealCommand.stampSES(try SESStampRequest(stamp: stamp, propertyInfo: "p",
                                                                         sealHash: [UInt8](repeating: 0, count: 32)))).sw
        }
    }

    @Test("every command in every state: allowed ones succeed, the others are 6985")
    func commandStateTable() throws {
        let images = try StateImages()
        // SPEC §6 table; READ AUDIT LOG in PERSONALIZED finds an empty log (6A88).
        let allowed: [SealInstruction: Set<LifecycleState>] = [
            .select: Set(LifecycleState.allCases), .getResponse: Set(LifecycleState.allCases),
            .getChallenge: Set(LifecycleState.allCases), .externalAuthenticate: Set(LifecycleState.allCases),
            .getData: Set(LifecycleState.allCases),
            .personalize: [.manufactured],
            .setLifecycle: [.manufactured, .personalized, .active, .suspended],
            .verify: [.personalized, .active, .suspended], .changeReferenceData: [.personalized, .active, .suspended],
            .resetRetryCounter: [.personalized, .active, .suspended],
            .stamp: [.active],
            .getAttestation: [.personalized, .active, .suspended],
            .readAuditLog: [.personalized, .active, .suspended, .terminated],
            .resetTimeFloor: [.personalized, .active, .suspended],
            // This fixture's seal key is P-256: PUT SES SEAL and STAMP-SES answer 6985 in every
            // state (SM2 only, §8.17, §8.18; ChipStampSESTests covers their states on an SM2 chip).
            .putSESSeal: [], .stampSES: [],
            // No seal installed: 6A88 where the state allows the read.
            .readSESSeal: [.personalized, .active, .suspended, .terminated],
        ]
        for state in LifecycleState.allCases {
            for instruction in SealInstruction.allCases {
                let harness = try images.chip(state)
                let sw = try run(instruction, on: harness, state: state)
                let isAllowed = allowed[instruction]?.contains(state) ?? false
                let emptyRead = (instruction == .readAuditLog && state == .personalized) || instruction == .readSESSeal
                let expected: UInt16 = !isAllowed ? 0x6985 : (emptyRead ? 0x6A88 : 0x9000)
                #expect(sw == expected, "\(instruction) in \(state)")
            }
        }
    }

    @Test("LifecyclePolicy matches SPEC §6 and LifecycleState.canTransition")
    func transitions() throws {
        let images = try StateImages()
        for from in LifecycleState.allCases {
            for to in LifecycleState.allCases {
                let harness = try images.chip(from)
                let sw = harness.send(SealCommand.setLifecycle(to)).sw
                let legal: Bool = switch (from, to) {
                case (.personalized, .active), (.active, .suspended), (.suspended, .active): true
                case (.terminated, _): false
                case (_, .terminated): true
                default: false
                }
                #expect(sw == (legal ? 0x9000 : 0x6985), "\(from) → \(to)")
                if legal {
                    #expect(harness.getData(.lifecycle).data == [to.rawValue])
                    harness.expectSW(SealCommand.verifyStatus(), to == .terminated ? 0x6985 : 0x63C3,
                                     "SET LIFECYCLE clears the PIN-verified flag")
                }
            }
        }
    }

    @Test("SET LIFECYCLE errors and precedence")
    func setLifecycleErrors() throws {
        let harness = try ChipHarness.personalized()
        // Inside the issuer's channel (ChipHarness.personalized left it open).
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x02, p2: 0), 0x6A86, "not a state code")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x00, p2: 0), 0x6A86)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x07, p2: 1), 0x6A86)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x07, p2: 0, data: [0x00]), 0x6700)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x03, p2: 0), 0x6985, "same state")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x0F, p2: 0), 0x6985, "PERSONALIZED → SUSPENDED")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x52, p1: 0x01, p2: 0), 0x6985, "back to MANUFACTURED")
        harness.select()
        // Plain, outside a channel: P1-P2 first, then the channel requirement (SPEC §14.6).
        harness.expectSW(hex("80 52 02 00"), 0x6A86, "P1-P2 before the channel requirement")
        harness.expectSW(hex("80 52 0F 00"), 0x6982, "no channel")
        harness.expectSW(hex("80 52 07 00"), 0x6982)
        harness.expectSW(hex("80 52 07 00 00"), 0x6982, "Le is ignored")
        harness.openChannel(.b)
        harness.expectSW(SealCommand.setLifecycle(.active), 0x6982, "the holder's channel is not the issuer's")
        #expect(harness.channel != nil, "a refused issuer command leaves the holder's channel open")
        harness.select()
        harness.authenticateIssuerWithChallenge()
        harness.expectSW(hex("80 52 07 00"), 0x6982, "EXTERNAL AUTHENTICATE alone no longer allows SET LIFECYCLE")
        #expect(harness.getData(.lifecycle).data == [0x03])
        harness.authenticateIssuer()
        harness.expectSW(SealCommand.setLifecycle(.active), 0x9000)
    }

    @Test("TERMINATE zeroizes seal key, watermark key, PIN and PUK; identity, counter and audit log stay")
    func termination() throws {
        let images = try StateImages()
        let harness = try images.chip(.active)
        let personalization = harness.getData(.personalization).data
        let auditBefore = try harness.auditStatus()
        let sealKey = harness.getData(.sealPublicKey).data
        let keyID = harness.getData(.sealKeyID).data
        let entry = harness.readAuditLog(1)
        #expect(entry.sw == 0x9000)
        #expect(harness.nvm.read(RecordID.sealPrivateKey.rawValue) != nil)

        harness.expectSW(SealCommand.setLifecycle(.terminated), 0x9000)
        for record in [RecordID.sealPrivateKey, .watermarkKey, .pinReference, .pukReference, .pinTryCounter, .pukTryCounter] {
            #expect(harness.nvm.read(record.rawValue) == nil, "record \(record.rawValue) zeroized")
        }
        #expect(harness.chip.applet.security.issuerAuthenticated == false)
        #expect(harness.getData(.lifecycle).data == [0x7F])
        #expect(harness.getData(.pinStatus).sw == 0x6A88, "PIN status absent when TERMINATED")
        // v2 (SPEC §6, §8.5): the public key and key ID outlive the private key, so the log
        // of a terminated chip still verifies.
        #expect(harness.getData(.sealPublicKey).data == sealKey)
        #expect(harness.getData(.sealKeyID).data == keyID)
        let retained = try AuditEntry(decoding: harness.readAuditLog(1).data)
        #expect(verifyAuditEntry(retained, chipID: harness.fixture.chipID, featureHash: harness.fixture.featureHash,
                                 sealKey: try P256.Signing.PublicKey(x963Representation: sealKey)) != nil)
        #expect(harness.getData(.chipID).data == harness.fixture.chipID)
        #expect(harness.getData(.personalization).data == personalization)
        #expect(harness.counter() == 1)
        #expect(try harness.auditStatus() == auditBefore)
        #expect(harness.readAuditLog(1).data == entry.data)
        #expect(harness.getData(.deviceCertificate).data == ChipFixture.certificate)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6985)
        harness.expectSW(SealCommand.setLifecycle(.active), 0x6985)

        let manufactured = try images.chip(.manufactured)
        manufactured.expectSW(SealCommand.setLifecycle(.terminated), 0x9000, "MANUFACTURED → TERMINATED")
        manufactured.expectSW(try SealCommand.personalize(manufactured.fixture.personalization), 0x6985)
    }
}
