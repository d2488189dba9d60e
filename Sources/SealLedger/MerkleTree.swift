import Crypto

/// A SHA-256 Merkle tree hash of RFC 9162 §2.1 (the same as RFC 6962 §2.1 and Go's sumdb tlog).
public typealias MerkleHash = [UInt8]

/// RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs over SHA-256.
///
/// Proof generation works from a ``SubtreeHashReader``: the hash of any *complete* subtree
/// (2^level leaves starting at a multiple of 2^level), which is what a log stores (in tiles); the
/// hashes of the tree's incomplete right edge are computed from complete ones, so the tree's shape
/// depends only on its size, as the RFC requires.
public enum MerkleTree {
    /// The hash of the empty tree, SHA-256 of nothing (RFC 9162 §2.1.1).
    public static let emptyRoot: MerkleHash = Array(SHA256.hash(data: [UInt8]()))

    /// The leaf hash `SHA-256(0x00 ‖ entry)`.
    public static func leafHash(_ entry: [UInt8]) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: entry)
        return Array(hasher.finalize())
    }

    /// The interior node hash `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The root of the tree over `leafHashes`, computed in memory (for tests, tiles and `fsck`).
    public static func rootHash(leafHashes: [MerkleHash]) -> MerkleHash {
        guard !leafHashes.isEmpty else { return emptyRoot }
        // Fold complete subtrees left to right like a binary counter, then merge the stack right to left:
        // the same shape as RFC 9162's recursive split at the largest power of two.
        var stack: [(size: UInt64, hash: MerkleHash)] = []
        for leaf in leafHashes {
            var node = (size: UInt64(1), hash: leaf)
            while let last = stack.last, last.size == node.size {
                stack.removeLast()
                node = (last.size * 2, nodeHash(last.hash, node.hash))
            }
            stack.append(node)
        }
        var root = stack.removeLast().hash
        while let last = stack.popLast() { root = nodeHash(last.hash, root) }
        return root
    }

    /// The largest power of two strictly less than `n` (n ≥ 2).
    static func splitPoint(_ n: UInt64) -> UInt64 {
        var k: UInt64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The hash of leaves `[start, end)` of a tree whose complete subtrees `reader` knows.
    static func rangeHash(_ start: UInt64, _ end: UInt64, _ reader: SubtreeHashReader) throws(LedgerError) -> MerkleHash {
        let width = end - start
        if width.nonzeroBitCount == 1 && start % width == 0 {
            return try reader(width.trailingZeroBitCount, start / width)
        }
        let k = splitPoint(width)
        return nodeHash(try rangeHash(start, start + k, reader), try rangeHash(start + k, end, reader))
    }

    /// The root of the tree of `size` leaves.
    public static func rootHash(size: UInt64, reader: SubtreeHashReader) throws(LedgerError) -> MerkleHash {
        size == 0 ? emptyRoot : try rangeHash(0, size, reader)
    }

    /// The inclusion proof `PATH(index, D[0:size])` of RFC 9162 §2.1.3.1, leaf to root.
    /// - Throws: ``LedgerError`` `.outOfRange` when `index ≥ size`.
    public static func inclusionProof(index: UInt64, size: UInt64, reader: SubtreeHashReader) throws(LedgerError) -> [MerkleHash] {
        guard index < size else {
            throw LedgerError(code: .outOfRange, reason: "leaf \(index) is not in a tree of size \(size)")
        }
        var path: [MerkleHash] = []
        var (start, end) = (UInt64(0), size)
        let m = index
        // Walk down from the root, keeping the sibling of each step; the RFC lists them bottom-up.
        while end - start > 1 {
            let k = splitPoint(end - start)
            if m - start < k {
                path.append(try rangeHash(start + k, end, reader))
                end = start + k
            } else {
                path.append(try rangeHash(start, start + k, reader))
                start += k
            }
        }
        return path.reversed()
    }

    /// The consistency proof `PROOF(oldSize, D[0:newSize])` of RFC 9162 §2.1.4.1.
    /// - Throws: ``LedgerError`` `.outOfRange` unless `0 < oldSize ≤ newSize`.
    public static func consistencyProof(oldSize: UInt64, newSize: UInt64, reader: SubtreeHashReader) throws(LedgerError) -> [MerkleHash] {
        guard oldSize > 0, oldSize <= newSize else {
            throw LedgerError(code: .outOfRange, reason: "no consistency proof from size \(oldSize) to \(newSize)")
        }
        var proof: [MerkleHash] = []
        try subproof(oldSize, 0, newSize, true, reader, &proof)
        return proof
    }

    private static func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ whole: Bool,
                                 _ reader: SubtreeHashReader, _ proof: inout [MerkleHash]) throws(LedgerError) {
        let n = end - start
        if m == n {
            if !whole { proof.append(try rangeHash(start, end, reader)) }
            return
        }
        let k = splitPoint(n)
        if m <= k {
            try subproof(m, start, start + k, whole, reader, &proof)
            proof.append(try rangeHash(start + k, end, reader))
        } else {
            try subproof(m - k, start + k, end, false, reader, &proof)
            proof.append(try rangeHash(start, start + k, reader))
        }
    }

    /// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
    /// - Throws: ``LedgerError`` `.proofInvalid` naming what disagreed.
    public static func verifyInclusion(leafHash: MerkleHash, index: UInt64, size: UInt64,
                                       proof: [MerkleHash], root: MerkleHash) throws(LedgerError) {
        guard index < size else { throw LedgerError(code: .proofInvalid, reason: "leaf index \(index) ≥ tree size \(size)") }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw LedgerError(code: .proofInvalid, reason: "inclusion proof is too long") }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1; sn >>= 1
        }
        guard sn == 0 else { throw LedgerError(code: .proofInvalid, reason: "inclusion proof is too short") }
        guard r == root else { throw LedgerError(code: .proofInvalid, reason: "inclusion proof does not lead to the root") }
    }

    /// Verifies a consistency proof between two roots (RFC 9162 §2.1.4.2).
    /// - Throws: ``LedgerError`` `.proofInvalid` naming what disagreed.
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: MerkleHash, newRoot: MerkleHash,
                                         proof: [MerkleHash]) throws(LedgerError) {
        guard oldSize <= newSize else { throw LedgerError(code: .proofInvalid, reason: "old size \(oldSize) > new size \(newSize)") }
        if oldSize == newSize {
            guard proof.isEmpty, oldRoot == newRoot else {
                throw LedgerError(code: .proofInvalid, reason: "equal sizes need an empty proof and equal roots")
            }
            return
        }
        guard oldSize > 0 else {
            guard proof.isEmpty else { throw LedgerError(code: .proofInvalid, reason: "a proof from the empty tree is empty") }
            return
        }
        guard !proof.isEmpty else { throw LedgerError(code: .proofInvalid, reason: "consistency proof is empty") }
        var path = proof
        // Step 2 of §2.1.4.2: when the old size is a power of two, the old root starts the path.
        if oldSize.nonzeroBitCount == 1 { path.insert(oldRoot, at: 0) }
        guard let first = path.first else { throw LedgerError(code: .proofInvalid, reason: "consistency proof is empty") }
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = first, sr = first
        for c in path.dropFirst() {
            guard sn != 0 else { throw LedgerError(code: .proofInvalid, reason: "consistency proof is too long") }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1; sn >>= 1
        }
        guard sn == 0 else { throw LedgerError(code: .proofInvalid, reason: "consistency proof is too short") }
        guard fr == oldRoot else { throw LedgerError(code: .proofInvalid, reason: "consistency proof does not lead to the old root") }
        guard sr == newRoot else { throw LedgerError(code: .proofInvalid, reason: "consistency proof does not lead to the new root") }
    }
}

/// Reads the hash of the complete subtree at `level` (2^level leaves) number `index`
/// (leaves `[index·2^level, (index+1)·2^level)`).
public typealias SubtreeHashReader = (_ level: Int, _ index: UInt64) throws(LedgerError) -> MerkleHash
