import Foundation
import GRDB
import Synchronization

/// The body of a C2SP tlog-witness `add-checkpoint` request: `old <size>`, up to 63 consistency-proof
/// hashes (base64, one per line), a blank line, then the signed checkpoint note.
public struct AddCheckpointRequest: Sendable, Hashable {
    /// The size of the checkpoint the submitter believes the witness cosigned last (0: none).
    public var oldSize: UInt64
    /// The RFC 9162 consistency proof from `oldSize` to the checkpoint's size (empty when `oldSize` is 0).
    public var proof: [MerkleHash]
    /// The signed checkpoint note, verbatim.
    public var checkpointNote: String

    /// A request of the given parts.
    public init(oldSize: UInt64, proof: [MerkleHash], checkpointNote: String) {
        self.oldSize = oldSize
        self.proof = proof
        self.checkpointNote = checkpointNote
    }

    /// The wire form.
    public var body: String {
        "old \(oldSize)\n" + proof.map { Data($0).base64EncodedString() + "\n" }.joined() + "\n" + checkpointNote
    }

    /// Parses the wire form.
    /// - Throws: ``LedgerError`` `.malformedInput` (a 400 from the witness).
    public init(body: String) throws(LedgerError) {
        func bad(_ why: String) -> LedgerError { LedgerError(code: .malformedInput, reason: "not an add-checkpoint body: \(why)") }
        guard let blank = body.range(of: "\n\n") else { throw bad("no blank line before the checkpoint") }
        var lines = body[..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard let first = lines.popFirst(), first.hasPrefix("old "), let old = UInt64(first.dropFirst(4)),
              String(old) == first.dropFirst(4) else {
            throw bad("the first line is not 'old <decimal size>'")
        }
        guard lines.count <= 63 else { throw bad("more than 63 proof lines") }
        oldSize = old
        proof = try lines.map { (line: Substring) throws(LedgerError) -> MerkleHash in
            guard let hash = Data(base64Encoded: String(line)), hash.count == 32 else { throw bad("a proof line is not a base64 SHA-256 hash") }
            return Array(hash)
        }
        checkpointNote = String(body[blank.upperBound...])
    }
}

/// A witness's answer to `add-checkpoint`, in the order C2SP tlog-witness checks them.
public enum WitnessAnswer: Sendable, Hashable {
    /// 200: cosign this checkpoint; it becomes the witness's latest for its origin.
    case cosign(Checkpoint)
    /// 400: the body, the checkpoint, or an old size above the checkpoint's size.
    case badRequest(String)
    /// 404: the witness does not know the checkpoint's origin.
    case unknownOrigin(String)
    /// 403: no trusted log signature verifies (or a trusted key's line does not).
    case untrustedSignature(String)
    /// 409: `old` is not the size the witness cosigned last (which it returns), or the same size
    /// with another root hash.
    case conflict(latestSize: UInt64)
    /// 422: the consistency proof does not verify: the log's new tree does not extend the old one.
    case inconsistent(String)

    /// The HTTP status code.
    public var status: Int {
        switch self {
        case .cosign: 200
        case .badRequest: 400
        case .unknownOrigin: 404
        case .untrustedSignature: 403
        case .conflict: 409
        case .inconsistent: 422
        }
    }
}

/// The witness's rules as a pure function (C2SP tlog-witness `add-checkpoint`): given the trusted
/// log keys, the latest checkpoint it cosigned for each origin and one request, the answer and the
/// new latest checkpoints. No I/O, no clock: ``Witness`` runs it inside one database transaction.
public struct WitnessStateMachine: Sendable {
    /// The trusted log keys by origin.
    public let logs: [String: [NoteVerifier]]

    /// A state machine trusting `logKeys` (each log's origin is its key's name).
    public init(logKeys: [NoteVerifier]) {
        logs = Dictionary(grouping: logKeys, by: \.name)
    }

    /// Decides one request against `state`, the latest checkpoint cosigned for each origin.
    /// Returns the answer and the new state: `state` with the checkpoint stored for its origin when
    /// the answer is ``WitnessAnswer/cosign(_:)``, `state` unchanged otherwise.
    public func decide(_ request: AddCheckpointRequest, state: [String: Checkpoint]) -> (answer: WitnessAnswer, state: [String: Checkpoint]) {
        let note: SignedNote
        let checkpoint: Checkpoint
        do throws(LedgerError) {
            note = try SignedNote(parsing: request.checkpointNote)
            checkpoint = try Checkpoint(text: note.text)
        } catch {
            return (.badRequest(error.reason), state)
        }
        let stored = state[checkpoint.origin]
        func refuse(_ answer: WitnessAnswer) -> (answer: WitnessAnswer, state: [String: Checkpoint]) { (answer, state) }

        guard let keys = logs[checkpoint.origin] else { return refuse(.unknownOrigin("no log with origin '\(checkpoint.origin)' is configured")) }
        // A line naming a trusted key that does not verify makes the note malformed: 403 as well.
        var trusted = false
        for key in keys where note.signatures.contains(where: { $0.name == key.name && $0.keyID == key.keyID }) {
            do throws(LedgerError) { try note.verify(key); trusted = true } catch {
                return refuse(.untrustedSignature(error.reason))
            }
        }
        guard trusted else { return refuse(.untrustedSignature("no signature by a trusted key of '\(checkpoint.origin)'")) }
        guard request.oldSize <= checkpoint.size else {
            return refuse(.badRequest("old size \(request.oldSize) is above the checkpoint's size \(checkpoint.size)"))
        }
        let latestSize = stored?.size ?? 0
        guard request.oldSize == latestSize else { return refuse(.conflict(latestSize: latestSize)) }
        if let stored, stored.size > 0 {
            if stored.size == checkpoint.size {
                guard request.proof.isEmpty else { return refuse(.inconsistent("a proof between equal sizes is empty")) }
                guard stored.rootHash == checkpoint.rootHash else { return refuse(.conflict(latestSize: latestSize)) }
            } else {
                do throws(LedgerError) {
                    try MerkleTree.verifyConsistency(oldSize: stored.size, newSize: checkpoint.size, oldRoot: stored.rootHash,
                                                     newRoot: checkpoint.rootHash, proof: request.proof)
                } catch {
                    return refuse(.inconsistent("the checkpoint of size \(checkpoint.size) does not extend the cosigned one of size \(stored.size): \(error.reason)"))
                }
            }
        } else {
            guard request.proof.isEmpty else { return refuse(.inconsistent("the proof from size 0 is empty")) }
            if checkpoint.size == 0, checkpoint.rootHash != MerkleTree.emptyRoot {
                return refuse(.inconsistent("an empty tree's root is SHA-256 of nothing"))
            }
        }
        var next = state
        next[checkpoint.origin] = checkpoint
        return (.cosign(checkpoint), next)
    }
}

/// A C2SP tlog-witness: the ``WitnessStateMachine`` over durable state in one SQLite file (the latest
/// cosigned checkpoint per origin, written with `synchronous=FULL` before the answer), cosigning with
/// its ``CosignatureSigner``. The check of `old` and the write of the new checkpoint happen in one
/// write transaction, so two concurrent requests can never roll the witness back.
public final class Witness: Sendable {
    /// What the HTTP layer sends back.
    public struct Response: Sendable, Hashable {
        /// The HTTP status code.
        public var status: Int
        /// The content type: `text/x.tlog.size` for a 409, `text/plain; charset=utf-8` otherwise.
        public var contentType: String
        /// The body: the cosignature line on 200, the latest size and a newline on 409, a reason otherwise.
        public var body: String
    }

    /// The witness's key.
    public let signer: CosignatureSigner
    private let machine: WitnessStateMachine
    private let queue: DatabaseQueue
    private let clock: @Sendable () -> UInt64

    /// Opens (creating if needed) the witness state at `path`, trusting `logKeys`, cosigning with
    /// `signer` at the times `clock` gives (default: now, in seconds).
    /// - Throws: ``LedgerError`` `.storageFailure`.
    public init(path: String, signer: CosignatureSigner, logKeys: [NoteVerifier],
                clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) throws(LedgerError) {
        self.signer = signer
        self.machine = WitnessStateMachine(logKeys: logKeys)
        self.clock = clock
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS latest (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL)")
            }
        } catch {
            throw LedgerError(code: .storageFailure, reason: "cannot open the witness database \(path): \(error)")
        }
    }

    /// The latest checkpoint cosigned for each origin.
    /// - Throws: ``LedgerError`` `.storageFailure`.
    public func state() throws(LedgerError) -> [String: Checkpoint] {
        do { return try queue.read { db in try Self.read(db) } } catch {
            throw LedgerError(code: .storageFailure, reason: "reading the witness state: \(error)")
        }
    }

    private static func read(_ db: Database) throws -> [String: Checkpoint] {
        var state: [String: Checkpoint] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT origin, size, root FROM latest") {
            let origin: String = row["origin"]
            state[origin] = Checkpoint(origin: origin, size: UInt64(row["size"] as Int64), rootHash: Array(row["root"] as Data))
        }
        return state
    }

    /// Handles an `add-checkpoint` body; on 200 the new checkpoint is durable before this returns.
    public func addCheckpoint(body: String) -> Response {
        let request: AddCheckpointRequest
        do throws(LedgerError) { request = try AddCheckpointRequest(body: body) } catch {
            return Response(status: 400, contentType: "text/plain; charset=utf-8", body: error.reason + "\n")
        }
        do {
            return try queue.write { db in
                let (answer, _) = machine.decide(request, state: try Self.read(db))
                switch answer {
                case .cosign(let checkpoint):
                    let line = try signer.cosign(checkpointText: checkpoint.text, time: clock())
                    try db.execute(sql: "INSERT OR REPLACE INTO latest (origin, size, root, note) VALUES (?, ?, ?, ?)",
                                   arguments: [checkpoint.origin, Int64(checkpoint.size), Data(checkpoint.rootHash), request.checkpointNote])
                    return Response(status: 200, contentType: "text/plain; charset=utf-8", body: line)
                case .conflict(let size):
                    return Response(status: 409, contentType: "text/x.tlog.size", body: "\(size)\n")
                case .badRequest(let why), .unknownOrigin(let why), .untrustedSignature(let why), .inconsistent(let why):
                    return Response(status: answer.status, contentType: "text/plain; charset=utf-8", body: why + "\n")
                }
            }
        } catch {
            return Response(status: 500, contentType: "text/plain; charset=utf-8", body: "the witness state could not be updated\n")
        }
    }
}
