// ISO 7816-3 §8.2 Answer-to-Reset, plus the ISO 7816-4 §8.1 historical-bytes
// card-capabilities object that tells a host whether chaining and extended
// lengths may be used.

/// A parsed ISO 7816-3 Answer-to-Reset.
///
/// Construction validates the whole structure (TS, the T0/TDi chain, the
/// historical-byte count and TCK), so every accessor on a value is total.
/// The original ``bytes`` are kept verbatim; everything else is derived.
public struct AnswerToReset: Hashable, Sendable, CustomStringConvertible {
    /// The ATR exactly as received, TS through TCK.
    public let bytes: [UInt8]
    /// Bit convention announced by TS.
    public let convention: Convention
    /// Interface bytes per level i = 1, 2, …: TAi, TBi, TCi, TDi.
    public let interfaceBytes: [InterfaceBytes]
    /// The historical bytes T1 … TK.
    public let historicalBytes: [UInt8]
    /// TCK, present whenever a protocol other than T=0 is indicated.
    public let checkCharacter: UInt8?

    /// ISO 7816-3 caps an ATR at TS plus 32 further characters.
    public static let maximumLength = 33

    /// The TS conventions of ISO 7816-3 §8.1.
    public enum Convention: Sendable, Hashable {
        /// TS = `3B`.
        case direct
        /// TS = `3F`. The bytes are expected already decoded by the reader.
        case inverse
    }

    /// The interface bytes of one level of the ATR; absent bytes are `nil`.
    public struct InterfaceBytes: Sendable, Hashable {
        /// TAi (for i = 1: the clock rate and baud rate factors Fi/Di).
        public var ta: UInt8?
        /// TBi.
        public var tb: UInt8?
        /// TCi (for i = 1: the extra guard time).
        public var tc: UInt8?
        /// TDi: the protocol type T (low nibble) and which interface bytes of the next level follow.
        public var td: UInt8?

        /// Creates one level of interface bytes.
        public init(ta: UInt8? = nil, tb: UInt8? = nil, tc: UInt8? = nil, td: UInt8? = nil) {
            self.ta = ta
            self.tb = tb
            self.tc = tc
            self.td = td
        }

        /// The protocol type T announced by TDi (low nibble), if TDi is present.
        public var protocolType: Int? { td.map { Int($0 & 0x0F) } }
    }

    /// Parses and validates an ATR; the same as ``init(bytes:)``, named like
    /// the APDU decoders.
    public init(decoding bytes: [UInt8]) throws(ATRError) {
        try self.init(bytes: bytes)
    }

    /// Parses and validates an ATR.
    ///
    /// - Throws: ``ATRError`` — `.tooShort`, `.tooLong`, `.invalidInitialCharacter`,
    ///   `.truncated` (announced interface or historical bytes missing),
    ///   `.missingChecksum`, `.checksumMismatch`, `.trailingBytes`.
    public init(bytes: [UInt8]) throws(ATRError) {
        guard bytes.count >= 2 else {
            throw ATRError(code: .tooShort, reason: "ATR needs TS and T0, got \(bytes.count) byte(s)")
        }
        guard bytes.count <= Self.maximumLength else {
            throw ATRError(code: .tooLong, reason: "\(bytes.count) bytes exceed the ISO 7816-3 limit of 33")
        }
        switch bytes[0] {
        case 0x3B: convention = .direct
        case 0x3F: convention = .inverse
        default:
            throw ATRError(
                code: .invalidInitialCharacter,
                reason: "TS \(CodecHex.byte(bytes[0])) is neither 3B nor 3F"
            )
        }

        let t0 = bytes[1]
        let historicalCount = Int(t0 & 0x0F)
        var presence = t0 >> 4  // Y1: which of TA1 TB1 TC1 TD1 follow.
        var index = 2
        var levels: [InterfaceBytes] = []
        var needsChecksum = false

        func next(_ name: String) throws(ATRError) -> UInt8 {
            guard index < bytes.count else {
                throw ATRError(code: .truncated, reason: "ATR ends before \(name)")
            }
            defer { index += 1 }
            return bytes[index]
        }

        // Walk the TDi chain. Each TDi consumes a byte, so the 33-byte cap
        // bounds the loop even on hostile input.
        while true {
            let level = levels.count + 1
            var current = InterfaceBytes()
            if presence & 0x1 != 0 { current.ta = try next("TA\(level)") }
            if presence & 0x2 != 0 { current.tb = try next("TB\(level)") }
            if presence & 0x4 != 0 { current.tc = try next("TC\(level)") }
            if presence & 0x8 != 0 { current.td = try next("TD\(level)") }
            levels.append(current)
            guard let td = current.td else { break }
            // ISO 7816-3 §8.2.5: TCK is present as soon as any T other than 0
            // is indicated, T=15 (global bytes) included.
            if td & 0x0F != 0 { needsChecksum = true }
            presence = td >> 4
        }

        guard bytes.count - index >= historicalCount else {
            throw ATRError(
                code: .truncated,
                reason: "T0 announces \(historicalCount) historical byte(s), \(bytes.count - index) remain"
            )
        }
        historicalBytes = Array(bytes[index..<index + historicalCount])
        index += historicalCount
        interfaceBytes = levels

        let remaining = bytes.count - index
        if needsChecksum {
            guard remaining >= 1 else {
                throw ATRError(code: .missingChecksum, reason: "a protocol other than T=0 requires TCK")
            }
            guard remaining == 1 else {
                throw ATRError(code: .trailingBytes, reason: "\(remaining - 1) byte(s) after TCK")
            }
            // XOR of T0 … TCK must vanish.
            let check = bytes[1...].reduce(0, ^)
            guard check == 0 else {
                throw ATRError(
                    code: .checksumMismatch,
                    reason: "XOR of T0…TCK is \(CodecHex.byte(check)), TCK should be \(CodecHex.byte(check ^ bytes[index]))"
                )
            }
            checkCharacter = bytes[index]
        } else {
            // T=0 only: ISO 7816-3 says TCK shall be absent.
            guard remaining == 0 else {
                throw ATRError(code: .trailingBytes, reason: "\(remaining) byte(s) after historical bytes of a T=0-only ATR")
            }
            checkCharacter = nil
        }
        self.bytes = bytes
    }

    // MARK: Builder

    /// Builds the minimal T=1 ATR `3B 8K 81 01 <historical> TCK`.
    ///
    /// T0 = `8K` announces only TD1 and K historical bytes; TD1 = `81` indicates
    /// T=1 and a TD2; TD2 = `01` repeats T=1 with no further interface bytes —
    /// the same shape virtual smart cards use, so hosts treat it as T=1-only.
    ///
    /// - Throws: `.tooManyHistoricalBytes` when more than 15 are given.
    public static func t1(historicalBytes: [UInt8]) throws(ATRError) -> AnswerToReset {
        guard historicalBytes.count <= 15 else {
            throw ATRError(
                code: .tooManyHistoricalBytes,
                reason: "T0 counts at most 15 historical bytes, got \(historicalBytes.count)"
            )
        }
        var bytes: [UInt8] = [0x3B, 0x80 | UInt8(historicalBytes.count), 0x81, 0x01]
        bytes += historicalBytes
        bytes.append(bytes[1...].reduce(0, ^))
        return try AnswerToReset(bytes: bytes)
    }

    // MARK: Accessors

    /// The protocols T offered in TD1, TD2, …; `{0}` when no TD1 is present.
    ///
    /// T=15 is excluded: it only qualifies global interface bytes and is not a
    /// transmission protocol.
    public var protocols: Set<Int> {
        let offered = Set(interfaceBytes.compactMap(\.protocolType).filter { $0 != 15 })
        return offered.isEmpty ? [0] : offered
    }

    /// The card-capabilities compact-TLV (tag 7) from the historical bytes.
    ///
    /// Read when the category indicator is `80` (compact-TLV objects fill the
    /// rest) or `00` (compact-TLV objects followed by a 3-byte status
    /// indicator). A capabilities object shorter than 3 bytes is padded with
    /// `00`, i.e. "nothing claimed" for the missing bytes. `nil` when absent or
    /// when the compact-TLV data is malformed before the object is reached.
    public var cardCapabilities: (selectionMethods: UInt8, dataCoding: UInt8, third: UInt8)? {
        let objects: ArraySlice<UInt8>
        switch historicalBytes.first {
        case 0x80: objects = historicalBytes.dropFirst()
        case 0x00 where historicalBytes.count >= 4: objects = historicalBytes.dropFirst().dropLast(3)
        default: return nil
        }
        var index = objects.startIndex
        while index < objects.endIndex {
            let header = objects[index]
            let length = Int(header & 0x0F)
            let valueStart = index + 1
            guard objects.endIndex - valueStart >= length else { return nil }
            if header >> 4 == 0x7 {
                let value = objects[valueStart..<valueStart + length]
                func byte(_ offset: Int) -> UInt8 {
                    offset < value.count ? value[value.startIndex + offset] : 0
                }
                return (byte(0), byte(1), byte(2))
            }
            index = valueStart + length
        }
        return nil
    }

    /// Card-capabilities third byte, bit b8: the card accepts command chaining.
    public var supportsCommandChaining: Bool {
        (cardCapabilities?.third ?? 0) & 0x80 != 0
    }

    /// Card-capabilities third byte, bit b7: the card accepts extended Lc and Le.
    public var supportsExtendedLength: Bool {
        (cardCapabilities?.third ?? 0) & 0x40 != 0
    }

    public var description: String {
        "ATR(\(CodecHex.bytes(bytes)))"
    }
}
