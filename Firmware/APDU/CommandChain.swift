import SealProtocol

/// An open command chain (SPEC §3.4): the header every further part must repeat and the data
/// received so far. Volatile; discarded on any chaining error, reset and power.
struct CommandChain {
    let header: CommandHeader
    private(set) var data: [UInt8]

    init(header: CommandHeader, firstPart: [UInt8]) {
        self.header = header
        self.data = firstPart
    }

    /// Whether appending `count` more bytes keeps the chain within the chip's command-data
    /// limit (its chain buffer, SPEC §3.5).
    func canAppend(_ count: Int, limit: Int) -> Bool {
        data.count + count <= limit
    }

    mutating func append(_ part: [UInt8]) {
        data += part
    }
}
