import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §8.14 READ AUDIT LOG and §9.6 the hash-chained audit ring.
@Suite("Chip audit log")
struct ChipAuditTests {
    @Test("empty log: status all zeros, every read 6A88")
    func emptyLog() throws {
        let harness = try ChipHarness.active()
        #expect(harness.getData(.auditStatus).data == [UInt8](repeating: 0, count: 40))
        for counter: UInt32 in [0, 1, 2, 0xFFFF_FFFF] {
            harness.expectSW(SealCommand.readAuditLog(counter: counter), 0x6A88, "counter \(counter)")
        }
    }

    @Test("READ AUDIT LOG errors")
    func errors() throws {
        let harness = try ChipHarness.active()
        harness.select()  // READ AUDIT LOG is a plain command; these are its ISO errors outside a channel
        harness.expectSW(hex("80 56 00 00"), 0x6700)
        harness.expectSW(hex("80 56 00 00 03 00 00 00"), 0x6700)
        harness.expectSW(hex("80 56 00 00 05 00 00 00 00 00"), 0x6700)
        harness.expectSW(hex("80 56 00 01 04 00 00 00 00"), 0x6A86)
        harness.expectSW(hex("80 56 01 00 03 00 00 00"), 0x6A86, "P1-P2 before Lc")
        let manufactured = try ChipHarness.manufactured()
        manufactured.select()
        manufactured.expectSW(SealCommand.readAuditLog(counter: 0), 0x6985)
        manufactured.expectSW(hex("80 56 00 00 03 00 00 00"), 0x6700, "Lc before lifecycle")
    }

    @Test("entries rebuild the TBS, verify, and chain up to the head; a lost STAMP response is recoverable")
    func chain() throws {
        let harness = try ChipHarness.active()
        var responses: [StampResponse] = []
        var requests: [StampRequest] = []
        for n in 1...4 {
            let request = try harness.stampRequest(time: 1_700_000_000 + UInt64(n) * 60)
            let (_, stamp) = harness.stamp(request)
            responses.append(try #require(stamp))
            requests.append(request)
        }
        let sealKey = try harness.sealPublicKey()
        var previous = [UInt8](repeating: 0, count: 32)
        for n: UInt32 in 1...4 {
            let response = harness.readAuditLog(n)
            #expect(response.sw == 0x9000)
            let entry = try AuditEntry(decoding: response.data)
            let stamp = responses[Int(n) - 1], request = requests[Int(n) - 1]
            #expect(entry.counter == n)
            #expect(entry.previousHash == previous)
            #expect(entry.time == request.metadata.time)
            #expect(entry.documentDigest == request.documentDigest)
            #expect(entry.metadataDigest == Array(SHA256.hash(data: request.metadataEncoding)))
            #expect(entry.serial == stamp.serial && entry.expiry == stamp.expiry)
            #expect(entry.expirationCode == stamp.expirationCode && entry.signature == stamp.signature)
            #expect(entry.grantSerial == 0)
            let tbs = try #require(verifyAuditEntry(entry, chipID: harness.fixture.chipID,
                                                    featureHash: harness.fixture.featureHash, sealKey: sealKey))
            previous = AuditEntry.chainHash(previous: previous, tbs: tbs, signature: entry.signature)
        }
        let status = try harness.auditStatus()
        #expect(status == AuditStatus(oldestCounter: 1, newestCounter: 4, headHash: previous))
        #expect(harness.readAuditLog(0).data == harness.readAuditLog(4).data, "counter 0 is the newest")
        harness.expectSW(SealCommand.readAuditLog(counter: 5), 0x6A88, "not yet issued")
    }

    @Test("the ring keeps the 64 newest entries: older ones are 6A88, the chain stays intact")
    func ringWrap() throws {
        let harness = try ChipHarness.active()
        let total: UInt32 = 70
        for n in 1...total {
            let (response, _) = harness.stamp(try harness.stampRequest(time: 1_700_000_000 + UInt64(n)))
            #expect(response.sw == 0x9000)
        }
        let status = try harness.auditStatus()
        #expect(status.oldestCounter == total - 63 && status.newestCounter == total)
        for n: UInt32 in [1, 2, total - 64] {
            harness.expectSW(SealCommand.readAuditLog(counter: n), 0x6A88, "evicted \(n)")
        }
        harness.expectSW(SealCommand.readAuditLog(counter: total + 1), 0x6A88)
        let sealKey = try harness.sealPublicKey()
        var expectedPrevious: [UInt8]?
        var head: [UInt8] = []
        for n in (total - 63)...total {
            let entry = try AuditEntry(decoding: harness.readAuditLog(n).data)
            #expect(entry.counter == n)
            if let expectedPrevious { #expect(entry.previousHash == expectedPrevious, "link \(n)") }
            let tbs = try #require(verifyAuditEntry(entry, chipID: harness.fixture.chipID,
                                                    featureHash: harness.fixture.featureHash, sealKey: sealKey))
            head = AuditEntry.chainHash(previous: entry.previousHash, tbs: tbs, signature: entry.signature)
            expectedPrevious = head
        }
        #expect(head == status.headHash)
    }
}
