import Crypto
import Foundation

/// The AES-256-GCM keys that encrypt personal data at rest (docs/access.md, "Keys and rotation").
///
/// A keyring is text: one key per line, base64 of 32 random bytes; blank lines and lines starting
/// with `#` are ignored. The **first** key is the current one: new rows are sealed under it. The
/// others only decrypt rows sealed before a rotation, until `sealledger keys rotate` has re-sealed
/// those rows under the current key and they can be dropped. A key's ID, stored in each row, is
/// derived from the key (the first 8 bytes of SHA-256("SEALKIT-PDKEY-V1" ‖ key), in hex), so a row
/// can never name a key it was not sealed with.
public struct PersonalDataKeyring: Sendable {
    private let keys: [(id: String, key: SymmetricKey)]

    /// The ID of the current key, which seals new rows.
    public var currentKeyID: String { keys[0].id }
    /// The IDs of every key, the current one first.
    public var keyIDs: [String] { keys.map(\.id) }

    /// Parses keyring text.
    /// - Throws: ``AccessError`` `.keyUnavailable` when there is no key, a line is not base64 of 32
    ///   bytes (the line number is named, never the line), or a key is there twice.
    public init(text: String) throws(AccessError) {
        var keys: [(id: String, key: SymmetricKey)] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let bytes = Data(base64Encoded: line), bytes.count == 32 else {
                throw AccessError(code: .keyUnavailable, reason: "keyring line \(number + 1) is not base64 of a 32-byte key")
            }
            let id = Self.keyID(Array(bytes))
            guard !keys.contains(where: { $0.id == id }) else {
                throw AccessError(code: .keyUnavailable, reason: "keyring line \(number + 1) repeats key \(id)")
            }
            keys.append((id, SymmetricKey(data: bytes)))
        }
        guard !keys.isEmpty else { throw AccessError(code: .keyUnavailable, reason: "the keyring holds no key") }
        self.keys = keys
    }

    /// A new random key as a keyring line (base64 of 32 bytes).
    public static func generateKeyLine() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The keyring from the environment variable `SEALLEDGER_PERSONAL_DATA_KEYS` (keys separated by
    /// newlines or commas) when it is set, else from the file at `path`, made with one fresh key
    /// (mode 0600) when it does not exist.
    /// - Throws: ``AccessError`` `.keyUnavailable`.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(AccessError) -> PersonalDataKeyring {
        if let text = environment["SEALLEDGER_PERSONAL_DATA_KEYS"], !text.isEmpty {
            return try PersonalDataKeyring(text: text.replacingOccurrences(of: ",", with: "\n"))
        }
        if let data = FileManager.default.contents(atPath: path) {
            return try PersonalDataKeyring(text: String(decoding: data, as: UTF8.self))
        }
        let text = "# SealKit ledger personal-data keyring: the first key seals new rows (docs/access.md)\n\(generateKeyLine())\n"
        if let existing = try writeExclusively(Array(text.utf8), to: path) {
            return try PersonalDataKeyring(text: String(decoding: existing, as: UTF8.self))
        }
        return try PersonalDataKeyring(text: text)
    }

    /// Seals `plaintext` under the current key, bound to `context` (authenticated, not stored).
    /// Returns the key ID and nonce ‖ ciphertext ‖ tag.
    func seal(_ plaintext: [UInt8], context: [UInt8]) throws(AccessError) -> (keyID: String, sealed: [UInt8]) {
        do {
            let box = try AES.GCM.seal(plaintext, using: keys[0].key, authenticating: Self.domain + context)
            guard let combined = box.combined else { throw AccessError(code: .keyUnavailable, reason: "no combined form") }
            return (keys[0].id, Array(combined))
        } catch let error as AccessError { throw error } catch {
            throw AccessError(code: .keyUnavailable, reason: "AES-GCM sealing failed: \(error)")
        }
    }

    /// Opens a row sealed under key `keyID` with `context`.
    /// - Throws: ``AccessError`` `.keyUnavailable` when the keyring lacks the key or authentication fails.
    func open(_ sealed: [UInt8], keyID: String, context: [UInt8]) throws(AccessError) -> [UInt8] {
        guard let key = keys.first(where: { $0.id == keyID })?.key else {
            throw AccessError(code: .keyUnavailable, reason: "the keyring does not hold key \(keyID)")
        }
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Self.domain + context))
        } catch {
            throw AccessError(code: .keyUnavailable, reason: "a row sealed under key \(keyID) does not authenticate")
        }
    }

    private static let domain = Array("SEALKIT-PD-V1".utf8)

    private static func keyID(_ key: [UInt8]) -> String {
        SHA256.hash(data: Array("SEALKIT-PDKEY-V1".utf8) + key).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
