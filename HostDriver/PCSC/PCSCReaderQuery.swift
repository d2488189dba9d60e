import SealHostDriver
/// Resolves what a user typed (`sealctl --reader`) to one PC/SC reader name.
enum PCSCReaderQuery {
    /// Resolves `query` against `readers`:
    ///
    /// 1. a reader named exactly `query` wins;
    /// 2. otherwise a reader whose name equals `query` ignoring case;
    /// 3. otherwise the one reader whose name contains `query` ignoring case.
    ///
    /// Leading and trailing whitespace in `query` is ignored.
    ///
    /// - Throws: ``PCSCError/Code-swift.struct/invalidArgument`` for an empty query,
    ///   ``PCSCError/Code-swift.struct/readerNotFound`` (listing all readers) when nothing matches,
    ///   ``PCSCError/Code-swift.struct/readerAmbiguous`` (listing the matches) when several do.
    static func resolve(_ query: String, among readers: [String]) throws(PCSCError) -> String {
        if readers.contains(query) { return query }
        let trimmed = trimmingWhitespace(query)
        guard !trimmed.isEmpty else {
            throw PCSCError(code: .invalidArgument, reason: "the reader query is empty", readers: readers)
        }
        if readers.contains(trimmed) { return trimmed }
        let needle = trimmed.lowercased()
        let sameIgnoringCase = readers.filter { $0.lowercased() == needle }
        if sameIgnoringCase.count == 1, let only = sameIgnoringCase.first { return only }
        let matches = sameIgnoringCase.isEmpty ? readers.filter { $0.lowercased().contains(needle) } : sameIgnoringCase
        switch matches.count {
        case 1:
            return matches[0]
        case 0:
            throw PCSCError(code: .readerNotFound, reason: "no reader matches \"\(trimmed)\"", readers: readers)
        default:
            throw PCSCError(code: .readerAmbiguous, reason: "\"\(trimmed)\" matches \(matches.count) readers",
                            readers: matches)
        }
    }

    private static func trimmingWhitespace(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
