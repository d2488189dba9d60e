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

    @Test func vectorFilesArePresent() {
        #expect(Self.watermarkVectors.count == 48)
        #expect(Self.tbsVectors.count == 10)
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
            metadataDigest: try #require(bytesFromHex(v.metadataDigest)), featureHash: try #require(bytesFromHex(v.featureHash)),
            keyID: try #require(bytesFromHex(v.keyID)), grantSerial: v.grantSerial)
        #expect(hexString(tbs.encoded()) == v.tbs)
    }

    /// The check symbol catches every single-character substitution and adjacent transposition.
    @Test func checkSymbolDetectsSingleErrorsAndTranspositions() throws {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        let positions = [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]
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
        #expect(Watermark.parseSerial("0W2B-H1X7-0000000") == nil)
        #expect(Watermark.parseSerial("0W2B H1X7-0000000-*") == nil)
        #expect(Watermark.parseSerial("0W2B-H1X7-000000I-*") == nil)  // I is not Crockford
        #expect(Watermark.parseSerial("0W2B-H1X7-0000000-*") != nil)
    }
}
