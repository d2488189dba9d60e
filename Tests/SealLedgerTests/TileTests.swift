import Foundation
@testable import SealLedger
import Testing

@Suite("C2SP tlog-tiles")
struct TileTests {
    @Test func pathsUseThreeDigitGroupsAndPartialSuffixes() throws {
        #expect(TileID(level: 0, index: 1_234_067, count: 256).path == "tile/0/x001/x234/067")
        #expect(TileID(level: 1, index: 0, count: 8).path == "tile/1/000.p/8")
        #expect(TileID(level: nil, index: 1000, count: 256).path == "tile/entries/x001/000")
        #expect(TileID(level: nil, index: 5, count: 255).path == "tile/entries/005.p/255")
        for id in [TileID(level: 0, index: 1_234_067, count: 256), TileID(level: 3, index: 999, count: 1),
                   TileID(level: nil, index: 1_000_000, count: 17), TileID(level: 0, index: 0, count: 256)] {
            #expect(try TileID(path: id.path) == id)
        }
        // Non-canonical or malformed paths are refused.
        for bad in ["tile/0/1", "tile/0/0001", "tile/0/x000/001", "tile/0/001.p/256", "tile/0/001.p/0", "tile/0/001.p/08",
                    "tile/00/001", "tile/-1/001", "tile/data/001", "tiles/0/001", "tile/0/x001", "tile/0/001/", "tile/0/x1/001"] {
            #expect(throws: LedgerError(code: .malformedInput, reason: "")) { try TileID(path: bad) }
        }
    }

    @Test func entryBundlesRoundTripAndRefuseTruncation() throws {
        let entries: [[UInt8]] = [[], [1], Array(repeating: 0xAB, count: 300), Array(repeating: 1, count: 65_535)]
        let bundle = try EntryBundle.encode(entries)
        #expect(bundle.prefix(5) == [0, 0, 0, 1, 1])
        #expect(try EntryBundle.decode(bundle) == entries)
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) { try EntryBundle.decode(Array(bundle.dropLast())) }
        #expect(throws: LedgerError(code: .entryTooLarge, reason: "")) { try EntryBundle.encode([Array(repeating: 0, count: 65_536)]) }
    }

    @Test func theTileEdgeGivesTheSameRootAsTheWholeTreeAcrossTileBoundaries() throws {
        var edge = TileEdge()
        var stored: [TileKey: [UInt8]] = [:]
        var leaves: [MerkleHash] = []
        // Sizes around 256 (a full level-0 tile) and 65,536 (a full level-1 tile), in uneven batches.
        for batch in [1, 254, 1, 1, 300, 65_000, 2, 23] {
            let new = (0..<batch).map { MerkleTree.leafHash(Array("leaf \(leaves.count + $0)".utf8)) }
            leaves += new
            for (key, bytes) in edge.append(new) { stored[key] = bytes }
            let read = { (level: Int, index: UInt64) throws(LedgerError) -> [UInt8] in
                guard let bytes = stored[TileKey(level: level, index: index)] else { throw LedgerError(code: .notFound, reason: "") }
                return bytes
            }
            let root = try MerkleTree.rootHash(size: edge.size) { (level: Int, index: UInt64) throws(LedgerError) in
                try subtreeHash(level: level, index: index, readTile: read)
            }
            #expect(root == MerkleTree.rootHash(leafHashes: leaves), "size \(leaves.count)")
            // An edge rebuilt from the stored tiles continues identically.
            let rebuilt = try TileEdge(size: edge.size) { (level: Int, index: UInt64) throws(LedgerError) in stored[TileKey(level: level, index: index)] }
            #expect(rebuilt.partial == edge.partial)
        }
        #expect(leaves.count == 65_582)
        #expect(stored[TileKey(level: 1, index: 0)]?.count == 256 * 32)
        #expect(stored[TileKey(level: 2, index: 0)]?.count == 32)
    }
}
