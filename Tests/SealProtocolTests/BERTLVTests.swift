import Testing
@testable import SealProtocol

@Suite("BER-TLV")
struct BERTLVTests {
    // MARK: Tags

    static let tagVectors: [([UInt8], BERTag, [UInt8])] = [
        (hex("41 03 41 42 43"), 0x41, hex("41 42 43")),
        (hex("5F 2D 02 65 6E"), 0x5F2D, hex("65 6E")),
        (hex("9F 01 01 AA"), 0x9F01, hex("AA")),
        (hex("9F 1F 00"), 0x9F1F, []),  // smallest tag number X.690 puts in two bytes
        (hex("9F 1A 02 02 50"), 0x9F1A, hex("02 50")),  // EMV-style low number, accepted
        (hex("5F 00 00"), 0x5F00, []),
        (hex("7F 49 03 86 01 04"), 0x7F49, hex("86 01 04")),
        (hex("DF 81 01 01 BB"), 0xDF8101, hex("BB")),
        (hex("5F FF 7F 00"), 0x5FFF7F, []),
    ]

    @Test("tags of one to three bytes decode and re-encode", arguments: tagVectors)
    func tags(bytes: [UInt8], tag: BERTag, value: [UInt8]) throws {
        let objects = try TLV.decodeAll(bytes)
        #expect(objects == [TLV(tag: tag, value: value)])
        #expect(objects.encoded() == bytes)
        #expect(try TLV(decoding: bytes) == TLV(tag: tag, value: value))
    }

    @Test("tag bytes, class and constructed bit")
    func tagProperties() {
        #expect(BERTag(0x9F01).bytes == [0x9F, 0x01])
        #expect(BERTag(0xDF8101).bytes == [0xDF, 0x81, 0x01])
        #expect(BERTag(0x41).bytes == [0x41])
        #expect(BERTag(0x00).bytes == [0x00])
        #expect(BERTag(0x00).firstByte == 0x00)
        #expect(BERTag(0x41).firstByte == 0x41)
        #expect(BERTag(0x7F49).firstByte == 0x7F)
        #expect(BERTag(0xDF8101).firstByte == 0xDF)
        #expect(BERTag(0xFF00_0000).firstByte == 0xFF)
        #expect(BERTag(0x7F49).isConstructed)
        #expect(BERTag(0xA1).isConstructed)
        #expect(BERTag(0x6F).isConstructed)
        #expect(!BERTag(0x9F01).isConstructed)
        #expect(!BERTag(0x41).isConstructed)
        #expect(BERTag(0x02).tagClass == .universal)
        #expect(BERTag(0x5F2D).tagClass == .application)
        #expect(BERTag(0x9F01).tagClass == .contextSpecific)
        #expect(BERTag(0xDF8101).tagClass == .private)
        #expect(BERTag(0x9F01).description == "9F01")
        let literal: BERTag = 0x5F2D
        #expect(literal.rawValue == 0x5F2D)
    }

    // MARK: Lengths

    @Test(
        "lengths use the minimal form at every boundary",
        arguments: [
            (0, hex("00")),
            (1, hex("01")),
            (127, hex("7F")),
            (128, hex("81 80")),
            (255, hex("81 FF")),
            (256, hex("82 01 00")),
            (65_535, hex("82 FF FF")),
            (65_536, hex("83 01 00 00")),
        ]
    )
    func lengths(length: Int, field: [UInt8]) throws {
        let value = ramp(length)
        let object = TLV(tag: 0x53, value: value)
        let bytes = object.encoded()
        #expect(bytes == [0x53] + field + value)
        #expect(try TLV.decodeAll(bytes, strict: true) == [object])
    }

    @Test("lengths above 0xFFFFFF still encode (as BER 84), and the decoder refuses them")
    func hugeLengthEncodes() {
        // Only the header is inspected; the 16 MiB value is the price of testing the branch.
        let object = TLV(tag: 0x53, value: [UInt8](repeating: 0, count: 0x100_0000))
        let header = Array(object.encoded().prefix(6))
        #expect(header == hex("53 84 01 00 00 00"))
        let error = #expect(throws: TLVDecodingError.self) { try TLV.decodeAll(header) }
        #expect(error?.code == .invalidLength)
    }

    // MARK: Rejections

    struct Rejection: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let strictCode: TLVDecodingError.Code
        /// `nil` when lenient decoding accepts the input.
        let lenientCode: TLVDecodingError.Code?
        var testDescription: String { name }
    }

    @Test(
        "malformed input is rejected with a typed error",
        arguments: [
            Rejection(name: "81 for a length below 80", bytes: hex("41 81 01 AA"), strictCode: .nonMinimalLength, lenientCode: nil),
            Rejection(name: "81 00", bytes: hex("41 81 00"), strictCode: .nonMinimalLength, lenientCode: nil),
            Rejection(name: "82 for a length below 0100", bytes: hex("41 82 00 01 AA"), strictCode: .nonMinimalLength, lenientCode: nil),
            Rejection(name: "83 for a length below 010000", bytes: hex("41 83 00 00 01 AA"), strictCode: .nonMinimalLength, lenientCode: nil),
            Rejection(name: "00 padding", bytes: hex("00 41 01 AA"), strictCode: .invalidTag, lenientCode: nil),
            Rejection(name: "FF padding", bytes: hex("41 01 AA FF FF"), strictCode: .invalidTag, lenientCode: nil),
            Rejection(name: "indefinite length", bytes: hex("61 80 41 01 AA 00 00"), strictCode: .indefiniteLength, lenientCode: .indefiniteLength),
            Rejection(name: "84 length", bytes: hex("41 84 00 00 00 01 AA"), strictCode: .invalidLength, lenientCode: .invalidLength),
            Rejection(name: "FF length", bytes: hex("41 FF"), strictCode: .invalidLength, lenientCode: .invalidLength),
            Rejection(name: "value truncated", bytes: hex("41 05 01 02"), strictCode: .truncated, lenientCode: .truncated),
            Rejection(name: "length missing", bytes: hex("41"), strictCode: .truncated, lenientCode: .truncated),
            Rejection(name: "long length truncated", bytes: hex("41 82 01"), strictCode: .truncated, lenientCode: .truncated),
            Rejection(name: "tag truncated after 1F", bytes: hex("9F"), strictCode: .truncated, lenientCode: .truncated),
            Rejection(name: "tag truncated after continuation", bytes: hex("DF 81"), strictCode: .truncated, lenientCode: .truncated),
            Rejection(name: "second tag byte 80", bytes: hex("9F 80 01 00"), strictCode: .invalidTag, lenientCode: .invalidTag),
            Rejection(name: "four-byte tag", bytes: hex("DF 81 81 01 00"), strictCode: .invalidTag, lenientCode: .invalidTag),
            Rejection(name: "constructed value not TLV", bytes: hex("A1 02 91 05"), strictCode: .truncated, lenientCode: .truncated),
            Rejection(name: "non-minimal length nested", bytes: hex("A1 04 91 81 01 AA"), strictCode: .nonMinimalLength, lenientCode: nil),
        ]
    )
    func rejections(_ c: Rejection) throws {
        let strictError = #expect(throws: TLVDecodingError.self) { try TLV.decodeAll(c.bytes, strict: true) }
        #expect(strictError?.code == c.strictCode)
        if let lenientCode = c.lenientCode {
            let lenientError = #expect(throws: TLVDecodingError.self) { try TLV.decodeAll(c.bytes, strict: false) }
            #expect(lenientError?.code == lenientCode)
        } else {
            #expect(throws: Never.self) { try TLV.decodeAll(c.bytes, strict: false) }
        }
    }

    @Test("strict is the default")
    func strictByDefault() {
        #expect(throws: TLVDecodingError(code: .nonMinimalLength, reason: "")) { try TLV.decodeAll(hex("41 81 01 AA")) }
    }

    @Test("lenient decoding reads non-minimal lengths and skips padding; encoding normalises")
    func lenient() throws {
        let objects = try TLV.decodeAll(hex("00 FF 41 81 01 AA 00 42 82 00 02 BB CC FF"), strict: false)
        #expect(objects == [TLV(tag: 0x41, value: [0xAA]), TLV(tag: 0x42, value: [0xBB, 0xCC])])
        #expect(objects.encoded() == hex("41 01 AA 42 02 BB CC"))
        #expect(try TLV.decodeAll(hex("00 00 FF"), strict: false).isEmpty)
    }

    @Test("lenient decoding normalises nested values too")
    func lenientNested() throws {
        let objects = try TLV.decodeAll(hex("A1 07 00 91 81 01 AA FF FF"), strict: false)
        #expect(objects == [TLV(tag: 0xA1, value: hex("91 01 AA"))])
        #expect(objects.encoded() == hex("A1 03 91 01 AA"))
        #expect(try TLV.decodeAll(objects.encoded(), strict: true) == objects)
    }

    @Test("empty input decodes to no objects")
    func empty() throws {
        #expect(try TLV.decodeAll([]).isEmpty)
        #expect([TLV]().encoded().isEmpty)
    }

    @Test("init(decoding:) wants exactly one object")
    func single() {
        #expect(throws: TLVDecodingError(code: .trailingBytes, reason: "")) { try TLV(decoding: hex("41 01 AA 42 00")) }
        #expect(throws: TLVDecodingError(code: .truncated, reason: "")) { try TLV(decoding: []) }
    }

    // MARK: Constructed objects

    @Test("children of a constructed object, first(_:) and the children initialiser")
    func constructed() throws {
        let bytes = hex("A1 0B 91 01 AA 92 01 BB 7F 49 02 86 00")
        let top = try TLV(decoding: bytes)
        #expect(top.tag == 0xA1)
        let children = try top.children()
        #expect(children.map(\.tag) == [0x91, 0x92, 0x7F49])
        #expect(children.first(0x92)?.value == [0xBB])
        #expect(children.first(0x93) == nil)
        #expect(try children.first(0x7F49)?.children() == [TLV(tag: 0x86, value: [])])
        #expect(TLV(tag: 0xA1, children: children) == top)
        #expect(TLV(tag: 0xA1, children: children).encoded() == bytes)
    }

    @Test("children() of a primitive object is notConstructed")
    func primitiveHasNoChildren() {
        let error = #expect(throws: TLVDecodingError.self) { try TLV(tag: 0x91, value: [0x41, 0x00]).children() }
        #expect(error?.code == .notConstructed)
    }

    @Test("children() of a hand-built constructed object validates its value")
    func handBuiltChildren() {
        let error = #expect(throws: TLVDecodingError.self) { try TLV(tag: 0xA1, value: [0x41, 0x05]).children() }
        #expect(error?.code == .truncated)
    }

    /// `levels` objects nested inside each other: `levels - 1` constructed wrappers around a primitive.
    static func nested(levels: Int) -> [UInt8] {
        var object = TLV(tag: 0x80, value: [0x01])
        for _ in 1..<levels { object = TLV(tag: 0xA0, children: [object]) }
        return object.encoded()
    }

    @Test("nesting is bounded at TLV.maximumDepth levels")
    func depth() throws {
        #expect(TLV.maximumDepth == 8)
        #expect(throws: Never.self) { try TLV.decodeAll(Self.nested(levels: 8)) }
        let error = #expect(throws: TLVDecodingError.self) { try TLV.decodeAll(Self.nested(levels: 9)) }
        #expect(error?.code == .tooDeep)
        // An empty constructed object at the deepest level has no children to go deeper.
        var object = TLV(tag: 0xA0, value: [])
        for _ in 1..<8 { object = TLV(tag: 0xA0, children: [object]) }
        #expect(throws: Never.self) { try TLV.decodeAll(object.encoded()) }
    }

    @Test("hostile deep nesting fails fast instead of exhausting the stack")
    func hostileDepth() {
        // 20 000 levels of `A0 83 xx xx xx`, each announcing the rest of the input.
        let levels = 20_000
        var bytes: [UInt8] = []
        for level in 0..<levels {
            let remaining = (levels - level - 1) * 5
            bytes += [0xA0, 0x83, UInt8(remaining >> 16), UInt8((remaining >> 8) & 0xFF), UInt8(remaining & 0xFF)]
        }
        let error = #expect(throws: TLVDecodingError.self) { try TLV.decodeAll(bytes, strict: false) }
        #expect(error?.code == .tooDeep)
    }

    @Test("errors describe themselves and compare by code")
    func errorShape() {
        let a = TLVDecodingError(code: .truncated, reason: "one")
        let b = TLVDecodingError(code: .truncated, reason: "two")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != TLVDecodingError(code: .invalidTag, reason: "one"))
        #expect(a.description == "TLVDecodingError.truncated: one")
    }

    /// A random well-formed object, constructed with up to three children
    /// until depth 5, with a mix of one- to three-byte tags and value sizes
    /// that straddle the 7F/80 length boundary.
    static func randomTree(depth: Int, using rng: inout SplitMix64) -> TLV {
        let tags: [BERTag] = [0x80, 0x5A, 0x9F1A, 0xDF8101, 0xA0, 0x61, 0x7F49, 0xBF8102]
        let tag = tags[Int.random(in: 0..<tags.count, using: &rng)]
        if tag.isConstructed, depth < 5 {
            let children = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                randomTree(depth: depth + 1, using: &rng)
            }
            return TLV(tag: tag, children: children)
        }
        let length = tag.isConstructed ? 0 : [0, 1, 5, 127, 128, 200][Int.random(in: 0..<6, using: &rng)]
        return TLV(tag: tag, value: rng.bytes(count: length))
    }

    @Test("fuzz: 10 000 random byte strings decode or throw; strict successes re-encode exactly")
    func fuzz() {
        var rng = SplitMix64(seed: 0x7_1BE5)
        var accepted = 0
        for iteration in 0..<10_000 {
            var input = rng.bytes(count: Int.random(in: 0...64, using: &rng))
            switch iteration % 4 {
            case 3:
                // A valid random tree, then one byte changed or the tail cut:
                // the only way random input reaches deep, non-empty nesting.
                input = Self.randomTree(depth: 0, using: &rng).encoded()
                if Bool.random(using: &rng) {
                    input = Array(input.prefix(Int.random(in: 0...input.count, using: &rng)))
                } else {
                    let i = Int.random(in: 0..<input.count, using: &rng)
                    input[i] = UInt8.random(in: .min ... .max, using: &rng)
                }
            case 1:
                // Keep every byte below 40: lengths stay short and about half the
                // tags are constructed universal ones, so nesting gets explored.
                input = input.map { $0 & 0x3F }
            case 2:
                // Sprinkle long-form length and padding bytes into that mix to
                // reach the non-minimal and lenient paths.
                input = input.map { byte in
                    switch byte >> 6 {
                    case 0: byte & 0x3F
                    case 1: 0x81
                    case 2: [0x00, 0xFF, 0x82][Int(byte) % 3]
                    default: byte & 0x0F
                    }
                }
            default:
                break
            }
            do {
                let objects = try TLV.decodeAll(input, strict: true)
                accepted += 1
                #expect(objects.encoded() == input)
                for object in objects where object.tag.isConstructed {
                    #expect(throws: Never.self) { try object.children() }
                }
            } catch {
                #expect(!error.reason.isEmpty)
            }
            do {
                let objects = try TLV.decodeAll(input, strict: false)
                // Lenient decoding normalises, and the normal form is strictly valid.
                #expect(try TLV.decodeAll(objects.encoded(), strict: true) == objects)
            } catch {
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(accepted > 100)
    }
}
