import Crypto
import Foundation
import JWTKit

/// The claims of a ledger bearer token (a JWT, RFC 7519, signed EdDSA/Ed25519 by the ledger's token
/// key): who it was issued to, the role, the audited organization, the ledger it is for, its lifetime
/// and its ID.
struct AccessClaims: JWTPayload {
    var sub: SubjectClaim
    var iss: IssuerClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim
    var role: String
    var org: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Issues and verifies the ledger's bearer tokens.
///
/// The signing key is an Ed25519 key in a PEM file (by default beside the database,
/// `<database>.token-key`, made on first use with mode 0600 like the log key). A token is accepted
/// when its signature verifies under that key, its `iss` is this ledger's origin, it has not expired,
/// its role is known, an auditor's token names an organization (no other role may), and its ID
/// (`jti`) is not revoked (``TokenRevocations``).
public final class AccessTokenAuthority: Sendable {
    private let keys: JWTKeyCollection
    /// The ledger origin tokens are issued for (their `iss` claim).
    public let issuer: String
    /// The key ID in every token's header: the first 8 bytes of SHA-256 of the public key, in hex.
    public let keyID: String

    /// The revoked token IDs, consulted on every verification; nil: no token is revoked.
    public let revocations: TokenRevocations?

    /// An authority signing with `key` for the ledger `issuer` (its origin), refusing the token IDs
    /// in `revocations`.
    public init(key: Curve25519.Signing.PrivateKey, issuer: String, revocations: TokenRevocations? = nil) async {
        self.issuer = issuer
        self.revocations = revocations
        self.keyID = SHA256.hash(data: key.publicKey.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
        let keys = JWTKeyCollection()
        await keys.add(eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: keyID))
        self.keys = keys
    }

    /// Reads the token key at `path`, or makes one and writes it there (PEM, mode 0600, created
    /// exclusively so two first starts cannot make two keys).
    /// - Throws: ``AccessError`` `.keyUnavailable`.
    public static func loadOrCreateKey(at path: String) throws(AccessError) -> Curve25519.Signing.PrivateKey {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            do { return try Curve25519.Signing.PrivateKey(pemRepresentation: text) } catch {
                throw AccessError(code: .keyUnavailable, reason: "\(path) is not an Ed25519 private key in PEM")
            }
        }
        let key = Curve25519.Signing.PrivateKey()
        let pem = key.pemRepresentation + "\n"
        if let existing = try writeExclusively(Array(pem.utf8), to: path) {
            do { return try Curve25519.Signing.PrivateKey(pemRepresentation: String(decoding: existing, as: UTF8.self)) } catch {
                throw AccessError(code: .keyUnavailable, reason: "\(path) is not an Ed25519 private key in PEM")
            }
        }
        return key
    }

    /// Issues a token.
    /// - Parameters:
    ///   - role: The role it grants.
    ///   - organization: The audited organization: required for ``AccessRole/auditor``, refused otherwise.
    ///   - subject: Who it is for (the access log names callers by it).
    ///   - lifetime: How long it is valid, in seconds (at least 1).
    ///   - now: The issue time.
    /// - Throws: ``AccessError`` `.malformedInput` for an inconsistent request.
    public func issue(role: AccessRole, organization: String?, subject: String, lifetime: TimeInterval,
                      now: Date = Date()) async throws(AccessError) -> String {
        try Self.checkShape(role: role, organization: organization)
        guard !subject.isEmpty, subject.utf8.count <= 128 else {
            throw AccessError(code: .malformedInput, reason: "the subject is 1 to 128 bytes")
        }
        guard lifetime >= 1 else { throw AccessError(code: .malformedInput, reason: "the lifetime is at least one second") }
        let claims = AccessClaims(
            sub: SubjectClaim(value: subject), iss: IssuerClaim(value: issuer), iat: IssuedAtClaim(value: now),
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)), jti: IDClaim(value: UUID().uuidString.lowercased()),
            role: role.rawValue, org: organization)
        do { return try await keys.sign(claims, kid: JWKIdentifier(string: keyID)) } catch {
            throw AccessError(code: .keyUnavailable, reason: "cannot sign the token: \(error)")
        }
    }

    /// Verifies a token and says who presented it.
    /// - Throws: ``AccessError`` `.unauthenticated` when it is malformed, wrongly signed, expired,
    ///   for another ledger, or names an unknown role or an inconsistent organization.
    public func verify(_ token: String) async throws(AccessError) -> AccessPrincipal {
        let claims: AccessClaims
        do { claims = try await keys.verify(token, as: AccessClaims.self) } catch let error as JWTError {
            let why = error.errorType == .claimVerificationFailure ? "the token has expired" : "the token does not verify (\(error.errorType))"
            throw AccessError(code: .unauthenticated, reason: why)
        } catch {
            throw AccessError(code: .unauthenticated, reason: "the token does not verify")
        }
        guard claims.iss.value == issuer else {
            throw AccessError(code: .unauthenticated, reason: "the token is for another ledger (\(claims.iss.value))")
        }
        guard let role = AccessRole(rawValue: claims.role) else {
            throw AccessError(code: .unauthenticated, reason: "the token names an unknown role")
        }
        do { try Self.checkShape(role: role, organization: claims.org) } catch {
            throw AccessError(code: .unauthenticated, reason: error.reason)
        }
        // Asked on every request, so a revocation (by the API or the CLI) takes effect at once.
        if let revocations, try revocations.isRevoked(claims.jti.value) {
            throw AccessError(code: .unauthenticated, reason: "the token was revoked")
        }
        return AccessPrincipal(role: role, organization: claims.org, subject: claims.sub.value, tokenID: claims.jti.value)
    }

    /// The caller behind an `Authorization` header value: nil without a header (an anonymous public
    /// verifier). A header that is there must hold a valid bearer token.
    /// - Throws: ``AccessError`` `.unauthenticated`.
    public func principal(authorization: String?) async throws(AccessError) -> AccessPrincipal? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw AccessError(code: .unauthenticated, reason: "the Authorization header is not 'Bearer TOKEN'")
        }
        return try await verify(parts[1].trimmingCharacters(in: .whitespaces))
    }

    private static func checkShape(role: AccessRole, organization: String?) throws(AccessError) {
        switch (role, organization) {
        case (.auditor, .some(let name)) where !name.isEmpty && name.utf8.count <= 64: return
        case (.auditor, _): throw AccessError(code: .malformedInput, reason: "an auditor's token names its organization (1 to 64 bytes)")
        case (_, .some): throw AccessError(code: .malformedInput, reason: "only an auditor's token names an organization")
        case (_, .none): return
        }
    }
}

/// Writes `bytes` to a new file at `path` (mode 0600, created exclusively, synced). Returns nil when
/// written, or the existing file's bytes when someone else made it first.
func writeExclusively(_ bytes: [UInt8], to path: String) throws(AccessError) -> [UInt8]? {
    do {
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
    } catch {
        throw AccessError(code: .keyUnavailable, reason: "cannot create the directory of \(path): \(error)")
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else {
        if let existing = FileManager.default.contents(atPath: path) { return Array(existing) }
        throw AccessError(code: .keyUnavailable, reason: "cannot create \(path): errno \(errno)")
    }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd)
    close(fd)
    guard written == bytes.count, synced == 0 else { throw AccessError(code: .keyUnavailable, reason: "cannot write \(path)") }
    return nil
}
