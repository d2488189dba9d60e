/// Reads a sequence of TLV fields in a fixed order: the shape of every seal template whose field
/// order the spec fixes (SPEC §7). Each call takes the next field and insists on its tag.
///
/// The whole input is checked first, as `TLV.decodeAll(_:strict: true)` checks it (so a malformed
/// object anywhere is reported before a field out of place, whatever the caller checks between
/// fields), then the fields are read one at a time straight from the input: no `[TLV]` and no copy
/// of a value the caller does not keep. The chip decodes a STAMP request this way on every stamp.
struct TLVFieldReader {
    /// The fields not read yet (already checked).
    private var rest: TLV.Parser
    /// The next field, read ahead so that ``nextTag`` can answer.
    private var current: TLV.Parser.Object?
    private let context: String

    init(_ bytes: [UInt8], context: String) throws(SealDataError) {
        self.context = context
        rest = TLV.Parser(bytes: bytes[...], strict: true)
        current = nil
        do {
            try TLV.validateAll(bytes[...])
        } catch {
            throw SealDataError(.malformedTLV, "\(context): \(error)")
        }
        try advance()
    }

    /// Reads the next field ahead. It cannot fail: the whole input passed the same checks in init.
    private mutating func advance() throws(SealDataError) {
        do {
            current = try rest.nextObject(depth: 0, validatingChildren: false)
        } catch {
            throw SealDataError(.malformedTLV, "\(context): \(error)")
        }
    }

    var nextTag: BERTag? { current?.tag }

    /// The next field's value bytes, without copying them.
    mutating func slice(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> ArraySlice<UInt8> {
        guard let field = current, field.tag == tag else {
            throw SealDataError(.missingField, "\(context): \(name) (\(tag)) expected")
        }
        guard length.contains(field.value.count) else {
            throw SealDataError(.invalidLength, "\(context): \(name) must be \(length.lowerBound)...\(length.upperBound) bytes, got \(field.value.count)")
        }
        try advance()
        return field.value
    }

    mutating func bytes(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> [UInt8] {
        Array(try slice(tag, name, length: length))
    }

    mutating func optionalBytes(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> [UInt8]? {
        guard nextTag == tag else { return nil }
        return try bytes(tag, name, length: length)
    }

    mutating func uint32(_ tag: BERTag, _ name: String) throws(SealDataError) -> UInt32 {
        readBigEndian(try slice(tag, name, length: 4...4), as: UInt32.self)
    }

    mutating func uint64(_ tag: BERTag, _ name: String) throws(SealDataError) -> UInt64 {
        readBigEndian(try slice(tag, name, length: 8...8), as: UInt64.self)
    }

    mutating func ascii(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> String {
        let value = try slice(tag, name, length: length)
        guard value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw SealDataError(.invalidEncoding, "\(context): \(name) is not printable ASCII")
        }
        return String(decoding: value, as: UTF8.self)
    }

    func finish() throws(SealDataError) {
        if let field = current {
            throw SealDataError(.unexpectedField, "\(context): unexpected field \(field.tag)")
        }
    }
}
