import ArgumentParser
import Foundation
import SealHostDriver
import SealLedger

/// The keys an offline verifier trusts for ledger evidence: the log's verifier key and, optionally,
/// witnesses' cosignature keys with the quorum of them that must have cosigned the checkpoint.
struct LedgerTrustOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The log's verifier key (text or a file holding it), from `sealledger vkey`.", valueName: "VKEY"))
    var logKey: String?
    @Option(name: .customLong("witness-key"),
            help: ArgumentHelp("A trusted witness's cosignature key (text or a file holding it), from `sealledger witness vkey`; repeatable.",
                               valueName: "VKEY"))
    var witnessKeys: [String] = []
    @Option(help: ArgumentHelp("How many of the --witness-key witnesses must have cosigned the checkpoint (default: all of them).",
                               valueName: "K"))
    var quorum: Int?
    @Option(help: "The log's origin (default: the log key's name).") var origin: String?

    func validate() throws {
        if !witnessKeys.isEmpty && logKey == nil { throw ValidationError("--witness-key needs --log-key (the witnesses cosign the log's checkpoint)") }
        if quorum != nil && witnessKeys.isEmpty { throw ValidationError("--quorum needs --witness-key") }
        if let quorum, quorum < 1 || quorum > witnessKeys.count {
            throw ValidationError("--quorum must be 1 to \(witnessKeys.count) (the number of --witness-key)")
        }
    }

    /// The trust these options describe, or nil without `--log-key`. Unreadable keys are usage errors.
    func trust() throws -> LedgerTrust? {
        guard let logKey else { return nil }
        let log = try loadVerifierKey(logKey)
        guard !witnessKeys.isEmpty else { return LedgerTrust(log: log, origin: origin, witnesses: nil) }
        var verifiers: [CosignatureVerifier] = []
        for key in witnessKeys {
            let text = (try? String(contentsOfFile: key, encoding: .utf8)) ?? key
            do { verifiers.append(try CosignatureVerifier(verifierKey: text)) } catch {
                throw CLIError("--witness-key: \(error.reason)", status: .usage)
            }
        }
        do {
            return LedgerTrust(log: log, origin: origin, witnesses: try WitnessPolicy(witnesses: verifiers, quorum: quorum ?? verifiers.count))
        } catch {
            throw CLIError("--witness-key: \(error.reason)", status: .usage)
        }
    }
}

/// What offline ledger evidence shows about an entry.
enum EvidenceVerdict: Sendable {
    /// The log signed a checkpoint whose tree holds the entry, and (with a witness policy) at least
    /// the quorum of trusted witnesses cosigned that checkpoint.
    case valid(checkpoint: Checkpoint, cosigners: [String])
    /// The evidence does not prove the entry: malformed, the log's signature or origin, a bad
    /// cosignature by a trusted witness, or the inclusion proof.
    case invalid(String)
    /// The log's signature and the inclusion proof hold, but fewer than the quorum of trusted
    /// witnesses cosigned the checkpoint: the log may be showing this tree to this client alone.
    case quorumNotMet(String)

    /// The exit status for this verdict: 0, 1 (proof invalid) or 2 (quorum not met); docs/ledger.md.
    var exitStatus: Int32 {
        switch self {
        case .valid: 0
        case .invalid: 1
        case .quorumNotMet: EvidenceVerdict.quorumNotMetStatus
        }
    }

    /// The exit status of a proof that holds but lacks the witness quorum.
    static let quorumNotMetStatus: Int32 = 2
}

/// Offline verification of ledger evidence against trusted keys.
struct LedgerTrust: Sendable {
    let log: NoteVerifier
    let origin: String?
    let witnesses: WitnessPolicy?

    /// Checks, in this order: the log's signature and origin on the checkpoint, the inclusion of
    /// `entry`'s leaf, then the witnesses' cosignatures (a bad line by a trusted witness makes the
    /// evidence invalid; too few good ones is `quorumNotMet`). Inclusion is checked before the quorum
    /// so that `quorumNotMet` means everything else holds.
    func check(_ proof: TlogProof, entry: [UInt8]) -> EvidenceVerdict {
        let checkpoint: Checkpoint
        do { checkpoint = try proof.verify(entry: entry, verifier: log, origin: origin) } catch {
            switch error.code {
            case .proofInvalid, .outOfRange: return .invalid("the record is not entry \(proof.index) of the checkpointed tree: \(error.reason)")
            default: return .invalid(error.reason)
            }
        }
        guard let witnesses else { return .valid(checkpoint: checkpoint, cosigners: []) }
        let cosigners: [(witness: CosignatureVerifier, time: UInt64)]
        do { cosigners = try witnesses.cosigners(of: try SignedNote(parsing: proof.checkpointNote)) } catch {
            return .invalid(error.reason)
        }
        guard cosigners.count >= witnesses.quorum else {
            let names = cosigners.map(\.witness.name)
            return .quorumNotMet("\(cosigners.count) of the \(witnesses.witnesses.count) trusted witnesses cosigned the checkpoint"
                                 + "\(names.isEmpty ? "" : " (\(names.joined(separator: ", ")))"); \(witnesses.quorum) required")
        }
        return .valid(checkpoint: checkpoint, cosigners: cosigners.map(\.witness.name))
    }
}

/// A `.tlog-proof` file written by `sealctl ledger prove`: a C2SP tlog-proof whose `extra` line
/// carries the stamp record's JSON, so that the file alone is the evidence. The extra data is not
/// trusted: the record is re-encoded to its leaf bytes, which the inclusion proof must lead from,
/// and `sealctl verify` runs every check of the record itself.
struct LedgerEvidence: Sendable {
    let proof: TlogProof
    /// The record the file carries, if any.
    let record: StampRecord?

    /// Whether `bytes` look like a tlog-proof (its first line).
    static func isEvidence(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: Array((TlogProof.header + "\n").utf8))
    }

    /// Parses the file's bytes; `path` names it in errors.
    static func parse(_ bytes: [UInt8], path: String) throws(CLIError) -> LedgerEvidence {
        let proof: TlogProof
        do { proof = try TlogProof(text: String(decoding: bytes, as: UTF8.self)) } catch {
            throw CLIError("\(path): \(error.reason)")
        }
        guard let extra = proof.extra else { return LedgerEvidence(proof: proof, record: nil) }
        do { return LedgerEvidence(proof: proof, record: try StampRecord(jsonData: Data(extra))) } catch {
            throw CLIError("\(path): its extra data is not a stamp record: \(error.message)")
        }
    }

    /// Reads and parses the file at `path`.
    static func read(_ path: String) throws -> LedgerEvidence {
        try parse(try readFile(path, what: "evidence"), path: path)
    }
}
