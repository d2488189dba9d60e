import ArgumentParser
import Foundation
import SealHostDriver
import SealLedger
import SealLedgerAccess

/// Where the access layer keeps its files (docs/access.md): beside the ledger database by default.
struct AccessOptions: ParsableArguments {
    @Option(name: .customLong("token-key"), help: "The Ed25519 key (PEM) bearer tokens are signed with (default: the database path + .token-key), made on first use.")
    var tokenKey: String?
    @Option(name: .customLong("personal-data-keys"), help: "The personal-data keyring: base64 AES-256 keys, one a line, the first seals new rows (default: the database path + .personal-data-keys, made on first use). SEALLEDGER_PERSONAL_DATA_KEYS overrides it.")
    var personalDataKeys: String?
    @Option(name: .customLong("access-database"), help: "The access database: personal data, record index, access log (default: the database path + .access.sqlite).")
    var accessDatabase: String?

    func tokenKeyPath(_ store: StoreOptions) -> String { tokenKey ?? store.databasePath + ".token-key" }
    func keyringPath(_ store: StoreOptions) -> String { personalDataKeys ?? store.databasePath + ".personal-data-keys" }
    func vaultPath(_ store: StoreOptions) -> String { accessDatabase ?? PersonalDataVault.defaultPath(ledgerDatabase: store.databasePath) }

    func vault(_ store: StoreOptions) throws -> PersonalDataVault {
        try PersonalDataVault(path: vaultPath(store), keyring: try PersonalDataKeyring.load(path: keyringPath(store)))
    }

    func tokens(_ store: StoreOptions) async throws -> AccessTokenAuthority {
        await AccessTokenAuthority(key: try AccessTokenAuthority.loadOrCreateKey(at: tokenKeyPath(store)), issuer: try store.signer().name,
                                   revocations: try TokenRevocations(path: vaultPath(store)))
    }

    /// The access layer over an open ledger.
    func open(_ store: StoreOptions, ledger: Ledger, verifier: StampVerifier) async throws -> LedgerAccess {
        LedgerAccess(ledger: ledger, verifier: verifier, vault: try vault(store), tokens: try await tokens(store))
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Bearer tokens of the ledger's roles (docs/access.md).", subcommands: [Issue.self, Revoke.self])

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token and print it.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var access: AccessOptions
        @Option(help: "public, auditor or issuer.") var role: String
        @Option(help: "The audited organization (a record's organizationName); auditors only.") var organization: String?
        @Option(help: "Who the token is for; the access log names callers by it.") var subject: String = "cli"
        @Option(help: "Lifetime: seconds, or a number with s, m, h or d (default 1d).") var expires: String = "1d"

        func run() async throws {
            guard let parsedRole = AccessRole(rawValue: role) else { throw ValidationError("--role is public, auditor or issuer") }
            guard let lifetime = parseLifetime(expires) else { throw ValidationError("--expires takes seconds or a number with s, m, h or d") }
            if parsedRole == .auditor && organization == nil { throw ValidationError("--role auditor needs --organization") }
            if parsedRole != .auditor && organization != nil { throw ValidationError("--organization is for --role auditor only") }
            let authority = try await access.tokens(store)
            do throws(AccessError) {
                print(try await authority.issue(role: parsedRole, organization: organization, subject: subject, lifetime: lifetime))
            } catch {
                throw ValidationError(error.reason)
            }
        }
    }
}

extension TokenCommand {
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by its ID (jti), or the token itself; a running server refuses it (401) from its next request on.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var access: AccessOptions
        @Argument(help: "The token's ID (its jti claim), or the token (its jti is read from it).") var token: String
        @Option(help: "Who revokes it (recorded with the revocation).") var subject: String = "cli"

        func run() throws {
            guard let tokenID = tokenIDArgument(token) else {
                throw ValidationError("give a token ID (letters, digits and hyphens) or a token whose payload has a jti")
            }
            let revocations = try TokenRevocations(path: access.vaultPath(store))
            do throws(AccessError) {
                let new = try revocations.revoke(tokenID, by: subject)
                print(new ? "revoked \(tokenID.lowercased())" : "\(tokenID.lowercased()) was already revoked")
            } catch {
                if error.code == .malformedInput { throw ValidationError(error.reason) }
                warn("Error: \(error.reason)")
                throw ExitCode.failure
            }
        }
    }
}

/// The token ID an argument names: the argument itself when it is a well-formed ID, else the `jti`
/// of the JWT it holds (read, not verified: revoking needs no proof that the token is valid).
func tokenIDArgument(_ text: String) -> String? {
    if TokenRevocations.isWellFormed(text) { return text }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3 else { return nil }
    var payload = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
    guard let data = Data(base64Encoded: payload), let claims = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
          let jti = claims["jti"] as? String, TokenRevocations.isWellFormed(jti) else { return nil }
    return jti
}

/// "90" seconds, or "90s", "15m", "12h", "30d".
func parseLifetime(_ text: String) -> TimeInterval? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
    var digits = Substring(text)
    var unit = 1.0
    if let last = text.last, let factor = units[last] {
        digits = text.dropLast()
        unit = factor
    }
    guard let value = Double(digits), value >= 1, value.isFinite else { return nil }
    return value * unit
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "The keyring that encrypts personal data at rest (docs/access.md).",
        subcommands: [Generate.self, Rotate.self, Status.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new key line (base64 of 32 random bytes) to put first in the keyring.")
        func run() { print(PersonalDataKeyring.generateKeyLine()) }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every personal-data row under the keyring's first key, in one transaction; then older keys can be removed.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var access: AccessOptions

        func run() throws {
            let vault = try access.vault(store)
            do throws(AccessError) {
                let (resealed, total) = try vault.rotate()
                print("re-sealed \(resealed) of \(total) rows under key \(vault.keyring.currentKeyID)")
            } catch {
                warn("Error: \(error.reason)")
                throw ExitCode.failure
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the keyring's key IDs and how many rows each key sealed.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var access: AccessOptions

        func run() throws {
            let vault = try access.vault(store)
            let usage = try vault.keyUsage()
            for (position, id) in vault.keyring.keyIDs.enumerated() {
                print("\(id) \(position == 0 ? "current" : "old") \(usage[id] ?? 0) rows")
            }
            for (id, count) in usage where !vault.keyring.keyIDs.contains(id) {
                print("\(id) missing \(count) rows")
            }
        }
    }
}
