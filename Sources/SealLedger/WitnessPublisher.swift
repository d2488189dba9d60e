import Foundation
import Synchronization

/// One witness the ledger asks for cosignatures: where its `add-checkpoint` is and its key.
public struct WitnessEndpoint: Sendable, Hashable {
    /// The full `add-checkpoint` URL, e.g. `http://127.0.0.1:8090/add-checkpoint`.
    public var url: String
    /// The witness's cosignature key.
    public var verifier: CosignatureVerifier

    /// An endpoint of the given parts.
    public init(url: String, verifier: CosignatureVerifier) {
        self.url = url
        self.verifier = verifier
    }
}

/// Sends one `add-checkpoint` body to a URL and returns the status, content type and body
/// (the HTTP client lives with the caller, so the library needs no networking).
public typealias WitnessTransport = @Sendable (_ url: String, _ body: String) async throws -> (status: Int, contentType: String, body: String)

/// Collects witness cosignatures on the ledger's checkpoints and publishes a checkpoint once `quorum`
/// of the configured witnesses have cosigned it (C2SP tlog-witness, client side).
///
/// Entries are acknowledged when they are durable, before any of this: publication follows. For each
/// witness it remembers the size the witness last cosigned, sends `old <size>` with the consistency
/// proof from that size, and on a 409 retries once from the size the witness names. Rounds never
/// overlap, so a witness never sees an older checkpoint after a newer one from this ledger.
public final class WitnessPublisher: Sendable {
    private let ledger: Ledger
    private let witnesses: [WitnessEndpoint]
    private let policy: WitnessPolicy
    private let transport: WitnessTransport
    private let state = Mutex<State>(State())

    private struct State: Sendable {
        var published: String?
        var cosignedSizes: [Int: UInt64] = [:]
        var running = false
        var again = false
        var lastAnswers: [Int: String] = [:]
    }

    /// A publisher for `ledger` asking `witnesses`, of which `quorum` must cosign.
    /// - Throws: ``LedgerError`` `.malformedInput` when the quorum is not possible.
    public init(ledger: Ledger, witnesses: [WitnessEndpoint], quorum: Int, transport: @escaping WitnessTransport) throws(LedgerError) {
        self.ledger = ledger
        self.witnesses = witnesses
        self.policy = try WitnessPolicy(witnesses: witnesses.map(\.verifier), quorum: quorum)
        self.transport = transport
    }

    /// The latest checkpoint that reached the quorum, with the log's signature and every cosignature
    /// collected; nil until one has.
    public var published: String? { state.withLock { $0.published } }

    /// What each witness answered last (by position), for logs: `200`, `409 15`, `422 …`, or an error.
    public var lastAnswers: [Int: String] { state.withLock { $0.lastAnswers } }

    /// Asks every witness to cosign the ledger's current checkpoint, then publishes it if the quorum
    /// cosigned. A call while a round runs makes that round run once more and returns at once.
    /// Returns the number of valid cosignatures this call's last round collected (nil when it only
    /// asked the running round to repeat).
    @discardableResult
    public func publish() async -> Int? {
        let starts = state.withLock { (s: inout State) -> Bool in
            if s.running { s.again = true; return false }
            s.running = true
            return true
        }
        guard starts else { return nil }
        var count = 0
        while true {
            count = await round()
            let repeats = state.withLock { (s: inout State) -> Bool in
                if s.again { s.again = false; return true }
                s.running = false
                return false
            }
            if !repeats { return count }
        }
    }

    private func round() async -> Int {
        let note = ledger.checkpointNote
        guard let checkpoint = try? Checkpoint(text: SignedNote(parsing: note).text) else { return 0 }
        let lines = await withTaskGroup(of: (Int, String?, UInt64?, String).self) { group in
            for (position, witness) in witnesses.enumerated() {
                let known = state.withLock { $0.cosignedSizes[position] ?? 0 }
                group.addTask { await self.ask(witness, note: note, checkpoint: checkpoint, known: known, position: position) }
            }
            var lines: [String] = []
            for await (position, line, size, answer) in group {
                state.withLock {
                    $0.lastAnswers[position] = answer
                    if let size { $0.cosignedSizes[position] = size }
                }
                if let line { lines.append(line) }
            }
            return lines
        }
        let cosigned = note + lines.joined()
        let count = (try? SignedNote(parsing: cosigned)).flatMap { try? policy.cosigners(of: $0).count } ?? 0
        if count >= policy.quorum {
            state.withLock { s in
                // Never replace a larger published checkpoint with a smaller one.
                let current = s.published.flatMap { try? Checkpoint(text: SignedNote(parsing: $0).text).size } ?? 0
                if s.published == nil || checkpoint.size >= current { s.published = cosigned }
            }
        }
        return count
    }

    /// One witness: returns its verified cosignature line(s), the size it now holds, and its answer.
    private func ask(_ witness: WitnessEndpoint, note: String, checkpoint: Checkpoint, known: UInt64,
                     position: Int) async -> (Int, String?, UInt64?, String) {
        var old = known
        var answer = ""
        for _ in 0..<2 {
            guard old <= checkpoint.size else {
                return (position, nil, old, "the witness holds size \(old), above this log's \(checkpoint.size)")
            }
            let proof: [MerkleHash]
            do throws(LedgerError) {
                proof = old == 0 || old == checkpoint.size ? [] : try ledger.consistencyProof(oldSize: old, newSize: checkpoint.size)
            } catch { return (position, nil, nil, "no consistency proof from \(old): \(error.reason)") }
            let body = AddCheckpointRequest(oldSize: old, proof: proof, checkpointNote: note).body
            let reply: (status: Int, contentType: String, body: String)
            do { reply = try await transport(witness.url, body) } catch {
                return (position, nil, nil, "unreachable: \(error)")
            }
            switch reply.status {
            case 200:
                // Keep only lines that are this witness's valid cosignatures on this checkpoint.
                let mine = reply.body.split(separator: "\n").map { String($0) + "\n" }.filter { line in
                    guard let signed = try? SignedNote(parsing: note + line) else { return false }
                    return (try? witness.verifier.cosignatureTime(on: signed)) != nil
                }
                return (position, mine.isEmpty ? nil : mine.joined(), checkpoint.size, "200")
            case 409:
                let text = reply.body.hasSuffix("\n") ? String(reply.body.dropLast()) : reply.body
                guard reply.contentType.hasPrefix("text/x.tlog.size"), let size = UInt64(text), size != old else {
                    return (position, nil, nil, "409 \(reply.body)")
                }
                answer = "409 \(size)"
                old = size
            default:
                return (position, nil, nil, "\(reply.status) \(reply.body.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        return (position, nil, old, answer)
    }
}
