import Foundation
import SealTestSupport
import SealHostDriver
import SealLedger
import Testing

/// `sealctl ledger prove` against a `sealledger serve` whose checkpoints three witnesses cosign
/// (three `sealledger witness serve` processes on loopback), then `sealctl ledger verify-proof` and
/// `sealctl verify` on the evidence with every server stopped: offline.
@Suite("Offline evidence with witnesses, through the executables", .serialized)
struct OfflineEvidenceTests {
    @Test func evidenceFromAWitnessedLedgerVerifiesOfflineAndEachFailureHasItsOwnStatus() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sealledger = Built.url("sealledger"), sealctl = Built.url("sealctl")
        let fixture = try StampFixture()
        let rootFile = directory.appendingPathComponent("vendor-root.pem")
        try Data(try fixture.ca.pem.utf8).write(to: rootFile)
        let database = directory.appendingPathComponent("ledger/ledger.sqlite").path
        let vkey = try await runProgram(sealledger, ["vkey", "--database", database]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(vkey.hasPrefix("sealkit.local/ledger+"))

        var processes: [ServedLedger] = []
        defer { processes.forEach { $0.stop() } }
        var witnessOptions: [String] = []
        var witnessKeys: [String] = []
        for n in 1...3 {
            let home = directory.appendingPathComponent("w\(n)")
            let store = ["--database", home.appendingPathComponent("witness.sqlite").path, "--name", "example.com/w\(n)"]
            let key = try await runProgram(sealledger, ["witness", "vkey"] + store).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let process = try await ServedLedger.start(directory: home, command: ["witness", "serve"], arguments: ["--log-key", vkey] + store)
            processes.append(process)
            witnessOptions += ["--witness", "\(process.base)=\(key)"]
            witnessKeys.append(key)
        }
        let server = try await ServedLedger.start(directory: directory.appendingPathComponent("ledger"), arguments: [
            "--database", database, "--vendor-roots", rootFile.path, "--quorum", "2"] + witnessOptions)
        processes.append(server)

        // Three records and their documents, submitted as one batch.
        var recordFiles: [String] = [], documentFiles: [String] = []
        for n in 1...3 {
            let document = Array("document \(n)\n".utf8)
            let documentFile = directory.appendingPathComponent("doc\(n).txt")
            try Data(document).write(to: documentFile)
            let recordFile = directory.appendingPathComponent("doc\(n).seal.json")
            try fixture.record(counter: UInt32(n), document: document).jsonData().write(to: recordFile)
            recordFiles.append(recordFile.path)
            documentFiles.append(documentFile.path)
        }
        let submitted = try await runProgram(sealctl, ["ledger", "submit"] + recordFiles + ["--ledger", server.base])
        #expect(submitted.status == 0, "\(submitted)")

        // prove waits for the checkpoint the witnesses cosign, and checks it before writing.
        let allThree = witnessKeys.flatMap { ["--witness-key", $0] }
        let evidence = directory.appendingPathComponent("doc2.tlog-proof").path
        let proved = try await runProgram(sealctl, ["ledger", "prove", recordFiles[1], "--out", evidence, "--ledger", server.base,
                                                    "--log-key", vkey, "--quorum", "3", "--wait", "60"] + allThree)
        #expect(proved.status == 0 && proved.stdout.contains("cosigned by"), "\(proved)")
        processes.forEach { $0.stop() }

        // The file: a C2SP tlog-proof carrying the record, and a checkpoint with three cosignatures.
        let text = try String(contentsOfFile: evidence, encoding: .utf8)
        let proof = try TlogProof(text: text)
        #expect(text.hasPrefix("c2sp.org/tlog-proof@v1\nextra "))
        #expect(proof.index == 1)
        #expect(try StampRecord(jsonData: Data(try #require(proof.extra))) == StampRecord(jsonData: Data(contentsOf: URL(fileURLWithPath: recordFiles[1]))))
        let policy = try WitnessPolicy(witnesses: witnessKeys.map { try CosignatureVerifier(verifierKey: $0) }, quorum: 3)
        #expect(try policy.open(proof.checkpointNote, logVerifier: try NoteVerifier(verifierKey: vkey)).size == 3)

        // Offline, valid: verify-proof with the record inside the evidence or beside it, and sealctl verify.
        let offline = try await runProgram(sealctl, ["ledger", "verify-proof", evidence, "--log-key", vkey, "--quorum", "2"] + allThree)
        #expect(offline.status == 0 && offline.stdout.contains("is entry 1 of sealkit.local/ledger at size 3, cosigned by"), "\(offline)")
        let beside = try await runProgram(sealctl, ["ledger", "verify-proof", recordFiles[1], "--proof", evidence, "--log-key", vkey] + allThree)
        #expect(beside.status == 0, "\(beside)")
        let verified = try await runProgram(sealctl, ["verify", evidence, "--document", documentFiles[1], "--vendor-root", rootFile.path,
                                                      "--log-key", vkey, "--quorum", "2"] + allThree)
        #expect(verified.status == 0 && verified.stdout.contains("ledger-inclusion") && verified.stdout.contains("ledger-witnesses"), "\(verified)")

        // Quorum not met (exit 2): trust two of these witnesses and one that never saw the log.
        let stranger = try CosignatureSigner(generatingFor: "example.com/w4").verifier.verifierKey
        let twoAndStranger = [witnessKeys[0], witnessKeys[1], stranger].flatMap { ["--witness-key", $0] }
        let short = try await runProgram(sealctl, ["ledger", "verify-proof", evidence, "--log-key", vkey, "--quorum", "3"] + twoAndStranger)
        #expect(short.status == 2 && short.stderr.contains("quorum not met: 2 of the 3 trusted witnesses"), "\(short)")
        let shortJSON = try await runProgram(sealctl, ["ledger", "verify-proof", evidence, "--log-key", vkey, "--quorum", "3", "--json"] + twoAndStranger)
        #expect(shortJSON.status == 2 && shortJSON.stdout.contains("\"quorumNotMet\""), "\(shortJSON)")
        let shortVerify = try await runProgram(sealctl, ["verify", evidence, "--document", documentFiles[1], "--vendor-root", rootFile.path,
                                                         "--log-key", vkey, "--quorum", "3"] + twoAndStranger)
        #expect(shortVerify.status == 2 && shortVerify.stdout.contains("INVALID: ledger-witnesses"), "\(shortVerify)")
        #expect(try await runProgram(sealctl, ["ledger", "verify-proof", evidence, "--log-key", vkey, "--quorum", "2"] + twoAndStranger).status == 0)

        // Proof invalid (exit 1): another record, a changed proof hash, another log key, a forged cosignature.
        let otherRecord = try await runProgram(sealctl, ["ledger", "verify-proof", recordFiles[2], "--proof", evidence, "--log-key", vkey] + allThree)
        #expect(otherRecord.status == 1 && otherRecord.stderr.contains("invalid: the record is not entry 1"), "\(otherRecord)")
        var lines = text.components(separatedBy: "\n")
        let hashLine = try #require(lines.firstIndex { $0.hasPrefix("index ") }) + 1
        lines[hashLine] = Data(repeating: 7, count: 32).base64EncodedString()
        let tampered = directory.appendingPathComponent("tampered.tlog-proof").path
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: tampered))
        let badProof = try await runProgram(sealctl, ["ledger", "verify-proof", tampered, "--log-key", vkey] + allThree)
        #expect(badProof.status == 1 && badProof.stderr.hasPrefix("Error: invalid:") && badProof.stderr.split(separator: "\n").count == 1, "\(badProof)")
        let badVerify = try await runProgram(sealctl, ["verify", tampered, "--document", documentFiles[1], "--vendor-root", rootFile.path,
                                                       "--log-key", vkey] + allThree)
        #expect(badVerify.status == 1 && badVerify.stdout.contains("INVALID: ledger-inclusion"), "\(badVerify)")
        let otherLog = try NoteSigner(generatingFor: "sealkit.local/ledger").verifier.verifierKey
        #expect(try await runProgram(sealctl, ["ledger", "verify-proof", evidence, "--log-key", otherLog]).status == 1)
        // A cosignature line of a trusted witness whose signature bytes are changed: invalid, not merely short of quorum.
        let w1Name = "— example.com/w1 "
        let w1Line = try #require(lines.firstIndex { $0.hasPrefix(w1Name) })
        var signature = try #require(Data(base64Encoded: String(text.components(separatedBy: "\n")[w1Line].dropFirst(w1Name.count))))
        signature[signature.count - 1] ^= 1
        var forgedLines = text.components(separatedBy: "\n")
        forgedLines[w1Line] = w1Name + signature.base64EncodedString()
        let forged = directory.appendingPathComponent("forged.tlog-proof").path
        try Data(forgedLines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: forged))
        let forgedAnswer = try await runProgram(sealctl, ["ledger", "verify-proof", forged, "--log-key", vkey, "--quorum", "2"] + allThree)
        #expect(forgedAnswer.status == 1 && forgedAnswer.stderr.contains("example.com/w1 does not verify"), "\(forgedAnswer)")

        // Usage errors (64): an impossible quorum, witnesses without the log key.
        #expect(try await runProgram(sealctl, ["ledger", "verify-proof", evidence, "--log-key", vkey, "--quorum", "4"] + allThree).status == 64)
        #expect(try await runProgram(sealctl, ["ledger", "verify-proof", evidence] + allThree).status == 64)
        #expect(try await runProgram(sealctl, ["verify", evidence, "--document", documentFiles[1], "--vendor-root", rootFile.path,
                                               "--quorum", "1"]).status == 64)
    }
}
