import SealHostDriver
import SealProtocol
import Testing

@Suite("APDU trace decoding")
struct APDUTraceDecoderTests {
    @Test func namesSealCommands() throws {
        #expect(APDUTraceDecoder.describe(command: SealCommand.select()) == "SELECT seal applet, Nc=9, Ne=256")
        #expect(APDUTraceDecoder.describe(command: SealCommand.getData(.counter)) == "GET DATA counter (0103), Ne=256")
        #expect(APDUTraceDecoder.describe(command: SealCommand.logout()) == "VERIFY (log out)")
        #expect(APDUTraceDecoder.describe(command: SealCommand.verifyStatus()) == "VERIFY (status)")
        #expect(APDUTraceDecoder.describe(command: SealCommand.setLifecycle(.active)) == "SET LIFECYCLE → ACTIVE")
        #expect(APDUTraceDecoder.describe(command: SealCommand.readAuditLog(counter: 0)) == "READ AUDIT LOG newest entry, Nc=4, Ne=256")
        #expect(APDUTraceDecoder.describe(command: SealCommand.readAuditLog(counter: 12)) == "READ AUDIT LOG entry 12, Nc=4, Ne=256")
        #expect(APDUTraceDecoder.describe(command: SealCommand.getChallenge()) == "GET CHALLENGE, Ne=16")
    }

    @Test func describesLengthFormsAndChaining() {
        let extended = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [1], ne: 65_536)
        #expect(APDUTraceDecoder.describe(command: extended) == "STAMP, Nc=1, Ne=65536, extended")
        let part = CommandAPDU(cla: 0x90, ins: 0x50, p1: 0, p2: 0, data: [1, 2])
        #expect(APDUTraceDecoder.describe(command: part, purpose: .chainPart(index: 1, count: 3))
                == "PERSONALIZE, Nc=2, more parts follow [chain part 1/3]")
        #expect(APDUTraceDecoder.describe(command: SealCommand.getData(.chipID, ne: 5), purpose: .lengthCorrection(ne: 5))
                == "GET DATA chip ID (0101), Ne=5 [re-sent with Le=5 after 6Cxx]")
    }

    @Test func unknownInstructionsAndObjects() {
        #expect(APDUTraceDecoder.instructionName(cla: 0x00, ins: 0x12) == "INS 12 (CLA 00)")
        // PERSONALIZE is proprietary: with CLA 00 it is not a seal command.
        #expect(APDUTraceDecoder.instructionName(cla: 0x00, ins: 0x50) == "INS 50 (CLA 00)")
        let unknownObject = CommandAPDU(cla: 0x00, ins: 0xCA, p1: 0x7F, p2: 0x01, ne: 256)
        #expect(APDUTraceDecoder.describe(command: unknownObject) == "GET DATA unknown object (7F01), Ne=256")
    }

    @Test func decodesRawBytes() {
        #expect(APDUTraceDecoder.describe(commandBytes: [0x00, 0xCA, 0x01, 0x02, 0x00]) == "GET DATA lifecycle (0102), Ne=256")
        #expect(APDUTraceDecoder.describe(commandBytes: [0x00, 0xCA]).hasPrefix("malformed command"))
        #expect(APDUTraceDecoder.describe(responseBytes: [0x69, 0x82]) == "6982 (security status not satisfied)")
        #expect(APDUTraceDecoder.describe(responseBytes: [0x01, 0x63, 0xC2]) == "63C2 (verification failed, 2 tries remaining), 1 data byte")
        #expect(APDUTraceDecoder.describe(responseBytes: []) == "no response")
        #expect(APDUTraceDecoder.describe(responseBytes: [0x90]).hasPrefix("malformed response"))
    }

    @Test func secretsAreIdentifiedAndMasked() throws {
        #expect(APDUTraceDecoder.carriesSecrets(SealCommand.verify(pin: "1234")))
        #expect(APDUTraceDecoder.carriesSecrets(SealCommand.changePIN(current: "1234", new: "5678")))
        #expect(APDUTraceDecoder.carriesSecrets(SealCommand.resetRetryCounter(puk: "12345678", newPIN: "5678")))
        #expect(!APDUTraceDecoder.carriesSecrets(SealCommand.verifyStatus()))
        #expect(!APDUTraceDecoder.carriesSecrets(SealCommand.getData(.chipID)))
        let masked = APDUTraceDecoder.redactedBytes(SealCommand.verify(pin: "1234"))
        #expect(masked == [0x00, 0x20, 0x00, 0x81, 0x04, 0x2A, 0x2A, 0x2A, 0x2A])
    }
}
