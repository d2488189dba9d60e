import Foundation
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §3.5 (issue 9 finding 10): a chip reports its real size limits and refuses beyond them;
/// and SPEC §3.3: a response whose length varies is never answered 6Cxx.
@Suite("Chip size limits (SPEC §3.5)")
struct ChipSizeLimitTests {
    /// A manufactured chip reopened with the constrained profile, selected.
    static func constrained() throws -> ChipHarness {
        let reference = try ChipHarness.manufactured()
        let chip = try SealChip(nvm: reference.nvm, random: SeededChipRandom(seed: [3]), capabilities: .constrained)
        let harness = try ChipHarness(wrapping: chip, nvm: reference.nvm, fixture: reference.fixture)
        harness.select()
        return harness
    }

    @Test("the constrained profile reports its limits in GET DATA 0105, the FCI and the ATR")
    func constrainedReportsItsLimits() throws {
        let harness = try Self.constrained()
        let reported = try SealCapabilities(decoding: harness.sendPlain(hex("00 CA 01 05 00")).data)
        #expect(reported == .constrained)
        #expect(reported.maxCommandData == 512 && reported.maxResponseData == 1024)
        #expect(!reported.features.contains(.extendedLength) && reported.features.contains(.commandChaining))
        #expect(reported.sizeViolations.isEmpty)
        let fci = harness.send(SealCommand.select())
        #expect(fci.data == SealCapabilities.constrained.fci())
        let atr = try AnswerToReset(bytes: try harness.chip.powerOn())
        #expect(atr.supportsCommandChaining && !atr.supportsExtendedLength)
        #expect(atr.cardCapabilities?.third == 0x80)
        // The reference chip keeps its ATR byte for byte.
        #expect(try ChipHarness.manufactured().chip.powerOn() == SealChip.answerToReset)
        #expect(SealCapabilities.reference.sizeViolations.isEmpty)
        #expect(SealCapabilities(maxCommandData: 511, maxResponseData: 1023).sizeViolations.count == 2)
    }

    @Test("without extended length every extended APDU is 6700 and changes nothing; short forms work")
    func extendedFormsAreRefused() throws {
        let harness = try Self.constrained()
        harness.expectSW(hex("00 CA 01 01 00 00 10"), 0x6700, "case 2E")
        harness.expectSW(hex("00 CA 01 06 00 00 00"), 0x6700, "case 2E, Le 0000")
        harness.expectSW(hex("00 84 00 00 00 00 10"), 0x6700, "GET CHALLENGE, extended Le")
        harness.expectSW(hex("80 58 00 00 00 00 02 AA BB 00 00"), 0x6700, "case 4E")
        #expect(harness.sendPlain(hex("00 CA 01 01 10")).data.count == 16, "case 2S still works")
        // §5 step 1 leaves an open chain as it was: an extended part in the middle is refused,
        // a short one continues the chain.
        harness.expectSW(hex("90 54 00 00 02 AA BB"), 0x9000, "first chain part")
        harness.expectSW(hex("80 54 00 00 00 00 02 CC DD"), 0x6700, "extended last part")
        harness.expectSW(hex("80 54 00 00 02 CC DD"), 0x6982, "short last part: the chain of 4 bytes reaches STAMP (no PIN)")
    }

    @Test("command data over 512 bytes is 6700 and discards the chain; exactly 512 passes the length check")
    func chainBufferIs512Bytes() throws {
        let harness = try Self.constrained()
        let part = [UInt8](repeating: 0x41, count: 128)
        for _ in 0..<4 { harness.expectSW(CommandAPDU(cla: 0x90, ins: 0x54, p1: 0, p2: 0, data: part), 0x9000) }
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [0x41]), 0x6700, "513 bytes")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: part), 0x6982, "the chain was discarded: a new 128-byte STAMP")
        for _ in 0..<3 { harness.expectSW(CommandAPDU(cla: 0x90, ins: 0x54, p1: 0, p2: 0, data: part), 0x9000) }
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: part), 0x6982, "512 bytes: length accepted, then no PIN")
    }

    @Test("GET ATTESTATION is never answered 6Cxx (its signature length varies); GET DATA is")
    func variableLengthResponsesAreExcludedFrom6Cxx() {
        let short = CommandResult(data: [UInt8](repeating: 0x30, count: 200))
        #expect(ResponseSizing.deliver(short, instruction: .getData, ne: 5, leForm: .short) == .wrongLe(.wrongLe(exact: 200)))
        #expect(ResponseSizing.deliver(short, instruction: .readAuditLog, ne: 5, leForm: .short) == .wrongLe(.wrongLe(exact: 200)))
        #expect(ResponseSizing.deliver(short, instruction: .getAttestation, ne: 5, leForm: .short)
                == .partial(sent: Array(short.data.prefix(5)), pending: Array(short.data.dropFirst(5)), .bytesRemaining(195)))
        #expect(!SealInstruction.getAttestation.mayBeAnsweredWrongLe && SealInstruction.getAttestation.isReadOnly)
    }

    @Test("on the chip: GET ATTESTATION with a too-small short Le gets its first bytes and 61xx")
    func attestationWithShortLe() throws {
        let harness = try ChipHarness.active()
        harness.select()  // ends the channel: GET ATTESTATION goes plain
        let answer = harness.sendPlain(hex("80 58 00 00 05"))
        #expect(answer.statusWord.bytesRemaining != nil, "\(answer.statusWord)")
        #expect(answer.data.count == 5)
    }
}
