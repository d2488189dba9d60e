import Crypto
import Testing
@testable import SealProtocol

/// The codecs a chip runs on every STAMP were rewritten to build less; each is checked here against
/// the general code it must agree with, on real and mutated input.
struct StampPathCodecTests {
    /// A STAMP data field with every metadata field and a grant.
    static func fullRequest() throws -> [UInt8] {
        var metadata = StampMetadata(
            time: 1_764_000_000, latitudeMicrodegrees: 31_230_416, longitudeMicrodegrees: -121_473_701, operatorID: "op-7",
            deviceFingerprint: [0xDE, 0xAD], organizationUnit: "Legal", approvalNode: "CFO", documentName: "Deed.pdf",
            operatorBiometricReference: [UInt8](repeating: 0xB1, count: 32))
        metadata.salts[.operatorID] = [UInt8](repeating: 3, count: 16)
        let grant = AuthorizationGrant(serial: 9, kind: .document, firstCounter: 1, lastCounter: 5,
                                       documentDigest: [UInt8](repeating: 0x44, count: 32), signature: [UInt8](repeating: 0x30, count: 70))
        return try StampRequest(documentDigest: [UInt8](repeating: 0xAB, count: 32), metadata: metadata, grant: grant).encoded()
    }

    @Test("TLV validation reports exactly what decoding reports, on every single-byte mutation")
    func validationAgreesWithDecoding() throws {
        let original = try Self.fullRequest()
        var generator = SystemRandomNumberGenerator()
        var inputs: [[UInt8]] = [original, [], [0x00], [0xA1, 0x00], Array(original.prefix(40))]
        for offset in original.indices {
            for replacement in [UInt8(0x00), 0xFF, 0x81, 0x82, 0xA1, original[offset] ^ 0x01, UInt8.random(in: 0...255, using: &generator)] {
                var mutated = original
                mutated[offset] = replacement
                inputs.append(mutated)
            }
            inputs.append(Array(original.prefix(offset)))
        }
        for input in inputs {
            for strict in [true, false] {
                let decoded = Result { () throws(TLVDecodingError) in try TLV.decodeAll(input, strict: strict) }
                let validated = Result { () throws(TLVDecodingError) in try TLV.validateAll(input[...], strict: strict) }
                switch (decoded, validated) {
                case (.success, .success): break
                case (.failure(let a), .failure(let b)):
                    #expect(a == b && a.reason == b.reason, "\(hexString(input))")
                default:
                    Issue.record("validateAll and decodeAll disagree on \(hexString(input))")
                }
            }
            // The field reader reports a malformed object before any field, as when it decoded
            // the whole input first; then the request decodes or fails on a field.
            if (try? TLV.decodeAll(input, strict: true)) == nil {
                #expect(throws: SealDataError(.malformedTLV, "")) { try StampRequest(decoding: input) }
            } else if let request = try? StampRequest(decoding: input) {
                #expect(try StampMetadata(decoding: request.metadataEncoding) == request.metadata)
            }
        }
        let request = try StampRequest(decoding: original)
        #expect(request.encoded() == original)
        #expect(request.metadata.withheldCommitments.count == 4 && request.metadata.documentName == "Deed.pdf")
    }

    @Test("the chip's reading of a STAMP data field accepts exactly what StampRequest decoding accepts, with the same fields")
    func chipFieldsAgreeWithDecoding() throws {
        let full = try Self.fullRequest()
        let plain = try StampRequest(documentDigest: [UInt8](repeating: 0x11, count: 32),
                                     metadata: StampMetadata(time: 1_764_000_000, operatorID: "bench")).encoded()
        var generator = SystemRandomNumberGenerator()
        var inputs: [[UInt8]] = [[], [0x90, 0x00], Array(plain.prefix(34))]
        for original in [full, plain] {
            inputs.append(original)
            for offset in original.indices {
                for replacement in [UInt8(0x00), 0xFF, 0x80, 0x40, 0x9F, 0xA2, original[offset] ^ 0x01, original[offset] &+ 1,
                                    UInt8.random(in: 0...255, using: &generator)] {
                    var mutated = original
                    mutated[offset] = replacement
                    inputs.append(mutated)
                }
                inputs.append(Array(original.prefix(offset)))
            }
        }
        // Metadata at the edges of its text rules: lengths 0, 1, 64, 65 (document name 128, 129),
        // bytes that are not UTF-8, an unknown tag after an over-long text, tags out of order.
        let time: [UInt8] = [0x91, 0x08, 0, 0, 0, 0, 0x69, 0x2B, 0x9C, 0x00]
        func tlv(_ tag: [UInt8], _ value: [UInt8]) -> [UInt8] {
            tag + (value.count < 0x80 ? [UInt8(value.count)] : [0x81, UInt8(value.count)]) + value
        }
        var metadataValues: [[UInt8]] = [time, tlv([0x91], [1, 2, 3, 4])]
        for length in [0, 1, 64, 65] {
            metadataValues.append(time + tlv([0x96], [UInt8](repeating: 0x41, count: length)))
            metadataValues.append(time + tlv([0x97], [UInt8](repeating: 0x42, count: length)))
            metadataValues.append(time + tlv([0x96], [UInt8](repeating: 0x41, count: length)) + [0x9A, 0x01, 0x00])
        }
        for length in [0, 1, 128, 129] {
            metadataValues.append(time + tlv([0x9F, 0x20], [UInt8](repeating: 0x43, count: length)))
        }
        metadataValues += [
            time + tlv([0x96], [0xC3, 0x28]), time + tlv([0x9F, 0x20], [0xFF]), time + tlv([0x92], [UInt8](repeating: 1, count: 31)),
            time + tlv([0x95], [UInt8](repeating: 1, count: 32)), tlv([0x96], [0x41]) + time, time + time,
            time + tlv([0x93], [UInt8](repeating: 2, count: 32)) + tlv([0x92], [UInt8](repeating: 2, count: 32)),
        ]
        for metadata in metadataValues {
            inputs.append(tlv([0x90], [UInt8](repeating: 0x22, count: 32)) + tlv([0xA1], metadata))
        }
        var accepted = 0
        for input in inputs {
            let request = try? StampRequest(decoding: input)
            let fields = try? StampRequestFields(decoding: input)
            #expect((request == nil) == (fields == nil), "\(hexString(input))")
            guard let request, let fields else { continue }
            accepted += 1
            #expect(Array(fields.documentDigest) == request.documentDigest)
            #expect(Array(fields.metadataEncoding) == request.metadataEncoding)
            #expect(fields.time == request.metadata.time)
            #expect(fields.grant == request.grant)
            let copied = StampRequestFields(request)
            #expect(Array(copied.metadataEncoding) == request.metadataEncoding && copied.time == request.metadata.time)
        }
        // Both kinds occur: the comparison is not vacuous.
        #expect(accepted > 20 && accepted < inputs.count)
    }

    @Test("a TBS from its kept chip and seal parts is the SPEC §9.3 concatenation, with and without an image hash")
    func tbsFromParts() throws {
        for imageHash in [nil, [UInt8](repeating: 0x5E, count: 32)] as [[UInt8]?] {
            let seal = SealIdentity(organizationName: "Acme Ltd", sealName: "Contracts seal",
                                    featureHash: [UInt8](repeating: 0xFE, count: 32), sealImageHash: imageHash)
            let tbs = StampTBS(chipID: Array(0..<16), counter: 0x0102_0304, serial: "ABCDEF-GHJKMN-PQRSTV-0000001-7",
                               expiry: 0x1122_3344_5566_7788, expirationCode: "01234567",
                               documentDigest: [UInt8](repeating: 0xD0, count: 32), metadataDigest: [UInt8](repeating: 0x3D, count: 32),
                               seal: seal, keyID: [UInt8](repeating: 0x4B, count: 32), grantSerial: 9)
            // Written out field by field, as SPEC §9.3 lists them.
            var expected = Array("SEALKIT-STAMP-V2".utf8) + Array(0..<16) + [0x01, 0x02, 0x03, 0x04]
            expected += [30] + Array("ABCDEF-GHJKMN-PQRSTV-0000001-7".utf8)
            expected += [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88] + Array("01234567".utf8)
            expected += [UInt8](repeating: 0xD0, count: 32) + [UInt8](repeating: 0x3D, count: 32)
            expected += [8] + Array("Acme Ltd".utf8) + [14] + Array("Contracts seal".utf8) + [UInt8](repeating: 0xFE, count: 32)
            expected += imageHash ?? [UInt8](repeating: 0, count: 32)
            expected += [UInt8](repeating: 0x4B, count: 32) + [0, 0, 0, 9]
            #expect(tbs.encoded() == expected)
            var fromParts: [UInt8] = []
            StampTBS.append(chipPart: StampTBS.chipPart(chipID: tbs.chipID), counter: tbs.counter, serial: tbs.serial,
                            expiry: tbs.expiry, expirationCode: tbs.expirationCode, documentDigest: tbs.documentDigest[...],
                            metadataDigest: tbs.metadataDigest, sealPart: StampTBS.sealPart(seal: seal, keyID: tbs.keyID),
                            grantSerial: tbs.grantSerial, to: &fromParts)
            #expect(fromParts == expected)
            #expect(fromParts.count == StampTBS.chipPart(chipID: tbs.chipID).count
                + StampTBS.stampPartLength(serial: tbs.serial, expirationCode: tbs.expirationCode) + 64
                + StampTBS.sealPart(seal: seal, keyID: tbs.keyID).count + 4)
        }
    }

    @Test("metadata decoding: canonical order, unknown tags, bad lengths and text are refused as before")
    func metadataRefusals() throws {
        let time: [UInt8] = [0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 1]
        let unit: [UInt8] = [0x96, 0x02, 0x41, 0x42]
        #expect(try StampMetadata(decoding: time + unit).organizationUnit == "AB")
        #expect(throws: SealDataError(.notCanonical, "")) { try StampMetadata(decoding: unit + time) }
        #expect(throws: SealDataError(.notCanonical, "")) { try StampMetadata(decoding: time + time) }
        #expect(throws: SealDataError(.unexpectedField, "")) { try StampMetadata(decoding: time + [0x9A, 0x01, 0x00]) }
        #expect(throws: SealDataError(.invalidLength, "")) { try StampMetadata(decoding: [0x91, 0x04, 0, 0, 0, 1]) }
        #expect(throws: SealDataError(.invalidLength, "")) { try StampMetadata(decoding: time + [0x94, 0x02, 1, 2]) }
        #expect(throws: SealDataError(.invalidEncoding, "")) { try StampMetadata(decoding: time + [0x96, 0x01, 0xFF]) }
        #expect(throws: SealDataError(.missingField, "")) { try StampMetadata(decoding: unit) }
        #expect(throws: SealDataError(.malformedTLV, "")) { try StampMetadata(decoding: time + [0x96, 0x05, 0x41]) }
    }

    @Test("serials from a prefix agree with the character-by-character check value, at every counter edge")
    func serials() throws {
        var generator = SystemRandomNumberGenerator()
        let counters: [UInt32] = [0, 1, 31, 32, 36, 37, 1_000_000, UInt32.max - 1, UInt32.max]
        for _ in 0..<50 {
            let chipID = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let prefix = Watermark.chipPrefix(chipID: chipID)
            for counter in counters + [UInt32.random(in: 0...UInt32.max, using: &generator)] {
                let serial = Watermark.serial(chipPrefix: prefix, counter: counter)
                let counterDigits = Watermark.base32(UInt64(counter), digits: Watermark.counterDigits)
                let check = try #require(Watermark.checkValue(digits: prefix + counterDigits))
                let expected = String(decoding: prefix[0..<6] + [0x2D] + prefix[6..<12] + [0x2D] + prefix[12..<18] + [0x2D]
                                      + counterDigits + [0x2D, Watermark.checkAlphabet[check]], as: UTF8.self)
                #expect(serial == expected)
                let parsed = try #require(Watermark.parseSerial(serial))
                #expect(parsed.prefix == prefix && parsed.counter == counter)
            }
        }
        // A prefix character that is no base-32 digit gives check symbol 0, as it always did.
        let odd = Array("IIIIIIOOOOOOLLLLLL".utf8)
        #expect(Watermark.serial(chipPrefix: odd, counter: 5).hasSuffix("-0000005-0"))
    }

    @Test("the expiration code is HMAC-SHA-256 over domain ‖ serial ‖ expiry, truncated as RFC 4226")
    func expirationCodes() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let serial = Watermark.serial(chipID: [UInt8](repeating: 7, count: 16), counter: UInt32.random(in: 0...UInt32.max, using: &generator))
            let expiry = UInt64.random(in: 0...UInt64.max, using: &generator)
            let mac = Array(HMAC<SHA256>.authenticationCode(for: Array("SEALKIT-EXPIRY-V1".utf8) + Array(serial.utf8) + bigEndianBytes(expiry),
                                                            using: SymmetricKey(data: key)))
            let offset = Int(mac[31] & 0x0F)
            let binary = readBigEndian(mac[offset..<offset + 4], as: UInt32.self) & 0x7FFF_FFFF
            let digits = String(binary % 100_000_000)
            let expected = String(repeating: "0", count: 8 - digits.count) + digits
            #expect(Watermark.expirationCode(watermarkKey: key, serial: serial, expiry: expiry) == expected)
        }
    }

    @Test("the chain hash is SHA-256 of domain ‖ previous ‖ TBS ‖ signature")
    func chainHash() {
        let previous = [UInt8](repeating: 1, count: 32), tbs = [UInt8](repeating: 2, count: 219), signature = [UInt8](repeating: 3, count: 71)
        #expect(AuditEntry.chainHash(previous: previous, tbs: tbs, signature: signature)
                == Array(SHA256.hash(data: Array("SEALKIT-AUDIT-V1".utf8) + previous + tbs + signature)))
    }
}
