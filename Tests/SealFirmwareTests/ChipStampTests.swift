import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §8.13 STAMP, §9.3 TBS, §9.5 grants, §10 watermark.
@Suite("Chip STAMP")
struct ChipStampTests {
    /// Checks a stamp against everything a verifier holding the personalization knows.
    private func checkStamp(_ stamp: StampResponse, request: StampRequest, harness: ChipHarness, grantSerial: UInt32 = 0,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fixture = harness.fixture
        let sealKey = try harness.sealPublicKey()
        let keyID = harness.getData(.sealKeyID).data
        #expect(keyID == Array(SHA256.hash(data: Array(sealKey.x963Representation))), sourceLocation: sourceLocation)
        #expect(stamp.expiry == request.metadata.time + UInt64(fixture.validity), sourceLocation: sourceLocation)
        let parsed = Watermark.parseSerial(stamp.serial)
        #expect(parsed?.counter == stamp.counter, sourceLocation: sourceLocation)
        #expect(parsed?.prefix == Watermark.chipPrefix(chipID: fixture.chipID), sourceLocation: sourceLocation)
        #expect(stamp.serial == Watermark.serial(chipID: fixture.chipID, counter: stamp.counter), sourceLocation: sourceLocation)
        #expect(stamp.expirationCode == Watermark.expirationCode(watermarkKey: fixture.watermarkKey, serial: stamp.serial,
                                                                 expiry: stamp.expiry), sourceLocation: sourceLocation)
        let tbs = StampTBS(
            chipID: fixture.chipID, counter: stamp.counter, serial: stamp.serial, expiry: stamp.expiry,
            expirationCode: stamp.expirationCode, documentDigest: request.documentDigest,
            metadataDigest: Array(SHA256.hash(data: request.metadataEncoding)), seal: fixture.sealIdentity,
            keyID: keyID, grantSerial: grantSerial)
        let signature = try P256.Signing.ECDSASignature(derRepresentation: stamp.signature)
        #expect(sealKey.isValidSignature(signature, for: tbs.encoded()), "signature over the rebuilt TBS",
                sourceLocation: sourceLocation)
    }

    @Test("a stamp verifies with the seal key from GET DATA; counter, serial and expiration code")
    func stamp() throws {
        let harness = try ChipHarness.active()
        #expect(harness.counter() == 0)
        for n: UInt32 in 1...3 {
            let request = try harness.stampRequest(time: 1_700_000_000 + UInt64(n))
            let (response, stamp) = harness.stamp(request)
            #expect(response.sw == 0x9000)
            let decoded = try #require(stamp)
            #expect(decoded.counter == n)
            try checkStamp(decoded, request: request, harness: harness)
            #expect(harness.counter() == n)
        }
        #expect(harness.send(SealCommand.verifyStatus()).sw == 0x9000, "the PIN stays verified across stamps")
    }

    @Test("the metadata digest covers the A1 value exactly as sent; minimal metadata works")
    func minimalMetadata() throws {
        let harness = try ChipHarness.active()
        let request = try StampRequest(documentDigest: [UInt8](repeating: 0xAB, count: 32), metadata: StampMetadata(time: 0))
        #expect(request.metadataEncoding == hex("91 08 00 00 00 00 00 00 00 00"))
        let (response, stamp) = harness.stamp(request)
        #expect(response.sw == 0x9000)
        try checkStamp(try #require(stamp), request: request, harness: harness)
    }

    @Test("STAMP errors in the order of SPEC §8.13")
    func stampErrors() throws {
        let harness = try ChipHarness.active()
        let good = try harness.stampRequest().encoded()
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 1, data: good), 0x6A86)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0), 0x6700)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, ne: 256), 0x6700, "Le only")
        let digest = [UInt8](repeating: 1, count: 32)
        let metadata = try StampMetadata(time: 5).encoded()
        let badData: [(String, [UInt8])] = [
            ("digest of 31 bytes", [0x90, 0x1F] + [UInt8](repeating: 1, count: 31) + [0xA1, UInt8(metadata.count)] + metadata),
            ("metadata first", [0xA1, UInt8(metadata.count)] + metadata + [0x90, 0x20] + digest),
            ("no metadata", [0x90, 0x20] + digest),
            ("metadata without time", [0x90, 0x20] + digest + hex("A1 06 94 04 6F 70 2D 37")),
            ("metadata out of order", [0x90, 0x20] + digest + hex("A1 10 94 04 6F 70 2D 37 91 08 00 00 00 00 00 00 00 05")),
            ("duplicate time", [0x90, 0x20] + digest + hex("A1 14 91 08 00 00 00 00 00 00 00 05 91 08 00 00 00 00 00 00 00 06")),
            ("latitude without longitude", [0x90, 0x20] + digest + hex("A1 10 91 08 00 00 00 00 00 00 00 05 92 04 00 00 00 01")),
            ("latitude out of range", [0x90, 0x20] + digest
                + hex("A1 16 91 08 00 00 00 00 00 00 00 05 92 04 05 5D 4A 81 93 04 00 00 00 00")),
            ("unknown metadata tag", [0x90, 0x20] + digest + hex("A1 0D 91 08 00 00 00 00 00 00 00 05 98 01 00")),
            ("empty operator ID", [0x90, 0x20] + digest + hex("A1 0C 91 08 00 00 00 00 00 00 00 05 94 00")),
            ("trailing object", [0x90, 0x20] + digest + [0xA1, UInt8(metadata.count)] + metadata + [0x9A, 0x00]),
            ("grant kind 03", [0x90, 0x20] + digest + [0xA1, UInt8(metadata.count)] + metadata
                + hex("A2 1A C1 04 00 00 00 01 C2 01 03 C3 04 00 00 00 01 C4 04 00 00 00 01 C6 03 30 01 00")),
            ("truncated TLV", [0x90, 0x20] + digest + [0xA1, 0x40]),
        ]
        for (name, data) in badData {
            harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: data, ne: 256), 0x6A80, "\(name)")
        }
        let overflow = try harness.stampRequest(time: UInt64.max - 10)
        harness.expectSW(SealCommand.stamp(overflow), 0x6A80, "metadata time + validity overflows u64")
        #expect(harness.counter() == 0, "no rejected STAMP changed the counter")

        harness.expectSW(SealCommand.logout(), 0x9000)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6982, "PIN not verified")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [0x00], ne: 256), 0x6982, "security before data")
        harness.verifyPIN()
        harness.expectSW(SealCommand.setLifecycle(.suspended), 0x9000)
        harness.verifyPIN()
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6985, "SUSPENDED")
        harness.expectSW(SealCommand.logout(), 0x9000)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [0x00], ne: 256), 0x6985,
                         "lifecycle before security and data")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0), 0x6700, "length before lifecycle")
        #expect(harness.sendPlain(hex("80 54 00 00")).sw == 0x6987, "a plain STAMP inside the channel ends it")
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6982, "STAMP outside a channel")
    }

    @Test("counter FFFFFFFF: 6985 and nothing changes")
    func counterExhausted() throws {
        let harness = try ChipHarness.active()
        try harness.nvm.write(RecordID.signatureCounter.rawValue, [0xFF, 0xFF, 0xFF, 0xFE])
        let (_, last) = harness.stamp(try harness.stampRequest())
        #expect(last?.counter == 0xFFFF_FFFF)
        let status = try harness.auditStatus()
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(time: 1_800_000_000)), 0x6985)
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [0x00], ne: 256), 0x6A80, "data before counter")
        #expect(harness.counter() == 0xFFFF_FFFF)
        #expect(try harness.auditStatus() == status)
    }

    // MARK: Remote authorization

    private func grantChip() throws -> ChipHarness {
        try ChipHarness.active(ChipFixture(withRemoteAuthority: true, requiresRemoteAuthorization: true))
    }

    @Test("a document grant authorizes exactly one stamp of its document")
    func documentGrant() throws {
        let harness = try grantChip()
        let digest = [UInt8](repeating: 0x5A, count: 32)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(digest: digest)), 0x6982, "grant required")
        let grant = harness.grant(serial: 7, kind: .document, first: 1, last: 1, digest: digest)
        let request = try harness.stampRequest(digest: digest, grant: grant)
        let (response, stamp) = harness.stamp(request)
        #expect(response.sw == 0x9000)
        try checkStamp(try #require(stamp), request: request, harness: harness, grantSerial: 7)
        let entry = try AuditEntry(decoding: harness.readAuditLog(1).data)
        #expect(entry.grantSerial == 7)
        harness.expectSW(SealCommand.stamp(request), 0x6982, "single use")
        let wider = harness.grant(serial: 7, kind: .document, first: 1, last: 10, digest: digest)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(digest: digest, grant: wider)), 0x6982,
                         "a document grant never reuses its serial")
        let next = harness.grant(serial: 8, kind: .document, first: 2, last: 2, digest: digest)
        #expect(harness.stamp(try harness.stampRequest(digest: digest, grant: next)).0.sw == 0x9000)
        #expect(harness.counter() == 2)
    }

    @Test("a window grant covers its counters; v2: a newer grant no longer cancels it, its stamp limit does")
    func windowGrant() throws {
        let harness = try grantChip()
        let window = harness.grant(serial: 3, kind: .counterWindow, first: 1, last: 3, digest: nil)
        for n: UInt32 in 1...3 {
            let request = try harness.stampRequest(time: 1_700_000_000 + UInt64(n), grant: window)
            let (response, stamp) = harness.stamp(request)
            #expect(response.sw == 0x9000, "counter \(n)")
            try checkStamp(try #require(stamp), request: request, harness: harness, grantSerial: 3)
        }
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(time: 1_700_000_010, grant: window)), 0x6982,
                         "counter 4 lies outside the window")
        let later = harness.grant(serial: 4, kind: .counterWindow, first: 4, last: 100, digest: nil)
        #expect(harness.stamp(try harness.stampRequest(time: 1_700_000_011, grant: later)).0.sw == 0x9000)
        // Serial 3 was used 3 times; re-signed with a wider window it is still serial 3 with its own limit.
        let wider = harness.grant(serial: 3, kind: .counterWindow, first: 1, last: 100, digest: nil, maxStamps: 4)
        #expect(harness.stamp(try harness.stampRequest(time: 1_700_000_012, grant: wider)).0.sw == 0x9000,
                "a newer grant (4) does not cancel serial 3 (SPEC v2 §9.5)")
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(time: 1_700_000_013, grant: wider)), 0x6982,
                         "serial 3 has used its 4 stamps")
        #expect(harness.counter() == 5)
        let digest = [UInt8](repeating: 1, count: 32)
        let document = harness.grant(serial: 4, kind: .document, first: 6, last: 6, digest: digest)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(digest: digest, grant: document)), 0x6982,
                         "serial 4 is in use by a window grant; a document grant needs an unused serial")
    }

    @Test("invalid grants are 6982: wrong chip, digest, window, signature, serial 0")
    func invalidGrants() throws {
        let harness = try grantChip()
        let digest = [UInt8](repeating: 0x33, count: 32)
        let otherDigest = [UInt8](repeating: 0x34, count: 32)
        let cases: [(String, AuthorizationGrant)] = [
            ("other chip", harness.grant(serial: 1, kind: .document, first: 1, last: 1, digest: digest,
                                         chipID: [UInt8](repeating: 0, count: 16))),
            ("other document", harness.grant(serial: 1, kind: .document, first: 1, last: 1, digest: otherDigest)),
            ("window ahead", harness.grant(serial: 1, kind: .counterWindow, first: 2, last: 9, digest: nil)),
            ("document window ahead", harness.grant(serial: 1, kind: .document, first: 2, last: 2, digest: digest)),
            ("signed by the issuer", harness.grant(serial: 1, kind: .document, first: 1, last: 1, digest: digest,
                                                   signer: harness.fixture.issuerKey)),
            ("serial 0", harness.grant(serial: 0, kind: .counterWindow, first: 1, last: 9, digest: nil)),
        ]
        for (name, grant) in cases {
            harness.expectSW(SealCommand.stamp(try harness.stampRequest(digest: digest, grant: grant)), 0x6982, "\(name)")
        }
        var tampered = harness.grant(serial: 1, kind: .counterWindow, first: 1, last: 9, digest: nil)
        tampered.lastCounter = 10
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(digest: digest, grant: tampered)), 0x6982, "tampered window")
        var garbage = harness.grant(serial: 1, kind: .counterWindow, first: 1, last: 9, digest: nil)
        garbage.signature = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(digest: digest, grant: garbage)), 0x6982, "bogus signature")
        #expect(harness.counter() == 0)
        #expect(harness.nvm.read(RecordID.lastGrantSerial.rawValue) == [0, 0, 0, 0])
    }

    @Test("a grant offered when none is required must still be valid, and is then recorded")
    func optionalGrant() throws {
        let harness = try ChipHarness.active(ChipFixture(withRemoteAuthority: true))
        #expect(harness.stamp(try harness.stampRequest()).0.sw == 0x9000, "no grant needed")
        let invalid = harness.grant(serial: 1, kind: .counterWindow, first: 5, last: 9, digest: nil)
        harness.expectSW(SealCommand.stamp(try harness.stampRequest(grant: invalid)), 0x6982)
        let valid = harness.grant(serial: 1, kind: .counterWindow, first: 2, last: 9, digest: nil)
        let request = try harness.stampRequest(time: 1_700_000_100, grant: valid)
        let (response, stamp) = harness.stamp(request)
        #expect(response.sw == 0x9000)
        try checkStamp(try #require(stamp), request: request, harness: harness, grantSerial: 1)

        let noAuthority = try ChipHarness.active()
        let grant = noAuthority.grant(serial: 1, kind: .counterWindow, first: 1, last: 9, digest: nil)
        noAuthority.expectSW(SealCommand.stamp(try noAuthority.stampRequest(grant: grant)), 0x6982,
                             "no remote-authority key to check the grant with")
    }
}
