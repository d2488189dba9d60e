#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds a key that appears twice in one JSON object, anywhere in a document.
///
/// Foundation's decoders keep one of the values silently (the first), while other JSON readers keep
/// the last: a record with a duplicated key would mean different things to different verifiers, so
/// ``StampRecord/init(jsonData:)`` refuses it. Runs only on a document the decoder has already
/// accepted, so it need not validate JSON: it follows strings (decoding escapes, so `"a"` and
/// `"\u0061"` are the same key), objects and arrays, and skips everything else.
package enum JSONDuplicateKeys {
    /// A duplicated key and the dotted path of the object that holds it (`""` for the top level).
    package struct Duplicate: Equatable {
        package let objectPath: String
        package let key: String

        /// The dotted path of the duplicated key itself, e.g. `metadata.time`.
        package var path: String { objectPath.isEmpty ? key : "\(objectPath).\(key)" }
    }

    private enum Container {
        case object(path: String, keys: Set<String>, expectingKey: Bool, currentKey: String)
        case array(path: String, index: Int)

        /// The path of a value that starts now inside this container.
        var childPath: String {
            switch self {
            case .object(let path, _, _, let key): path.isEmpty ? key : "\(path).\(key)"
            case .array(let path, let index): "\(path)[\(index)]"
            }
        }
    }

    /// The first duplicated key in document order, or nil.
    package static func first(in json: Data) -> Duplicate? {
        let bytes = [UInt8](json)
        var stack: [Container] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                stack.append(.object(path: stack.last?.childPath ?? "", keys: [], expectingKey: true, currentKey: ""))
                index += 1
            case UInt8(ascii: "["):
                stack.append(.array(path: stack.last?.childPath ?? "", index: 0))
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                index += 1
            case UInt8(ascii: ","):
                switch stack.last {
                case .object(let path, let keys, _, let key)?:
                    stack[stack.count - 1] = .object(path: path, keys: keys, expectingKey: true, currentKey: key)
                case .array(let path, let position)?:
                    stack[stack.count - 1] = .array(path: path, index: position + 1)
                case nil: break
                }
                index += 1
            case UInt8(ascii: "\""):
                let (text, end) = string(in: bytes, from: index + 1)
                index = end
                if case .object(let path, var keys, true, _)? = stack.last {
                    // Take the container off the stack first so `keys` is the set's only owner and
                    // the insert does not copy it: copying per key made an object of n keys cost
                    // n² (a hostile record of many unknown keys, which the decoder ignores, hung).
                    stack.removeLast()
                    guard keys.insert(text).inserted else { return Duplicate(objectPath: path, key: text) }
                    stack.append(.object(path: path, keys: keys, expectingKey: false, currentKey: text))
                }
            default:
                index += 1
            }
        }
        return nil
    }

    /// Decodes the string whose contents start at `start` (after the opening quote); returns it
    /// and the index after the closing quote.
    private static func string(in bytes: [UInt8], from start: Int) -> (String, Int) {
        var units: [UInt16] = []
        var raw: [UInt8] = []
        var index = start
        func flush() {
            units += String(decoding: raw, as: UTF8.self).utf16
            raw.removeAll()
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                break
            }
            guard byte == UInt8(ascii: "\\"), index + 1 < bytes.count else {
                raw.append(byte)
                index += 1
                continue
            }
            flush()
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "b"): units.append(0x08)
            case UInt8(ascii: "f"): units.append(0x0C)
            case UInt8(ascii: "n"): units.append(0x0A)
            case UInt8(ascii: "r"): units.append(0x0D)
            case UInt8(ascii: "t"): units.append(0x09)
            case UInt8(ascii: "u"):
                let end = min(index + 4, bytes.count)
                units.append(UInt16(String(decoding: bytes[index..<end], as: UTF8.self), radix: 16) ?? 0xFFFD)
                index = end
            default: units.append(UInt16(escaped))   // \" \\ \/
            }
        }
        flush()
        // Surrogate pairs from \uD83D\uDE00 join here; lone ones become U+FFFD.
        return (String(decoding: units, as: UTF16.self), index)
    }
}
