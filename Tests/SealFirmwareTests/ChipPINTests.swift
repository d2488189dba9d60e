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
        harness.expectSW(SealCommand.verify(pin: "1111"), 0x63C1)
        harness.expectSW(SealCommand.verifyStatus(), 0x63C1)
        harness.expectSW(SealCommand.verify(pin: "999999999999"), 0x63C0, "last try")
        harness.expectSW(SealCommand.verify(pin: harness.fixture.pin), 0x6983)
        harness.expectSW(SealCommand.verify(pin: "000000"), 0x6983)
        harness.expectSW(SealCommand.verifyStatus(), 0x6983)
        harness.expectSW(SealCommand.verify(pin: "12a4"), 0x6983, "blocked (6983) before data content (6A80)")
        harness.expectSW(SealCommand.verify(pin: "123"), 0x6700, "length (6700) before blocked")
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
        harness.expectSW(hex("00 20 00 81 03 31 32 33"), 0x6700)
        harness.expectSW(SealCommand.verify(pin: "1234567890123"), 0x6700)
        harness.expectSW(SealCommand.verify(pin: "12 4"), 0x6A80)
        harness.expectSW(SealCommand.verify(pin: "abcdef"), 0x6A80)
        #expect(try pinStatus(harness).pinTriesRemaining == 3, "rejected input costs no try")
        harness.expectSW(hex("00 20 00 81 00 00 04 31 32 33 34"), 0x63C2, "extended Lc is fine")

        let manufactured = try ChipHarness.manufactured()
        manufactured.select()
        manufactured.expectSW(SealCommand.verify(pin: "1234"), 0x6982, "no channel")
        manufactured.openChannel(.b)
        manufactured.expectSW(SealCommand.verify(pin: "1234"), 0x6985)
        manufactured.expectSW(SealCommand.verifyStatus(), 0x6985)
        manufactured.expectSW(SealCommand.logout(), 0x6985)
        manufactured.expectSW(SealCommand.verify(pin: "123"), 0x6700, "length before lifecycle")
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
        harness.expectSW(SealCommand.changePIN(current: "000000", new: "4321"), 0x63C2)
        harness.expectSW(SealCommand.changePIN(current: harness.fixture.pin, new: "4321"), 0x9000)
        harness.expectSW(SealCommand.verifyStatus(), 0x9000, "verified after the change")
        #expect(try pinStatus(harness).pinTriesRemaining == 3)
        harness.expectSW(SealCommand.verify(pin: harness.fixture.pin), 0x63C2, "the old PIN is gone")
        harness.expectSW(SealCommand.verify(pin: "4321"), 0x9000)
        harness.expectSW(SealCommand.changePIN(current: "0000", new: "5555"), 0x63C2)
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
        for _ in 0..<3 { harness.send(SealCommand.verify(pin: "0000")) }
        harness.expectSW(SealCommand.changePIN(current: harness.fixture.pin, new: "4321"), 0x6983)
        harness.expectSW(hex("00 24 00 81 04 81 05 31 32"), 0x6983, "blocked before malformed")
        let manufactured = try ChipHarness.manufactured()
        manufactured.select()
        manufactured.openChannel(.b)
        manufactured.expectSW(SealCommand.changePIN(current: "1234", new: "4321"), 0x6985)
    }

    @Test("RESET RETRY COUNTER unblocks with the PUK; the PIN is not verified")
    func resetRetryCounter() throws {
        let harness = try ChipHarness.personalized()
        for _ in 0..<3 { harness.send(SealCommand.verify(pin: "0000")) }
        harness.expectSW(SealCommand.verifyStatus(), 0x6983)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "11111111", newPIN: "2468"), 0x63C4)
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 0, pinTryLimit: 3, pukTriesRemaining: 4, pukTryLimit: 5))
        harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "2468"), 0x9000)
        #expect(try pinStatus(harness) == PINStatus(pinTriesRemaining: 3, pinTryLimit: 3, pukTriesRemaining: 5, pukTryLimit: 5))
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "not verified after the reset")
        harness.expectSW(SealCommand.verify(pin: "2468"), 0x9000)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "11111111", newPIN: "2468"), 0x63C4)
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "RESET RETRY COUNTER clears the verified flag")
    }

    @Test("RESET RETRY COUNTER errors; a blocked PUK is final")
    func resetRetryCounterErrors() throws {
        let harness = try ChipHarness.personalized()
        harness.expectSW(hex("00 2C 00 81"), 0x6700)
        harness.expectSW(hex("00 2C 00 80 0A 83 08 31 31 31 31 31 31 31 31"), 0x6A86)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "1234567", newPIN: "2468"), 0x6A80, "PUK too short")
        harness.expectSW(SealCommand.resetRetryCounter(puk: "12345678901234567", newPIN: "2468"), 0x6A80, "PUK too long")
        harness.expectSW(SealCommand.resetRetryCounter(puk: "1234567a", newPIN: "2468"), 0x6A80)
        harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "246"), 0x6A80)
        harness.expectSW(hex("00 2C 00 81 0A 83 08 31 31 31 31 31 31 31 31"), 0x6A80, "new PIN missing")
        #expect(try pinStatus(harness).pukTriesRemaining == 5)
        for expected: UInt16 in [0x63C4, 0x63C3, 0x63C2, 0x63C1, 0x63C0] {
            harness.expectSW(SealCommand.resetRetryCounter(puk: "00000000", newPIN: "2468"), expected)
        }
        harness.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "2468"), 0x6983)
        harness.expectSW(SealCommand.resetRetryCounter(puk: "1", newPIN: "2"), 0x6983, "blocked before malformed")
        harness.verifyPIN()
        let terminated = try ChipHarness.personalized()
        terminated.expectSW(SealCommand.setLifecycle(.terminated), 0x9000)
        terminated.expectSW(SealCommand.resetRetryCounter(puk: harness.fixture.puk, newPIN: "2468"), 0x6985)
    }
}
