import SealProtocol

/// The chip's Answer-to-Reset (SPEC §2.2): T=1, TCK, and the card-capabilities object announcing
/// command chaining and extended lengths, followed by "SEAL".
enum ChipATR {
    /// `3B 8A 81 01 80 73 80 00 C0 54 53 45 41 4C TCK`.
    static let bytes: [UInt8] = bytes(historicalBytes: SealApplet.historicalBytes)

    /// The ATR of a chip with `capabilities`: the card-capabilities object announces chaining and
    /// extended length only when the chip offers them (`… 73 80 00 80 …` for the constrained profile).
    static func bytes(for capabilities: SealCapabilities) -> [UInt8] {
        capabilities == .reference ? bytes : bytes(historicalBytes: capabilities.historicalBytes)
    }

    private static func bytes(historicalBytes: [UInt8]) -> [UInt8] {
        if let atr = try? AnswerToReset.t1(historicalBytes: historicalBytes) {
            return atr.bytes
        }
        // Unreachable with 10 historical bytes; built by hand so no path can trap.
        var bytes: [UInt8] = [0x3B, 0x80 | UInt8(historicalBytes.count & 0x0F), 0x81, 0x01]
        bytes += historicalBytes
        bytes.append(bytes.dropFirst().reduce(0, ^))
        return bytes
    }
}
