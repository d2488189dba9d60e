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
            + [LedgerEvent.self, LedgerHistory.self])
}

/// The ledger's base URL.
struct LedgerURLOption: ParsableArguments {
    @Option(help: ArgumentHelp("The ledger's base URL.", valueName: "URL")) var ledger: String = "http://127.0.0.1:8079"

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
        abstract: "Fetch a record's inclusion proof and the log's checkpoint as a C2SP tlog-proof file, verifiable offline.")
    @Argument(help: "A stamp record that is in the ledger.") var record: String
    @Option(help: ArgumentHelp("Where to write the proof (conventionally RECORD.tlog-proof).", valueName: "EVIDENCE")) var out: String
    @Option(help: ArgumentHelp("The log's verifier key (text or a file holding it); checked before writing.", valueName: "VKEY"))
    var logKey: String?
    @OptionGroup var ledger: LedgerURLOption
    @Flag(help: "Print one JSON object (record, index, treeSize, origin, proof).") var json = false

    func run() async throws {
        let entry = LedgerLeaf.stampRecordBytes(try readStampRecord(record))
        let hash = LedgerLeaf.recordHash(entry).map { String(format: "%02X", $0) }.joined()
        let indices = try await ledger.object("/v1/lookup?recordHash=\(hash)")["indices"] as? [Any] ?? []
        guard let first = indices.first, let index = UInt64("\(first)") else {
            throw CLIError("\(record) is not in the ledger at \(ledger.base)")
        }
        let (status, noteData) = try await ledger.request("/checkpoint")
        guard status == 200 else { throw CLIError("the ledger answered \(status) for /checkpoint") }
        let note = String(decoding: noteData, as: UTF8.self)
        let checkpoint = try Checkpoint(text: try SignedNote(parsing: note).text)
        let answer = try await ledger.object("/v1/proof/inclusion?index=\(index)&size=\(checkpoint.size)")
        let hashes = try (answer["hashes"] as? [String] ?? []).map { text -> MerkleHash in
            guard let hash = Data(base64Encoded: text), hash.count == 32 else { throw CLIError("the ledger sent a malformed proof hash") }
            return Array(hash)
        }
        let proof = TlogProof(index: index, hashes: hashes, checkpointNote: note)
        // Check what we write: the proof must verify (and, with the key, the signature too).
        if let logKey {
            _ = try proof.verify(entry: entry, verifier: try loadVerifierKey(logKey))
        } else {
            try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(entry), index: index, size: checkpoint.size,
                                           proof: hashes, root: checkpoint.rootHash)
        }
        do { try Data(proof.text.utf8).write(to: URL(fileURLWithPath: out)) } catch {
            throw CLIError("cannot write \(out): \(error.localizedDescription)")
        }
        if json {
            printJSONLine(["record": record, "index": Int(index), "treeSize": Int(checkpoint.size), "origin": checkpoint.origin, "proof": out])
        } else {
            print("\(record): index \(index) in \(checkpoint.origin) of size \(checkpoint.size); proof written to \(out)")
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
        abstract: "Verify offline that a stamp record is in a ledger: its tlog-proof and the log's verifier key.",
        discussion: "Exit status 0 when the proof is valid, 1 when it is not.")
    @Argument(help: "The stamp record.") var record: String
    @Option(help: ArgumentHelp("The record's tlog-proof file.", valueName: "EVIDENCE")) var proof: String
    @Option(help: ArgumentHelp("The log's verifier key (text or a file holding it), from `sealledger vkey`.", valueName: "VKEY"))
    var logKey: String
    @Option(help: "The log's origin (default: the key's name).") var origin: String?
    @Flag(help: "Print one JSON object (record, valid, index, treeSize, origin, or error).") var json = false

    func run() async throws {
        let verifier = try loadVerifierKey(logKey)
        let entry = LedgerLeaf.stampRecordBytes(try readStampRecord(record))
        let text = String(decoding: try readFile(proof, what: "proof"), as: UTF8.self)
        do {
            let parsed = try TlogProof(text: text)
            let checkpoint = try parsed.verify(entry: entry, verifier: verifier, origin: origin)
            if json {
                printJSONLine(["record": record, "valid": true, "index": Int(parsed.index), "treeSize": Int(checkpoint.size),
                               "origin": checkpoint.origin])
            } else {
                print("valid: \(record) is entry \(parsed.index) of \(checkpoint.origin) at size \(checkpoint.size)")
            }
        } catch {
            if json {
                printJSONLine(["record": record, "valid": false, "error": ["code": error.code.description, "message": error.reason]])
                throw ExitCode.failure
            }
            throw CLIError("invalid: \(error.reason)")
        }
    }
}
