import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §5 step 1 for the shortest inputs: what the vpcd card server and the USB CCID slot hand
/// the chip when an application transmits fewer than 4 bytes.
@Suite("APDUs shorter than a header")
struct ChipShortAPDUTests {
    @Test("0 to 3 bytes are answered 6700 and change no state")
    func shorterThanAHeader() throws {
        let harness = try ChipHarness.active()
        harness.expectSW(SealCommand.verifyStatus(), 0x9000, "PIN verified")
        for bytes: [UInt8] in [[], [0x00], [0x04], [0xFF], [0x00, 0xA4], [0x00, 0x20, 0x00], [0x80, 0x54, 0x00]] {
            harness.expectSW(bytes, 0x6700, "\(bytes)")
        }
        // Selection and PIN verification survive them.
        harness.expectSW(SealCommand.verifyStatus(), 0x9000, "still verified, still selected")
    }
}
