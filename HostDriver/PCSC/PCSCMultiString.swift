import SealHostDriver
/// PC/SC "multi-strings": `SCardListReaders` returns reader names as NUL-terminated strings one
/// after another, ended by an empty string (so the buffer ends in two NULs), e.g.
/// `"Virtual PCD 00 00\0Virtual PCD 00 01\0\0"`.
enum PCSCMultiString {
    /// The strings of a multi-string buffer, in order. Parsing stops at the first empty string or at
    /// the end of the buffer, whichever comes first, so a missing final NUL (a truncated buffer)
    /// still yields the complete names before it; bytes are decoded as UTF-8, repairing invalid
    /// sequences.
    static func parse<Bytes: Collection>(_ bytes: Bytes) -> [String] where Bytes.Element == UInt8 {
        var names: [String] = []
        var current: [UInt8] = []
        for byte in bytes {
            if byte == 0 {
                if current.isEmpty { return names }
                names.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty { names.append(String(decoding: current, as: UTF8.self)) }
        return names
    }

    /// Encodes names as a multi-string (for tests and for symmetry with ``parse(_:)``).
    static func encode(_ names: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for name in names where !name.isEmpty {
            bytes.append(contentsOf: Array(name.utf8))
            bytes.append(0)
        }
        bytes.append(0)
        if names.allSatisfy(\.isEmpty) { bytes.append(0) }
        return bytes
    }
}
