import Crypto
import Foundation

/// The first line of the message a C2SP tlog-cosignature signs.
let cosignatureHeader = "cosignature/v1\n"

/// The C2SP signed-note key ID: the first four bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key), big-endian.
func noteKeyID(name: String, type: UInt8, publicKey: [UInt8]) -> UInt32 {
    let digest = Array(SHA256.hash(data: Array(name.utf8) + [0x0A, type] + publicKey))
    return digest[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
}

/// A witness's Ed25519 cosigning key (C2SP tlog-cosignature, signature type 0x04).
///
/// A cosignature states "at time T this witness saw this checkpoint and had verified it consistent
/// with every earlier one it cosigned". It signs `cosignature/v1\ntime <T>\n` followed by the
/// checkpoint's note text, and its signature field is the 8-byte big-endian T followed by the
/// 64-byte Ed25519 signature. The private key's text form follows Go's
/// `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 ‖ seed)>`.
public struct CosignatureSigner: Sendable {
    /// The witness's name, e.g. `witness.example/w1`.
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
    /// - Throws: ``LedgerError`` `.malformedNote` when the text is not a cosignature private key.
    public init(privateKeyText: String) throws(LedgerError) {
        let text = privateKeyText.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = "PRIVATE+KEY+"
        let fields = text.hasPrefix(prefix) ? text.dropFirst(prefix.count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false) : []
        guard fields.count == 3,
              let raw = Data(base64Encoded: String(fields[2])), raw.count == 33, raw.first == 0x04,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw.dropFirst()) else {
            throw LedgerError(code: .malformedNote, reason: "not an Ed25519 cosignature private key (PRIVATE+KEY+name+id+key, type 0x04)")
        }
        let name = String(fields[0])
        try NoteVerifier.checkKeyName(name)
        self.name = name
        self.key = key
        guard String(fields[1]) == String(format: "%08x", verifier.keyID) else {
            throw LedgerError(code: .malformedNote, reason: "the private key's ID does not match its name and key")
        }
    }

    /// The private key text form (keep it secret).
    public var privateKeyText: String {
        "PRIVATE+KEY+\(name)+\(String(format: "%08x", verifier.keyID))+\(Data([0x04] + key.rawRepresentation).base64EncodedString())"
    }

    /// The verifier for this key.
    public var verifier: CosignatureVerifier { CosignatureVerifier(name: name, publicKey: Array(key.publicKey.rawRepresentation)) }

    /// Cosigns a checkpoint's note text at `time` (seconds since the epoch, not zero) and returns the
    /// note signature line (`— <name> <base64(key ID ‖ time ‖ signature)>` and a newline).
    /// - Throws: ``LedgerError`` `.malformedNote` when the text is not a checkpoint or the time is zero.
    public func cosign(checkpointText: String, time: UInt64) throws(LedgerError) -> String {
        _ = try Checkpoint(text: checkpointText)
        guard time > 0 else { throw LedgerError(code: .malformedNote, reason: "a cosignature's time is not zero") }
        let signature: Data
        do { signature = try key.signature(for: CosignatureVerifier.message(checkpointText: checkpointText, time: time)) } catch {
            throw LedgerError(code: .storageFailure, reason: "Ed25519 signing failed: \(error)")
        }
        return SignedNote.signatureLine(name: name, keyID: verifier.keyID, signature: bigEndian64(time) + Array(signature))
    }
}

/// Verifies a witness's Ed25519 cosignatures (C2SP tlog-cosignature, type 0x04); its text form is the
/// vkey `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`, the key ID being
/// SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[0..<4].
public struct CosignatureVerifier: Sendable, Hashable {
    /// The witness's name.
    public let name: String
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    init(name: String, publicKey: [UInt8]) {
        self.name = name
        self.publicKey = publicKey
    }

    /// Reads a cosignature vkey.
    /// - Throws: ``LedgerError`` `.malformedNote` when it is not a type-0x04 vkey or its ID is wrong.
    public init(verifierKey text: String) throws(LedgerError) {
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, let raw = Data(base64Encoded: String(fields[2])), raw.count == 33, raw.first == 0x04 else {
            throw LedgerError(code: .malformedNote, reason: "not an Ed25519 cosignature verifier key (name+id+base64(0x04 ‖ key))")
        }
        try NoteVerifier.checkKeyName(String(fields[0]))
        self.init(name: String(fields[0]), publicKey: Array(raw.dropFirst()))
        guard String(fields[1]) == String(format: "%08x", keyID) else {
            throw LedgerError(code: .malformedNote, reason: "the verifier key's ID does not match its name and key")
        }
    }

    /// The key ID: SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[0..<4], big-endian.
    public var keyID: UInt32 { noteKeyID(name: name, type: 0x04, publicKey: publicKey) }

    /// The vkey text form.
    public var verifierKey: String {
        "\(name)+\(String(format: "%08x", keyID))+\(Data([0x04] + publicKey).base64EncodedString())"
    }

    /// The signed message: `cosignature/v1\ntime <time>\n` followed by the checkpoint's note text.
    static func message(checkpointText: String, time: UInt64) -> Data {
        Data((cosignatureHeader + "time \(time)\n" + checkpointText).utf8)
    }

    /// The time of this witness's valid cosignature on the note, or nil when the note carries none
    /// (signature lines of other keys are ignored).
    /// - Throws: ``LedgerError`` `.signatureInvalid` when a line with this key's name and ID does not
    ///   verify (the note is then malformed, as C2SP signed-note says).
    public func cosignatureTime(on note: SignedNote) throws(LedgerError) -> UInt64? {
        let keyID = keyID
        var time: UInt64?
        for line in note.signatures where line.name == name && line.keyID == keyID {
            guard line.signature.count == 72, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
                throw LedgerError(code: .signatureInvalid, reason: "the cosignature by \(name) is not 8 + 64 bytes")
            }
            let stamp = line.signature[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard stamp > 0, key.isValidSignature(line.signature[8...], for: Self.message(checkpointText: note.text, time: stamp)) else {
                throw LedgerError(code: .signatureInvalid, reason: "the cosignature by \(name) does not verify")
            }
            time = max(time ?? 0, stamp)
        }
        return time
    }
}

/// A client's witness policy: the witnesses it trusts and how many of them must have cosigned a
/// checkpoint (k of n) before it believes the checkpoint is the one everyone sees.
public struct WitnessPolicy: Sendable, Hashable {
    /// The trusted witnesses.
    public let witnesses: [CosignatureVerifier]
    /// How many distinct trusted witnesses must cosign.
    public let quorum: Int

    /// A policy requiring `quorum` of `witnesses`.
    /// - Throws: ``LedgerError`` `.malformedInput` when the quorum is negative or above the number of
    ///   distinct witnesses.
    public init(witnesses: [CosignatureVerifier], quorum: Int) throws(LedgerError) {
        let distinct = Set(witnesses.map { "\($0.name)+\($0.keyID)" })
        guard quorum >= 0, quorum <= distinct.count, distinct.count == witnesses.count else {
            throw LedgerError(code: .malformedInput, reason: "a quorum of \(quorum) of \(witnesses.count) distinct witnesses is not possible")
        }
        self.witnesses = witnesses
        self.quorum = quorum
    }

    /// The trusted witnesses whose cosignatures on the note verify, with their times.
    /// - Throws: ``LedgerError`` `.signatureInvalid` when a line naming a trusted witness does not verify.
    public func cosigners(of note: SignedNote) throws(LedgerError) -> [(witness: CosignatureVerifier, time: UInt64)] {
        var found: [(witness: CosignatureVerifier, time: UInt64)] = []
        for witness in witnesses {
            if let time = try witness.cosignatureTime(on: note) { found.append((witness, time)) }
        }
        return found
    }

    /// Opens a cosigned checkpoint: the log's signature and origin (``Checkpoint/open(_:origin:verifier:)``),
    /// then at least ``quorum`` valid cosignatures by distinct trusted witnesses.
    /// - Throws: ``LedgerError`` `.malformedNote`, `.signatureInvalid`, or `.quorumNotMet`.
    public func open(_ note: String, origin: String? = nil, logVerifier: NoteVerifier) throws(LedgerError) -> Checkpoint {
        let checkpoint = try Checkpoint.open(note, origin: origin, verifier: logVerifier)
        let cosigners = try cosigners(of: try SignedNote(parsing: note))
        guard cosigners.count >= quorum else {
            throw LedgerError(code: .quorumNotMet, reason: "\(cosigners.count) of the \(witnesses.count) trusted witnesses cosigned the checkpoint; \(quorum) are required")
        }
        return checkpoint
    }
}

/// The 8 big-endian bytes of `value`.
func bigEndian64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
