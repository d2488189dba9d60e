import Foundation

/// What the imprint's QR code carries (docs/imprint.md, "Payload"): where the stamp's record sits in
/// which ledger, and the values printed beside it. Version 1 is one URL: the ledger's base URL, then
/// a fragment of `key=value` fields,
///
/// ```
/// http://127.0.0.1:8079#st=1&o=sealkit.local/ledger&i=17&h=<43 base64url>&s=<serial>&e=<8 digits>
/// ```
///
/// A phone opens the ledger's URL (the fragment never leaves the phone); `sealctl trace` reads the
/// fields. The payload is not signed: it is a pointer. Its integrity comes from the ledger — the entry
/// at `i` must hash to `h` and be included in a checkpoint signed by the log's key under origin `o`,
/// and the entry's signed serial and expiration code must be `s` and `e`.
public struct TracePayload: Sendable, Hashable {
    /// The format version this library writes and reads.
    public static let version = 1

    /// The ledger's base URL (`http` or `https`), without a trailing slash or fragment.
    public let ledgerURL: String
    /// The log's origin, the first line of its checkpoints (e.g. `sealkit.local/ledger`).
    public let origin: String
    /// The record's entry index in the log.
    public let index: UInt64
    /// SHA-256 of the entry's bytes (the record's canonical bytes), 32 bytes.
    public let recordHash: [UInt8]
    /// The stamp's watermark serial (SPEC §10.1), as printed on the imprint.
    public let serial: String
    /// The stamp's 8-digit expiration code (SPEC §10.2), as printed on the imprint.
    public let expirationCode: String

    /// A payload of the given parts, checked as ``init(text:)`` checks them.
    /// - Throws: ``ImprintError`` `.malformedPayload`.
    public init(ledgerURL: String, origin: String, index: UInt64, recordHash: [UInt8], serial: String,
                expirationCode: String) throws(ImprintError) {
        self.ledgerURL = try Self.checkedURL(ledgerURL)
        self.origin = try Self.checked("o", origin, Self.isOrigin)
        self.index = index
        guard recordHash.count == 32 else { throw Self.malformed("the record hash is 32 bytes, not \(recordHash.count)") }
        self.recordHash = recordHash
        self.serial = try Self.checked("s", serial, Self.isSerial)
        self.expirationCode = try Self.checked("e", expirationCode, Self.isExpirationCode)
    }

    /// The text the QR code holds.
    public var text: String {
        let hash = Data(recordHash).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "\(ledgerURL)#st=\(Self.version)&o=\(Self.escaped(origin))&i=\(index)&h=\(hash)&s=\(serial)&e=\(expirationCode)"
    }

    /// Parses a payload: the URL before the first `#`, then exactly the fields `st`, `o`, `i`, `h`,
    /// `s`, `e` in that order, each once (a reader of version 1 refuses anything else).
    /// - Throws: ``ImprintError`` `.malformedPayload`, or `.unsupportedPayloadVersion` for `st` ≠ 1.
    public init(text: String) throws(ImprintError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let hashMark = trimmed.firstIndex(of: "#") else { throw Self.malformed("no '#' after the ledger URL") }
        let url = String(trimmed[..<hashMark])
        let fields = trimmed[trimmed.index(after: hashMark)...].split(separator: "&", omittingEmptySubsequences: false)
        var values: [String: String] = [:]
        var keys: [String] = []
        for field in fields {
            guard let equals = field.firstIndex(of: "=") else { throw Self.malformed("field '\(field.prefix(20))' has no '='") }
            let key = String(field[..<equals])
            guard let value = String(field[field.index(after: equals)...]).removingPercentEncoding else {
                throw Self.malformed("field \(key) is not percent-encoded UTF-8")
            }
            keys.append(key)
            values[key] = value
        }
        guard keys.first == "st", let version = values["st"] else { throw Self.malformed("the fragment does not start with st=") }
        guard version == String(Self.version) else {
            throw ImprintError(code: .unsupportedPayloadVersion, reason: "trace payload version \(version.prefix(8)); this reader knows version \(Self.version)")
        }
        guard keys == ["st", "o", "i", "h", "s", "e"] else {
            throw Self.malformed("the fields are \(keys.joined(separator: ",").prefix(60)), not st,o,i,h,s,e")
        }
        guard let indexText = values["i"], let index = UInt64(indexText), String(index) == indexText else {
            throw Self.malformed("i is not a decimal entry index")
        }
        guard let hashText = values["h"], hashText.count == 43,
              hashText.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }),
              let hash = Data(base64Encoded: hashText.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "="),
              hash.count == 32 else {
            throw Self.malformed("h is not 43 base64url characters of a SHA-256 hash")
        }
        try self.init(ledgerURL: url, origin: values["o"] ?? "", index: index, recordHash: Array(hash),
                      serial: values["s"] ?? "", expirationCode: values["e"] ?? "")
        // Only the canonical spelling: one payload, one text (and so one QR code).
        guard self.text == trimmed else { throw Self.malformed("not in canonical form (escaping, trailing slash or hash padding)") }
    }

    private static func malformed(_ why: String) -> ImprintError {
        ImprintError(code: .malformedPayload, reason: "not a trace payload: \(why)")
    }

    private static func checked(_ key: String, _ value: String, _ isValid: (String) -> Bool) throws(ImprintError) -> String {
        guard isValid(value) else { throw malformed("field \(key) '\(value.prefix(40))' is not well formed") }
        return value
    }

    private static func checkedURL(_ text: String) throws(ImprintError) -> String {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host?.isEmpty == false, url.fragment == nil, url.query == nil, !text.hasSuffix("/"),
              text.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw malformed("the ledger URL '\(text.prefix(60))' is not an http(s) base URL without query, fragment or trailing slash")
        }
        return text
    }

    /// A C2SP origin: printable, 1…255 bytes, no whitespace.
    static func isOrigin(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255 && text.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0.value >= 0x21 && $0.value != 0x7F }
    }

    /// SPEC §10.1's shape: 30 characters of digits, capitals and dashes, the last (the check symbol)
    /// possibly one of `*~$=U` too. Whether the check symbol checks is the trace's serial check,
    /// which reports a wrong serial as such rather than as a malformed payload.
    static func isSerial(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func plain(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x2D }
        guard bytes.count == 30, let check = bytes.last else { return false }
        return bytes.dropLast().allSatisfy(plain) && (plain(check) || "*~$=".utf8.contains(check))
    }

    static func isExpirationCode(_ text: String) -> Bool {
        text.utf8.count == 8 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Percent-encodes what would end a field or the fragment (`&`, `=`, `#`, `%`), and anything
    /// outside printable ASCII.
    static func escaped(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && !"&=#%+ \"<>\\^`{|}".utf8.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
