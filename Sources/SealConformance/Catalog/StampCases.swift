import Crypto
import Foundation
import SealHostDriver
import SealProtocol

extension ConformanceCatalog {
    // MARK: STP — §8.13, §9.2, §9.3, §10

    static func stampCases() -> [ConformanceCase] {
        var list = CaseList("STP")
        list.add(1, "§9.3", "STAMP signature verifies over the rebuilt TBS", consumes: .init(stamps: 1)) { ctx in
            let card = try await ctx.selected()
            let facts = try await card.facts()
            let stamped = try await card.stamp(pin: ctx.pin)
            try stamped.checkSignature(facts)
        }
        list.add(2, "§8.13", "The counter advances by exactly one per stamp", consumes: .init(stamps: 2)) { ctx in
            let card = try await ctx.selected()
            let before = try await card.counter()
            let first = try await card.stamp(pin: ctx.pin)
            try expectEqual(first.response.counter, before + 1, "counter of the first stamp")
            try expectEqual(try await card.counter(), before + 1, "GET DATA 0103 after one stamp")
            let second = try await card.stamp(pin: ctx.pin)
            try expectEqual(second.response.counter, before + 2, "counter of the second stamp (VERIFY again: PIN always, §8.13)")
        }
        list.add(3, "§8.13", "The counter is monotonic across warm reset and power cycle", consumes: .init(stamps: 2)) { ctx in
            let card = try await ctx.selected()
            let first = try await card.stamp(pin: ctx.pin)
            try await card.reset()
            try await card.select()
            try expectEqual(try await card.counter(), first.response.counter, "counter after warm reset")
            await card.disconnect()
            try await card.connectAndSelect()
            try expectEqual(try await card.counter(), first.response.counter, "counter after power cycle")
            let second = try await card.stamp(pin: ctx.pin)
            try expectEqual(second.response.counter, first.response.counter + 1, "counter of the stamp after power cycle")
        }
        list.add(4, "§10.1", "The serial has the §10.1 format, prefix and check symbol", consumes: .init(stamps: 1)) { ctx in
            let card = try await ctx.selected()
            let chipID = try await card.chipID()
            let stamped = try await card.stamp(pin: ctx.pin)
            let serial = stamped.response.serial
            let chars = Array(serial)
            try expect(chars.count == 30 && [6, 13, 20, 28].allSatisfy { chars[$0] == "-" },
                       "serial \(serial) is not PPPPPP-PPPPPP-PPPPPP-CCCCCCC-K (30 characters)")
            let alphabet = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
            try expect((chars[0..<6] + chars[7..<13] + chars[14..<20] + chars[21..<28]).allSatisfy { alphabet.contains($0) },
                       "serial \(serial) leaves the Crockford alphabet")
            let parsed = try expectValue(Watermark.parseSerial(serial), "serial \(serial): check symbol does not match")
            try expectEqual(String(decoding: parsed.prefix, as: UTF8.self), String(decoding: Watermark.chipPrefix(chipID: chipID), as: UTF8.self),
                            "serial prefix vs. the first 90 bits of SHA-256(\"SEALKIT-SERIAL-V2\" || chip ID)")
            try expectEqual(parsed.counter, stamped.response.counter, "serial counter part")
            try expectEqual(serial, Watermark.serial(chipID: chipID, counter: stamped.response.counter), "serial")
        }
        list.add(5, "§10.1", "Serials are unique per stamp", consumes: .init(stamps: 2)) { ctx in
            let card = try await ctx.selected()
            let first = try await card.stamp(pin: ctx.pin)
            let second = try await card.stamp(pin: ctx.pin)
            try expect(first.response.serial != second.response.serial, "two stamps share serial \(first.response.serial)")
            try expect(Watermark.parseSerial(second.response.serial) != nil, "second serial \(second.response.serial) has a bad check symbol")
        }
        list.add(6, "§10.2", "Expiry = time + validity and the expiration code is 8 digits", consumes: .init(stamps: 1)) { ctx in
            let card = try await ctx.selected()
            let facts = try await card.facts()
            let metadata = SuiteData.metadata()
            let stamped = try await card.stamp(pin: ctx.pin, metadata: metadata)
            try expectEqual(stamped.response.expiry, metadata.time + UInt64(facts.personalization.watermarkValiditySeconds),
                            "expiry vs. metadata time + validity (GET DATA 0108)")
            let code = stamped.response.expirationCode
            try expect(code.count == 8 && code.allSatisfy { $0.isASCII && $0.isNumber }, "expiration code \(code) is not 8 ASCII digits")
        }
        list.add(7, "§10.2", "The expiration code is the HOTP of §10.2 under the watermark key", requires: freshReq) { ctx in
            let key = SuiteData.randomBytes(32)
            let token = try await ctx.personalizedCard(SuiteData.personalization(validity: 3600, watermarkKey: key))
            for index in 0..<3 {
                let stamped = try await token.card.stamp(pin: SuiteData.freshPIN, metadata: SuiteData.metadata(time: SuiteData.now() + UInt64(index)))
                try expectEqual(stamped.response.expirationCode,
                                Watermark.expirationCode(watermarkKey: key, serial: stamped.response.serial, expiry: stamped.response.expiry),
                                "expiration code of stamp \(stamped.response.counter)")
            }
        }
        list.add(8, "§9.2", "Metadata out of canonical order is answered 6A80") { ctx in
            try await expectStampRefused(ctx, metadata: apdu("91 08 00 00 00 00 65 00 00 00 93 04 00 00 00 01 92 04 00 00 00 01"),
                                         "A1 with 93 before 92")
            try await expectStampRefused(ctx, metadata: apdu("94 01 41 91 08 00 00 00 00 65 00 00 00"), "A1 with 94 before 91")
        }
        list.add(9, "§9.2", "Metadata without time is answered 6A80") { ctx in
            try await expectStampRefused(ctx, metadata: apdu("94 01 41"), "A1 without 91")
        }
        list.add(10, "§8.13", "A document digest that is not 32 bytes is answered 6A80") { ctx in
            try await expectStampRefused(ctx, digest: [UInt8](repeating: 0x11, count: 31), metadata: timeOnly, "31-byte digest")
            try await expectStampRefused(ctx, digest: [UInt8](repeating: 0x11, count: 33), metadata: timeOnly, "33-byte digest")
        }
        list.add(11, "§9.2", "Latitude without longitude is answered 6A80") { ctx in
            try await expectStampRefused(ctx, metadata: timeOnly + apdu("92 04 01 DC 87 60"), "A1 with 92 but no 93")
        }
        list.add(12, "§9.2", "Out-of-range latitude/longitude and over-long text are answered 6A80") { ctx in
            try await expectStampRefused(ctx, metadata: timeOnly + apdu("92 04 05 5D 4A 81 93 04 00 00 00 00"), "latitude 90 000 001 µ°")
            try await expectStampRefused(ctx, metadata: timeOnly + apdu("92 04 00 00 00 00 93 04 0A BA 95 01"), "longitude 180 000 001 µ°")
            try await expectStampRefused(ctx, metadata: timeOnly + [0x94, 65] + [UInt8](repeating: 0x41, count: 65), "operator ID of 65 bytes")
        }
        list.add(13, "§9.2", "Unknown or duplicate metadata tags are answered 6A80") { ctx in
            try await expectStampRefused(ctx, metadata: timeOnly + apdu("98 01 00"), "A1 with tag 98")
            try await expectStampRefused(ctx, metadata: timeOnly + apdu("94 01 41 94 01 42"), "A1 with 94 twice")
            try await expectStampRefused(ctx, metadata: apdu("91 04 00 00 00 01"), "time of 4 bytes")
        }
        list.add(14, "§8.13", "STAMP data out of order or with extra objects is answered 6A80") { ctx in
            let digest = TLV(tag: SealTag.documentDigest, value: SuiteData.documentDigest(ctx.caseID))
            let metadata = TLV(tag: SealTag.metadata, value: timeOnly)
            try await expectStampRefused(ctx, raw: [metadata, digest].encoded(), "A1 before 90")
            try await expectStampRefused(ctx, raw: [digest, metadata, TLV(tag: SealTag.previousEntryHash, value: [UInt8](repeating: 0, count: 32))].encoded(), "extra object 99 after A1")
            try await expectStampRefused(ctx, raw: [digest].encoded(), "no A1")
        }
        list.add(15, "§8.13", "STAMP without data is answered 6700") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try await card.expectAll([("80 54 00 00", .wrongLength), ("80 54 00 00 00", .wrongLength)], "STAMP without Lc")
        }
        list.add(16, "§9.2", "A stamp with every metadata field verifies (digest over the exact A1)", consumes: .init(stamps: 1)) { ctx in
            let card = try await ctx.selected()
            let facts = try await card.facts()
            let stamped = try await card.stamp(pin: ctx.pin, metadata: SuiteData.fullMetadata())
            try stamped.checkSignature(facts)
            let entry = try AuditEntry(decoding: try await card.readAudit(0).data)
            try expectBytes(entry.metadataDigest, stamped.metadataDigest, "audit metadata digest vs. SHA-256 of A1")
        }
        list.add(17, "§8.13", "A stamp record verifies with StampVerifier and fails for a changed document", .optional, consumes: .init(stamps: 1)) { ctx in
            guard !ctx.vendorRoots.isEmpty else { throw ConformanceSkip("no vendor root certificates configured") }
            let document = Array("SealKit conformance document \(UUID().uuidString)".utf8)
            let record = try await stampWithDriver(ctx.card.transport, chipTrust: ctx.card.chipTrust, pin: ctx.pin, document: document)
            try await checkRecord(record, document: document, roots: ctx.vendorRoots)
        }
        protocolV2StampCases(&list)
        return list.cases
    }

    // MARK: AUD — §8.14, §9.6

    static func auditCases() -> [ConformanceCase] {
        var list = CaseList("AUD")
        list.add(1, "§8.14", "The newest audit entry (counter 0) is the last stamp", consumes: .init(stamps: 1)) { ctx in
            let card = try await ctx.selected()
            let stamped = try await card.stamp(pin: ctx.pin, metadata: SuiteData.fullMetadata())
            let answer = try await card.readAudit(0)
            try expectSW(answer, .success, "READ AUDIT LOG 00000000")
            let entry = try expectDecodes("audit entry") { try AuditEntry(decoding: answer.data) }
            let response = stamped.response
            try expectEqual(entry.counter, response.counter, "entry counter")
            try expectEqual(entry.time, stamped.request.metadata.time, "entry time")
            try expectBytes(entry.documentDigest, stamped.request.documentDigest, "entry document digest")
            try expectBytes(entry.metadataDigest, stamped.metadataDigest, "entry metadata digest")
            try expectEqual(entry.serial, response.serial, "entry serial")
            try expectEqual(entry.expiry, response.expiry, "entry expiry")
            try expectEqual(entry.expirationCode, response.expirationCode, "entry expiration code")
            try expectEqual(entry.grantSerial, 0, "entry grant serial")
            try expectBytes(entry.signature, response.signature, "entry signature")
        }
        list.add(2, "§8.14", "READ AUDIT LOG by explicit counter returns the same entry as counter 0") { ctx in
            let card = try await ctx.selected()
            let status = try await card.auditStatus()
            guard status.newestCounter > 0 else { throw ConformanceSkip("the audit log of the token under test is empty") }
            let newest = try await card.readAudit(0)
            let explicit = try await card.readAudit(status.newestCounter)
            try expectSW(explicit, .success, "READ AUDIT LOG \(status.newestCounter)")
            try expectBytes(explicit.data, newest.data, "entry \(status.newestCounter) vs. entry 0")
        }
        list.add(3, "§9.6", "The hash chain links entries and rebuilds to the head of GET DATA 0109", consumes: .init(stamps: 2)) { ctx in
            let card = try await ctx.selected()
            let facts = try await card.facts()
            let first = try await card.stamp(pin: ctx.pin)
            let second = try await card.stamp(pin: ctx.pin)
            let older = try AuditEntry(decoding: try await card.readAudit(first.response.counter).data)
            let newer = try AuditEntry(decoding: try await card.readAudit(second.response.counter).data)
            try expectBytes(newer.previousHash, auditEntryHash(older, facts: facts), "previous hash of entry \(newer.counter)")
            let status = try await card.auditStatus()
            try expectEqual(status.newestCounter, newer.counter, "audit status newest counter")
            try expectBytes(status.headHash, auditEntryHash(newer, facts: facts), "head hash (GET DATA 0109)")
        }
        list.add(4, "§8.14", "An entry not yet issued is answered 6A88") { ctx in
            let card = try await ctx.selected()
            let counter = try await card.counter()
            try expectSW(try await card.readAudit(counter &+ 1), .referencedDataNotFound, "READ AUDIT LOG of counter \(counter &+ 1)")
            try expectSW(try await card.readAudit(0xFFFF_FFFF), .referencedDataNotFound, "READ AUDIT LOG of counter FFFFFFFF")
        }
        list.add(5, "§8.14", "READ AUDIT LOG with Lc ≠ 4 is answered 6700") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 56 00 00 03 00 00 00 00", .wrongLength), ("80 56 00 00 05 00 00 00 00 00 00", .wrongLength),
                                      ("80 56 00 00 00", .wrongLength)], "READ AUDIT LOG with a bad length")
        }
        list.add(6, "§9.6", "The ring keeps the 64 newest entries: after 70 stamps the oldest is 7", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            let capabilities = try SealCapabilities(decoding: try await card.getData(.capabilities))
            let capacity = UInt32(capabilities.auditLogCapacity)
            let total = max(UInt32(70), capacity + 6)
            try await card.verifyPIN(SuiteData.freshPIN)
            for _ in 0..<total { _ = try await card.stamp(pin: SuiteData.freshPIN) }
            let status = try await card.auditStatus()
            let oldest = total - capacity + 1
            try expectEqual(status.oldestCounter, oldest, "oldest retained counter after \(total) stamps (capacity \(capacity))")
            try expectEqual(status.newestCounter, total, "newest counter")
            try expectSW(try await card.readAudit(oldest - 1), .referencedDataNotFound, "READ AUDIT LOG of the dropped entry \(oldest - 1)")
            let facts = try await card.facts()
            try await checkAuditChain(card, facts: facts, from: oldest, to: total, head: status.headHash)
        }
        list.add(7, "§8.13", "A stamp whose response was lost is recovered from the audit log", consumes: .init(stamps: 1)) { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            let before = try await card.counter()
            let digest = SuiteData.documentDigest(ctx.caseID)
            let metadata = SuiteData.metadata()
            let request = try StampRequest(documentDigest: digest, metadata: metadata)
            _ = try await card.send(SealCommand.stamp(request)) // the response is "lost"
            let record = try await recoverWithDriver(card.transport, chipTrust: card.chipTrust, digest: digest, metadata: metadata)
            try expectEqual(record.counter, before + 1, "recovered counter")
            try expectBytes(record.documentDigest, digest, "recovered document digest")
            try await card.connectAndSelect()
            try expectEqual(try await card.counter(), before + 1, "counter after recovery")
        }
        list.add(8, "§8.14", "The audit log of a newly personalized token is empty", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            try expectSW(try await token.card.readAudit(0), .referencedDataNotFound, "READ AUDIT LOG 0 on an empty log")
            try expectSW(try await token.card.readAudit(1), .referencedDataNotFound, "READ AUDIT LOG 1 on an empty log")
            try expectBytes(try await token.card.getData(.auditStatus), [UInt8](repeating: 0, count: 40), "audit status of an empty log")
        }
        list.add(9, "§9.6", "Every retained entry of the token under test verifies and chains to the head") { ctx in
            let card = try await ctx.selected()
            let status = try await card.auditStatus()
            guard status.newestCounter > 0 else { throw ConformanceSkip("the audit log of the token under test is empty") }
            let facts = try await card.facts()
            try await checkAuditChain(card, facts: facts, from: status.oldestCounter, to: status.newestCounter, head: status.headHash)
            await ctx.note("entries \(status.oldestCounter)…\(status.newestCounter) verified")
        }
        protocolV2AuditCases(&list)
        return list.cases
    }
}

/// `91 08 <now>`: a valid metadata value.
let timeOnly: [UInt8] = [0x91, 0x08] + bigEndianBytes(UInt64(1_750_000_000))

/// VERIFY, then STAMP with the given parts; expects 6A80 and an unchanged counter.
func expectStampRefused(_ ctx: ConformanceContext, digest: [UInt8]? = nil, metadata: [UInt8], _ what: String) async throws {
    let fields = [TLV(tag: SealTag.documentDigest, value: digest ?? SuiteData.documentDigest(ctx.caseID)), TLV(tag: SealTag.metadata, value: metadata)]
    try await expectStampRefused(ctx, raw: fields.encoded(), what)
}

func expectStampRefused(_ ctx: ConformanceContext, raw: [UInt8], _ what: String) async throws {
    let card = try await ctx.selected()
    try await card.verifyPIN(ctx.pin)
    let before = try await card.counter()
    try expectSW(try await card.stampRaw(raw), .wrongData, "STAMP, \(what)")
    try expectEqual(try await card.counter(), before, "counter after the refused STAMP (\(what))")
}

/// Reads entries `from…to`, checks each signature, the links between them and the head.
func checkAuditChain(_ card: ConformanceCard, facts: TokenFacts, from: UInt32, to: UInt32, head: [UInt8]) async throws {
    var previous: [UInt8]?
    for counter in from...to {
        let answer = try await card.readAudit(counter)
        try expectSW(answer, .success, "READ AUDIT LOG \(counter)")
        let entry = try expectDecodes("audit entry \(counter)") { try AuditEntry(decoding: answer.data) }
        try expectEqual(entry.counter, counter, "counter of the entry read for \(counter)")
        let tbs = entry.tbs(chipID: facts.chipID, seal: facts.personalization.sealIdentity, keyID: facts.keyID)
        try facts.checkSealSignature(entry.signature, over: tbs.encoded(), "signature of audit entry \(counter)")
        if let previous { try expectBytes(entry.previousHash, previous, "previous hash of entry \(counter)") }
        previous = auditEntryHash(entry, facts: facts)
    }
    try expectBytes(previous ?? [], head, "hash of entry \(to) vs. the audit head")
}
