// ISO 7816-4 §5.1 response APDU: `[data] SW1 SW2`.

/// A response APDU: optional response data followed by the status word.
///
/// The response carries no length field (the transport frames it), so any
/// byte string of two or more bytes is a valid response.
public struct ResponseAPDU: Hashable, Sendable, CustomStringConvertible {
    /// The response data field; empty when the card returned only a status word.
    public var data: [UInt8]
    /// The trailing SW1-SW2.
    public var statusWord: StatusWord

    /// Creates a response from its data field and status word.
    public init(data: [UInt8] = [], statusWord: StatusWord) {
        self.data = data
        self.statusWord = statusWord
    }

    /// Decodes `data SW1 SW2`.
    ///
    /// - Throws: ``APDUDecodingError/Code/tooShort`` when fewer than two bytes are given,
    ///   since the status word is mandatory.
    public init(decoding bytes: [UInt8]) throws(APDUDecodingError) {
        guard bytes.count >= 2 else {
            throw APDUDecodingError(
                code: .tooShort,
                reason: "response needs SW1 SW2, got \(bytes.count) byte(s)"
            )
        }
        let split = bytes.count - 2
        self.data = Array(bytes[..<split])
        self.statusWord = StatusWord(sw1: bytes[split], sw2: bytes[split + 1])
    }

    /// The wire form `data SW1 SW2`.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 2)
        out += data
        out.append(statusWord.sw1)
        out.append(statusWord.sw2)
        return out
    }

    public var description: String {
        data.isEmpty ? "\(statusWord)" : "\(CodecHex.bytes(data)) \(statusWord)"
    }
}
