import Foundation
import SealTestSupport
import SealHostDriver
import SealLedger
import Testing
import X509

/// A ledger on a fresh SQLite file signing with `signer`, holding `leaves`.
func makeLedger(_ directory: URL, _ name: String, signer: NoteSigner, leaves: [[UInt8]]) throws -> Ledger {
    let storage = try SQLiteStorage(path: directory.appendingPathComponent("\(name).sqlite").path)
    let ledger = try Ledger(storage: storage, signer: signer, stampVerifier: StampVerifier(trustedRoots: [Certificate]()))
    if !leaves.isEmpty { _ = try ledger.appendPreverified(leaves) }
    return ledger
}

/// Leaves "entry 0" … "entry n-1", with `replaced` entries changed (a history rewrite).
func syntheticLeaves(_ count: Int, replacing replaced: Set<Int> = []) -> [[UInt8]] {
    (0..<count).map { Array((replaced.contains($0) ? "rewritten entry \($0)" : "entry \($0)").utf8) }
}

@Suite("Witness cosignatures (C2SP tlog-cosignature) and the witness's rules (C2SP tlog-witness)")
struct WitnessTests {
    // Derived with Go's standard library (crypto/ed25519, crypto/sha256) by
    // Tests/SealLedgerTests/go/witnesscosignature.go: seed 01…20, time 1679315147, the checkpoint of the
    // tlog-witness example. Go's sumdb/note (Debian, Go 1.19) refuses the type-0x04 vkey
    // ("unknown verifier algorithm"), so the project's own verifier checks the signature.
    static let seedKey = "PRIVATE+KEY+witness.example/w1+468d99bb+" + Data([0x04] + (1...32).map { UInt8($0) }).base64EncodedString()
    static let vkey = "witness.example/w1+468d99bb+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk"
    static let checkpointText = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    static let line = "\u{2014} witness.example/w1 Ro2ZuwAAAABkGFDLQB2dbiQ7rPMIDjq/twq5Ixt42T+awjiYS4+fxrnLnI31x5abVjZlhDVvZAcRRLyAiG4oQlhTgi4DsxiPwiDaDg==\n"

    @Test func cosignatureBytesMatchTheVectorDerivedWithGo() throws {
        let signer = try CosignatureSigner(privateKeyText: Self.seedKey)
        #expect(signer.verifier.verifierKey == Self.vkey)
        #expect(try signer.cosign(checkpointText: Self.checkpointText, time: 1_679_315_147) == Self.line)
        let verifier = try CosignatureVerifier(verifierKey: Self.vkey)
        let note = try SignedNote(parsing: Self.checkpointText + "\n" + Self.line)
        #expect(try verifier.cosignatureTime(on: note) == 1_679_315_147)
        // The signature covers the time: the same signature under another time does not verify.
        var field = Array(try #require(Data(base64Encoded: String(Self.line.split(separator: " ")[2].dropLast()))))
        field[11] ^= 1
        let moved = try SignedNote(parsing: Self.checkpointText + "\n\u{2014} witness.example/w1 \(Data(field).base64EncodedString())\n")
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) { try verifier.cosignatureTime(on: moved) }
        // And the checkpoint: another size does not verify.
        let other = try SignedNote(parsing: Self.checkpointText.replacingOccurrences(of: "20852163", with: "20852164") + "\n" + Self.line)
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) { try verifier.cosignatureTime(on: other) }
        // A log (type 0x01) vkey is not a cosignature key, and the reverse.
        #expect(throws: LedgerError(code: .malformedNote, reason: "")) { try NoteVerifier(verifierKey: Self.vkey) }
    }

    @Test func goDerivesTheSameVector() async throws {
        let go = ["/usr/bin/go", "/usr/lib/go/bin/go"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let goPath = try #require(go, "Go is not installed: apt-get install golang-go golang-golang-x-mod-dev (scripts/test.sh does)")
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("witnesscosignature")
        let build = try await runProgram(URL(fileURLWithPath: goPath), ["build", "-o", output.path,
                                   repositoryRoot.appendingPathComponent("Tests/SealLedgerTests/go/witnesscosignature.go").path], environment: [
            "GOPATH": "/usr/share/gocode", "GO111MODULE": "off", "GOFLAGS": "", "GOPROXY": "off",
            "GOCACHE": directory.appendingPathComponent("gocache").path,
        ])
        #expect(build.status == 0, "go build: \(build.stderr)")
        let run = try await runProgram(output, [])
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("vkey \(Self.vkey)"))
        #expect(lines.contains("line \(Self.line.dropLast())"))
        #expect(lines.contains("note.NewVerifier: unknown verifier algorithm"), "\(run.stdout)")
    }

    @Test func theStateMachineAnswersInTheSpecsOrder() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logKey = try NoteSigner(generatingFor: "example.com/log")
        let impostor = try NoteSigner(generatingFor: "example.com/log")
        let honest = try makeLedger(directory, "honest", signer: logKey, leaves: syntheticLeaves(5))
        let machine = WitnessStateMachine(logKeys: [logKey.verifier])
        var state: [String: Checkpoint] = [:]

        func ask(_ old: UInt64, _ proof: [MerkleHash], _ note: String) -> WitnessAnswer {
            let (answer, next) = machine.decide(AddCheckpointRequest(oldSize: old, proof: proof, checkpointNote: note), state: state)
            if case .cosign = answer {} else { #expect(next == state, "a refusal changes no state") }
            state = next
            return answer
        }

        let five = honest.checkpointNote
        // 404: a log the witness does not know.
        #expect(WitnessStateMachine(logKeys: []).decide(AddCheckpointRequest(oldSize: 0, proof: [], checkpointNote: five), state: [:]).answer.status == 404)
        // 403: signed by another key under the same name; a trusted key's line that does not verify.
        let forged = try impostor.sign(try Checkpoint(text: SignedNote(parsing: five).text).text)
        #expect(ask(0, [], forged).status == 403)
        let tampered = five.replacingOccurrences(of: "\n5\n", with: "\n6\n")
        #expect(ask(0, [], tampered).status == 403)
        // 400: not a checkpoint; old above the size.
        #expect(ask(0, [], "not a note\n").status == 400)
        #expect(ask(6, [], five).status == 400)
        // 422: a non-empty proof from size 0.
        #expect(ask(0, [[UInt8](repeating: 0, count: 32)], five).status == 422)
        // 200: the first checkpoint is trusted on first use.
        #expect(ask(0, [], five) == .cosign(try Checkpoint(text: SignedNote(parsing: five).text)))
        #expect(state["example.com/log"]?.size == 5)

        _ = try honest.appendPreverified(syntheticLeaves(9).suffix(4))
        let nine = honest.checkpointNote
        // 409: a stale old size gets the size the witness holds.
        #expect(ask(0, [], nine) == .conflict(latestSize: 5))
        #expect(ask(3, [], nine) == .conflict(latestSize: 5))
        // 422: a proof from the rewritten history, and a wrong proof from the honest log.
        let fork = try makeLedger(directory, "fork", signer: logKey, leaves: syntheticLeaves(9, replacing: [2]))
        #expect(ask(5, try fork.consistencyProof(oldSize: 5, newSize: 9), fork.checkpointNote).status == 422)
        #expect(ask(5, try honest.consistencyProof(oldSize: 4, newSize: 9), nine).status == 422)
        #expect(ask(5, try honest.consistencyProof(oldSize: 5, newSize: 9), fork.checkpointNote).status == 422)
        // 200: the honest extension.
        #expect(ask(5, try honest.consistencyProof(oldSize: 5, newSize: 9), nine).status == 200)
        #expect(state["example.com/log"]?.size == 9)
        // Same size: the same root is cosigned again; another root is a 409; a proof there is a 422.
        #expect(ask(9, [], nine).status == 200)
        #expect(ask(9, [], fork.checkpointNote) == .conflict(latestSize: 9))
        #expect(ask(9, [[UInt8](repeating: 1, count: 32)], nine).status == 422)
    }

    @Test func theWitnessKeepsItsStateDurablyAndCosigns() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logKey = try NoteSigner(generatingFor: "example.com/log")
        let ledger = try makeLedger(directory, "log", signer: logKey, leaves: syntheticLeaves(5))
        let signer = try CosignatureSigner(generatingFor: "example.com/witness")
        let path = directory.appendingPathComponent("witness.sqlite").path
        do {
            let witness = try Witness(path: path, signer: signer, logKeys: [logKey.verifier], clock: { 1_700_000_000 })
            let answer = witness.addCheckpoint(body: AddCheckpointRequest(oldSize: 0, proof: [], checkpointNote: ledger.checkpointNote).body)
            #expect(answer.status == 200)
            let note = try SignedNote(parsing: ledger.checkpointNote + answer.body)
            #expect(try signer.verifier.cosignatureTime(on: note) == 1_700_000_000)
            #expect(witness.addCheckpoint(body: "old x\n\n").status == 400)
        }
        // Reopened: the witness still holds size 5 and says so on a stale request.
        let reopened = try Witness(path: path, signer: signer, logKeys: [logKey.verifier])
        #expect(try reopened.state()["example.com/log"]?.size == 5)
        let stale = reopened.addCheckpoint(body: AddCheckpointRequest(oldSize: 0, proof: [], checkpointNote: ledger.checkpointNote).body)
        #expect(stale.status == 409 && stale.contentType == "text/x.tlog.size" && stale.body == "5\n", "\(stale)")
    }

    @Test func theRequestBodyRoundTripsAndRefusesMalformedInput() throws {
        let request = AddCheckpointRequest(oldSize: 20_852_014, proof: [[UInt8](repeating: 7, count: 32)], checkpointNote: Self.checkpointText + "\n" + Self.line)
        #expect(try AddCheckpointRequest(body: request.body) == request)
        for body in ["old 01\n\nx\n", "old -1\n\nx\n", "old 1\n", "new 1\n\nx\n", "old 1\nAAAA\n\nx\n",
                     "old 1\n" + String(repeating: Data(repeating: 0, count: 32).base64EncodedString() + "\n", count: 64) + "\nx\n"] {
            #expect(throws: LedgerError(code: .malformedInput, reason: "")) { try AddCheckpointRequest(body: body) }
        }
    }

    @Test func aClientRequiresItsQuorum() throws {
        let logKey = try NoteSigner(generatingFor: "example.com/log")
        let witnesses = try (1...3).map { try CosignatureSigner(generatingFor: "example.com/w\($0)") }
        let text = Checkpoint(origin: "example.com/log", size: 3, rootHash: [UInt8](repeating: 9, count: 32)).text
        let signed = try logKey.sign(text)
        let policy = try WitnessPolicy(witnesses: witnesses.map(\.verifier), quorum: 2)
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) { try WitnessPolicy(witnesses: witnesses.map(\.verifier), quorum: 4) }
        #expect(throws: LedgerError(code: .malformedInput, reason: "")) { try WitnessPolicy(witnesses: [witnesses[0].verifier, witnesses[0].verifier], quorum: 2) }
        let one = signed + (try witnesses[0].cosign(checkpointText: text, time: 10))
        #expect(throws: LedgerError(code: .quorumNotMet, reason: "")) { try policy.open(one, logVerifier: logKey.verifier) }
        // The same witness twice is still one witness.
        let twice = one + (try witnesses[0].cosign(checkpointText: text, time: 11))
        #expect(throws: LedgerError(code: .quorumNotMet, reason: "")) { try policy.open(twice, logVerifier: logKey.verifier) }
        // An unknown witness does not count; two trusted ones do.
        let stranger = try CosignatureSigner(generatingFor: "example.com/w9")
        let two = one + (try stranger.cosign(checkpointText: text, time: 12)) + (try witnesses[2].cosign(checkpointText: text, time: 13))
        #expect(try policy.open(two, logVerifier: logKey.verifier).size == 3)
        // The log's own signature is still required.
        let unsignedByLog = try impostorNote(text) + (try witnesses[0].cosign(checkpointText: text, time: 10)) + (try witnesses[1].cosign(checkpointText: text, time: 10))
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) { try policy.open(unsignedByLog, logVerifier: logKey.verifier) }
        // A tlog-proof's checkpoint goes through the same policy.
        let leaf = Array("the only entry".utf8)
        let single = Checkpoint(origin: "example.com/log", size: 1, rootHash: MerkleTree.leafHash(leaf)).text
        let proofNote = try logKey.sign(single) + (try witnesses[1].cosign(checkpointText: single, time: 5))
        let proof = TlogProof(index: 0, hashes: [], checkpointNote: proofNote)
        #expect(try proof.verify(entry: leaf, verifier: logKey.verifier).size == 1)
        #expect(throws: LedgerError(code: .quorumNotMet, reason: "")) { try proof.verify(entry: leaf, verifier: logKey.verifier, witnesses: policy) }
        #expect(try proof.verify(entry: leaf, verifier: logKey.verifier, witnesses: try WitnessPolicy(witnesses: witnesses.map(\.verifier), quorum: 1)).size == 1)
    }

    private func impostorNote(_ text: String) throws -> String {
        try NoteSigner(generatingFor: "example.com/log").sign(text)
    }
}
