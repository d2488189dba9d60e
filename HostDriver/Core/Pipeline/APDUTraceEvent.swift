/// One APDU as seen on the wire, for `sealctl --trace` and logs.
public struct APDUTraceEvent: Hashable, Sendable, CustomStringConvertible {
    /// Which way the bytes travelled.
    public enum Direction: String, Hashable, Sendable {
        /// Host to token (a command APDU).
        case command = ">>"
        /// Token to host (a response APDU).
        case response = "<<"
    }

    /// Which way the bytes travelled.
    public var direction: Direction
    /// The bytes exactly as sent or received, except that secret data fields are replaced by `2A`
    /// bytes when ``redacted`` is `true`.
    public var bytes: [UInt8]
    /// Human-readable decoding, from `APDUTraceDecoder`.
    public var decoded: String
    /// `true` when the data field was masked (PIN, PUK, personalization secrets).
    public var redacted: Bool

    /// Creates an event.
    package init(direction: Direction, bytes: [UInt8], decoded: String, redacted: Bool = false) {
        self.direction = direction
        self.bytes = bytes
        self.decoded = decoded
        self.redacted = redacted
    }

    /// `">> 00 A4 04 00 09 F0 … 00  SELECT seal applet, Nc=9, Ne=256"`.
    public var description: String {
        "\(direction.rawValue) \(APDUTraceDecoder.hexDump(bytes))  \(decoded)"
    }
}

/// Receives trace events. Called synchronously, in order, from the task sending the APDUs.
public typealias APDUTraceHandler = @Sendable (APDUTraceEvent) -> Void
