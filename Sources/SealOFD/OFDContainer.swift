import Foundation
import ZIPFoundation

/// An OFD container (a ZIP archive, GB/T 33190 §5) read into memory: its file entries by name, in
/// archive order. Directory entries are skipped; entry names carry no leading `/`.
public struct OFDContainer: Sendable {
    /// The archive's bytes as given.
    public let archiveBytes: [UInt8]
    /// The names of the file entries, in archive order.
    public let entryNames: [String]
    private let entries: [String: [UInt8]]

    /// Reads every file entry of `archiveBytes` (CRC-32 checked).
    ///
    /// - Throws: ``OFDError`` `.notAContainer` when the bytes are not a ZIP archive or an entry
    ///   cannot be extracted.
    public init(archiveBytes: [UInt8]) throws {
        let archive: Archive
        do {
            archive = try Archive(data: Data(archiveBytes), accessMode: .read)
        } catch {
            throw OFDError(code: .notAContainer, reason: "not a ZIP archive: \(error)")
        }
        var names: [String] = []
        var entries: [String: [UInt8]] = [:]
        for entry in archive where entry.type == .file {
            var bytes: [UInt8] = []
            do {
                _ = try archive.extract(entry, skipCRC32: false) { bytes += $0 }
            } catch {
                throw OFDError(code: .notAContainer, reason: "entry \(entry.path) cannot be extracted: \(error)")
            }
            let name = OFDPath.entryName(entry.path)
            // A name twice in one archive is ambiguous: which copy would a reference mean?
            guard entries[name] == nil else { throw OFDError(code: .notAContainer, reason: "entry \(name) occurs twice") }
            names.append(name)
            entries[name] = bytes
        }
        self.archiveBytes = archiveBytes
        self.entryNames = names
        self.entries = entries
    }

    /// The uncompressed bytes of the entry `name` (no leading `/`), if present.
    public subscript(name: String) -> [UInt8]? { entries[name] }

    func require(_ name: String, for purpose: String) throws -> [UInt8] {
        guard let bytes = entries[name] else {
            throw OFDError(code: .missingEntry, reason: "\(purpose) /\(name) is not in the container")
        }
        return bytes
    }
}

/// ST_Loc paths (GB/T 33190 Table 2): a leading `/` is the package root, anything else is relative
/// to the directory of the file that holds it. ZIP entry names have no leading `/`.
enum OFDPath {
    /// The entry name for a path read from a ZIP directory (a leading `/` removed).
    static func entryName(_ path: String) -> String {
        String(path.drop { $0 == "/" })
    }

    /// The directory (entry-name form, no trailing `/`) of an entry.
    static func directory(of entry: String) -> String {
        guard let slash = entry.lastIndex(of: "/") else { return "" }
        return String(entry[..<slash])
    }

    /// Resolves `location` as written in the file `holder` (an entry name) to an entry name,
    /// removing `.` and `..` segments; nil when `..` would leave the package.
    static func resolve(_ location: String, from holder: String) -> String? {
        let trimmed = location.trimmingCharacters(in: .whitespacesAndNewlines)
        let joined = trimmed.hasPrefix("/") ? trimmed : directory(of: holder) + "/" + trimmed
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            default: parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }
}
