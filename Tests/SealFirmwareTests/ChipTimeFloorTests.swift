import SealProtocol
import Testing
@testable import SealFirmware

/// SPEC §8.13 "Time": the chip refuses a stamp dated more than the personalized tolerance before
/// its time floor, the earlier time of its two newest audit entries.
@Suite("Chip time floor")
struct ChipTimeFloorTests {
    static let t: UInt64 = 1_800_000_000

    @Test("time cannot be rolled back beyond the tolerance; the refusal is 6A80 and changes nothing")
    func rollbackIsRefused() throws {
        let harness = try ChipHarness.active()  // default tolerance: one hour
        harness.verifyPIN()
        #expect(harness.stamp(try harness.stampRequest(time: Self.t)).1 != nil)
        #expect(harness.stamp(try harness.stampRequest(time: Self.t + 10)).1 != nil)
        let counter = harness.counter()
        let head = try harness.auditStatus()
        // Floor = min(t, t + 10) = t. One hour earlier is still accepted, one second more is not.
        let refused = harness.stamp(try harness.stampRequest(time: Self.t - 3601))
        #expect(refused.0.sw == 0x6A80)
        let after = try harness.auditStatus()
        #expect(harness.counter() == counter && after == head, "a refused STAMP changes nothing")
        #expect(harness.stamp(try harness.stampRequest(time: Self.t - 3600)).1 != nil, "exactly the tolerance is accepted")
    }

    @Test("one stamp dated in the future does not block honest ones; two in a row do")
    func oneFutureStampDoesNotBlock() throws {
        let harness = try ChipHarness.active()
        harness.verifyPIN()
        #expect(harness.stamp(try harness.stampRequest(time: Self.t)).1 != nil)
        #expect(harness.stamp(try harness.stampRequest(time: Self.t + 1)).1 != nil)
        let future = Self.t + 10 * 365 * 86_400
        #expect(harness.stamp(try harness.stampRequest(time: future)).1 != nil, "a clock ten years ahead, once")
        #expect(harness.stamp(try harness.stampRequest(time: Self.t + 60)).1 != nil, "the honest clock goes on")
        #expect(harness.stamp(try harness.stampRequest(time: Self.t + 120)).1 != nil)
        #expect(harness.stamp(try harness.stampRequest(time: future)).1 != nil)
        #expect(harness.stamp(try harness.stampRequest(time: future + 1)).1 != nil)
        #expect(harness.stamp(try harness.stampRequest(time: Self.t + 180)).0.sw == 0x6A80, "two future stamps raise the floor")
    }

    @Test("the tolerance is personalized (tag 4D)")
    func personalizedTolerance() throws {
        var fixture = ChipFixture()
        fixture.timeToleranceSeconds = 0
        let harness = try ChipHarness.active(fixture)
        harness.verifyPIN()
        #expect(harness.stamp(try harness.stampRequest(time: Self.t)).1 != nil)
        #expect(harness.stamp(try harness.stampRequest(time: Self.t)).1 != nil)
        #expect(harness.stamp(try harness.stampRequest(time: Self.t - 1)).0.sw == 0x6A80, "tolerance 0: no step back at all")
        #expect(harness.stamp(try harness.stampRequest(time: Self.t)).1 != nil)
    }

    /// Two future-dated stamps, so that an honest stamp is refused.
    private static func blockedChip(_ fixture: ChipFixture = ChipFixture()) throws -> ChipHarness {
        let harness = try ChipHarness.active(fixture)
        harness.verifyPIN()
        let future = t + 10 * 365 * 86_400
        for time in [t, t + 1, future, future + 1] {
            #expect(harness.stamp(try harness.stampRequest(time: time)).1 != nil)
        }
        #expect(harness.stamp(try harness.stampRequest(time: t + 60)).0.sw == 0x6A80, "two future stamps block the honest clock")
        return harness
    }

    @Test("RESET TIME FLOOR (§8.16) is refused outside the issuer's channel and on a wrong header or length; nothing changes")
    func resetRefusals() throws {
        let harness = try Self.blockedChip()
        let image = harness.image
        harness.select()  // ends the channel
        harness.expectSW(SealCommand.resetTimeFloor(to: Self.t), 0x6982, "plain, outside any channel")
        harness.openChannel(.b)
        harness.expectSW(SealCommand.resetTimeFloor(to: Self.t), 0x6982, "inside the holder's SCP11b channel")
        harness.authenticateIssuer()
        harness.expectSW(CommandAPDU(cla: 0x80, ins: SealInstruction.resetTimeFloor.rawValue, p1: 0, p2: 0, data: [0, 0, 0, 1], ne: nil), 0x6700, "Lc 4")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: SealInstruction.resetTimeFloor.rawValue, p1: 0, p2: 0, data: [], ne: nil), 0x6700, "no data")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: SealInstruction.resetTimeFloor.rawValue, p1: 1, p2: 0, data: bigEndianBytes(Self.t), ne: nil), 0x6A86, "P1 01")
        #expect(harness.image == image, "a refused RESET TIME FLOOR writes nothing")
        harness.verifyPIN()
        #expect(harness.stamp(try harness.stampRequest(time: Self.t + 60)).0.sw == 0x6A80, "still blocked")
    }

    @Test("the issuer's reset unblocks honest stamps; its floor holds until two new stamps, then the log rules again")
    func resetUnblocks() throws {
        let harness = try Self.blockedChip()
        harness.authenticateIssuer()
        let now = Self.t + 3_600
        harness.expectSW(SealCommand.resetTimeFloor(to: now), 0x9000, "RESET TIME FLOOR in the SCP11a channel")
        // It survives a power cycle (one committed transaction).
        let rebooted = try harness.reopened()
        rebooted.select()
        rebooted.verifyPIN()
        #expect(rebooted.stamp(try rebooted.stampRequest(time: now - 3_601)).0.sw == 0x6A80, "the reset's floor binds, with the tolerance")
        #expect(rebooted.stamp(try rebooted.stampRequest(time: now - 3_600)).1 != nil, "the honest clock stamps again")
        // One stamp after the reset: the reset's floor still stands (not the new entry's time).
        #expect(rebooted.stamp(try rebooted.stampRequest(time: now - 3_601)).0.sw == 0x6A80)
        #expect(rebooted.stamp(try rebooted.stampRequest(time: now + 10)).1 != nil)
        // Two stamps after the reset: the earlier of the two newest (now - 3600) is the floor again.
        #expect(rebooted.stamp(try rebooted.stampRequest(time: now - 7_201)).0.sw == 0x6A80)
        #expect(rebooted.stamp(try rebooted.stampRequest(time: now - 7_200)).1 != nil, "the log defines the floor again")
    }

    @Test("the issuer may lower the floor to 0 in any in-service state, not in TERMINATED")
    func resetStates() throws {
        let harness = try Self.blockedChip()
        harness.authenticateIssuer()
        harness.expectSW(SealCommand.setLifecycle(.suspended), 0x9000)
        harness.expectSW(SealCommand.resetTimeFloor(to: 0), 0x9000, "SUSPENDED")
        harness.expectSW(SealCommand.setLifecycle(.active), 0x9000)
        harness.verifyPIN()
        #expect(harness.stamp(try harness.stampRequest(time: 1)).1 != nil, "floor 0: any time")
        harness.authenticateIssuer()
        harness.expectSW(SealCommand.setLifecycle(.terminated), 0x9000)
        harness.authenticateIssuer()
        harness.expectSW(SealCommand.resetTimeFloor(to: 0), 0x6985, "TERMINATED")
    }
}
