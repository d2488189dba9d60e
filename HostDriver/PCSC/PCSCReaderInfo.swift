import SealHostDriver
/// One PC/SC reader as ``PCSCReaders/list()`` found it.
public struct PCSCReaderInfo: Hashable, Sendable, CustomStringConvertible {
    /// The reader name exactly as PC/SC reports it, e.g. `"Virtual PCD 00 00"`. Pass it to
    /// ``PCSCTransport/init(readerName:shareMode:disconnectDisposition:)``.
    public let name: String
    /// The reader's state flags.
    public let state: PCSCReaderState
    /// The card's Answer-to-Reset when a card is present, else `nil`.
    public let atr: [UInt8]?
    /// The reader's event counter (pcsc-lite: the high 16 bits of the state word; it changes with
    /// every insertion and removal).
    public let eventCount: Int

    /// Creates a reader description.
    package init(name: String, state: PCSCReaderState, atr: [UInt8]?, eventCount: Int = 0) {
        self.name = name
        self.state = state
        self.atr = atr
        self.eventCount = eventCount
    }

    /// Whether a card is in the reader.
    public var isCardPresent: Bool { state.contains(.present) }

    /// Whether another application holds the card exclusively, so connecting would fail.
    public var isExclusivelyInUse: Bool { state.contains(.exclusive) }

    public var description: String {
        let atrText = atr.map { " ATR " + APDUTraceDecoder.hexDump($0) } ?? ""
        return "\(name) \(state)\(atrText)"
    }
}
