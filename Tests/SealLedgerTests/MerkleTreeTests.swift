import Foundation
import SealLedger
import Testing

/// The Merkle test data of Fixtures/ledger/merkle-vectors.json.
struct MerkleVectors: Decodable {
    struct Proof: Decodable {
        var index: UInt64?
        var size: UInt64?
        var from: UInt64?
        var to: UInt64?
        var path: [String]
    }
    struct Example: Decodable {
        var inclusion: [Proof]
        var consistency: [Proof]
    }
    var leaves: [String]
    var subtreeHashes: [[String]]
    var rootsBySize: [String]
    var sevenLeafExample: Example

    static func load() throws -> MerkleVectors {
        try JSONDecoder().decode(MerkleVectors.self, from: Data(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/ledger/merkle-vectors.json")))
    }

    var leafBytes: [[UInt8]] { leaves.map(hexBytes) }

    /// A reader of the complete subtrees of the vector tree, from the published hashes.
    var reader: SubtreeHashReader {
        let table = subtreeHashes.map { $0.map(hexBytes) }
        return { (level: Int, index: UInt64) throws(LedgerError) -> MerkleHash in
            guard level < table.count, index < UInt64(table[level].count) else {
                throw LedgerError(code: .outOfRange, reason: "no hash \(level)/\(index)")
            }
            return table[level][Int(index)]
        }
    }

    /// The named nodes of the RFC's 7-leaf example.
    func node(_ name: String) -> MerkleHash {
        let table = subtreeHashes.map { $0.map(hexBytes) }
        let positions: [String: (Int, Int)] = ["a": (0, 0), "b": (0, 1), "c": (0, 2), "d": (0, 3), "e": (0, 4), "f": (0, 5),
                                               "j": (0, 6), "g": (1, 0), "h": (1, 1), "i": (1, 2), "k": (2, 0)]
        if name == "l" { return MerkleTree.nodeHash(table[1][2], table[0][6]) }
        guard let (level, index) = positions[name] else { return [] }
        return table[level][index]
    }
}

@Suite("RFC 9162 Merkle tree")
struct MerkleTreeTests {
    @Test func leafAndSubtreeHashesMatchTheVectors() throws {
        let vectors = try MerkleVectors.load()
        let leafHashes = vectors.leafBytes.map(MerkleTree.leafHash)
        #expect(leafHashes == vectors.subtreeHashes[0].map(hexBytes))
        for level in 1..<vectors.subtreeHashes.count {
            for (index, expected) in vectors.subtreeHashes[level].enumerated() {
                let span = 1 << level
                let computed = MerkleTree.rootHash(leafHashes: Array(leafHashes[(index * span)..<((index + 1) * span)]))
                #expect(computed == hexBytes(expected), "level \(level) index \(index)")
            }
        }
    }

    @Test func rootsOfEverySizeMatchInMemoryAndFromSubtrees() throws {
        let vectors = try MerkleVectors.load()
        let leafHashes = vectors.leafBytes.map(MerkleTree.leafHash)
        for (size, expected) in vectors.rootsBySize.enumerated() {
            #expect(MerkleTree.rootHash(leafHashes: Array(leafHashes.prefix(size))) == hexBytes(expected), "size \(size)")
            #expect(try MerkleTree.rootHash(size: UInt64(size), reader: vectors.reader) == hexBytes(expected), "size \(size)")
        }
        #expect(MerkleTree.emptyRoot == hexBytes(vectors.rootsBySize[0]))
    }

    @Test func theRFCSevenLeafProofsAreGeneratedAndVerify() throws {
        let vectors = try MerkleVectors.load()
        let leafHashes = vectors.leafBytes.map(MerkleTree.leafHash)
        let root7 = hexBytes(vectors.rootsBySize[7])
        for example in vectors.sevenLeafExample.inclusion {
            let index = try #require(example.index), size = try #require(example.size)
            let proof = try MerkleTree.inclusionProof(index: index, size: size, reader: vectors.reader)
            #expect(proof == example.path.map(vectors.node), "inclusion of \(index)")
            try MerkleTree.verifyInclusion(leafHash: leafHashes[Int(index)], index: index, size: size, proof: proof, root: root7)
        }
        for example in vectors.sevenLeafExample.consistency {
            let from = try #require(example.from), to = try #require(example.to)
            let proof = try MerkleTree.consistencyProof(oldSize: from, newSize: to, reader: vectors.reader)
            #expect(proof == example.path.map(vectors.node), "consistency \(from) -> \(to)")
            try MerkleTree.verifyConsistency(oldSize: from, newSize: to, oldRoot: hexBytes(vectors.rootsBySize[Int(from)]),
                                             newRoot: root7, proof: proof)
        }
    }

    @Test func everyProofOfEveryTreeUpToEightVerifiesAndNoAlteredOneDoes() throws {
        let vectors = try MerkleVectors.load()
        let leafHashes = vectors.leafBytes.map(MerkleTree.leafHash)
        let roots = vectors.rootsBySize.map(hexBytes)
        for size in UInt64(1)...8 {
            for index in 0..<size {
                let proof = try MerkleTree.inclusionProof(index: index, size: size, reader: vectors.reader)
                try MerkleTree.verifyInclusion(leafHash: leafHashes[Int(index)], index: index, size: size, proof: proof, root: roots[Int(size)])
                // Another leaf, another index, a flipped hash, a dropped or an extra hash: all refused.
                #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                    try MerkleTree.verifyInclusion(leafHash: leafHashes[Int((index + 1) % 8)], index: index, size: size, proof: proof, root: roots[Int(size)])
                }
                if size > 1 {
                    #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                        try MerkleTree.verifyInclusion(leafHash: leafHashes[Int(index)], index: (index + 1) % size, size: size, proof: proof, root: roots[Int(size)])
                    }
                    var flipped = proof
                    flipped[0][0] ^= 1
                    #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                        try MerkleTree.verifyInclusion(leafHash: leafHashes[Int(index)], index: index, size: size, proof: flipped, root: roots[Int(size)])
                    }
                    #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                        try MerkleTree.verifyInclusion(leafHash: leafHashes[Int(index)], index: index, size: size, proof: Array(proof.dropLast()), root: roots[Int(size)])
                    }
                }
                #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                    try MerkleTree.verifyInclusion(leafHash: leafHashes[Int(index)], index: index, size: size, proof: proof + [roots[1]], root: roots[Int(size)])
                }
            }
            for old in 1...size {
                let proof = try MerkleTree.consistencyProof(oldSize: old, newSize: size, reader: vectors.reader)
                try MerkleTree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old)], newRoot: roots[Int(size)], proof: proof)
                if old < size {
                    #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                        try MerkleTree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old) - 1], newRoot: roots[Int(size)], proof: proof)
                    }
                    #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                        try MerkleTree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old)], newRoot: roots[Int(size)], proof: [])
                    }
                    var flipped = proof
                    flipped[flipped.count - 1][5] ^= 0x80
                    #expect(throws: LedgerError(code: .proofInvalid, reason: "")) {
                        try MerkleTree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old)], newRoot: roots[Int(size)], proof: flipped)
                    }
                }
            }
        }
        #expect(throws: LedgerError(code: .outOfRange, reason: "")) { try MerkleTree.inclusionProof(index: 8, size: 8, reader: vectors.reader) }
        #expect(throws: LedgerError(code: .outOfRange, reason: "")) { try MerkleTree.consistencyProof(oldSize: 0, newSize: 8, reader: vectors.reader) }
        #expect(throws: LedgerError(code: .outOfRange, reason: "")) { try MerkleTree.consistencyProof(oldSize: 5, newSize: 4, reader: vectors.reader) }
    }
}
