import Foundation
import SealESeal
import Testing

/// What no real file needs and that admits more than one reading is refused with a clear code.
@Suite struct AmbiguousInputTests {
    /// A minimal v4 SESeal with the given pieces (not signed: parsing only).
    static func seal(version: UInt8 = 4, critical: [UInt8]? = nil, signatureBits: [UInt8] = [0x03, 0x02, 0x00, 0x01]) -> [UInt8] {
        let header = tlv(0x30, tlv(0x16, Array("ES".utf8)) + tlv(0x02, [version]) + tlv(0x16, Array("T".utf8)))
        let time = tlv(0x18, Array("20250101000000Z".utf8))
        let property = tlv(0x30, tlv(0x02, [1]) + tlv(0x0C, Array("n".utf8)) + tlv(0x02, [1]) + tlv(0x30, tlv(0x04, [1])) + time + time + time)
        let picture = tlv(0x30, tlv(0x16, Array("PNG".utf8)) + tlv(0x04, [0]) + tlv(0x02, [1]) + tlv(0x02, [1]))
        var info = header + tlv(0x16, Array("id".utf8)) + property + picture
        if let critical {
            info += tlv(0x30, tlv(0x30, tlv(0x06, [0x2A, 0x03]) + tlv(0x01, critical) + tlv(0x04, [0])))
        }
        return tlv(0x30, tlv(0x30, info) + tlv(0x04, [0x30, 0x00]) + tlv(0x06, [0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x75]) + signatureBits)
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        precondition(content.count < 0x10000)
        if content.count < 0x80 { return [tag, UInt8(content.count)] + content }
        if content.count < 0x100 { return [tag, 0x81, UInt8(content.count)] + content }
        return [tag, 0x82, UInt8(content.count >> 8), UInt8(content.count & 0xFF)] + content
    }

    @Test func theMinimalSealParses() throws {
        let seal = try SESeal(derEncoded: Self.seal())
        #expect(seal.header.version == 4 && seal.sealID == "id" && seal.makerSignature == [0x01])
        #expect(seal.quirks.isEmpty)
        let explicit = try SESeal(derEncoded: Self.seal(critical: [0x00]))
        #expect(explicit.quirks.map(\.kind) == [.explicitDefaultFalse])
        #expect(try SESeal(derEncoded: Self.seal(critical: [0xFF])).extensions.first?.isCritical == true)
        let trailing = try SESeal(derEncoded: Self.seal() + [0xDE, 0xAD])
        #expect(trailing.quirks.map(\.kind) == [.trailingBytes])
        #expect(trailing.derRepresentation == Self.seal())
    }

    @Test func aBooleanThatIsNeither00NorFFIsRefused() {
        #expect(throws: SESError(code: .ambiguousEncoding, reason: "")) { try SESeal(derEncoded: Self.seal(critical: [0x01])) }
    }

    @Test func aSignatureWithUnusedBitsIsRefused() {
        #expect(throws: SESError(code: .ambiguousEncoding, reason: "")) {
            try SESeal(derEncoded: Self.seal(signatureBits: [0x03, 0x02, 0x04, 0x10]))
        }
    }

    @Test func anIndefiniteLengthIsRefused() {
        var bytes = Self.seal()
        bytes[1] = 0x80
        #expect(throws: SESError(code: .ambiguousEncoding, reason: "")) { try SESeal(derEncoded: bytes) }
    }

    @Test func otherVersionsAndBrokenStructuresAreRefused() {
        #expect(throws: SESError(code: .unsupportedVersion, reason: "")) { try SESeal(derEncoded: Self.seal(version: 3)) }
        #expect(throws: SESError(code: .malformed, reason: "")) { try SESeal(derEncoded: Array(Self.seal().dropLast())) }
        #expect(throws: SESError(code: .malformed, reason: "")) { try SESeal(derEncoded: []) }
        // A v4 seal is not a signature.
        #expect(throws: SESError(code: .malformed, reason: "")) { try SESignatureProbe.parse(Self.seal()) }
    }
}

enum SESignatureProbe {
    static func parse(_ bytes: [UInt8]) throws { _ = try SESSignature(derEncoded: bytes) }
}
