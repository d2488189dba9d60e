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
}
