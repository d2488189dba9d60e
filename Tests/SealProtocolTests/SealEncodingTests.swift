import Crypto
import Testing
@testable import SealProtocol

struct SealEncodingTests {
    static let fullMetadata: StampMetadata = {
        var metadata = StampMetadata(
            time: 1_764_000_000, latitudeMicrodegrees: 31_230_416, longitudeMicrodegrees: -121_473_701, operatorID: "op-7",
            deviceFingerprint: [0xDE, 0xAD], organizationUnit: "Legal", approvalNode: "CFO", documentName: "Deed.pdf",
            operatorBiometricReference: [UInt8](repeating: 0xB1, count: 32))
        for (index, field) in StampMetadata.PersonalField.allCases.enumerated() {
            metadata.salts[field] = [UInt8](repeating: UInt8(index + 1), count: 16)
        }
        return metadata
    }()

    /// SHA-256("SEALKIT-COMMIT-V1" ‖ tag ‖ salt ‖ plaintext), written out here independently of the encoder.
    static func commitment(_ tag: UInt8, _ salt: UInt8, _ plaintext: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: Array("SEALKIT-COMMIT-V1".utf8) + [tag] + [UInt8](repeating: salt, count: 16) + plaintext))
    }

    @Test func metadataEncodesCanonicallyByteByByte() throws {
        let bytes = try Self.fullMetadata.encoded()
        let location = bigEndianBytes(UInt32(31_230_416)) + bigEndianBytes(UInt32(bitPattern: -121_473_701))
        let expected: [UInt8] = [0x91, 0x08, 0, 0, 0, 0, 0x69, 0x24, 0x81, 0x00]
            + [0x92, 0x20] + Self.commitment(0x92, 1, location)
            + [0x93, 0x20] + Self.commitment(0x93, 2, [UInt8](repeating: 0xB1, count: 32))
            + [0x94, 0x20] + Self.commitment(0x94, 3, Array("op-7".utf8))
            + [0x95, 0x20] + Self.commitment(0x95, 4, [0xDE, 0xAD])
            + [0x96, 0x05] + Array("Legal".utf8) + [0x97, 0x03] + Array("CFO".utf8)
            + [0x9F, 0x20, 0x08] + Array("Deed.pdf".utf8)
        #expect(bytes == expected)
        // Decoding gives the commitments, not the plaintexts; it encodes back to the same bytes.
        let decoded = try StampMetadata(decoding: bytes)
        #expect(decoded == Self.fullMetadata.withoutPersonalData)
        #expect(decoded.operatorID == nil && decoded.withheldCommitments.count == 4)
        #expect(try decoded.encoded() == expected)
        #expect(try Self.fullMetadata.digest() == Array(SHA256.hash(data: expected)))
    }

    /// Every personal field gets its own fresh salt: the same plaintext commits differently twice.
    @Test func personalFieldsGetFreshSalts() throws {
        let a = StampMetadata(time: 1, operatorID: "alice")
        let b = StampMetadata(time: 1, operatorID: "alice")
        #expect(a.salts[.operatorID]?.count == 16)
        #expect(a.commitment(for: .operatorID) != b.commitment(for: .operatorID))
        #expect(try a.encoded() != b.encoded())
        var c = StampMetadata(time: 1)
        #expect(c.salts.isEmpty)
        c.operatorID = "bob"
        #expect(c.salts[.operatorID]?.count == 16)
    }

    @Test func metadataMinimalIsTimeOnly() throws {
        #expect(try StampMetadata(time: 1).encoded() == [0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1])
    }

    @Test(arguments: [
        ([0x96, 0x01, 0x41, 0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1] as [UInt8], SealDataError.Code.notCanonical),  // out of order
        ([0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 2], .notCanonical),  // duplicate
        ([0x96, 0x01, 0x41], .missingField),  // no time
        ([0x91, 0x04, 0, 0, 0, 1], .invalidLength),  // short time
        ([0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x92, 0x04, 0, 0, 0, 1], .invalidLength),  // v1 latitude: not a commitment
        ([0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x9F, 0x20, 0x00], .invalidLength),  // empty document name
        ([0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x98, 0x01, 0x00], .unexpectedField),
        ([0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x94, 0x00], .invalidLength),  // empty operator commitment
        ([0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x96, 0x01, 0xFF], .invalidEncoding),  // not UTF-8
        ([0x91, 0x81, 0x08, 0, 0, 0, 0, 0, 0, 0, 1], .malformedTLV),  // non-minimal length
        ([0x91, 0x08, 0, 0], .malformedTLV),  // truncated
    ])
    func metadataRejects(_ bytes: [UInt8], _ code: SealDataError.Code) {
        #expect(throws: SealDataError.self) { try StampMetadata(decoding: bytes) }
        do {
            _ = try StampMetadata(decoding: bytes)
        } catch {
            #expect(error.code == code, "\(error)")
        }
    }

    @Test func stampRequestRoundTripAndStrictness() throws {
        let grant = AuthorizationGrant(serial: 9, kind: .document, firstCounter: 1, lastCounter: 1,
                                       documentDigest: Array(repeating: 0xAB, count: 32), signature: Array(repeating: 0x30, count: 70))
        let request = try StampRequest(documentDigest: Array(repeating: 1, count: 32), metadata: Self.fullMetadata, grant: grant)
        let decoded = try StampRequest(decoding: request.encoded())
        #expect(decoded.metadataEncoding == request.metadataEncoding)
        #expect(decoded.metadata == request.metadata.withoutPersonalData)
        #expect(decoded.grant == request.grant && decoded.documentDigest == request.documentDigest)
        #expect(request.encoded().prefix(2) == [0x90, 0x20])
        // Trailing field, missing metadata, short digest.
        #expect(throws: SealDataError.self) { try StampRequest(decoding: request.encoded() + [0x01, 0x00]) }
        #expect(throws: SealDataError.self) { try StampRequest(decoding: [0x90, 0x20] + Array(repeating: 1, count: 32)) }
        #expect(throws: SealDataError.self) { try StampRequest(documentDigest: [1, 2, 3], metadata: Self.fullMetadata) }
    }

    @Test func grantSignedBytesLayout() {
        let grant = AuthorizationGrant(serial: 0x01020304, kind: .counterWindow, firstCounter: 5, lastCounter: 9, documentDigest: nil,
                                       notBefore: 0x10, notAfter: 0x20, maxStamps: 3, signature: [])
        let chip = Array(repeating: UInt8(0xCC), count: 16)
        let bytes = grant.signedBytes(chipID: chip)
        #expect(bytes == Array("SEALKIT-GRANT-V2".utf8) + chip + [1, 2, 3, 4, 2, 0, 0, 0, 5, 0, 0, 0, 9] + Array(repeating: 0, count: 32)
                + [0, 0, 0, 0, 0, 0, 0, 0x10] + [0, 0, 0, 0, 0, 0, 0, 0x20] + [0, 0, 0, 3])
        // Defaults: no time bounds, a window's size as its stamp limit, 0 for a document grant.
        let window = AuthorizationGrant(serial: 1, kind: .counterWindow, firstCounter: 5, lastCounter: 9, documentDigest: nil, signature: [])
        #expect(window.notBefore == 0 && window.notAfter == UInt64.max && window.maxStamps == 5)
        let document = AuthorizationGrant(serial: 1, kind: .document, firstCounter: 5, lastCounter: 5,
                                          documentDigest: [UInt8](repeating: 1, count: 32), signature: [])
        #expect(document.maxStamps == 0)
    }

    /// v2 grants are refused as malformed (6A80 on the chip) when their validity is empty, a window
    /// allows no stamp or a window lacks C9.
    @Test func grantV2FieldsAreChecked() throws {
        let window = AuthorizationGrant(serial: 1, kind: .counterWindow, firstCounter: 3, lastCounter: 4, documentDigest: nil,
                                        notBefore: 5, notAfter: 9, maxStamps: 2, signature: Array(repeating: 1, count: 64))
        #expect(try AuthorizationGrant(decoding: window.encoded()) == window)
        var backwards = window
        backwards.notBefore = 10
        #expect(throws: SealDataError.self) { try AuthorizationGrant(decoding: backwards.encoded()) }
        var none = window
        none.maxStamps = 0
        #expect(throws: SealDataError.self) { try AuthorizationGrant(decoding: none.encoded()) }
        let withoutLimit = try TLV.decodeAll(window.encoded(), strict: true).filter { $0.tag != SealTag.grantMaxStamps }.encoded()
        #expect(throws: SealDataError.self) { try AuthorizationGrant(decoding: withoutLimit) }
    }

    @Test func grantRejectsEmptyWindowAndBadKind() throws {
        let good = AuthorizationGrant(serial: 1, kind: .counterWindow, firstCounter: 3, lastCounter: 4, documentDigest: nil,
                                      signature: Array(repeating: 1, count: 64))
        #expect(try AuthorizationGrant(decoding: good.encoded()) == good)
        var empty = good
        empty.firstCounter = 5
        #expect(throws: SealDataError.self) { try AuthorizationGrant(decoding: empty.encoded()) }
        var bytes = good.encoded()
        bytes[8] = 0x03  // kind value (C1 04 xxxx C2 01 kk)
        #expect(throws: SealDataError.self) { try AuthorizationGrant(decoding: bytes) }
        let documentWithoutDigest = AuthorizationGrant(serial: 1, kind: .document, firstCounter: 1, lastCounter: 1, documentDigest: nil,
                                                       signature: Array(repeating: 1, count: 64))
        #expect(throws: SealDataError.self) { try AuthorizationGrant(decoding: documentWithoutDigest.encoded()) }
    }

    static let personalization = PersonalizationData(
        organizationName: "ACME Ltd.", sealName: "Contract Seal", featureHash: Array(repeating: 0x11, count: 32), pin: "123456",
        puk: "12345678", watermarkValiditySeconds: 86_400, watermarkKey: Array(repeating: 0x22, count: 32))

    @Test func personalizationRoundTripAnyOrder() throws {
        let encoded = try Self.personalization.encoded()
        #expect(try PersonalizationData(decoding: encoded) == Self.personalization)
        let reversed = try TLV.decodeAll(encoded).reversed().map { $0 }.encoded()
        #expect(try PersonalizationData(decoding: reversed) == Self.personalization)
    }

    @Test func personalizationRejects() throws {
        let encoded = try Self.personalization.encoded()
        let fields = try TLV.decodeAll(encoded)
        // Duplicate, missing, unknown tag, bad PIN, bad PUK, policy without key.
        #expect(throws: SealDataError.self) { try PersonalizationData(decoding: encoded + [fields[0]].encoded()) }
        #expect(throws: SealDataError.self) { try PersonalizationData(decoding: Array(fields.dropFirst()).encoded()) }
        #expect(throws: SealDataError.self) { try PersonalizationData(decoding: encoded + [TLV(tag: 0x4C, value: [0])].encoded()) }
        var bad = Self.personalization
        bad.pin = "12a4"
        #expect(throws: SealDataError.self) { try bad.encoded() }
        bad = Self.personalization
        bad.puk = "1234"
        #expect(throws: SealDataError.self) { try bad.encoded() }
        bad = Self.personalization
        bad.requiresRemoteAuthorization = true
        #expect(throws: SealDataError.self) { try bad.encoded() }
    }

    @Test func responsesRoundTrip() throws {
        let response = StampResponse(counter: 7, serial: Watermark.serial(chipID: Array(repeating: 1, count: 16), counter: 7),
                                     expiry: 99, expirationCode: "01234567", signature: Array(repeating: 0x30, count: 71))
        #expect(try StampResponse(decoding: response.encoded()) == response)
        let entry = AuditEntry(counter: 7, time: 5, documentDigest: Array(repeating: 1, count: 32), metadataDigest: Array(repeating: 2, count: 32),
                               serial: response.serial, expiry: 99, expirationCode: "01234567", grantSerial: 0,
                               previousHash: Array(repeating: 0, count: 32), signature: response.signature)
        #expect(try AuditEntry(decoding: entry.encoded()) == entry)
        let status = AuditStatus(oldestCounter: 1, newestCounter: 7, headHash: Array(repeating: 9, count: 32))
        #expect(try AuditStatus(decoding: status.encoded()) == status)
        let statement = AttestationStatement(chipID: Array(repeating: 1, count: 16), sealPublicKey: [4] + Array(repeating: 2, count: 64),
                                             keyID: Array(repeating: 3, count: 32), featureHash: Array(repeating: 4, count: 32),
                                             keyPolicy: [.generatedOnChip, .neverExportable], counter: 3, lifecycle: 7,
                                             audit: status, nonce: [1, 2, 3])
        #expect(try AttestationStatement(decoding: statement.encoded()) == statement)
        #expect(throws: SealDataError.self) { try AttestationStatement(decoding: statement.encoded().dropLast().map { $0 }) }
    }

    @Test func capabilitiesAndFCIBytes() throws {
        let caps = SealCapabilities()
        #expect(caps.encoded() == [0x80, 0x02, 0x02, 0x00, 0x81, 0x02, 0x10, 0x00, 0x82, 0x04, 0x00, 0x01, 0x00, 0x00,
                                   0x83, 0x01, 0x07, 0x84, 0x02, 0x00, 0x40])
        #expect(try SealCapabilities(decoding: caps.encoded()) == caps)
        #expect(caps.fci() == [0x6F, 0x1E, 0x84, 0x09] + SealApplet.aid + [0xA5, 0x11] + caps.fciProprietary())
    }

    @Test func lifecycleTransitionsFollowSpecTable() {
        let allowed: Set<String> = ["PERSONALIZED>ACTIVE", "ACTIVE>SUSPENDED", "SUSPENDED>ACTIVE", "MANUFACTURED>TERMINATED",
                                    "PERSONALIZED>TERMINATED", "ACTIVE>TERMINATED", "SUSPENDED>TERMINATED"]
        for from in LifecycleState.allCases {
            for to in LifecycleState.allCases {
                #expect(from.canTransition(to: to) == allowed.contains("\(from)>\(to)"), "\(from) → \(to)")
            }
        }
    }

    @Test func instructionLookupRespectsClass() {
        #expect(SealInstruction(cla: 0x80, ins: 0x54) == .stamp)
        #expect(SealInstruction(cla: 0x90, ins: 0x54) == .stamp)
        #expect(SealInstruction(cla: 0x00, ins: 0x54) == nil)
        #expect(SealInstruction(cla: 0x10, ins: 0xA4) == .select)
        #expect(SealInstruction(cla: 0x80, ins: 0xA4) == nil)
    }
}
