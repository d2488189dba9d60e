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

    /// Whether appending `count` more bytes keeps the chain within the command-data limit.
    func canAppend(_ count: Int) -> Bool {
        data.count + count <= SealApplet.maxCommandData
    }

    mutating func append(_ part: [UInt8]) {
        data += part
    }
}
