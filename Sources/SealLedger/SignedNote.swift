import Crypto
import Foundation

/// An Ed25519 key that signs C2SP signed notes (signature type 0x01), such as the log's checkpoints.
///
/// The key ID is the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), read big-endian.
/// The private key's text form is Go's `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>`
/// (golang.org/x/mod/sumdb/note), so the same file works with Go's tools.
public struct NoteSigner: Sendable {
    /// The key name: the log's origin for a checkpoint key.
    public let name: String
    let key: Curve25519.Signing.PrivateKey

    /// A new random key named `name`.
    /// - Throws: ``LedgerError`` `.malformedNote` when the name is empty or holds whitespace or `+`.
    public init(generatingFor name: String) throws(LedgerError) {
        try NoteVerifier.checkKeyName(name)
        self.name = name
        self.key = Curve25519.Signing.PrivateKey()
    }

    /// Reads the private key text form.
    /// - Throws: ``LedgerError`` `.malformedNote` when the text is not a valid Ed25519 note key.
    public init(privateKeyText: String) throws(LedgerError) {
        // PRIVATE+KEY+<name>+<id>+<key>: the base64 key may itself hold '+', so split three times at most.
        let text = privateKeyText.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = "PRIVATE+KEY+"
        let fields = text.hasPrefix(prefix) ? text.dropFirst(prefix.count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false) : []
        guard fields.count == 3,
              let raw = Data(base64Encoded: String(fields[2])), raw.count == 33, raw.first == 0x01,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw.dropFirst()) else {
            throw LedgerError(code: .malformedNote, reason: "not an Ed25519 note private key (PRIVATE+KEY+name+id+key)")
        }
        let name = String(fields[0])
        try NoteVerifier.checkKeyName(name)
        self.name = name
        self.key = key
        guard String(fields[1]) == String(format: "%08x", keyID) else {
            throw LedgerError(code: .malformedNote, reason: "the private key's ID does not match its name and key")
        }
    }

    /// The private key text form (keep it secret).
    public var privateKeyText: String {
        "PRIVATE+KEY+\(name)+\(String(format: "%08x", keyID))+\(Data([0x01] + key.rawRepresentation).base64EncodedString())"
    }

    /// The verifier for this key.
    public var verifier: NoteVerifier { NoteVerifier(name: name, publicKey: Array(key.publicKey.rawRepresentation)) }

    /// The key ID (see the type's discussion).
    public var keyID: UInt32 { verifier.keyID }

    /// Signs `text` (which must end in a newline) and returns the whole signed note.
    /// - Throws: ``LedgerError`` `.malformedNote` when the text is not a valid note text.
    public func sign(_ text: String) throws(LedgerError) -> String {
        try SignedNote.checkText(text)
        let signature: Data
        do { signature = try key.signature(for: Data(text.utf8)) } catch {
            throw LedgerError(code: .storageFailure, reason: "Ed25519 signing failed: \(error)")
        }
        return text + "\n" + SignedNote.signatureLine(name: name, keyID: keyID, signature: Array(signature))
    }
}

/// Verifies Ed25519 signatures on C2SP signed notes; its text form is the note "vkey"
/// `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`.
public struct NoteVerifier: Sendable, Hashable {
    /// The key name.
    public let name: String
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    init(name: String, publicKey: [UInt8]) {
        self.name = name
        self.publicKey = publicKey
    }

    /// Reads a vkey.
    /// - Throws: ``LedgerError`` `.malformedNote` when it is not an Ed25519 vkey or its ID is wrong.
    public init(verifierKey text: String) throws(LedgerError) {
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, let raw = Data(base64Encoded: String(fields[2])), raw.count == 33, raw.first == 0x01 else {
            throw LedgerError(code: .malformedNote, reason: "not an Ed25519 note verifier key (name+id+key)")
        }
        try Self.checkKeyName(String(fields[0]))
        self.init(name: String(fields[0]), publicKey: Array(raw.dropFirst()))
        guard String(fields[1]) == String(format: "%08x", keyID) else {
            throw LedgerError(code: .malformedNote, reason: "the verifier key's ID does not match its name and key")
        }
    }

    /// The key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[0..<4], big-endian.
    public var keyID: UInt32 {
        let digest = Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + publicKey))
        return digest[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The vkey text form.
    public var verifierKey: String {
        "\(name)+\(String(format: "%08x", keyID))+\(Data([0x01] + publicKey).base64EncodedString())"
    }

    static func checkKeyName(_ name: String) throws(LedgerError) {
        guard !name.isEmpty, !name.contains("+"),
              !name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) else {
            throw LedgerError(code: .malformedNote, reason: "a note key name is non-empty, without spaces or '+'")
        }
    }

    func verifies(_ signature: [UInt8], of text: String) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: Data(text.utf8))
    }
}

/// A C2SP signed note split into its text and signature lines.
public struct SignedNote: Sendable, Hashable {
    /// One signature line.
    public struct Signature: Sendable, Hashable {
        /// The signer's key name.
        public var name: String
        /// The key ID (first four bytes of the decoded signature field).
        public var keyID: UInt32
        /// The signature bytes after the key ID.
        public var signature: [UInt8]
    }

    /// The signed text, ending in a newline.
    public let text: String
    /// Every signature line, known keys or not.
    public let signatures: [Signature]

    /// Parses a note.
    /// - Throws: ``LedgerError`` `.malformedNote` when it is not one (no blank line before the
    ///   signatures, a bad signature line, control characters, no signature at all).
    public init(parsing note: String) throws(LedgerError) {
        guard let split = note.range(of: "\n\n", options: .backwards) else {
            throw LedgerError(code: .malformedNote, reason: "no blank line before the signatures")
        }
        let text = String(note[note.startIndex...split.lowerBound])
        try Self.checkText(text)
        let block = note[split.upperBound...]
        guard block.hasSuffix("\n") else { throw LedgerError(code: .malformedNote, reason: "the note does not end in a newline") }
        var signatures: [Signature] = []
        for line in block.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", let raw = Data(base64Encoded: String(parts[2])), raw.count > 4 else {
                throw LedgerError(code: .malformedNote, reason: "a signature line is not '— name base64'")
            }
            let bytes = Array(raw)
            signatures.append(Signature(name: String(parts[1]), keyID: bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) },
                                        signature: Array(bytes[4...])))
        }
        guard !signatures.isEmpty else { throw LedgerError(code: .malformedNote, reason: "the note has no signature") }
        self.text = text
        self.signatures = signatures
    }

    /// Checks that a signature of `verifier` on the note verifies; signatures of other keys are ignored.
    /// - Throws: ``LedgerError`` `.signatureInvalid` when none does.
    public func verify(_ verifier: NoteVerifier) throws(LedgerError) {
        let keyID = verifier.keyID
        let mine = signatures.filter { $0.name == verifier.name && $0.keyID == keyID }
        guard !mine.isEmpty else {
            throw LedgerError(code: .signatureInvalid, reason: "the note carries no signature by \(verifier.name)")
        }
        guard mine.allSatisfy({ verifier.verifies($0.signature, of: text) }) else {
            throw LedgerError(code: .signatureInvalid, reason: "the signature by \(verifier.name) does not verify")
        }
    }

    static func checkText(_ text: String) throws(LedgerError) {
        guard text.hasSuffix("\n"), !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7F }) else {
            throw LedgerError(code: .malformedNote, reason: "a note text ends in a newline and holds no other control character")
        }
    }

    static func signatureLine(name: String, keyID: UInt32, signature: [UInt8]) -> String {
        let id: [UInt8] = [UInt8(keyID >> 24), UInt8(keyID >> 16 & 0xFF), UInt8(keyID >> 8 & 0xFF), UInt8(keyID & 0xFF)]
        return "\u{2014} \(name) \(Data(id + signature).base64EncodedString())\n"
    }
}

/// A C2SP tlog-checkpoint: origin, tree size and root hash (no timestamp).
public struct Checkpoint: Sendable, Hashable {
    /// The log's origin line, e.g. `sealkit.local/ledger`.
    public var origin: String
    /// The number of leaves.
    public var size: UInt64
    /// The RFC 9162 root hash of the first `size` leaves.
    public var rootHash: MerkleHash

    /// A checkpoint of the given values.
    public init(origin: String, size: UInt64, rootHash: MerkleHash) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
    }

    /// The note text: `origin\nsize\nbase64(root)\n`.
    public var text: String { "\(origin)\n\(size)\n\(Data(rootHash).base64EncodedString())\n" }

    /// Parses a checkpoint note's text (extension lines after the third are allowed and ignored).
    /// - Throws: ``LedgerError`` `.malformedNote`.
    public init(text: String) throws(LedgerError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard text.hasSuffix("\n"), lines.count >= 4, !lines[0].isEmpty,
              let size = UInt64(lines[1]), String(size) == lines[1],
              let root = Data(base64Encoded: String(lines[2])), root.count == 32 else {
            throw LedgerError(code: .malformedNote, reason: "a checkpoint is 'origin', a decimal size and a base64 SHA-256 root, one per line")
        }
        self.init(origin: String(lines[0]), size: size, rootHash: Array(root))
    }

    /// Opens a signed checkpoint note: parses it, checks the origin and the log's signature.
    /// - Throws: ``LedgerError`` `.malformedNote` or `.signatureInvalid`.
    public static func open(_ note: String, origin: String? = nil, verifier: NoteVerifier) throws(LedgerError) -> Checkpoint {
        let signed = try SignedNote(parsing: note)
        try signed.verify(verifier)
        let checkpoint = try Checkpoint(text: signed.text)
        if let origin, checkpoint.origin != origin {
            throw LedgerError(code: .signatureInvalid, reason: "the checkpoint is for origin '\(checkpoint.origin)', not '\(origin)'")
        }
        return checkpoint
    }
}
