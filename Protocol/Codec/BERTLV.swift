// ISO 7816-4 §6.3 / ISO 8825-1 (BER) tag-length-value data objects.

/// A BER-TLV tag of one to three bytes, stored as its big-endian byte value.
///
/// `0x9F01` is the two-byte tag `9F 01`; `0x5F2D` is `5F 2D`; `0x7F4980`
/// would be a three-byte tag. The raw value is the tag as written in specs,
/// which keeps constants readable (`let tag: BERTag = 0x7F49`).
public struct BERTag: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The tag bytes packed big-endian into the low bytes (`9F 01` → `0x9F01`).
    public var rawValue: UInt32

    /// Wraps a packed tag value such as `0x9F01`.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// A tag written as in the specs: `let tag: BERTag = 0x9F01`.
    public init(integerLiteral value: UInt32) {
        self.rawValue = value
    }

    /// The tag's bytes as they appear on the wire: leading zero bytes dropped,
    /// at least one byte (so tag `0x00` is `[00]`).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        var started = false
        for shift in stride(from: 24, through: 0, by: -8) {
            let byte = UInt8(truncatingIfNeeded: rawValue >> UInt32(shift))
            if byte != 0 || started || shift == 0 {
                started = true
                out.append(byte)
            }
        }
        return out
    }

    /// The first (leading) tag byte, which carries class and constructed bits.
    public var firstByte: UInt8 {
        // Highest non-zero byte, computed without materialising `bytes`
        // because the decoder asks for it on every object.
        let significantBits = UInt32.bitWidth - rawValue.leadingZeroBitCount
        let shift = max(0, (significantBits - 1) / 8) * 8
        return UInt8(truncatingIfNeeded: rawValue >> UInt32(shift))
    }

    /// Whether the value field is itself a sequence of TLVs (bit `0x20` of the first byte).
    public var isConstructed: Bool { firstByte & 0x20 != 0 }

    /// The ASN.1 class from bits 8–7 of the first byte.
    public var tagClass: TagClass {
        switch firstByte >> 6 {
        case 0: .universal
        case 1: .application
        case 2: .contextSpecific
        default: .private
        }
    }

    /// ASN.1 tag classes (ISO 8825-1 §8.1.2.2).
    public enum TagClass: Sendable, Hashable {
        /// Bits `00`: a universal ASN.1 type.
        case universal
        /// Bits `01`: an application-wide tag (`41`–`5F`, `61`–`7F` first bytes).
        case application
        /// Bits `10`: a context-specific tag (`80`–`BF` first bytes), as most SPEC §7 tags are.
        case contextSpecific
        /// Bits `11`: a private tag (`C0`–`FF` first bytes), as the grant fields `C1`–`C6` are.
        case `private`
    }

    public var description: String {
        // Unspaced, as tags are written in specs: "9F01".
        bytes.map(CodecHex.byte).joined()
    }
}

/// One BER-TLV data object: a tag and its value bytes.
///
/// The value is kept as raw bytes even for constructed tags; call
/// ``children(strict:)`` to decode the nested objects. Decoding validates
/// constructed values recursively, so a decoded constructed object's children
/// are known to be well formed, and every decoded object re-encodes in the
/// canonical form a strict decoder accepts.
public struct TLV: Hashable, Sendable, CustomStringConvertible {
    /// The tag.
    public var tag: BERTag
    /// The value field.
    public var value: [UInt8]

    /// The number of nesting levels the decoder accepts: a top-level object is
    /// level 1, its children level 2, and so on.
    ///
    /// Bounding recursion keeps decoding total on hostile input: thousands of
    /// nested `A0 83 xx xx xx` headers cannot exhaust the stack. Real smart-card
    /// data rarely nests beyond 3–4 levels.
    public static let maximumDepth = 8

    /// Creates a data object from a tag and its value bytes.
    public init(tag: BERTag, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    /// Creates a constructed data object whose value is the encoding of `children`.
    public init(tag: BERTag, children: [TLV]) {
        self.tag = tag
        self.value = children.encoded()
    }

    /// Decodes exactly one data object.
    ///
    /// - Throws: ``TLVDecodingError``; `.trailingBytes` when more follows the object.
    public init(decoding bytes: [UInt8], strict: Bool = true) throws(TLVDecodingError) {
        var parser = Parser(bytes: bytes[...], strict: strict)
        guard let first = try parser.next(depth: 0) else {
            throw TLVDecodingError(code: .truncated, reason: "no data object in input")
        }
        guard parser.isAtEnd else {
            throw TLVDecodingError(code: .trailingBytes, reason: "bytes follow tag \(first.tag)")
        }
        self = first
    }

    /// Decodes a concatenation of data objects (the top level only; nested
    /// values are validated but left as bytes).
    ///
    /// - Parameter bytes: zero or more encoded objects, back to back.
    /// - Parameter strict: when `true` (the default), reject anything whose
    ///   re-encoding would differ: non-minimal lengths and `00`/`FF` padding
    ///   bytes, so `decodeAll(b).encoded() == b`. When `false`, accept
    ///   non-minimal lengths and skip the `00`/`FF` padding ISO 7816-4 permits
    ///   between objects, normalising nested values so the result re-encodes
    ///   canonically. Indefinite lengths are rejected either way: ISO 7816-4
    ///   only defines definite lengths, and cards never send them.
    /// - Throws: ``TLVDecodingError``.
    public static func decodeAll(_ bytes: [UInt8], strict: Bool = true) throws(TLVDecodingError) -> [TLV] {
        try decodeAll(bytes[...], strict: strict, depth: 0)
    }

    /// Decodes this object's value as nested data objects.
    ///
    /// - Throws: `.notConstructed` when the tag's constructed bit is clear,
    ///   otherwise as ``decodeAll(_:strict:)``.
    public func children(strict: Bool = true) throws(TLVDecodingError) -> [TLV] {
        guard tag.isConstructed else {
            throw TLVDecodingError(code: .notConstructed, reason: "tag \(tag) is primitive")
        }
        return try Self.decodeAll(value[...], strict: strict, depth: 1)
    }

    /// The wire form with the shortest length encoding.
    ///
    /// Lengths up to `0xFFFFFF` use the `81`/`82`/`83` forms the decoder
    /// accepts; larger values (never seen on a card) fall back to longer BER
    /// forms rather than failing.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(9 + value.count)
        append(to: &out)
        return out
    }

    /// Appends the encoding to `out`, avoiding intermediate arrays when encoding lists: every
    /// response the chip builds goes through here.
    func append(to out: inout [UInt8]) {
        let raw = tag.rawValue
        if raw > 0xFFFFFF { out.append(UInt8(truncatingIfNeeded: raw >> 24)) }
        if raw > 0xFFFF { out.append(UInt8(truncatingIfNeeded: raw >> 16)) }
        if raw > 0xFF { out.append(UInt8(truncatingIfNeeded: raw >> 8)) }
        out.append(UInt8(truncatingIfNeeded: raw))
        let length = value.count
        if length < 0x80 {
            out.append(UInt8(length))
        } else if length <= 0xFF {
            out.append(0x81)
            out.append(UInt8(length))
        } else if length <= 0xFFFF {
            out.append(0x82)
            out.append(UInt8(truncatingIfNeeded: length >> 8))
            out.append(UInt8(truncatingIfNeeded: length))
        } else if length <= 0xFF_FFFF {
            out.append(0x83)
            out.append(UInt8(truncatingIfNeeded: length >> 16))
            out.append(UInt8(truncatingIfNeeded: length >> 8))
            out.append(UInt8(truncatingIfNeeded: length))
        } else {
            out.append(0x84)
            out.append(UInt8(truncatingIfNeeded: length >> 24))
            out.append(UInt8(truncatingIfNeeded: length >> 16))
            out.append(UInt8(truncatingIfNeeded: length >> 8))
            out.append(UInt8(truncatingIfNeeded: length))
        }
        out += value
    }

    public var description: String {
        "TLV(\(tag), \(value.count) byte(s))"
    }

    // MARK: Decoding internals

    private static func decodeAll(
        _ bytes: ArraySlice<UInt8>,
        strict: Bool,
        depth: Int
    ) throws(TLVDecodingError) -> [TLV] {
        var parser = Parser(bytes: bytes, strict: strict)
        var result: [TLV] = []
        while let object = try parser.next(depth: depth) {
            result.append(object)
        }
        return result
    }

    /// Checks `bytes` exactly as ``decodeAll(_:strict:)`` does (the same errors, in the same
    /// order), building nothing: the seal decoders run it before reading fields one at a time.
    static func validateAll(_ bytes: ArraySlice<UInt8>, strict: Bool = true, depth: Int = 0) throws(TLVDecodingError) {
        var parser = Parser(bytes: bytes, strict: strict)
        while try parser.nextObject(depth: depth, validatingChildren: true) != nil {}
    }

    /// A cursor over the input. Every read is bounds-checked against the end
    /// of the input so malformed input turns into a typed error, never a trap.
    ///
    /// The cursor is an index into the input, which is never re-sliced while
    /// reading (re-slicing an `ArraySlice` per byte retains and releases its
    /// storage every time): the chip parses a STAMP request on every stamp.
    struct Parser {
        private let input: ArraySlice<UInt8>
        /// The next unread byte.
        private var position: Int
        let strict: Bool

        init(bytes: ArraySlice<UInt8>, strict: Bool) {
            input = bytes
            position = bytes.startIndex
            self.strict = strict
        }

        var isAtEnd: Bool { position == input.endIndex }

        /// Bytes not read yet.
        private var remaining: Int { input.endIndex - position }

        /// Returns the next object, or `nil` at the end of input.
        mutating func next(depth: Int) throws(TLVDecodingError) -> TLV? {
            // Strict input is already canonical: its children are only checked (without building
            // them); lenient input is decoded to drop the padding and shorten the lengths inside.
            guard let object = try nextObject(depth: depth, validatingChildren: strict) else { return nil }
            let (tag, value) = (object.tag, object.value)
            if tag.isConstructed && !strict {
                // Drop padding and shorten lengths inside, so that encoded()
                // is canonical for the whole tree, not just the outer header.
                let children = try TLV.decodeAll(value, strict: strict, depth: depth + 1)
                return TLV(tag: tag, value: children.encoded())
            }
            return TLV(tag: tag, value: Array(value))
        }

        /// The next object's tag and value bytes, or `nil` at the end of input: every check of
        /// ``next(depth:)``, without copying the value. A constructed value's children are
        /// checked here when `validatingChildren` (the caller decodes them otherwise).
        mutating func nextObject(depth: Int, validatingChildren: Bool) throws(TLVDecodingError) -> Object? {
            if !strict {
                // ISO 7816-4: 00 or FF may pad before, between and after objects.
                while position < input.endIndex, input[position] == 0x00 || input[position] == 0xFF {
                    position += 1
                }
            }
            guard !isAtEnd else { return nil }

            let tag = try readTag()
            let length = try readLength()
            guard remaining >= length else {
                throw TLVDecodingError(
                    code: .truncated,
                    reason: "tag \(tag) announces \(length) byte(s), \(remaining) remain"
                )
            }
            let valueEnd = position + length
            let value = input[position..<valueEnd]
            position = valueEnd

            if tag.isConstructed {
                // A constructed value must itself be a sequence of objects; check
                // now so children() on decoded data cannot surprise the caller.
                // An empty constructed value has no children, so it cannot nest deeper.
                guard depth + 1 < TLV.maximumDepth || value.isEmpty else {
                    throw TLVDecodingError(
                        code: .tooDeep,
                        reason: "constructed tag \(tag) nested beyond depth \(TLV.maximumDepth)"
                    )
                }
                if validatingChildren {
                    try TLV.validateAll(value, strict: strict, depth: depth + 1)
                }
            }
            return Object(tag: tag, value: value)
        }

        /// One object as the parser finds it: its tag and its value bytes, not copied. (A struct
        /// rather than a tuple: an optional tuple is destroyed through runtime type metadata.)
        struct Object {
            let tag: BERTag
            let value: ArraySlice<UInt8>
        }

        private mutating func readByte(_ what: String) throws(TLVDecodingError) -> UInt8 {
            guard position < input.endIndex else {
                throw TLVDecodingError(code: .truncated, reason: "input ends inside \(what)")
            }
            defer { position += 1 }
            return input[position]
        }

        /// Tag rules of ISO 7816-4 §6.3: low five bits `11111` in the first byte
        /// announce further bytes; bit 8 of each further byte announces another.
        /// This codec supports up to three tag bytes.
        private mutating func readTag() throws(TLVDecodingError) -> BERTag {
            let first = try readByte("tag")
            if strict, first == 0x00 || first == 0xFF {
                throw TLVDecodingError(
                    code: .invalidTag,
                    reason: "\(CodecHex.byte(first)) is padding, not a tag"
                )
            }
            var raw = UInt32(first)
            guard first & 0x1F == 0x1F else { return BERTag(rawValue: raw) }

            let second = try readByte("tag")
            // A second byte of 80 is a leading all-zero group of tag-number
            // bits, which both X.690 and ISO 7816-4 forbid. Second bytes 00–1E
            // (numbers that would fit one byte) are also invalid per ISO 7816-4,
            // but EMV and deployed cards use them (9F01, 9F1A, 5F2A …), and
            // they re-encode unambiguously, so they are accepted.
            if second == 0x80 {
                throw TLVDecodingError(
                    code: .invalidTag,
                    reason: "\(CodecHex.byte(first)) 80 has a zero leading tag-number group"
                )
            }
            raw = raw << 8 | UInt32(second)
            guard second & 0x80 != 0 else { return BERTag(rawValue: raw) }

            let third = try readByte("tag")
            guard third & 0x80 == 0 else {
                throw TLVDecodingError(code: .invalidTag, reason: "tag longer than 3 bytes")
            }
            raw = raw << 8 | UInt32(third)
            return BERTag(rawValue: raw)
        }

        /// Definite lengths: `00`–`7F`, `81 xx`, `82 xx xx`, `83 xx xx xx`.
        private mutating func readLength() throws(TLVDecodingError) -> Int {
            let first = try readByte("length")
            if first < 0x80 { return Int(first) }
            if first == 0x80 {
                throw TLVDecodingError(code: .indefiniteLength, reason: "indefinite length 80")
            }
            let count = Int(first & 0x7F)
            guard count <= 3 else {
                throw TLVDecodingError(
                    code: .invalidLength,
                    reason: "length field \(CodecHex.byte(first)) uses \(count) bytes; at most 3 supported"
                )
            }
            var length = 0
            for _ in 0..<count {
                length = length << 8 | Int(try readByte("length"))
            }
            // Minimal: 81 only for 80–FF, 82 only from 0100, 83 only from 010000.
            let minimum = count == 1 ? 0x80 : 1 << (8 * (count - 1))
            if strict, length < minimum {
                throw TLVDecodingError(
                    code: .nonMinimalLength,
                    reason: "length \(length) encoded with \(count + 1) bytes"
                )
            }
            return length
        }
    }
}

extension Array where Element == TLV {
    /// The concatenated encodings of the objects, in order.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        // Tag ≤ 4 and length ≤ 4 bytes per object: one allocation for the whole list.
        out.reserveCapacity(reduce(0) { $0 + 8 + $1.value.count })
        for object in self { object.append(to: &out) }
        return out
    }

    /// The first object with `tag`, or `nil`.
    public func first(_ tag: BERTag) -> TLV? {
        first { $0.tag == tag }
    }
}
