// The byte-order helpers of the whole package, one copy each (`package`, not part of any
// product's API): SealKit's own encodings (SPEC §7-§10, the NVM image, USB/IP) are big-endian, the
// USB descriptors and CCID messages little-endian.

extension Array where Element == UInt8 {
    /// Appends the `MemoryLayout<T>.size` big-endian bytes of `value`.
    @inlinable
    package mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { append(contentsOf: $0) }
    }

    /// Appends the UTF-8 bytes of `text`: one copy of a native string's contiguous bytes, where
    /// `+= text.utf8` walks the view generically.
    @inlinable
    package mutating func appendUTF8(_ text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }

    /// Appends the `MemoryLayout<T>.size` little-endian bytes of `value`.
    @inlinable
    package mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var little = value.littleEndian
        Swift.withUnsafeBytes(of: &little) { append(contentsOf: $0) }
    }
}

/// Reads a big-endian unsigned integer from exactly `bytes.count` bytes (at most
/// `MemoryLayout<T>.size`; the caller checks the count).
@inlinable
package func readBigEndian<T: FixedWidthInteger>(_ bytes: some Collection<UInt8>, as: T.Type) -> T {
    var value: T = 0
    for byte in bytes { value = value << 8 | T(byte) }
    return value
}

/// Reads a little-endian unsigned integer from exactly `bytes.count` bytes (at most
/// `MemoryLayout<T>.size`; the caller checks the count).
@inlinable
package func readLittleEndian<T: FixedWidthInteger>(_ bytes: some Collection<UInt8>, as: T.Type) -> T {
    var value: T = 0
    var shift = 0
    for byte in bytes {
        value |= T(byte) << shift
        shift += 8
    }
    return value
}

/// Reads the `MemoryLayout<T>.size` little-endian bytes at `offset` of a fixed-layout record
/// (USB descriptors, CCID headers); the caller checks the bounds.
@inlinable
package func readLittleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as type: T.Type) -> T {
    readLittleEndian(bytes[offset..<offset + MemoryLayout<T>.size], as: type)
}

/// Big-endian bytes of an integer.
@inlinable
package func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(MemoryLayout<T>.size)
    out.appendBigEndian(value)
    return out
}

/// Little-endian bytes of an integer.
@inlinable
package func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(MemoryLayout<T>.size)
    out.appendLittleEndian(value)
    return out
}

/// Decodes a big-endian unsigned integer of exactly `MemoryLayout<T>.size` bytes, or throws.
package func decodeBigEndian<T: FixedWidthInteger>(_ bytes: [UInt8], as type: T.Type, field: String) throws(SealDataError) -> T {
    guard bytes.count == MemoryLayout<T>.size else {
        throw SealDataError(.invalidLength, "\(field) must be \(MemoryLayout<T>.size) bytes, got \(bytes.count)")
    }
    return readBigEndian(bytes, as: T.self)
}

/// Decodes a big-endian unsigned integer of exactly `MemoryLayout<T>.size` bytes of a decoded
/// field, or throws (the same check as for an array).
package func decodeBigEndian<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, as type: T.Type, field: String) throws(SealDataError) -> T {
    guard bytes.count == MemoryLayout<T>.size else {
        throw SealDataError(.invalidLength, "\(field) must be \(MemoryLayout<T>.size) bytes, got \(bytes.count)")
    }
    return readBigEndian(bytes, as: T.self)
}

/// Uppercase hex without separators, as used in certificate subjects and JSON records.
///
/// Inlinable so that callers get it specialized for their sequence type: the verifier writes a
/// dozen hex values into every report, and the unspecialized generic loop cost more than one of
/// its two ECDSA verifications (`sealledger bench`, admission).
@inlinable
package func hexString(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(hexDigit(byte >> 4))
        out.append(hexDigit(byte & 0x0F))
    }
    return String(decoding: out, as: UTF8.self)
}

/// The uppercase hex digit of a nibble (0…15).
@inlinable
package func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? 0x30 + nibble : 0x37 + nibble
}

/// Parses hex (upper or lower case, optional spaces); nil when not hex.
package func bytesFromHex(_ text: String) -> [UInt8]? {
    var out: [UInt8] = []
    var high: UInt8?
    for scalar in text.unicodeScalars {
        if scalar == " " || scalar == ":" { continue }
        let nibble: UInt8
        switch scalar.value {
        case 0x30...0x39: nibble = UInt8(scalar.value - 0x30)
        case 0x41...0x46: nibble = UInt8(scalar.value - 0x41 + 10)
        case 0x61...0x66: nibble = UInt8(scalar.value - 0x61 + 10)
        default: return nil
        }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return high == nil ? out : nil
}
