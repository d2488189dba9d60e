import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §8.6–§8.9: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and the PIN-verified flag.
@Suite("Chip PIN and PUK")
struct ChipPINTests {
    private func pinStatus(_ harness: ChipHarness) throws -> PINStatus {
        try PINStatus(decoding: harness.getData(.pinStatus).data)
    }

    @Test("wrong PINs count down 63C2, 63C1, 63C0, then 6983 even for the right PIN")
    func countdownAndBlock() throws {
        let harness = try ChipHarness.personalized()
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3)
        harness.expectSW(SealCommand.verify(pin: "000000"), 0x63C2)
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 2, pinTryLimit: 3, pukTriesRemaining: 5, pukTryLimit: 5))
        harness.expectSW(SealCommand.verify(pin: "111111"), 0x63C1)
        harness.expectSW(SealCommand.verifyStatus(), 0x63C1)
        harness.expectSW(SealCommand.verify(pin: "999999999999"), 0x63C0, "last try")
        harness.expectSW(SealCommand.verify(pin: harness.fixture.pin), 0x6983)
        harness.expectSW(SealCommand.verify(pin: "000000"), 0x6983)
        harness.expectSW(SealCommand.verifyStatus(), 0x6983)
        harness.expectSW(SealCommand.verify(pin: "12a4"), 0x6983, "blocked (6983) before data content (6A80)")
        harness.expectSW(SealCommand.verify(pin: "123"), 0x6983, "blocked (6983) before the PIN length (6A80, SPEC v2)")
        #expect(try pinStatus(harness).pinTriesRemaining == 0)
    }

    @Test("the right PIN resets the counter and verifies; logout and empty VERIFY")
    func rightPIN() throws {
        let harness = try ChipHarness.personalized()
        harness.expectSW(SealCommand.verify(pin: "000000"), 0x63C2)
        harness.expectSW(SealCommand.verify(pin: harness.fixture.pin), 0x9000)
        #expect(try pinStatus(harness).pinTriesRemaining == 3)
        harness.expectSW(SealCommand.verifyStatus(), 0x9000)
        harness.expectSW(SealCommand.logout(), 0x9000)
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3)
        harness.verifyPIN()
        harness.expectSW(SealCommand.verify(pin: "000000"), 0x63C2, "a failed VERIFY clears the verified flag")
        harness.expectSW(SealCommand.verifyStatus(), 0x63C2)
    }

    @Test("VERIFY errors and their precedence")
    func verifyErrors() throws {
        let harness = try ChipHarness.personalized()
        harness.expectSW(hex("00 20 01 81 04 31 32 33 34"), 0x6A86)
        harness.expectSW(hex("00 20 00 80 04 31 32 33 34"), 0x6A86)
        harness.expectSW(hex("00 20 00 82"), 0x6A86)
        harness.expectSW(hex("00 20 FF 81 04 31 32 33 34"), 0x6700, "logout with data")
        harness.expectSW(hex("00 20 00 81 03 31 32 33"), 0x6A80, "a PIN of 3 digits: wrong data (SPEC v2 §8.6)")
        harness.expectSW(SealCommand.verify(pin: "1234567890123"), 0x6A80)
        harness.expectSW(SealCommand.verify(pin: "12 4"), 0x6A80)
        harness.expectSW(SealCommand.verify(pin: "abcdef"), 0x6A80)
        #expect(try pinStatus(harness).pinTriesRemaining == 3, "rejected input costs no try")
        harness.expectSW(hex("00 20 00 81 00 00 06 31 32 33 34 35 30"), 0x63C2, "extended Lc is fine")

        let manufactured = try ChipHarness.manufactured()
        manufactured.select()
        manufactured.expectSW(SealCommand.verify(pin: "1234"), 0x6982, "no channel")
        manufactured.openChannel(.b)
        manufactured.expectSW(SealCommand.verify(pin: "1234"), 0x6985)
        manufactured.expectSW(SealCommand.verifyStatus(), 0x6985)
        manufactured.expectSW(SealCommand.logout(), 0x6985)
        manufactured.expectSW(SealCommand.verify(pin: "123"), 0x6985, "lifecycle before the PIN length (SPEC v2)")
        manufactured.expectSW(hex("00 20 00 80 04 31 32 33 34"), 0x6A86, "P1-P2 before lifecycle")
    }

    @Test("the PIN and PUK are not stored in clear")
    func notStoredInClear() throws {
        let harness = try ChipHarness.personalized()
        let image = harness.image
        for secret in [harness.fixture.pin, harness.fixture.puk] {
            let needle = Array(secret.utf8)
            let found = (0...(image.count - needle.count)).contains { Array(image[$0..<$0 + needle.count]) == needle }
            #expect(!found, "\(secret) appears in the NVM image")
        }
    }

    @Test("CHANGE REFERENCE DATA: success verifies and replaces the PIN; a wrong old PIN counts down")
    func changePIN() throws {
        let harness = try ChipHarness.personalized()
        harness.expectSW(SealCommand.changePIN(current: "000000", new: "432100"), 0x63C2)
        harness.expectSW(SealCommand.changePIN(current: harness.fixture.pin, new: "432100"), 0x9000)
        harness.expectSW(SealCommand.verifyStatus(), 0x9000, "verified after the change")
        #expect(try pinStatus(harness).pinTriesRemaining == 3)
        harness.expectSW(SealCommand.verify(pin: harness.fixture.pin), 0x63C2, "the old PIN is gone")
        harness.expectSW(SealCommand.verify(pin: "432100"), 0x9000)
        harness.expectSW(SealCommand.changePIN(current: "000000", new: "555555"), 0x63C2)
        harness.expectSW(SealCommand.verifyStatus(), 0x63C2, "a failed change clears the verified flag")
    }

    @Test("CHANGE REFERENCE DATA errors and precedence")
    func changePINErrors() throws {
        let harness = try ChipHarness.personalized()
        harness.expectSW(hex("00 24 00 81"), 0x6700)
        harness.expectSW(hex("00 24 01 81 0C 81 04 31 32 33 34 82 04 31 32 33 34"), 0x6A86)
        harness.expectSW(hex("00 24 00 81 06 81 04 31 32 33 34"), 0x6A80, "new PIN missing")
        harness.expectSW(hex("00 24 00 81 0C 82 04 31 32 33 34 81 04 31 32 33 34"), 0x6A80, "order")
        harness.expectSW(hex("00 24 00 81 0F 81 04 31 32 33 34 82 04 31 32 33 34 83 01 00"), 0x6A80, "extra object")
        harness.expectSW(hex("00 24 00 81 0B 81 04 31 32 33 34 82 03 31 32 33"), 0x6A80, "new PIN too short")
        harness.expectSW(hex("00 24 00 81 0C 81 04 31 32 33 41 82 04 31 32 33 34"), 0x6A80, "non-digit")
        harness.expectSW(hex("00 24 00 81 04 81 05 31 32"), 0x6A80, "malformed TLV")
        #expect(try pinStatus(harness).pinTriesRemaining == 3)
        for _ in 0..<3 { harness.send(SealCommand.verify(pin: "000000")) }
        harness.expectSW(SealCommand.changePIN(current: harness.fixture.pin, new: "432100"), 0x6983)
        harness.expectSW(hex("00 24 00 81 04 81 05 31 32"), 0x6983, "blocked before malformed")
        let manufactured = try ChipHarness.manufactured()
        manufactured.select()
        manufactured.openChannel(.b)
        manufactured.expectSW(SealCommand.changePIN(current: "1234", new: "432100"), 0x6985)
    }

    @Test("RESET RETRY COUNTER unblocks with the PUK; the PIN is not verified")
    func resetRetryCounter() throws {
        let harness = try ChipHarness.personalized()
        for _ in 0..<3 { harness.send(SealCommand.verify(pin: "000000")) }
        harness.expectSW(SealCommand.verifyStatus(), 0x6983)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "11111111", newPIN: "246800"), 0x63C4)
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 0, pinTryLimit: 3, pukTriesRemaining: 4, pukTryLimit: 5))
        harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "246800"), 0x9000)
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 3, pinTryLimit: 3, pukTriesRemaining: 5, pukTryLimit: 5))
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "not verified after the reset")
        harness.expectSW(SealCommand.verify(pin: "246800"), 0x9000)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "11111111", newPIN: "246800"), 0x63C4)
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "RESET RETRY COUNTER clears the verified flag")
    }

    @Test("RESET RETRY COUNTER errors; a blocked PUK is final")
    func resetRetryCounterErrors() throws {
        let harness = try ChipHarness.personalized()
        harness.expectSW(hex("00 2C 00 81"), 0x6700)
        harness.expectSW(hex("00 2C 00 80 0A 83 08 31 31 31 31 31 31 31 31"), 0x6A86)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "1234567", newPIN: "246800"), 0x6A80, "PUK too short")
        harness.expectSW(SealCommand.resetRetryCounter(puk: "12345678901234567", newPIN: "246800"), 0x6A80, "PUK too long")
        harness.expectSW(SealCommand.resetRetryCounter(puk: "1234567a", newPIN: "246800"), 0x6A80)
        harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "246"), 0x6A80)
        harness.expectSW(hex("00 2C 00 81 0A 83 08 31 31 31 31 31 31 31 31"), 0x6A80, "new PIN missing")
        #expect(try pinStatus(harness).pukTriesRemaining == 5)
        for expected: UInt16 in [0x63C4, 0x63C3, 0x63C2, 0x63C1, 0x63C0] {
            harness.expectSW(SealCommand.resetRetryCounter(puk: "00000000", newPIN: "246800"), expected)
        }
        harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "246800"), 0x6983)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "1", newPIN: "2"), 0x6983, "blocked before malformed")
        harness.verifyPIN()
        let terminated = try ChipHarness.personalized()
        terminated.expectSW(SealCommand.setLifecycle(.terminated), 0x9000)
        terminated.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "246800"), 0x6985)
    }

    /// SPEC v2 §8.6–§8.8: one SW (6A80, no try spent) for a PIN of the wrong length in VERIFY,
    /// CHANGE REFERENCE DATA and RESET RETRY COUNTER; the minimum is 6 digits.
    @Test("a PIN of the wrong length is 6A80 in all three PIN commands, without a try")
    func pinLengthIsOneStatusWord() throws {
        let harness = try ChipHarness.personalized()
        for pin in ["12345", "1234567890123", "1234"] {
            harness.expectSW(SealCommand.verify(pin: pin), 0x6A80, "VERIFY \(pin)")
            harness.expectSW(SealCommand.changePIN(current: harness.fixture.pin, new: pin), 0x6A80, "CHANGE REFERENCE DATA to \(pin)")
            harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: pin), 0x6A80, "RESET RETRY COUNTER to \(pin)")
        }
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 3, pinTryLimit: 3, pukTriesRemaining: 5, pukTryLimit: 5))
    }

    /// SPEC v2 §8.8: the issuer unblocks a token whose PIN and PUK are both exhausted.
    @Test("RESET RETRY COUNTER P1 02: the issuer sets a new PIN without the PUK and resets both counters")
    func issuerUnblock() throws {
        let harness = try ChipHarness.personalized()
        for _ in 0..<3 { harness.send(SealCommand.verify(pin: "000000")) }
        for _ in 0..<5 { harness.send(SealCommand.resetRetryCounter(puk: "00000000", newPIN: "246800")) }
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 0, pinTryLimit: 3, pukTriesRemaining: 0, pukTryLimit: 5))
        harness.select()  // personalization left the issuer authenticated; SELECT clears it
        harness.expectSW(SealCommand.issuerResetRetryCounter(newPIN: "975310"), 0x6982, "without issuer authentication")
        harness.authenticateIssuer()
        harness.expectSW(SealCommand.issuerResetRetryCounter(newPIN: "9753"), 0x6A80, "a 4-digit PIN")
        harness.expectSW(hex("00 2C 02 81 0E 83 08 31 31 31 31 31 31 31 31 82 02 31 32"), 0x6A80, "a PUK object is not part of it")
        harness.expectSW(hex("00 2C 03 81 08 82 06 39 37 35 33 31 30"), 0x6A86, "P1 03")
        #expect(try pinStatus(harness).pinTriesRemaining == 0, "refused unblocks change nothing")
        harness.expectSW(SealCommand.issuerResetRetryCounter(newPIN: "975310"), 0x9000)
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 3, pinTryLimit: 3, pukTriesRemaining: 5, pukTryLimit: 5))
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "the new PIN is not verified")
        harness.expectSW(SealCommand.verify(pin: "975310"), 0x9000)
        let manufactured = try ChipHarness.manufactured()
        manufactured.select()
        manufactured.authenticateIssuer()
        manufactured.expectSW(SealCommand.issuerResetRetryCounter(newPIN: "975310"), 0x6985, "lifecycle first")
    }
}
