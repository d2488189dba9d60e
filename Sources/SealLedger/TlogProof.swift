import Foundation

/// A C2SP tlog-proof (`.tlog-proof`): an offline proof that an entry is in a log — the entry's
/// index, its inclusion proof and the log's signed checkpoint, verbatim. The entry itself (for a
/// stamp, the record file) travels beside it; verification recomputes its leaf hash.
public struct TlogProof: Sendable, Hashable {
    /// The first line of every proof.
    public static let header = "c2sp.org/tlog-proof@v1"

    /// The entry's leaf index.
    public var index: UInt64
    /// The inclusion proof, leaf's sibling first.
    public var hashes: [MerkleHash]
    /// The signed checkpoint note the proof leads to.
    public var checkpointNote: String
    /// Optional unauthenticated extra data.
    public var extra: [UInt8]?

    /// A proof of the given parts.
    public init(index: UInt64, hashes: [MerkleHash], checkpointNote: String, extra: [UInt8]? = nil) {
        self.index = index
        self.hashes = hashes
        self.checkpointNote = checkpointNote
        self.extra = extra
    }

    /// The text form.
    public var text: String {
        var lines = [Self.header]
        if let extra { lines.append("extra " + Data(extra).base64EncodedString()) }
        lines.append("index \(index)")
        lines += hashes.map { Data($0).base64EncodedString() }
        return lines.joined(separator: "\n") + "\n\n" + checkpointNote
    }

    /// Parses the text form.
    /// - Throws: ``LedgerError`` `.malformedInput`.
    public init(text: String) throws(LedgerError) {
        func bad(_ why: String) -> LedgerError { LedgerError(code: .malformedInput, reason: "not a tlog-proof: \(why)") }
        guard let blank = text.range(of: "\n\n") else { throw bad("no blank line before the checkpoint") }
        var lines = text[..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard lines.popFirst() == Substring(Self.header) else { throw bad("the first line is not \(Self.header)") }
        if let line = lines.first, line.hasPrefix("extra ") {
            guard let data = Data(base64Encoded: String(line.dropFirst(6))) else { throw bad("extra is not base64") }
            extra = Array(data)
            lines.removeFirst()
        } else {
            extra = nil
        }
        guard let indexLine = lines.popFirst(), indexLine.hasPrefix("index "),
              let index = UInt64(indexLine.dropFirst(6)), String(index) == indexLine.dropFirst(6) else {
            throw bad("no 'index N' line")
        }
        self.index = index
        hashes = try lines.map { (line: Substring) throws(LedgerError) -> MerkleHash in
            guard let hash = Data(base64Encoded: String(line)), hash.count == 32 else { throw bad("a proof line is not a base64 SHA-256 hash") }
            return Array(hash)
        }
        checkpointNote = String(text[blank.upperBound...])
    }

    /// Verifies the proof offline for `entry` (the leaf bytes): the log's signature on the checkpoint
    /// (and its origin, when given), the witnesses' cosignatures when a policy is given (k of n),
    /// then the inclusion proof of the entry's leaf hash. Returns the checkpoint.
    /// - Throws: ``LedgerError`` `.signatureInvalid`, `.malformedNote`, `.quorumNotMet` or `.proofInvalid`.
    public func verify(entry: [UInt8], verifier: NoteVerifier, origin: String? = nil,
                       witnesses: WitnessPolicy? = nil) throws(LedgerError) -> Checkpoint {
        let checkpoint: Checkpoint
        if let witnesses {
            checkpoint = try witnesses.open(checkpointNote, origin: origin ?? verifier.name, logVerifier: verifier)
        } else {
            checkpoint = try Checkpoint.open(checkpointNote, origin: origin ?? verifier.name, verifier: verifier)
        }
        try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(entry), index: index, size: checkpoint.size,
                                       proof: hashes, root: checkpoint.rootHash)
        return checkpoint
    }
}
