import Foundation
import SealProtocol
import Testing

@testable import SealFirmware

/// The power-on consistency check of SPEC §11: an image whose signature counter record is
/// missing or lower than the newest audit entry is refused, so no STAMP can re-issue a counter.
@Suite("power-on check of the counter against the audit head")
struct ChipIntegrityTests {
    /// An ACTIVE chip that stamped twice (counter 2, audit head at 2), then `damage` applied to its
    /// NVM as a damaged or rolled-back image would have it, reopened as a new chip over that image.
    static func damagedImage(_ damage: (NonVolatileMemory) throws -> Void) throws -> (original: ChipHarness, reopened: ChipHarness) {
        let harness = try ChipHarness.active()
        for time: UInt64 in [1_700_000_000, 1_700_000_100] {
            let (response, _) = harness.stamp(try harness.stampRequest(time: time))
            #expect(response.sw == 0x9000)
        }
        #expect(harness.counter() == 2)
        try damage(harness.nvm)
        return (harness, try harness.reopened())
    }

    /// Every kind of command a host may send, each answered 6581 by a refusing chip.
    static func expectRefusesEverything(_ harness: ChipHarness, _ comment: Comment) throws {
        #expect(harness.chip.isPowered, "a refusing chip still answers the ATR and stays powered")
        harness.expectSW(SealCommand.select(), 0x6581, comment)
        harness.expectSW(SealCommand.verifyStatus(), 0x6581, comment)
        harness.expectSW(SealCommand.getData(.counter, ne: 256), 0x6581, comment)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(time: 1_800_000_000)), 0x6581, comment)
        harness.expectSW(hex("00 A4"), 0x6581, comment)
        harness.expectSW(hex("00 C0 00 00 00"), 0x6581, comment)
    }

    @Test("a counter record lower than the newest audit entry: every command 6581, no counter re-issued")
    func counterBelowAuditHead() throws {
        let (_, reopened) = try Self.damagedImage { nvm in
            try nvm.write(RecordID.signatureCounter.rawValue, [0, 0, 0, 1])
        }
        let fault = try #require(reopened.chip.memoryFault)
        #expect(fault.contains("signature counter (1) is lower than the newest audit entry (2)"), "\(fault)")
        try Self.expectRefusesEverything(reopened, "counter 1, audit head 2")
        // It stays so: across a warm reset and a power cycle, since nothing can repair it.
        _ = reopened.chip.warmReset()
        try Self.expectRefusesEverything(reopened, "after a warm reset")
        reopened.chip.powerOff()
        _ = try reopened.chip.powerOn()
        try Self.expectRefusesEverything(reopened, "after a power cycle")
        #expect(reopened.nvm.read(RecordID.signatureCounter.rawValue) == [0, 0, 0, 1], "nothing was written")
    }

    @Test("a missing counter record: every command 6581")
    func counterMissing() throws {
        let (_, reopened) = try Self.damagedImage { nvm in
            try nvm.erase(RecordID.signatureCounter.rawValue)
        }
        #expect(reopened.chip.memoryFault?.contains("signature counter record is missing") == true)
        try Self.expectRefusesEverything(reopened, "no counter record")
    }

    @Test("a malformed counter or audit head record: every command 6581")
    func malformedRecords() throws {
        let (_, shortCounter) = try Self.damagedImage { nvm in
            try nvm.write(RecordID.signatureCounter.rawValue, [0, 2])
        }
        #expect(shortCounter.chip.memoryFault?.contains("counter record is malformed") == true)
        try Self.expectRefusesEverything(shortCounter, "2-byte counter")

        let (_, shortHead) = try Self.damagedImage { nvm in
            try nvm.write(RecordID.auditHead.rawValue, [0, 0, 0, 2])
        }
        #expect(shortHead.chip.memoryFault?.contains("audit head record is malformed") == true)
        try Self.expectRefusesEverything(shortHead, "4-byte audit head")
    }

    @Test("the check runs at power-on too, not only when the chip is opened")
    func checkedAtPowerOn() throws {
        let harness = try ChipHarness.active()
        let (response, _) = harness.stamp(try harness.stampRequest())
        #expect(response.sw == 0x9000)
        #expect(harness.chip.memoryFault == nil)
        try harness.nvm.write(RecordID.signatureCounter.rawValue, [0, 0, 0, 0])
        harness.chip.powerOff()
        _ = try harness.chip.powerOn()
        #expect(harness.chip.memoryFault != nil)
        try Self.expectRefusesEverything(harness, "damaged while the chip was off")
    }

    @Test("consistent images load: a fresh chip, after stamps, and a counter above the audit head")
    func consistentImagesLoad() throws {
        let manufactured = try ChipHarness.manufactured()
        #expect(manufactured.chip.memoryFault == nil)
        let (original, reopened) = try Self.damagedImage { _ in }
        #expect(reopened.chip.memoryFault == nil)
        reopened.select()
        #expect(reopened.counter() == 2)
        #expect(original.chip.memoryFault == nil)
        // A counter ahead of the log re-issues nothing (the next stamp takes a new number): allowed.
        let (_, ahead) = try Self.damagedImage { nvm in
            try nvm.write(RecordID.signatureCounter.rawValue, [0, 0, 0, 9])
        }
        #expect(ahead.chip.memoryFault == nil)
        ahead.select()
        #expect(ahead.counter() == 9)
    }
}
