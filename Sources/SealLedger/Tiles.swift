/// C2SP tlog-tiles: tile coordinates, their paths and entry bundles.
///
/// A tile at level L, index N holds the hashes at tree level 8·L numbered [256·N, 256·N + W):
/// level 0 holds leaf hashes, level 1 the roots of full level-0 tiles, and so on. A full tile has
/// W = 256 (8,192 bytes); a partial one 1...255 and the path suffix `.p/W`. Tiles never change once
/// full; a partial tile is a prefix of the later tile at the same place.
public struct TileID: Hashable, Sendable, CustomStringConvertible {
    /// Hashes in a full tile.
    public static let width = 256

    /// The tile level (0 for leaf hashes), or `nil` for an entry bundle (`tile/entries/...`).
    public var level: Int?
    /// The tile index.
    public var index: UInt64
    /// The number of hashes (or entries): 256 for a full tile, 1...255 for a partial one.
    public var count: Int

    /// A tile of hashes (`level` ≥ 0) or an entry bundle (`level` nil).
    public init(level: Int?, index: UInt64, count: Int) {
        self.level = level
        self.index = index
        self.count = count
    }

    /// The path under the log's prefix, e.g. `tile/0/x001/x234/067.p/8` or `tile/entries/000`.
    public var path: String {
        let kind = level.map(String.init) ?? "entries"
        return "tile/\(kind)/\(Self.encodeIndex(index))" + (count == Self.width ? "" : ".p/\(count)")
    }

    /// The path.
    public var description: String { path }

    /// Parses a tile path (without the leading `/`).
    /// - Throws: ``LedgerError`` `.malformedInput` for anything but a canonical C2SP tile path.
    public init(path: String) throws(LedgerError) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let bad = LedgerError(code: .malformedInput, reason: "not a tile path: \(path)")
        guard parts.count >= 3, parts[0] == "tile" else { throw bad }
        let level: Int?
        if parts[1] == "entries" {
            level = nil
        } else if let l = Int(parts[1]), String(l) == parts[1], (0...63).contains(l) {
            level = l
        } else { throw bad }
        parts.removeFirst(2)
        var count = Self.width
        if parts.count >= 2, parts[parts.count - 2].hasSuffix(".p") {
            guard let w = Int(parts[parts.count - 1]), String(w) == parts[parts.count - 1], (1..<Self.width).contains(w) else { throw bad }
            count = w
            parts.removeLast()
            parts[parts.count - 1].removeLast(2)
        }
        guard let index = Self.decodeIndex(parts) else { throw bad }
        self.init(level: level, index: index, count: count)
    }

    /// N in groups of three digits, every group but the last prefixed with `x`.
    static func encodeIndex(_ index: UInt64) -> String {
        var groups: [String] = []
        var n = index
        repeat {
            let group = String(n % 1000)
            groups.append(String(repeating: "0", count: 3 - group.count) + group)
            n /= 1000
        } while n > 0
        return groups.reversed().enumerated().map { $0.offset < groups.count - 1 ? "x" + $0.element : $0.element }.joined(separator: "/")
    }

    static func decodeIndex(_ groups: [String]) -> UInt64? {
        guard !groups.isEmpty, groups.count <= 7 else { return nil }
        var n: UInt64 = 0
        for (i, group) in groups.enumerated() {
            var digits = Substring(group)
            if i < groups.count - 1 {
                guard digits.first == "x" else { return nil }
                digits = digits.dropFirst()
            }
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(digits) else { return nil }
            let (product, overflow) = n.multipliedReportingOverflow(by: 1000)
            guard !overflow else { return nil }
            n = product + value
        }
        // Canonical form only: no leading all-zero group.
        guard encodeIndex(n) == groups.joined(separator: "/") else { return nil }
        return n
    }
}

/// Entry bundles: each entry as a big-endian 16-bit length and its bytes.
public enum EntryBundle {
    /// The largest entry a bundle can hold.
    public static let maximumEntrySize = 65_535

    /// Encodes entries into a bundle.
    /// - Throws: ``LedgerError`` `.entryTooLarge` for an entry over 65,535 bytes.
    public static func encode(_ entries: [[UInt8]]) throws(LedgerError) -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            guard entry.count <= maximumEntrySize else {
                throw LedgerError(code: .entryTooLarge, reason: "an entry of \(entry.count) bytes exceeds \(maximumEntrySize)")
            }
            out += [UInt8(entry.count >> 8), UInt8(entry.count & 0xFF)] + entry
        }
        return out
    }

    /// Decodes a bundle.
    /// - Throws: ``LedgerError`` `.malformedInput` when a length runs past the end.
    public static func decode(_ bundle: [UInt8]) throws(LedgerError) -> [[UInt8]] {
        var entries: [[UInt8]] = []
        var i = 0
        while i < bundle.count {
            guard i + 2 <= bundle.count else { throw LedgerError(code: .malformedInput, reason: "a truncated entry length") }
            let length = Int(bundle[i]) << 8 | Int(bundle[i + 1])
            guard i + 2 + length <= bundle.count else { throw LedgerError(code: .malformedInput, reason: "a truncated entry") }
            entries.append(Array(bundle[(i + 2)..<(i + 2 + length)]))
            i += 2 + length
        }
        return entries
    }
}

/// The right edge of a tiled tree: the partial (not yet full) tile of every level. Appending leaf
/// hashes fills them; a full tile is handed out once and its root moves up a level.
struct TileEdge: Sendable {
    /// `partial[L]` = the hashes of the last, partial tile of level L (0...255 of them).
    private(set) var partial: [[MerkleHash]] = [[]]
    private(set) var size: UInt64 = 0

    init() {}

    /// Rebuilds the edge of a tree of `size` leaves from its stored tiles.
    init(size: UInt64, readTile: (Int, UInt64) throws(LedgerError) -> [UInt8]?) throws(LedgerError) {
        self.size = size
        partial = []
        var level = 0
        var count = size
        repeat {
            let index = count / UInt64(TileID.width)
            let width = Int(count % UInt64(TileID.width))
            var hashes: [MerkleHash] = []
            if width > 0 {
                guard let data = try readTile(level, index), data.count >= width * 32 else {
                    throw LedgerError(code: .inconsistentTree, reason: "tile \(level)/\(index) is missing or short for size \(size)")
                }
                hashes = (0..<width).map { Array(data[($0 * 32)..<($0 * 32 + 32)]) }
            }
            partial.append(hashes)
            count /= UInt64(TileID.width)
            level += 1
        } while count > 0
    }

    /// Appends leaf hashes; returns the tiles whose bytes changed, (level, index) → all their hashes.
    mutating func append(_ leafHashes: [MerkleHash]) -> [TileKey: [UInt8]] {
        var changed: [TileKey: [UInt8]] = [:]
        var touched = Set<Int>()
        for leaf in leafHashes {
            var hash = leaf
            var level = 0
            var count = size
            while true {
                if partial.count <= level { partial.append([]) }
                partial[level].append(hash)
                touched.insert(level)
                guard partial[level].count == TileID.width else { break }
                // The tile is full: hand it out once, and its root becomes a hash of the next level.
                changed[TileKey(level: level, index: count / UInt64(TileID.width))] = partial[level].flatMap { $0 }
                hash = MerkleTree.rootHash(leafHashes: partial[level])
                partial[level] = []
                count /= UInt64(TileID.width)
                level += 1
            }
            size += 1
        }
        for level in touched where !partial[level].isEmpty {
            changed[TileKey(level: level, index: (size >> UInt64(8 * level)) / UInt64(TileID.width))] = partial[level].flatMap { $0 }
        }
        return changed
    }
}

/// A tile of hashes by level and index.
struct TileKey: Hashable, Sendable {
    var level: Int
    var index: UInt64
}

/// Hashes of complete subtrees read from tiles: the tree level `h` hash number `k` is the root
/// of the 2^(h mod 8) hashes it covers in tile level ⌊h/8⌋.
func subtreeHash(level: Int, index: UInt64, readTile: (Int, UInt64) throws(LedgerError) -> [UInt8]) throws(LedgerError) -> MerkleHash {
    let tileLevel = level / 8
    let span = 1 << (level % 8)
    let first = index << UInt64(level % 8)
    let tileIndex = first / UInt64(TileID.width)
    let offset = Int(first % UInt64(TileID.width))
    let data = try readTile(tileLevel, tileIndex)
    guard data.count >= (offset + span) * 32 else {
        throw LedgerError(code: .inconsistentTree, reason: "tile \(tileLevel)/\(tileIndex) is too short for hash \(level)/\(index)")
    }
    let hashes = (offset..<(offset + span)).map { Array(data[($0 * 32)..<($0 * 32 + 32)]) }
    return MerkleTree.rootHash(leafHashes: hashes)
}

/// A tile with its internal nodes computed once: `levels[r]` holds the roots of the complete runs
/// of 2^r hashes, so any complete subtree inside the tile is one lookup (proofs read these).
struct HashedTile: Sendable {
    let levels: [[MerkleHash]]

    init(bytes: [UInt8]) {
        var level = stride(from: 0, to: bytes.count / 32 * 32, by: 32).map { Array(bytes[$0..<($0 + 32)]) }
        var levels = [level]
        while level.count > 1 {
            level = stride(from: 0, to: level.count - 1, by: 2).map { MerkleTree.nodeHash(level[$0], level[$0 + 1]) }
            levels.append(level)
        }
        self.levels = levels
    }
}

/// The complete-subtree hash at tree level `level`, number `index`, from hashed tiles.
func subtreeHash(level: Int, index: UInt64, hashedTile: (Int, UInt64) throws(LedgerError) -> HashedTile) throws(LedgerError) -> MerkleHash {
    let subLevel = level % 8
    let tileIndex = (index << UInt64(subLevel)) / UInt64(TileID.width)
    let position = Int(index % UInt64(TileID.width >> subLevel))
    let tile = try hashedTile(level / 8, tileIndex)
    guard subLevel < tile.levels.count, position < tile.levels[subLevel].count else {
        throw LedgerError(code: .inconsistentTree, reason: "tile \(level / 8)/\(tileIndex) is too short for hash \(level)/\(index)")
    }
    return tile.levels[subLevel][position]
}
