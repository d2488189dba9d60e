/// Appends BER-TLV objects straight into one byte buffer: no intermediate `TLV` values or value
/// arrays. Produces exactly what `[TLV].encoded()` produces (minimal lengths); the encoders on the
/// STAMP path use it because a stamp builds two of these lists.
package struct TLVWriter: Sendable {
    /// The objects appended so far, encoded.
    package private(set) var bytes: [UInt8]

    /// An empty writer whose buffer reserves `capacity` bytes.
    package init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends `tag`, a minimal length and `value`.
    package mutating func append(_ tag: BERTag, _ value: some Collection<UInt8>) {
        appendHeader(tag, length: value.count)
        bytes.append(contentsOf: value)
    }

    /// Appends `tag` with the big-endian bytes of `value` (`u32`/`u64` fields of SPEC §7).
    package mutating func append<T: FixedWidthInteger>(_ tag: BERTag, bigEndian value: T) {
        appendHeader(tag, length: MemoryLayout<T>.size)
        bytes.appendBigEndian(value)
    }

    /// Appends `tag` with the UTF-8 bytes of `text`.
    package mutating func append(_ tag: BERTag, utf8 text: String) {
        appendHeader(tag, length: text.utf8.count)
        bytes.appendUTF8(text)
    }

    private mutating func appendHeader(_ tag: BERTag, length: Int) {
        let raw = tag.rawValue
        if raw > 0xFF_FFFF { bytes.append(UInt8(truncatingIfNeeded: raw >> 24)) }
        if raw > 0xFFFF { bytes.append(UInt8(truncatingIfNeeded: raw >> 16)) }
        if raw > 0xFF { bytes.append(UInt8(truncatingIfNeeded: raw >> 8)) }
        bytes.append(UInt8(truncatingIfNeeded: raw))
        switch length {
        case ..<0x80:
            bytes.append(UInt8(length))
        case ...0xFF:
            bytes.append(0x81)
            bytes.append(UInt8(length))
        case ...0xFFFF:
            bytes.append(0x82)
            bytes.appendBigEndian(UInt16(length))
        case ...0xFF_FFFF:
            bytes.append(0x83)
            bytes.append(UInt8(truncatingIfNeeded: length >> 16))
            bytes.append(UInt8(truncatingIfNeeded: length >> 8))
            bytes.append(UInt8(truncatingIfNeeded: length))
        default:
            bytes.append(0x84)
            bytes.appendBigEndian(UInt32(truncatingIfNeeded: length))
        }
    }
}
