// ISO 7816-4 §5.6 status words (SW1-SW2), the two-byte trailer of every response.

/// The two status bytes SW1-SW2 that end every response APDU (ISO 7816-4 §5.6).
///
/// A plain `UInt16` wrapper: any value is representable, because cards send
/// proprietary status words and the codec must carry them through unchanged.
/// The named constants cover the interindustry values this toolkit emits or
/// interprets; ``description`` renders the ISO meaning for logs, e.g.
/// `"6982 (security status not satisfied)"`.
public struct StatusWord: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// SW1 in the high byte, SW2 in the low byte.
    public var rawValue: UInt16

    /// Wraps a raw status word such as `0x9000`.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Builds a status word from its two bytes as they appear on the wire.
    public init(sw1: UInt8, sw2: UInt8) {
        self.rawValue = UInt16(sw1) << 8 | UInt16(sw2)
    }

    /// The first status byte (the category).
    public var sw1: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
    /// The second status byte (the qualifier).
    public var sw2: UInt8 { UInt8(truncatingIfNeeded: rawValue) }

    // MARK: Constants

    /// `9000`: normal processing, no further qualification.
    public static let success = StatusWord(rawValue: 0x9000)
    /// `6200`: warning, non-volatile memory unchanged, no information given.
    public static let warningNoInformation = StatusWord(rawValue: 0x6200)
    /// `6281`: part of the returned data may be corrupted.
    public static let dataCorrupted = StatusWord(rawValue: 0x6281)
    /// `6282`: end of file or record reached before reading Ne bytes.
    public static let endOfFileBeforeLe = StatusWord(rawValue: 0x6282)
    /// `6300`: non-volatile memory changed, no information given; used for a failed authentication.
    public static let authenticationFailed = StatusWord(rawValue: 0x6300)
    /// `6581`: memory failure.
    public static let memoryFailure = StatusWord(rawValue: 0x6581)
    /// `6700`: wrong length (Lc or Le).
    public static let wrongLength = StatusWord(rawValue: 0x6700)
    /// `6881`: logical channel not supported.
    public static let logicalChannelNotSupported = StatusWord(rawValue: 0x6881)
    /// `6882`: secure messaging not supported.
    public static let secureMessagingNotSupported = StatusWord(rawValue: 0x6882)
    /// `6883`: last command of the chain expected.
    public static let lastCommandOfChainExpected = StatusWord(rawValue: 0x6883)
    /// `6884`: command chaining not supported.
    public static let commandChainingNotSupported = StatusWord(rawValue: 0x6884)
    /// `6982`: security status not satisfied.
    public static let securityStatusNotSatisfied = StatusWord(rawValue: 0x6982)
    /// `6983`: authentication method blocked.
    public static let authenticationMethodBlocked = StatusWord(rawValue: 0x6983)
    /// `6984`: reference data not usable (invalidated).
    public static let referenceDataInvalidated = StatusWord(rawValue: 0x6984)
    /// `6985`: conditions of use not satisfied.
    public static let conditionsOfUseNotSatisfied = StatusWord(rawValue: 0x6985)
    /// `6986`: command not allowed (no current EF).
    public static let commandNotAllowed = StatusWord(rawValue: 0x6986)
    /// `6987`: expected secure-messaging data objects missing (a plain command inside a secure channel).
    public static let secureMessagingDataMissing = StatusWord(rawValue: 0x6987)
    /// `6988`: incorrect secure-messaging data objects (a wrong, replayed or reordered MAC).
    public static let secureMessagingDataIncorrect = StatusWord(rawValue: 0x6988)
    /// `6A80`: incorrect parameters in the command data field.
    public static let wrongData = StatusWord(rawValue: 0x6A80)
    /// `6A81`: function not supported.
    public static let functionNotSupported = StatusWord(rawValue: 0x6A81)
    /// `6A82`: file or application not found.
    public static let fileNotFound = StatusWord(rawValue: 0x6A82)
    /// `6A84`: not enough memory space in the file.
    public static let notEnoughMemory = StatusWord(rawValue: 0x6A84)
    /// `6A86`: incorrect parameters P1-P2.
    public static let incorrectP1P2 = StatusWord(rawValue: 0x6A86)
    /// `6A88`: referenced data or reference data not found.
    public static let referencedDataNotFound = StatusWord(rawValue: 0x6A88)
    /// `6B00`: wrong parameters P1-P2.
    public static let wrongP1P2 = StatusWord(rawValue: 0x6B00)
    /// `6D00`: instruction code not supported or invalid.
    public static let insNotSupported = StatusWord(rawValue: 0x6D00)
    /// `6E00`: class not supported.
    public static let claNotSupported = StatusWord(rawValue: 0x6E00)
    /// `6F00`: no precise diagnosis.
    public static let noPreciseDiagnosis = StatusWord(rawValue: 0x6F00)

    // MARK: Parameterised status words

    /// `61xx`: success, and `n` more response bytes are waiting for GET RESPONSE.
    ///
    /// SW2 is one byte, so ISO encodes "256 or more" as `6100`; any `n ≥ 256` maps
    /// there. Values ≤ 0 carry no meaning and also map to `6100` rather than trapping.
    public static func bytesRemaining(_ n: Int) -> StatusWord {
        StatusWord(sw1: 0x61, sw2: (1...255).contains(n) ? UInt8(n) : 0x00)
    }

    /// `6Cxx`: wrong Le; the card would answer with exactly `exact` bytes.
    ///
    /// `256` (and anything larger) encodes as `6C00`, mirroring the Le `00` = 256
    /// convention; values ≤ 0 also map to `6C00` rather than trapping.
    public static func wrongLe(exact: Int) -> StatusWord {
        StatusWord(sw1: 0x6C, sw2: (1...255).contains(exact) ? UInt8(exact) : 0x00)
    }

    /// `63Cx`: verification failed, `x` tries remaining (clamped to the 0…15 a nibble holds).
    public static func verificationFailed(triesRemaining: Int) -> StatusWord {
        StatusWord(sw1: 0x63, sw2: 0xC0 | UInt8(min(max(triesRemaining, 0), 15)))
    }

    // MARK: Accessors

    /// `true` only for `9000`.
    ///
    /// `61xx` is also "normal processing", but it obliges the caller to fetch the
    /// rest with GET RESPONSE; counting it as success would silently drop data.
    public var isSuccess: Bool { rawValue == 0x9000 }

    /// `true` for the warning categories `62xx` and `63xx`.
    public var isWarning: Bool { sw1 == 0x62 || sw1 == 0x63 }

    /// For `61xx`, the number of bytes still available (`6100` → 256); otherwise `nil`.
    public var bytesRemaining: Int? {
        sw1 == 0x61 ? (sw2 == 0 ? 256 : Int(sw2)) : nil
    }

    /// For `6Cxx`, the exact Ne the card wants (`6C00` → 256); otherwise `nil`.
    public var exactLength: Int? {
        sw1 == 0x6C ? (sw2 == 0 ? 256 : Int(sw2)) : nil
    }

    /// For `63Cx`, the retry counter `x`; otherwise `nil`.
    public var retriesRemaining: Int? {
        sw1 == 0x63 && sw2 & 0xF0 == 0xC0 ? Int(sw2 & 0x0F) : nil
    }

    // MARK: Description

    /// Hex plus the ISO 7816-4 meaning, e.g. `"6982 (security status not satisfied)"`.
    public var description: String {
        "\(CodecHex.word(rawValue)) (\(meaning))"
    }

    /// The ISO 7816-4 Table 5/6 meaning, falling back to the SW1 category for
    /// values without a specific interpretation so logs stay informative.
    private var meaning: String {
        if let exact = Self.meanings[rawValue] { return exact }
        if let n = bytesRemaining { return "\(n) response bytes still available" }
        if let n = exactLength { return "wrong Le field, exact length is \(n)" }
        if let n = retriesRemaining { return "verification failed, \(n) tries remaining" }
        switch sw1 {
        case 0x62: return "warning, non-volatile memory unchanged"
        case 0x63: return "warning, non-volatile memory changed"
        case 0x64: return "execution error, non-volatile memory unchanged"
        case 0x65: return "execution error, non-volatile memory changed"
        case 0x66: return "security-related issue"
        case 0x67: return "wrong length"
        case 0x68: return "functions in CLA not supported"
        case 0x69: return "command not allowed"
        case 0x6A, 0x6B: return "wrong parameters P1-P2"
        case 0x6D: return "instruction code not supported or invalid"
        case 0x6E: return "class not supported"
        case 0x6F: return "no precise diagnosis"
        case 0x90...0x9F: return "proprietary"
        default: return "unknown"
        }
    }

    private static let meanings: [UInt16: String] = [
        0x9000: "success",
        0x6200: "warning, no information given",
        0x6281: "part of returned data may be corrupted",
        0x6282: "end of file or record reached before reading Ne bytes",
        0x6300: "authentication failed",
        0x6581: "memory failure",
        0x6700: "wrong length",
        0x6881: "logical channel not supported",
        0x6882: "secure messaging not supported",
        0x6883: "last command of the chain expected",
        0x6884: "command chaining not supported",
        0x6982: "security status not satisfied",
        0x6983: "authentication method blocked",
        0x6984: "reference data not usable",
        0x6985: "conditions of use not satisfied",
        0x6986: "command not allowed",
        0x6987: "expected secure messaging data objects missing",
        0x6988: "incorrect secure messaging data objects",
        0x6A80: "incorrect parameters in the data field",
        0x6A81: "function not supported",
        0x6A82: "file or application not found",
        0x6A84: "not enough memory space in the file",
        0x6A86: "incorrect parameters P1-P2",
        0x6A88: "referenced data not found",
        0x6B00: "wrong parameters P1-P2",
        0x6D00: "instruction code not supported or invalid",
        0x6E00: "class not supported",
        0x6F00: "no precise diagnosis",
    ]
}
