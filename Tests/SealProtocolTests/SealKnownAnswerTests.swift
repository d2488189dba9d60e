import Foundation
import Testing
@testable import SealProtocol

/// Known-answer tests against vectors made by an independent Python implementation of the spec
/// (Fixtures/vectors/generate.py).
struct SealKnownAnswerTests {
    struct WatermarkVector: Decodable, Sendable, CustomTestStringConvertible {
        let chipID: String, counter: UInt32, serial: String, watermarkKey: String, expiry: UInt64, expirationCode: String
        var testDescription: String { "\(chipID.prefix(8))…/\(counter)" }
    }
    struct TBSVector: Decodable, Sendable {
        let chipID: String, counter: UInt32, serial: String, expiry: UInt64, expirationCode: String
        let documentDigest: String, metadataDigest: String, featureHash: String, keyID: String, grantSerial: UInt32, tbs: String
        let organizationName: String, sealName: String, sealImageHash: String?
    }
    struct Opening: Decodable, Sendable {
        let salt: String, value: String?, latitudeMicrodegrees: Int32?, longitudeMicrodegrees: Int32?
    }
    struct MetadataVector: Decodable, Sendable {
        let time: UInt64, organizationUnit: String?, approvalNode: String?, documentName: String?
        let commitments: [String: String], openings: [String: Opening], encoding: String, digest: String
    }
    struct VectorFile<V: Decodable>: Decodable { let vectors: [V] }

    static func load<V: Decodable>(_ name: String, as: V.Type) -> [V] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/vectors/\(name)")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(VectorFile<V>.self, from: data) else { return [] }
        return file.vectors
    }

    static let watermarkVectors = load("watermark.json", as: WatermarkVector.self)
    static let tbsVectors = load("stamp-tbs.json", as: TBSVector.self)
    static let metadataVectors = load("commitments.json", as: MetadataVector.self)

    @Test func vectorFilesArePresent() {
        #expect(Self.watermarkVectors.count == 48)
        #expect(Self.tbsVectors.count == 10)
        #expect(Self.metadataVectors.count == 6)
    }

    /// Metadata v2 built from the openings (plaintexts and salts) encodes to the Python encoding,
    /// and decoding that encoding gives back exactly the Python commitments (SPEC §9.2, §9.2.1).
    @Test(arguments: metadataVectors.indices)
    func metadataCommitments(_ index: Int) throws {
        let v = Self.metadataVectors[index]
        var metadata = StampMetadata(time: v.time, organizationUnit: v.organizationUnit, approvalNode: v.approvalNode,
                                     documentName: v.documentName)
        for (name, opening) in v.openings {
            let field = try #require(StampMetadata.PersonalField(rawValue: name))
            switch field {
            case .location:
                metadata.latitudeMicrodegrees = opening.latitudeMicrodegrees
                metadata.longitudeMicrodegrees = opening.longitudeMicrodegrees
            case .operatorID: metadata.operatorID = opening.value
            case .operatorBiometricReference: metadata.operatorBiometricReference = bytesFromHex(opening.value ?? "")
            case .deviceFingerprint: metadata.deviceFingerprint = bytesFromHex(opening.value ?? "")
            }
            metadata.salts[field] = bytesFromHex(opening.salt)
        }
        #expect(hexString(try metadata.encoded()) == v.encoding)
        #expect(hexString(try metadata.digest()) == v.digest)
        let decoded = try StampMetadata(decoding: try #require(bytesFromHex(v.encoding)))
        #expect(Dictionary(uniqueKeysWithValues: decoded.withheldCommitments.map { ($0.key.rawValue, hexString($0.value)) }) == v.commitments)
        #expect(decoded == metadata.withoutPersonalData)
        #expect(try decoded.encoded() == metadata.encoded())
    }

    @Test(arguments: watermarkVectors)
    func serialAndExpirationCode(_ vector: WatermarkVector) throws {
        let chipID = try #require(bytesFromHex(vector.chipID))
        let key = try #require(bytesFromHex(vector.watermarkKey))
        let serial = Watermark.serial(chipID: chipID, counter: vector.counter)
        #expect(serial == vector.serial)
        #expect(Watermark.expirationCode(watermarkKey: key, serial: serial, expiry: vector.expiry) == vector.expirationCode)
        let parsed = try #require(Watermark.parseSerial(serial))
        #expect(parsed.counter == vector.counter)
        #expect(parsed.prefix == Watermark.chipPrefix(chipID: chipID))
    }

    @Test(arguments: tbsVectors.indices)
    func stampTBSEncoding(_ index: Int) throws {
        let v = Self.tbsVectors[index]
        let tbs = StampTBS(
            chipID: try #require(bytesFromHex(v.chipID)), counter: v.counter, serial: v.serial, expiry: v.expiry,
            expirationCode: v.expirationCode, documentDigest: try #require(bytesFromHex(v.documentDigest)),
            metadataDigest: try #require(bytesFromHex(v.metadataDigest)),
            seal: SealIdentity(organizationName: v.organizationName, sealName: v.sealName,
                               featureHash: try #require(bytesFromHex(v.featureHash)),
                               sealImageHash: v.sealImageHash.flatMap { bytesFromHex($0) }),
            keyID: try #require(bytesFromHex(v.keyID)), grantSerial: v.grantSerial)
        #expect(hexString(tbs.encoded()) == v.tbs)
    }

    /// The check symbol catches every single-character substitution and adjacent transposition.
    @Test func checkSymbolDetectsSingleErrorsAndTranspositions() throws {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        // Every symbol position of `PPPPPP-PPPPPP-PPPPPP-CCCCCCC-K` but the check symbol.
        let positions = Array(0..<6) + Array(7..<13) + Array(14..<20) + Array(21..<28)
        for counter: UInt32 in [1, 77, 123_456, 4_000_000_000] {
            let serial = Array(Watermark.serial(chipID: Array(repeating: 7, count: 16), counter: counter).utf8)
            for position in positions {
                for replacement in alphabet where replacement != serial[position] {
                    var damaged = serial
                    damaged[position] = replacement
                    let text = String(decoding: damaged, as: UTF8.self)
                    // A substitution may only survive if it decodes to a value that differs by a multiple of 37.
                    if let parsed = Watermark.parseSerial(text) {
                        Issue.record("substitution at \(position) undetected: \(text) → \(parsed)")
                    }
                }
            }
            for (a, b) in zip(positions, positions.dropFirst()) where b == a + 1 && serial[a] != serial[b] {
                var swapped = serial
                swapped.swapAt(a, b)
                #expect(Watermark.parseSerial(String(decoding: swapped, as: UTF8.self)) == nil)
            }
        }
    }

    @Test func serialRejectsMalformedText() {
        #expect(Watermark.parseSerial("") == nil)
        let valid = Watermark.serial(chipID: Array(repeating: 7, count: 16), counter: 5)
        #expect(Watermark.parseSerial(valid) != nil)
        #expect(Watermark.parseSerial(String(valid.dropLast(2))) == nil)
        #expect(Watermark.parseSerial(valid.replacingOccurrences(of: "-", with: " ")) == nil)
        var bytes = Array(valid.utf8)
        bytes[3] = UInt8(ascii: "I")  // I is not Crockford
        #expect(Watermark.parseSerial(String(decoding: bytes, as: UTF8.self)) == nil)
        // The v1 form (19 characters) is no longer a serial.
        #expect(Watermark.parseSerial("0W2B-H1X7-0000000-*") == nil)
    }

    /// SPEC §10.1's collision bound: with 90 prefix bits, 10^9 chips collide with probability
    /// below n²/2^91 < 10^-9, and the prefix really carries 90 bits (every digit varies).
    @Test func prefixIsNinetyBits() {
        let n = 1e9
        #expect(n * n / pow(2, 91) < 1e-9)
        #expect(Watermark.prefixDigits * 5 >= 89)
        var seen = Set<[UInt8]>()
        var digitsSeen = [Set<UInt8>](repeating: [], count: Watermark.prefixDigits)
        for i in 0..<2000 {
            let prefix = Watermark.chipPrefix(chipID: Array(bigEndianBytes(UInt32(i))) + [UInt8](repeating: 0, count: 12))
            #expect(prefix.count == 18)
            seen.insert(prefix)
            for (index, digit) in prefix.enumerated() { digitsSeen[index].insert(digit) }
        }
        #expect(seen.count == 2000)
        #expect(digitsSeen.allSatisfy { $0.count == 32 })
    }
}
