import Crypto
import Foundation
import JWTKit
import SealHostDriver
import SealLedger
import SealLedgerAccess
import SealProtocol
import Testing

@Suite("Roles and the access policy")
struct AccessPolicyTests {
    let auditorA = AccessPrincipal(role: .auditor, organization: "Org A", subject: "a", tokenID: "1")
    let issuer = AccessPrincipal(role: .issuer, organization: nil, subject: "i", tokenID: "2")
    let publicCaller = AccessPrincipal(role: .publicVerifier, organization: nil, subject: "p", tokenID: "3")

    @Test func personalDataGoesToTheIssuerAndTheRecordsOwnAuditorOnly() {
        #expect(AccessPolicy.maySeePersonalData(issuer, ofRecordOf: "Org A"))
        #expect(AccessPolicy.maySeePersonalData(auditorA, ofRecordOf: "Org A"))
        #expect(!AccessPolicy.maySeePersonalData(auditorA, ofRecordOf: "Org B"))
        #expect(!AccessPolicy.maySeePersonalData(publicCaller, ofRecordOf: "Org A"))
        #expect(!AccessPolicy.maySeePersonalData(nil, ofRecordOf: "Org A"))
    }

    @Test func organizationAndIssuerRoutesRefuseWith401Or403() {
        #expect(throws: AccessError(code: .unauthenticated, reason: "")) { try AccessPolicy.requireOrganizationAccess(nil, organization: "Org A") }
        #expect(throws: AccessError(code: .forbidden, reason: "")) { try AccessPolicy.requireOrganizationAccess(publicCaller, organization: "Org A") }
        #expect(throws: AccessError(code: .forbidden, reason: "")) { try AccessPolicy.requireOrganizationAccess(auditorA, organization: "Org B") }
        #expect(throws: Never.self) { try AccessPolicy.requireOrganizationAccess(auditorA, organization: "Org A") }
        #expect(throws: Never.self) { try AccessPolicy.requireOrganizationAccess(issuer, organization: "Org B") }
        #expect(throws: AccessError(code: .forbidden, reason: "")) { try AccessPolicy.requireIssuer(auditorA) }
        #expect(throws: AccessError(code: .unauthenticated, reason: "")) { try AccessPolicy.requireIssuer(nil) }
    }
}

@Suite("Bearer tokens (jwt-kit, EdDSA)")
struct AccessTokenTests {
    @Test func aTokenSaysWhoAndWhatAndExpires() async throws {
        let authority = await AccessTokenAuthority(key: Curve25519.Signing.PrivateKey(), issuer: "example.org/ledger")
        let token = try await authority.issue(role: .auditor, organization: "Org A", subject: "alice", lifetime: 60)
        let principal = try await authority.verify(token)
        #expect(principal.role == .auditor && principal.organization == "Org A" && principal.subject == "alice")
        #expect(try await authority.principal(authorization: "Bearer \(token)") == principal)
        #expect(try await authority.principal(authorization: nil) == nil)

        let expired = try await authority.issue(role: .issuer, organization: nil, subject: "bob", lifetime: 10, now: Date().addingTimeInterval(-100))
        await #expect(throws: AccessError(code: .unauthenticated, reason: "")) { try await authority.verify(expired) }
        await #expect(throws: AccessError(code: .unauthenticated, reason: "")) { try await authority.principal(authorization: "Basic \(token)") }
    }

    @Test func tokensOfAnotherKeyOrLedgerOrTamperedOrUnsignedAreRefused() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let authority = await AccessTokenAuthority(key: key, issuer: "example.org/ledger")
        let stranger = await AccessTokenAuthority(key: Curve25519.Signing.PrivateKey(), issuer: "example.org/ledger")
        let otherLedger = await AccessTokenAuthority(key: key, issuer: "other.example/ledger")
        let refused = AccessError(code: .unauthenticated, reason: "")

        let foreign = try await stranger.issue(role: .issuer, organization: nil, subject: "eve", lifetime: 60)
        await #expect(throws: refused) { try await authority.verify(foreign) }
        let elsewhere = try await otherLedger.issue(role: .issuer, organization: nil, subject: "eve", lifetime: 60)
        await #expect(throws: refused) { try await authority.verify(elsewhere) }

        // The payload of a public token rewritten to say issuer, signature kept.
        let token = try await authority.issue(role: .publicVerifier, organization: nil, subject: "eve", lifetime: 60)
        let parts = token.split(separator: ".").map(String.init)
        let payload = try #require(base64URLDecode(parts[1]))
        let forged = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "\"public\"", with: "\"issuer\"")
        #expect(forged.contains("\"issuer\""))
        let tampered = [parts[0], base64URLEncode(Data(forged.utf8)), parts[2]].joined(separator: ".")
        await #expect(throws: refused) { try await authority.verify(tampered) }

        // alg "none", no signature.
        let none = [base64URLEncode(Data("{\"alg\":\"none\",\"typ\":\"JWT\"}".utf8)), base64URLEncode(Data(forged.utf8)), ""].joined(separator: ".")
        await #expect(throws: refused) { try await authority.verify(none) }
        // HS256 keyed with the public key (the classic algorithm confusion).
        let hmacKeys = JWTKeyCollection()
        await hmacKeys.add(hmac: HMACKey(key: SymmetricKey(data: key.publicKey.rawRepresentation)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: authority.keyID))
        struct Claims: JWTPayload {
            var sub: SubjectClaim, iss: IssuerClaim, iat: IssuedAtClaim, exp: ExpirationClaim, jti: IDClaim, role: String
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let confused = try await hmacKeys.sign(Claims(sub: "eve", iss: "example.org/ledger", iat: .init(value: Date()),
                                                      exp: .init(value: Date().addingTimeInterval(60)), jti: "x", role: "issuer"))
        await #expect(throws: refused) { try await authority.verify(confused) }
    }

    @Test func inconsistentRequestsAreRefusedAtIssue() async throws {
        let authority = await AccessTokenAuthority(key: Curve25519.Signing.PrivateKey(), issuer: "example.org/ledger")
        let malformed = AccessError(code: .malformedInput, reason: "")
        await #expect(throws: malformed) { try await authority.issue(role: .auditor, organization: nil, subject: "a", lifetime: 60) }
        await #expect(throws: malformed) { try await authority.issue(role: .issuer, organization: "Org A", subject: "a", lifetime: 60) }
        await #expect(throws: malformed) { try await authority.issue(role: .issuer, organization: nil, subject: "", lifetime: 60) }
        await #expect(throws: malformed) { try await authority.issue(role: .issuer, organization: nil, subject: "a", lifetime: 0) }
    }

    @Test func theKeyIsMadeOnceAndReadBack() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sub/ledger.sqlite.token-key").path
        let made = try AccessTokenAuthority.loadOrCreateKey(at: path)
        let read = try AccessTokenAuthority.loadOrCreateKey(at: path)
        #expect(made.rawRepresentation == read.rawRepresentation)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

@Suite("Leaves back to records")
struct LeafRecordTests {
    @Test func aLeafDecodesToTheRecordWithoutItsPersonalData() throws {
        let chip = try OrganizationChip(ca: AccessTestCA(), organization: "Org A", personal: .alpha, chip: 1)
        let record = try chip.record(counter: 4, document: "contract")
        let decoded = try LeafRecord.decode(record.canonicalBytes)
        #expect(decoded == record.withoutPersonalData())
        #expect(decoded.organizationName == "Org A" && decoded.counter == 4)
        #expect(leaks(of: personalNeedles(of: record), in: Array(try decoded.jsonData())).isEmpty)
        var truncated = record.canonicalBytes
        truncated.removeLast()
        #expect(throws: AccessError(code: .malformedInput, reason: "")) { try LeafRecord.decode(truncated) }
        #expect(throws: AccessError(code: .malformedInput, reason: "")) { try LeafRecord.decode(record.canonicalBytes + [0]) }
    }
}

@Suite("Personal data at rest: AES-GCM keyring, vault, rotation")
struct VaultTests {
    @Test func openingsAreSealedCheckedAndRotated() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let chip = try OrganizationChip(ca: AccessTestCA(), organization: "Org A", personal: .alpha, chip: 1)
        let first = try chip.record(counter: 1, document: "one"), second = try chip.record(counter: 2, document: "two")
        let path = directory.appendingPathComponent("access.sqlite").path
        let oldKey = PersonalDataKeyring.generateKeyLine(), newKey = PersonalDataKeyring.generateKeyLine()

        let vault = try PersonalDataVault(path: path, keyring: PersonalDataKeyring(text: oldKey))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        try vault.store(first, entryIndex: 0)
        let hash = LedgerLeaf.recordHash(first.canonicalBytes)
        #expect(try vault.openings(recordHash: hash) == PersonalDataOpenings(of: first))
        #expect(try vault.openings(recordHash: LedgerLeaf.recordHash(second.canonicalBytes)) == nil)

        // Nothing personal is in the file in clear (the WAL included).
        try vault.checkpointForTests()
        for file in [path, path + "-wal"] {
            let bytes = Array(FileManager.default.contents(atPath: file) ?? Data())
            #expect(leaks(of: personalNeedles(of: first), in: bytes).isEmpty, "\(file)")
        }

        // Openings that do not open the signed commitments are refused; nothing is stored.
        var forged = second
        forged.metadata.operatorID = "someone-else"
        forged.metadata.salts[.operatorID] = second.metadata.salts[.operatorID]
        #expect(throws: AccessError(code: .personalDataMismatch, reason: "")) { try vault.store(forged, entryIndex: 1) }
        #expect(try vault.openings(recordHash: LedgerLeaf.recordHash(second.canonicalBytes)) == nil)

        // A new current key: old rows still open, new rows use the new key.
        let rotated = try PersonalDataVault(path: path, keyring: PersonalDataKeyring(text: "\(newKey)\n# the old key until rotate\n\(oldKey)\n"))
        try rotated.store(second, entryIndex: 1)
        #expect(try rotated.openings(recordHash: hash) == PersonalDataOpenings(of: first))
        let oldID = try PersonalDataKeyring(text: oldKey).currentKeyID, newID = rotated.keyring.currentKeyID
        #expect(try rotated.keyUsage() == [oldID: 1, newID: 1])
        let result = try rotated.rotate()
        #expect(result.resealed == 1 && result.total == 2)
        #expect(try rotated.keyUsage() == [newID: 2])

        // The old key alone opens nothing any more; the new key alone opens everything.
        let oldOnly = try PersonalDataVault(path: path, keyring: PersonalDataKeyring(text: oldKey))
        #expect(throws: AccessError(code: .keyUnavailable, reason: "")) { try oldOnly.openings(recordHash: hash) }
        let newOnly = try PersonalDataVault(path: path, keyring: PersonalDataKeyring(text: newKey))
        #expect(try newOnly.openings(recordHash: hash) == PersonalDataOpenings(of: first))
        #expect(try newOnly.openings(recordHash: LedgerLeaf.recordHash(second.canonicalBytes)) == PersonalDataOpenings(of: second))
    }

    @Test func keyringTextIsCheckedAndTheEnvironmentWins() throws {
        #expect(throws: AccessError(code: .keyUnavailable, reason: "")) { try PersonalDataKeyring(text: "# nothing\n") }
        #expect(throws: AccessError(code: .keyUnavailable, reason: "")) { try PersonalDataKeyring(text: "c2hvcnQ=\n") }
        let key = PersonalDataKeyring.generateKeyLine()
        #expect(throws: AccessError(code: .keyUnavailable, reason: "")) { try PersonalDataKeyring(text: "\(key)\n\(key)\n") }
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys").path
        let fromEnvironment = try PersonalDataKeyring.load(path: path, environment: ["SEALLEDGER_PERSONAL_DATA_KEYS": key])
        #expect(fromEnvironment.currentKeyID == (try PersonalDataKeyring(text: key)).currentKeyID)
        #expect(!FileManager.default.fileExists(atPath: path))
        let made = try PersonalDataKeyring.load(path: path, environment: [:])
        #expect(try PersonalDataKeyring.load(path: path, environment: [:]).currentKeyID == made.currentKeyID)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
    }

    @Test func theAccessLogIsAppendOnlyAndScopedByOrganization() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vault = try PersonalDataVault(path: directory.appendingPathComponent("access.sqlite").path,
                                          keyring: PersonalDataKeyring(text: PersonalDataKeyring.generateKeyLine()))
        let auditor = AccessPrincipal(role: .auditor, organization: "Org A", subject: "alice", tokenID: "t1")
        try vault.logAccess(by: auditor, entries: [AccessedEntry(index: 3, recordHash: [UInt8](repeating: 1, count: 32), organization: "Org A"),
                                                   AccessedEntry(index: 4, recordHash: [UInt8](repeating: 2, count: 32), organization: "Org B")],
                            request: "GET /v1/stamps")
        #expect(try vault.accessLog(organization: "Org A").map(\.entryIndex) == [3])
        #expect(try vault.accessLog(organization: nil).map(\.entryIndex) == [3, 4])
        #expect(throws: AccessError(code: .storageFailure, reason: "")) { try vault.executeForTests("DELETE FROM access_log") }
        #expect(throws: AccessError(code: .storageFailure, reason: "")) { try vault.executeForTests("UPDATE access_log SET subject = 'x'") }
        #expect(try vault.accessLog(organization: nil).count == 2)
    }
}

func base64URLEncode(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

func base64URLDecode(_ text: String) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64 += "=" }
    return Data(base64Encoded: base64)
}
