import Foundation
import SealLedger
import Testing

struct NoteVectors: Decodable {
    var privateKey: String
    var verifierKey: String
    var text: String
    var signatureLine: String
    var otherSignatureLine: String

    static func load() throws -> NoteVectors {
        try JSONDecoder().decode(NoteVectors.self, from: Data(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/ledger/note-vectors.json")))
    }
}

@Suite("C2SP signed notes and checkpoints")
struct NoteTests {
    @Test func theGoDocumentationKeySignsTheSameBytes() throws {
        let vectors = try NoteVectors.load()
        let signer = try NoteSigner(privateKeyText: vectors.privateKey)
        #expect(signer.name == "PeterNeumann")
        #expect(signer.keyID == 0xc74f20a3)
        #expect(signer.verifier.verifierKey == vectors.verifierKey)
        #expect(signer.privateKeyText == vectors.privateKey)
        #expect(try signer.sign(vectors.text) == vectors.text + "\n" + vectors.signatureLine)
        let verifier = try NoteVerifier(verifierKey: vectors.verifierKey)
        #expect(verifier == signer.verifier)
    }

    @Test func unknownSignaturesAreIgnoredAndABadOneRefused() throws {
        let vectors = try NoteVectors.load()
        let verifier = try NoteVerifier(verifierKey: vectors.verifierKey)
        let both = vectors.text + "\n" + vectors.signatureLine + vectors.otherSignatureLine
        let note = try SignedNote(parsing: both)
        #expect(note.text == vectors.text)
        #expect(note.signatures.map(\.name) == ["PeterNeumann", "EnochRoot"])
        try note.verify(verifier)
        // Only the unknown key's signature: nothing verifies.
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) {
            try SignedNote(parsing: vectors.text + "\n" + vectors.otherSignatureLine).verify(verifier)
        }
        // The text changed by one character.
        let altered = both.replacingOccurrences(of: "answer", with: "Answer")
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) { try SignedNote(parsing: altered).verify(verifier) }
        // Malformed notes.
        for bad in [vectors.text, vectors.text + "\n", vectors.text + "\n— PeterNeumann !!!\n", "a\u{7}b\n\n" + vectors.signatureLine,
                    vectors.text + "\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"] {
            #expect(throws: LedgerError(code: .malformedNote, reason: "")) { try SignedNote(parsing: bad) }
        }
        // A verifier key whose ID does not match its name.
        #expect(throws: LedgerError(code: .malformedNote, reason: "")) {
            try NoteVerifier(verifierKey: vectors.verifierKey.replacingOccurrences(of: "PeterNeumann", with: "PeterNeuman"))
        }
    }

    @Test func checkpointsRoundTripAndOpenOnlyUnderTheirKeyAndOrigin() throws {
        let signer = try NoteSigner(generatingFor: "example.com/log")
        let checkpoint = Checkpoint(origin: "example.com/log", size: 1234567, rootHash: Array(repeating: 7, count: 32))
        let note = try signer.sign(checkpoint.text)
        #expect(note.hasPrefix("example.com/log\n1234567\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n\u{2014} example.com/log "))
        #expect(try Checkpoint.open(note, verifier: signer.verifier) == checkpoint)
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) {
            try Checkpoint.open(note, origin: "other.example/log", verifier: signer.verifier)
        }
        let other = try NoteSigner(generatingFor: "example.com/log")
        #expect(throws: LedgerError(code: .signatureInvalid, reason: "")) { try Checkpoint.open(note, verifier: other.verifier) }
        #expect(throws: LedgerError(code: .malformedNote, reason: "")) { try Checkpoint(text: "example.com/log\n012\nBwc=\n") }
        #expect(throws: LedgerError(code: .malformedNote, reason: "")) { try NoteSigner(generatingFor: "has space") }
    }
}
