import SealHostDriver
/// A change seen by ``PCSCReaderMonitor``.
public enum PCSCReaderEvent: Hashable, Sendable, CustomStringConvertible {
    /// A reader appeared (or was already there when monitoring started, if the monitor reports
    /// existing readers).
    case readerAdded(name: String)
    /// A reader disappeared. A card that was in it is reported as ``cardRemoved(reader:)`` first.
    case readerRemoved(name: String)
    /// A card was inserted (or was already in the reader when it was first seen), with its ATR.
    /// The ATR may be empty for a mute card.
    case cardInserted(reader: String, atr: [UInt8])
    /// The card was removed from the reader.
    case cardRemoved(reader: String)

    /// The reader the event concerns.
    public var reader: String {
        switch self {
        case .readerAdded(let name), .readerRemoved(let name): return name
        case .cardInserted(let reader, _), .cardRemoved(let reader): return reader
        }
    }

    public var description: String {
        switch self {
        case .readerAdded(let name): return "reader added: \(name)"
        case .readerRemoved(let name): return "reader removed: \(name)"
        case .cardInserted(let reader, let atr): return "card inserted in \(reader): ATR \(APDUTraceDecoder.hexDump(atr))"
        case .cardRemoved(let reader): return "card removed from \(reader)"
        }
    }
}
