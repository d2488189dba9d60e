import SealProtocol
import Testing
@testable import SealFirmware

/// SPEC §9.5 (v2): grants carry a validity period and (windows) a stamp limit; used serials are a
/// bounded set, so grants may be used in any order; which errors are 6A80 and which 6982.
@Suite("Chip remote-authorization grants v2")
struct ChipGrantV2Tests {
    private func grantChip() throws -> ChipHarness {
        var fixture = ChipFixture(withRemoteAuthority: true, requiresRemoteAuthorization: true)
        fixture.requiresPINPerStamp = false
        return try ChipHarness.active(fixture)
    }

    @Test("document grants are usable in any order; a used serial never again")
    func anyOrder() throws {
        let harness = try grantChip()
        let digests = (1...3).map { [UInt8](repeating: UInt8($0), count: 32) }
        let high = harness.grant(serial: 30, kind: .document, first: 1, last: 10, digest: digests[2])
        #expect(harness.stamp(try harness.stampRequest(digest: digests[2], grant: high)).0.sw == 0x9000)
        let low = harness.grant(serial: 10, kind: .document, first: 1, last: 10, digest: digests[0])
        #expect(harness.stamp(try harness.stampRequest(digest: digests[0], grant: low)).0.sw == 0x9000,
                "a lower serial after a higher one (v1 refused it)")
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(digest: digests[0], grant: low)), 0x6982, "replayed")
        let middle = harness.grant(serial: 20, kind: .document, first: 1, last: 10, digest: digests[1])
        #expect(harness.stamp(try harness.stampRequest(digest: digests[1], grant: middle)).0.sw == 0x9000)
        let stored = try #require(harness.nvm.read(RecordID.lastGrantSerial.rawValue))
        let ledger = try #require(GrantLedger(stored: stored))
        #expect(ledger.floor == 0 && ledger.entries.map(\.serial) == [10, 20, 30])
    }

    @Test("notBefore/notAfter bound the stamp time; expired and not-yet-valid grants are 6982")
    func validityPeriod() throws {
        let harness = try grantChip()
        let time: UInt64 = 1_700_000_000
        let expired = harness.grant(serial: 1, kind: .counterWindow, first: 1, last: 9, digest: nil, notBefore: 0, notAfter: time - 1)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(time: time, grant: expired)), 0x6982, "expired")
        let early = harness.grant(serial: 2, kind: .counterWindow, first: 1, last: 9, digest: nil, notBefore: time + 1, notAfter: time + 9)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(time: time, grant: early)), 0x6982, "not yet valid")
        let exact = harness.grant(serial: 3, kind: .counterWindow, first: 1, last: 9, digest: nil, notBefore: time, notAfter: time)
        #expect(harness.stamp(try harness.stampRequest(time: time, grant: exact)).0.sw == 0x9000, "both bounds inclusive")
        #expect(harness.counter() == 1)
    }

    @Test("a window grant's stamp limit (C9) caps its stamps within a wider window")
    func countLimit() throws {
        let harness = try grantChip()
        let window = harness.grant(serial: 5, kind: .counterWindow, first: 1, last: 100, digest: nil, maxStamps: 2)
        for n: UInt64 in 1...2 {
            #expect(harness.stamp(try harness.stampRequest(time: 1_700_000_000 + n, grant: window)).0.sw == 0x9000)
        }
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(time: 1_700_000_010, grant: window)), 0x6982, "third stamp of 2")
    }

    @Test("malformed grants are 6A80 (data), invalid ones 6982 (security)")
    func statusWords() throws {
        let harness = try grantChip()
        var backwards = harness.grant(serial: 1, kind: .counterWindow, first: 1, last: 9, digest: nil, notBefore: 10, notAfter: 20)
        backwards.notBefore = 30  // re-encoded with notBefore > notAfter: syntax, whatever the signature
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(grant: backwards)), 0x6A80, "empty validity")
        let noLimit = try TLV.decodeAll(harness.grant(serial: 1, kind: .counterWindow, first: 1, last: 9, digest: nil).encoded(), strict: true)
            .filter { $0.tag != SealTag.grantMaxStamps }.encoded()
        let request = try harness.stampRequest()
        let data = [TLV(tag: SealTag.documentDigest, value: request.documentDigest), TLV(tag: SealTag.metadata, value: request.metadataEncoding),
                    TLV(tag: SealTag.grant, value: noLimit)].encoded()
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: data, ne: 256), 0x6A80, "window without C9")
        var forged = harness.grant(serial: 1, kind: .counterWindow, first: 1, last: 9, digest: nil, maxStamps: 1)
        forged.maxStamps = 50
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(grant: forged)), 0x6982, "a raised limit breaks the signature")
        #expect(harness.counter() == 0)
    }

    @Test("the ledger keeps 16 serials; beyond that the lowest leaves and the floor rises")
    func boundedLedger() {
        var ledger = GrantLedger.empty
        for serial in (1...17).map({ UInt32($0 * 10) }) { ledger = ledger.recording(serial) }
        #expect(ledger.entries.count == GrantLedger.capacity)
        #expect(ledger.floor == 10 && ledger.uses(of: 10) == nil && ledger.uses(of: 5) == nil)
        #expect(ledger.uses(of: 20) == 1 && ledger.uses(of: 15) == 0)
        #expect(GrantLedger(stored: ledger.encoded) == ledger)
        #expect(GrantLedger(stored: [0, 0, 0]) == nil)
        #expect(GrantLedger(stored: [0, 0, 0, 0]) == .empty)
    }
}
