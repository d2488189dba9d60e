import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SealHostDriver
import SealLedger

/// `sealctl ledger`: submit stamp records to a SealKit ledger (`sealledger serve`), fetch their
/// offline proofs (C2SP tlog-proof) and verify such proofs with the log's verifier key.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Submit stamp records to a traceability ledger and prove or verify their inclusion (docs/ledger.md).",
        subcommands: [LedgerSubmit.self, LedgerProve.self, LedgerVerifyProof.self]
            + [LedgerEvent.self, LedgerHistory.self] + [LedgerWatch.self])
}

/// The ledger's base URL.
struct LedgerURLOption: ParsableArguments {
    /// Where `sealledger serve` listens by default.
    static let defaultLedger = "http://127.0.0.1:8079"
    @Option(help: ArgumentHelp("The ledger's base URL.", valueName: "URL")) var ledger: String = Self.defaultLedger

    var base: String { ledger.hasSuffix("/") ? String(ledger.dropLast()) : ledger }

    /// GET or POST `path`; returns the status and body. Network failures are temporary failures (75).
    func request(_ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        guard let url = URL(string: base + path) else { throw CLIError("--ledger \(ledger) is not a URL", status: .usage) }
        var request = URLRequest(url: url)
        if let body {
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw CLIError("cannot reach the ledger at \(base): \(error.localizedDescription)", status: .temporaryFailure)
        }
    }

    /// The JSON object of a 200 answer, or the server's error message as a failure.
    func object(_ path: String, body: Data? = nil) async throws -> [String: Any] {
        let (status, data) = try await request(path, body: body)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard status == 200, let object else {
            let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? String(decoding: data.prefix(200), as: UTF8.self)
            throw CLIError("the ledger answered \(status): \(message)")
        }
        return object
    }
}

/// Prints one JSON object on a line (keys sorted).
func printJSONLine(_ object: [String: Any]) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

/// Reads a stamp record file.
func readStampRecord(_ path: String) throws -> StampRecord {
    do { return try StampRecord(jsonData: Data(try readFile(path, what: "stamp record"))) } catch let error as SealDriverError {
        throw CLIError("\(path): \(error.message)")
    }
}

struct LedgerSubmit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit stamp records (one batch); print each record's index.",
        discussion: "Exit status 0 when every record is in the log (added or already there), 1 when any was refused or conflicts.")
    @Argument(help: "Stamp records (JSON) written by `sealctl stamp`.") var records: [String]
    @OptionGroup var ledger: LedgerURLOption
    @Flag(help: "Print JSON Lines: one object per record (record, status, index, evidenceIndex, error).") var json = false

    func validate() throws {
        if records.isEmpty { throw ValidationError("give at least one stamp record") }
    }

    func run() async throws {
        var bodies: [Data] = []
        for path in records { bodies.append(try readStampRecord(path).jsonData()) }
        let batch = Data("[".utf8) + bodies.joined(separator: Data(",".utf8)) + Data("]".utf8)
        let answer = try await ledger.object("/v1/entries/batch", body: batch)
        guard let results = answer["results"] as? [[String: Any]], results.count == records.count else {
            throw CLIError("the ledger's answer has no result per record")
        }
        var allIn = true
        for (path, result) in zip(records, results) {
            let status = result["status"] as? String ?? "?"
            if json {
                printJSONLine(result.merging(["record": path]) { a, _ in a })
                if status != "added" && status != "duplicate" { allIn = false }
                continue
            }
            switch status {
            case "added", "duplicate":
                print("\(path): \(status) at index \(result["index"] ?? "?")")
            case "conflict":
                allIn = false
                print("\(path): CONFLICT with index \(result["index"] ?? "?"): evidence at index \(result["evidenceIndex"] ?? "?"), chip marked suspect")
            default:
                allIn = false
                let error = result["error"] as? [String: Any]
                print("\(path): refused: \(error?["message"] ?? "?")")
            }
        }
        if !allIn { throw ExitCode.failure }
    }
}

struct LedgerProve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Write a record's offline evidence: a C2SP tlog-proof holding the record, its inclusion proof and the ledger's published (witnessed) checkpoint.",
        discussion: """
            The checkpoint is the one the ledger serves at /checkpoint: with witnesses configured, the \
            latest one its quorum cosigned, which may lag the tree for a moment after a submission; \
            prove waits up to --wait seconds for a published checkpoint that holds the record (and, \
            with --witness-key, that the quorum cosigned). The evidence is checked before it is \
            written. Exit status 0 written, 1 failure, 2 no checkpoint with the witness quorum \
            within --wait, 64 usage error, 75 the ledger is unreachable.
            """)
    @Argument(help: "A stamp record that is in the ledger.") var record: String
    @Option(help: ArgumentHelp("Where to write the evidence (conventionally RECORD.tlog-proof).", valueName: "EVIDENCE")) var out: String
    @OptionGroup var trust: LedgerTrustOptions
    @Option(help: ArgumentHelp("How long to wait for a published checkpoint that holds the record.", valueName: "SECONDS"))
    var wait: Double = 10
    @OptionGroup var ledger: LedgerURLOption
    @Flag(help: "Print one JSON object (record, index, treeSize, origin, cosigners, evidence).") var json = false

    func validate() throws {
        if wait < 0 { throw ValidationError("--wait must be 0 or more seconds") }
    }

    func run() async throws {
        let trust = try self.trust.trust()
        let stampRecord = try readStampRecord(record)
        let entry = LedgerLeaf.stampRecordBytes(stampRecord)
        let hash = LedgerLeaf.recordHash(entry).map { String(format: "%02X", $0) }.joined()
        let indices = try await ledger.object("/v1/lookup?recordHash=\(hash)")["indices"] as? [Any] ?? []
        guard let first = indices.first, let index = UInt64("\(first)") else {
            throw CLIError("\(record) is not in the ledger at \(ledger.base)")
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
        while true {
            let (status, noteData) = try await ledger.request("/checkpoint")
            guard status == 200 else { throw CLIError("the ledger answered \(status) for /checkpoint") }
            let note = String(decoding: noteData, as: UTF8.self)
            let checkpoint: Checkpoint
            do { checkpoint = try Checkpoint(text: try SignedNote(parsing: note).text) } catch {
                throw CLIError("the ledger's /checkpoint is not a checkpoint: \(error.reason)")
            }
            // A published checkpoint older than the record cannot prove it yet: wait for the next.
            guard checkpoint.size > index else {
                if ContinuousClock.now >= deadline {
                    throw CLIError("the ledger's published checkpoint (size \(checkpoint.size)) does not hold entry \(index) yet; retry later or raise --wait",
                                   status: .temporaryFailure)
                }
                try await Task.sleep(for: .milliseconds(250))
                continue
            }
            let answer = try await ledger.object("/v1/proof/inclusion?index=\(index)&size=\(checkpoint.size)")
            let hashes = try (answer["hashes"] as? [String] ?? []).map { text -> MerkleHash in
                guard let hash = Data(base64Encoded: text), hash.count == 32 else { throw CLIError("the ledger sent a malformed proof hash") }
                return Array(hash)
            }
            let proof = TlogProof(index: index, hashes: hashes, checkpointNote: note, extra: Array(try stampRecord.jsonData()))
            // Check what we write: the proof must verify (and, with the keys, the signature and quorum too).
            var cosigners: [String] = []
            if let trust {
                switch trust.check(proof, entry: entry) {
                case .valid(_, let names): cosigners = names
                case .invalid(let why): throw CLIError("the ledger's evidence does not verify: \(why)")
                case .quorumNotMet(let why):
                    if ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(250))
                        continue
                    }
                    FileHandle.standardError.write(Data("Error: quorum not met: \(why) (waited \(wait) s; nothing written)\n".utf8))
                    throw ExitCode(EvidenceVerdict.quorumNotMetStatus)
                }
            } else {
                try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(entry), index: index, size: checkpoint.size,
                                               proof: hashes, root: checkpoint.rootHash)
            }
            do { try Data(proof.text.utf8).write(to: URL(fileURLWithPath: out)) } catch {
                throw CLIError("cannot write \(out): \(error.localizedDescription)")
            }
            if json {
                printJSONLine(["record": record, "index": Int(index), "treeSize": Int(checkpoint.size), "origin": checkpoint.origin,
                               "cosigners": cosigners, "evidence": out])
            } else {
                let witnessed = cosigners.isEmpty ? "" : ", cosigned by \(cosigners.joined(separator: ", "))"
                print("\(record): index \(index) in \(checkpoint.origin) of size \(checkpoint.size)\(witnessed); evidence written to \(out)")
            }
            return
        }
    }
}

/// A note verifier key given as text, or the path of a file holding it.
func loadVerifierKey(_ text: String) throws -> NoteVerifier {
    let value = (try? String(contentsOfFile: text, encoding: .utf8)) ?? text
    do { return try NoteVerifier(verifierKey: value) } catch { throw CLIError("--log-key: \(error.reason)", status: .usage) }
}

struct LedgerVerifyProof: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Verify offline that a stamp record is in a ledger: its evidence (tlog-proof), the log's key and the witnesses' keys.",
        discussion: """
            `verify-proof EVIDENCE` takes the record from the evidence written by `sealctl ledger prove`; \
            `verify-proof RECORD --proof EVIDENCE` takes it from its own file. Checks: the log's signature \
            and origin, the inclusion of the record's leaf, then (with --witness-key) that at least \
            --quorum trusted witnesses cosigned the checkpoint. It does not check the stamp itself: \
            `sealctl verify EVIDENCE --document FILE ...` does both. \
            Exit status 0 valid, 1 the proof is invalid, 2 the proof holds but the witness quorum is not met, 64 usage error.
            """)
    @Argument(help: ArgumentHelp("The evidence file; or, with --proof, the stamp record.", valueName: "EVIDENCE|RECORD")) var input: String
    @Option(help: ArgumentHelp("The record's tlog-proof file, when the argument is the record.", valueName: "EVIDENCE")) var proof: String?
    @OptionGroup var trust: LedgerTrustOptions
    @Flag(help: "Print one JSON object (record, valid, index, treeSize, origin, cosigners, or error).") var json = false

    func validate() throws {
        if trust.logKey == nil { throw ValidationError("give --log-key (the log's verifier key, from `sealledger vkey`)") }
    }

    func run() async throws {
        guard let trust = try self.trust.trust() else { throw ValidationError("give --log-key") }
        let evidencePath = proof ?? input
        let evidence: LedgerEvidence
        let stampRecord: StampRecord
        do {
            evidence = try LedgerEvidence.read(evidencePath)
            if proof != nil {
                stampRecord = try readStampRecord(input)
            } else if let carried = evidence.record {
                stampRecord = carried
            } else {
                throw CLIError("\(evidencePath) carries no record: give the record file and --proof \(evidencePath)", status: .usage)
            }
        } catch let error as CLIError where error.status == .failure {
            if json { printJSONLine(["record": input, "valid": false, "error": ["code": "malformedInput", "message": error.message]]) }
            throw CLIError("invalid: \(error.message)")
        }
        let verdict = trust.check(evidence.proof, entry: LedgerLeaf.stampRecordBytes(stampRecord))
        switch verdict {
        case .valid(let checkpoint, let cosigners):
            if json {
                printJSONLine(["record": input, "valid": true, "index": Int(evidence.proof.index), "treeSize": Int(checkpoint.size),
                               "origin": checkpoint.origin, "cosigners": cosigners])
            } else {
                let witnessed = cosigners.isEmpty ? "" : ", cosigned by \(cosigners.joined(separator: ", "))"
                print("valid: \(input) is entry \(evidence.proof.index) of \(checkpoint.origin) at size \(checkpoint.size)\(witnessed)")
            }
        case .invalid(let why):
            if json {
                printJSONLine(["record": input, "valid": false, "error": ["code": "proofInvalid", "message": why]])
                throw ExitCode(verdict.exitStatus)
            }
            throw CLIError("invalid: \(why)")
        case .quorumNotMet(let why):
            if json {
                printJSONLine(["record": input, "valid": false, "error": ["code": "quorumNotMet", "message": why]])
            } else {
                FileHandle.standardError.write(Data("Error: quorum not met: \(why)\n".utf8))
            }
            throw ExitCode(verdict.exitStatus)
        }
    }
}

/// A bearer token given on the command line: the token itself, or a file holding it (what
/// `sealledger token issue > FILE` writes). One line, no spaces.
func bearerToken(_ text: String) throws -> String {
    let value = ((try? String(contentsOfFile: text, encoding: .utf8)) ?? text).trimmingCharacters(in: .whitespacesAndNewlines)
    guard !value.isEmpty, !value.contains(where: \.isWhitespace) else { throw CLIError("--token is empty or holds spaces", status: .usage) }
    return value
}
