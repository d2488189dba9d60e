// ISO 7816-4 §5.1 / ISO 7816-3 §12.1 command APDU, in short and extended length forms.

/// Which length-field encoding a command APDU uses on the wire.
public enum APDULengthForm: Sendable, Hashable {
    /// One-byte Lc (1…255) and Le (`00` = 256).
    case short
    /// `00` marker then two-byte Lc (1…65 535) and Le (`0000` = 65 536).
    case extended
}

/// The four command structures of ISO 7816-3 §12.1.2, by presence of data and Le.
public enum ISOCase: Sendable, Hashable {
    /// No data, no Le: `CLA INS P1 P2`.
    case case1
    /// No data, Le present.
    case case2
    /// Data present, no Le.
    case case3
    /// Data and Le present.
    case case4
}

/// A command APDU: header, optional data field and optional expected response length.
///
/// The value is independent of its encoding, except for one bit of wire
/// detail: whether the extended length form was chosen when the short form
/// would do. The decoder records it and the encoder honours it, so
/// `CommandAPDU(decoding: b).encoded() == b` for every accepted `b` — which
/// lets a chip model and a host driver agree byte for byte and lets tests
/// exercise both forms with the same logical command.
public struct CommandAPDU: Hashable, Sendable, CustomStringConvertible {
    /// Class byte.
    public var cla: UInt8
    /// Instruction byte.
    public var ins: UInt8
    /// Parameter 1.
    public var p1: UInt8
    /// Parameter 2.
    public var p2: UInt8
    /// The command data field (Nc = `data.count`); empty for cases 1 and 2.
    public var data: [UInt8]
    /// Ne, the maximum number of response bytes expected; `nil` when there is no Le field.
    ///
    /// Short Le `00` decodes to 256 and extended Le `0000` to 65 536.
    public var ne: Int?
    /// Encode with extended length fields even when short ones would fit.
    ///
    /// Set by the decoder when the input used the extended form.
    public var forceExtended: Bool

    /// Creates a command.
    ///
    /// Nothing is validated here so that building a command never fails;
    /// ``encoded()`` reports values no encoding can carry.
    /// - Parameters:
    ///   - cla: the class byte.
    ///   - ins: the instruction byte.
    ///   - p1: parameter 1.
    ///   - p2: parameter 2.
    ///   - data: the command data field; empty for no Lc.
    ///   - ne: the expected response length, `nil` for no Le (256 is short Le `00`, 65 536 extended `0000`).
    ///   - forceExtended: use extended length fields even when Nc ≤ 255 and Ne ≤ 256.
    public init(
        cla: UInt8,
        ins: UInt8,
        p1: UInt8,
        p2: UInt8,
        data: [UInt8] = [],
        ne: Int? = nil,
        forceExtended: Bool = false
    ) {
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.ne = ne
        self.forceExtended = forceExtended
    }

    // MARK: Derived properties

    /// The ISO case implied by the presence of data and Le.
    public var isoCase: ISOCase {
        switch (data.isEmpty, ne == nil) {
        case (true, true): .case1
        case (true, false): .case2
        case (false, true): .case3
        case (false, false): .case4
        }
    }

    /// The length form ``encoded()`` will use.
    ///
    /// Extended when forced or when Nc > 255 or Ne > 256; case 1 has no length
    /// fields at all and always reports `.short`.
    public var encodingForm: APDULengthForm {
        if isoCase == .case1 { return .short }
        if forceExtended || data.count > 255 { return .extended }
        if let ne, ne > 256 { return .extended }
        return .short
    }

    /// Whether CLA announces that more commands of the same chain follow (ISO 7816-4 §5.4.1).
    ///
    /// Bit `0x10` means "chaining" only in the first interindustry class
    /// (`00`–`1F`), the further interindustry class (`40`–`7F`) and, by the
    /// common GlobalPlatform convention, proprietary classes (`80`–`FE`).
    /// `20`–`3F` is reserved and `FF` is invalid, so those never chain.
    public var isChained: Bool {
        switch cla {
        case 0x00...0x1F, 0x40...0x7F, 0x80...0xFE: cla & 0x10 != 0
        default: false
        }
    }

    // MARK: Encoding

    /// The wire form, in the length form given by ``encodingForm``.
    ///
    /// - Throws: ``APDUDecodingError/Code/valueTooLarge`` when Nc > 65 535 or
    ///   Ne > 65 536; ``APDUDecodingError/Code/invalidValue`` when Ne ≤ 0.
    public func encoded() throws(APDUDecodingError) -> [UInt8] {
        guard data.count <= 65_535 else {
            throw APDUDecodingError(code: .valueTooLarge, reason: "Nc \(data.count) exceeds 65535")
        }
        if let ne {
            guard ne > 0 else {
                throw APDUDecodingError(code: .invalidValue, reason: "Ne \(ne) must be at least 1")
            }
            guard ne <= 65_536 else {
                throw APDUDecodingError(code: .valueTooLarge, reason: "Ne \(ne) exceeds 65536")
            }
        }

        var out: [UInt8] = [cla, ins, p1, p2]
        out.reserveCapacity(4 + 3 + data.count + 2)
        switch encodingForm {
        case .short:
            if !data.isEmpty {
                out.append(UInt8(truncatingIfNeeded: data.count))
                out += data
            }
            if let ne {
                // 256 truncates to 00, which is exactly the short Le encoding of 256.
                out.append(UInt8(truncatingIfNeeded: ne))
            }
        case .extended:
            // The 00 marker comes once, before whichever length field is first.
            out.append(0x00)
            if !data.isEmpty {
                out.appendBigEndian(UInt16(truncatingIfNeeded: data.count))
                out += data
            }
            if let ne {
                // 65536 truncates to 0000, the extended Le encoding of 65536.
                out.appendBigEndian(UInt16(truncatingIfNeeded: ne))
            }
        }
        return out
    }

    // MARK: Decoding

    /// Decodes a command APDU, accepting exactly the seven forms of ISO 7816-3 §12.1.3 (case 1, 2S–4S, 2E–4E).
    ///
    /// With `n` bytes and `B1` the byte after the header:
    /// - `n == 4`: case 1.
    /// - `n == 5`: case 2S, Le = B1 (`00` = 256). This includes `CLA INS P1 P2 00`.
    /// - `B1 != 0`: Lc = B1; case 3S if `n == 5 + Lc`, case 4S if `n == 6 + Lc`.
    /// - `B1 == 0`, `n == 7`: case 2E, Le = B2B3 (`0000` = 65 536).
    /// - `B1 == 0`, `n > 7`: Lc = B2B3 (must be ≥ 1); case 3E if `n == 7 + Lc`,
    ///   case 4E if `n == 9 + Lc` with a two-byte Le.
    ///
    /// The chosen length form is recorded in ``forceExtended`` so that
    /// re-encoding reproduces the input.
    ///
    /// - Throws: ``APDUDecodingError`` with code `.tooShort` (< 4 bytes),
    ///   `.truncated` (fewer bytes than Lc announces), `.invalidExtendedLength`
    ///   (extended Lc `0000`), `.inconsistentLength` (byte count fits no form,
    ///   e.g. a one-byte Le after extended data) or `.trailingBytes`.
    public init(decoding bytes: [UInt8]) throws(APDUDecodingError) {
        let n = bytes.count
        guard n >= 4 else {
            throw APDUDecodingError(code: .tooShort, reason: "command needs 4 header bytes, got \(n)")
        }
        self.init(cla: bytes[0], ins: bytes[1], p1: bytes[2], p2: bytes[3])

        if n == 4 { return }  // Case 1.

        let b1 = Int(bytes[4])
        if n == 5 {
            // Case 2S. A lone 00 is Le = 256, not the start of an extended APDU.
            ne = b1 == 0 ? 256 : b1
            return
        }

        if b1 != 0 {
            // Short Lc: the data is followed by at most a one-byte Le.
            let lc = b1
            let dataEnd = 5 + lc
            guard n >= dataEnd else {
                throw APDUDecodingError(code: .truncated, reason: "short Lc \(lc) needs \(dataEnd) bytes, got \(n)")
            }
            guard n <= dataEnd + 1 else {
                throw APDUDecodingError(
                    code: .trailingBytes,
                    reason: "\(n - dataEnd - 1) byte(s) after short Le"
                )
            }
            data = Array(bytes[5..<dataEnd])
            if n == dataEnd + 1 {
                let le = Int(bytes[dataEnd])
                ne = le == 0 ? 256 : le
            }
            return
        }

        // B1 == 00 with more bytes following: extended length form.
        forceExtended = true
        guard n >= 7 else {
            throw APDUDecodingError(code: .truncated, reason: "extended length field needs 2 bytes after 00")
        }
        let b23 = Int(bytes[5]) << 8 | Int(bytes[6])
        if n == 7 {
            // Case 2E.
            ne = b23 == 0 ? 65_536 : b23
            return
        }

        let lc = b23
        guard lc != 0 else {
            // 00 0000 followed by anything: Lc 0000 is forbidden in cases 3E/4E.
            throw APDUDecodingError(code: .invalidExtendedLength, reason: "extended Lc 0000 with \(n - 7) byte(s) following")
        }
        let dataEnd = 7 + lc
        guard n >= dataEnd else {
            throw APDUDecodingError(code: .truncated, reason: "extended Lc \(lc) needs \(dataEnd) bytes, got \(n)")
        }
        data = Array(bytes[7..<dataEnd])
        switch n - dataEnd {
        case 0:
            return  // Case 3E.
        case 1:
            throw APDUDecodingError(
                code: .inconsistentLength,
                reason: "one byte after extended data; an extended Le takes two"
            )
        case 2:
            let le = Int(bytes[dataEnd]) << 8 | Int(bytes[dataEnd + 1])
            ne = le == 0 ? 65_536 : le  // Case 4E.
        default:
            throw APDUDecodingError(code: .trailingBytes, reason: "\(n - dataEnd - 2) byte(s) after extended Le")
        }
    }

    // MARK: Equality

    /// Two commands are equal when their fields and their ``encodingForm`` agree,
    /// i.e. exactly when they encode to the same bytes. The raw ``forceExtended``
    /// flag is not compared: it is irrelevant once the content needs extended form.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.cla == rhs.cla && lhs.ins == rhs.ins && lhs.p1 == rhs.p1 && lhs.p2 == rhs.p2
            && lhs.data == rhs.data && lhs.ne == rhs.ne && lhs.encodingForm == rhs.encodingForm
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(cla)
        hasher.combine(ins)
        hasher.combine(p1)
        hasher.combine(p2)
        hasher.combine(data)
        hasher.combine(ne)
        hasher.combine(encodingForm)
    }

    public var description: String {
        var parts = [
            "CLA=\(CodecHex.byte(cla))", "INS=\(CodecHex.byte(ins))",
            "P1=\(CodecHex.byte(p1))", "P2=\(CodecHex.byte(p2))",
        ]
        if !data.isEmpty { parts.append("Nc=\(data.count)") }
        if let ne { parts.append("Ne=\(ne)") }
        if encodingForm == .extended { parts.append("extended") }
        return "CommandAPDU(\(parts.joined(separator: " ")))"
    }
}
