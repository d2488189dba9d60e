import Foundation
import SwiftASN1

/// Reading SES structures field by field from swift-asn1's node tree, keeping every field's
/// original bytes (signatures cover the bytes as received; some real files are not strict DER, so
/// nothing here is ever re-encoded).
/// A class, not a struct: as a struct, its borrow inside a loop crashes the Swift 6.3 optimizer
/// (ownership verifier) in release builds.
final class FieldReader {
    private var iterator: ASN1NodeCollection.Iterator
    private var lookahead: ASN1Node?
    let structure: String

    init(_ node: ASN1Node, structure: String) throws {
        guard node.identifier == .sequence, case .constructed(let children) = node.content else {
            throw SESError(code: .malformed, reason: "\(structure) is not a SEQUENCE")
        }
        iterator = children.makeIterator()
        lookahead = iterator.next()
        self.structure = structure
    }

    var isAtEnd: Bool { lookahead == nil }

    /// The next field's identifier, without consuming it.
    var nextIdentifier: ASN1Identifier? { lookahead?.identifier }

    func next(_ field: String) throws -> ASN1Node {
        guard let node = lookahead else {
            throw SESError(code: .malformed, reason: "\(structure).\(field) is missing")
        }
        lookahead = iterator.next()
        return node
    }

    func next(_ field: String, _ identifier: ASN1Identifier) throws -> ASN1Node {
        let node = try next(field)
        guard node.identifier == identifier else {
            throw SESError(code: .malformed, reason: "\(structure).\(field) has tag \(node.identifier), not \(identifier)")
        }
        return node
    }

    func expectEnd() throws {
        if let extra = lookahead {
            throw SESError(code: .malformed, reason: "\(structure) has an unexpected field with tag \(extra.identifier)")
        }
    }

    func integer(_ field: String) throws -> Int {
        let node = try next(field, .integer)
        do { return try Int(derEncoded: node) } catch {
            throw SESError(code: .malformed, reason: "\(structure).\(field) is not a small DER INTEGER")
        }
    }

    func ia5String(_ field: String) throws -> String {
        let node = try next(field, .ia5String)
        let bytes = primitiveBytes(node)
        guard bytes.allSatisfy({ $0 < 0x80 }) else {
            throw SESError(code: .malformed, reason: "\(structure).\(field) is not ASCII")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func utf8String(_ field: String) throws -> String {
        let node = try next(field, .utf8String)
        guard let text = String(validating: primitiveBytes(node), as: UTF8.self) else {
            throw SESError(code: .malformed, reason: "\(structure).\(field) is not valid UTF-8")
        }
        return text
    }

    func octetString(_ field: String) throws -> [UInt8] {
        Array(primitiveBytes(try next(field, .octetString)))
    }

    func objectIdentifier(_ field: String) throws -> String {
        let node = try next(field, .objectIdentifier)
        do { return try ASN1ObjectIdentifier(derEncoded: node).description } catch {
            throw SESError(code: .malformed, reason: "\(structure).\(field) is not an OBJECT IDENTIFIER")
        }
    }

    func bitString(_ field: String) throws -> [UInt8] {
        try bitStringBytes(try next(field, .bitString), "\(structure).\(field)")
    }

    func generalizedTime(_ field: String) throws -> Date {
        let node = try next(field, .generalizedTime)
        do { return try GeneralizedTime(derEncoded: node).date } catch {
            throw SESError(code: .malformed, reason: "\(structure).\(field) is not a DER GeneralizedTime")
        }
    }
}

/// The content of a primitive node (empty for a constructed one, which every caller has ruled out
/// by checking a primitive universal tag).
func primitiveBytes(_ node: ASN1Node) -> ArraySlice<UInt8> {
    if case .primitive(let bytes) = node.content { return bytes }
    return []
}

/// The bytes of a BIT STRING whose bit length is a whole number of bytes; unused bits make a
/// signature or hash ambiguous, so they are refused.
func bitStringBytes(_ node: ASN1Node, _ field: String) throws -> [UInt8] {
    let content = primitiveBytes(node)
    guard let unused = content.first else {
        throw SESError(code: .malformed, reason: "\(field) is an empty BIT STRING")
    }
    guard unused == 0 else {
        throw SESError(code: .ambiguousEncoding, reason: "\(field) has \(unused) unused bits")
    }
    return Array(content.dropFirst())
}

/// The length of the first TLV in `bytes`, header included. Throws `malformed` when the header
/// or the value is cut short, `ambiguousEncoding` for the indefinite form.
func firstElementLength(_ bytes: ArraySlice<UInt8>) throws -> Int {
    var index = bytes.startIndex
    guard index < bytes.endIndex else { throw SESError(code: .malformed, reason: "no bytes") }
    // Multi-byte tag numbers never start an SES structure (it is a SEQUENCE).
    guard bytes[index] & 0x1F != 0x1F else { throw SESError(code: .malformed, reason: "the outer tag is not a SEQUENCE") }
    index += 1
    guard index < bytes.endIndex else { throw SESError(code: .malformed, reason: "the length is missing") }
    let first = bytes[index]
    index += 1
    var length = 0
    if first < 0x80 {
        length = Int(first)
    } else if first == 0x80 {
        throw SESError(code: .ambiguousEncoding, reason: "indefinite length")
    } else {
        let count = Int(first & 0x7F)
        guard count <= 4, bytes.endIndex - index >= count else {
            throw SESError(code: .malformed, reason: "the length field is cut short or too long")
        }
        for _ in 0..<count {
            length = length << 8 | Int(bytes[index])
            index += 1
        }
    }
    let total = index - bytes.startIndex + length
    guard total <= bytes.count else {
        throw SESError(code: .malformed, reason: "the value is cut short: \(bytes.count) of \(total) bytes")
    }
    return total
}

/// Parses the first DER element of `bytes`, reporting how many bytes follow it.
func parseFirstElement(_ bytes: [UInt8]) throws -> (node: ASN1Node, trailingByteCount: Int) {
    let length = try firstElementLength(bytes[...])
    do {
        return (try DER.parse(bytes[0..<length]), bytes.count - length)
    } catch let error as SESError {
        throw error
    } catch {
        throw SESError(code: .malformed, reason: "not DER: \(error)")
    }
}

extension GeneralizedTime {
    var date: Date {
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        components.hour = hours
        components.minute = minutes
        components.second = seconds
        return utcDate(components, fraction: fractionalSeconds)
    }
}

extension UTCTime {
    var date: Date {
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        components.hour = hours
        components.minute = minutes
        components.second = seconds
        return utcDate(components, fraction: 0)
    }
}

private let utcCalendar: Calendar = {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    return calendar
}()

func utcDate(_ components: DateComponents, fraction: Double) -> Date {
    // swift-asn1 has range-checked every component, so the calendar always returns a date.
    (utcCalendar.date(from: components) ?? Date(timeIntervalSince1970: 0)).addingTimeInterval(fraction)
}
