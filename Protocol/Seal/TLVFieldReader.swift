/// Reads a sequence of TLV fields in a fixed order: the shape of every seal template whose field
/// order the spec fixes (SPEC §7). Each call takes the next field and insists on its tag.
struct TLVFieldReader {
    private let fields: [TLV]
    private var index = 0
    private let context: String

    init(_ bytes: [UInt8], context: String) throws(SealDataError) {
        do {
            fields = try TLV.decodeAll(bytes, strict: true)
        } catch {
            throw SealDataError(.malformedTLV, "\(context): \(error)")
        }
        self.context = context
    }

    var nextTag: BERTag? { index < fields.count ? fields[index].tag : nil }

    mutating func bytes(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> [UInt8] {
        guard index < fields.count, fields[index].tag == tag else {
            throw SealDataError(.missingField, "\(context): \(name) (\(tag)) expected")
        }
        let value = fields[index].value
        guard length.contains(value.count) else {
            throw SealDataError(.invalidLength, "\(context): \(name) must be \(length.lowerBound)...\(length.upperBound) bytes, got \(value.count)")
        }
        index += 1
        return value
    }

    mutating func optionalBytes(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> [UInt8]? {
        guard nextTag == tag else { return nil }
        return try bytes(tag, name, length: length)
    }

    mutating func uint32(_ tag: BERTag, _ name: String) throws(SealDataError) -> UInt32 {
        try decodeBigEndian(try bytes(tag, name, length: 4...4), as: UInt32.self, field: name)
    }

    mutating func uint64(_ tag: BERTag, _ name: String) throws(SealDataError) -> UInt64 {
        try decodeBigEndian(try bytes(tag, name, length: 8...8), as: UInt64.self, field: name)
    }

    mutating func ascii(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> String {
        let value = try bytes(tag, name, length: length)
        guard value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw SealDataError(.invalidEncoding, "\(context): \(name) is not printable ASCII")
        }
        return String(decoding: value, as: UTF8.self)
    }

    func finish() throws(SealDataError) {
        guard index == fields.count else {
            throw SealDataError(.unexpectedField, "\(context): unexpected field \(fields[index].tag)")
        }
    }
}
