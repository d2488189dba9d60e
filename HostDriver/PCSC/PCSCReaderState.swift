import SealHostDriver
/// The state flags PC/SC reports for a reader (`SCARD_STATE_*`, the `dwEventState` of
/// `SCardGetStatusChange`).
///
/// The raw value holds the low 16 bits of the PC/SC state word. pcsc-lite (and Windows) put an event
/// counter in the high 16 bits, which ``PCSCReaderInfo/eventCount`` carries.
public struct PCSCReaderState: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    /// Creates a state from its raw value (only the low 16 bits are meaningful).
    public init(rawValue: UInt32) { self.rawValue = rawValue & 0xFFFF }

    /// Creates a state from a full PC/SC state word, dropping the event counter in the high 16 bits.
    package init<Word: BinaryInteger>(pcscStateWord: Word) {
        self.init(rawValue: UInt32(truncatingIfNeeded: pcscStateWord))
    }

    /// The event counter in the high 16 bits of a PC/SC state word (pcsc-lite counts card insertions
    /// and removals there).
    package static func eventCount<Word: BinaryInteger>(ofStateWord word: Word) -> Int {
        Int((UInt32(truncatingIfNeeded: word) >> 16) & 0xFFFF)
    }

    // The values are fixed by the PC/SC specification (identical in pcsc-lite, Windows and macOS);
    // PCSCTests checks them against the imported <pcsclite.h> constants.

    /// `SCARD_STATE_IGNORE`: the reader should be ignored (it is gone).
    public static let ignore = PCSCReaderState(rawValue: 0x0001)
    /// `SCARD_STATE_CHANGED`: the state differs from the one the caller passed in.
    public static let changed = PCSCReaderState(rawValue: 0x0002)
    /// `SCARD_STATE_UNKNOWN`: the reader name is not known (the reader was removed).
    public static let unknown = PCSCReaderState(rawValue: 0x0004)
    /// `SCARD_STATE_UNAVAILABLE`: the state of the reader is not available.
    public static let unavailable = PCSCReaderState(rawValue: 0x0008)
    /// `SCARD_STATE_EMPTY`: there is no card in the reader.
    public static let empty = PCSCReaderState(rawValue: 0x0010)
    /// `SCARD_STATE_PRESENT`: a card is in the reader.
    public static let present = PCSCReaderState(rawValue: 0x0020)
    /// `SCARD_STATE_ATRMATCH`: the card's ATR matches a requested one.
    public static let atrMatch = PCSCReaderState(rawValue: 0x0040)
    /// `SCARD_STATE_EXCLUSIVE`: an application holds the card exclusively.
    public static let exclusive = PCSCReaderState(rawValue: 0x0080)
    /// `SCARD_STATE_INUSE`: at least one application is connected to the card (shared).
    public static let inUse = PCSCReaderState(rawValue: 0x0100)
    /// `SCARD_STATE_MUTE`: the card does not answer its reset.
    public static let mute = PCSCReaderState(rawValue: 0x0200)
    /// `SCARD_STATE_UNPOWERED`: the card is not powered.
    public static let unpowered = PCSCReaderState(rawValue: 0x0400)

    static let names: [(PCSCReaderState, String)] = [
        (.ignore, "ignore"), (.changed, "changed"), (.unknown, "unknown"), (.unavailable, "unavailable"),
        (.empty, "empty"), (.present, "present"), (.atrMatch, "atrMatch"), (.exclusive, "exclusive"),
        (.inUse, "inUse"), (.mute, "mute"), (.unpowered, "unpowered"),
    ]

    /// The set flags by name, e.g. `[present, inUse]`; `[]` for `SCARD_STATE_UNAWARE`.
    public var description: String {
        var parts = Self.names.filter { contains($0.0) }.map(\.1)
        let rest = rawValue & ~Self.names.reduce(0) { $0 | $1.0.rawValue }
        if rest != 0 { parts.append("0x" + String(rest, radix: 16, uppercase: true)) }
        return "[" + parts.joined(separator: ", ") + "]"
    }
}
