import Foundation
import SealHostDriver
import SealLedger

/// What each role sees of the ledger (docs/access.md): the permissioned views the server's access
/// routes return, as JSON objects, with the access log written before any personal data leaves.
///
/// Every view of an entry is built from its leaf (``LeafRecord``), so it shows what the log proves
/// and nothing personal; the openings from the vault are added only for a caller that
/// ``AccessPolicy/maySeePersonalData(_:ofRecordOf:)``, and only after the access was logged.
public final class LedgerAccess: Sendable {
    /// The log.
    public let ledger: Ledger
    /// The personal data, the record index and the access log.
    public let vault: PersonalDataVault
    /// The bearer tokens.
    public let tokens: AccessTokenAuthority
    private let verifier: StampVerifier

    /// The largest page of an organization's records.
    public static let maximumPage = 200

    /// Combines a ledger, the verifier its records are checked with, the vault and the token authority.
    public init(ledger: Ledger, verifier: StampVerifier, vault: PersonalDataVault, tokens: AccessTokenAuthority) {
        self.ledger = ledger
        self.verifier = verifier
        self.vault = vault
        self.tokens = tokens
    }

    /// Stores the openings submitted beside records the ledger admitted (added, or already there) and
    /// indexes them. Returns one error per record whose openings could not be stored (nil otherwise);
    /// the record itself stays in the log, and submitting it again stores them.
    public func recordsAdmitted(_ records: [StampRecord], _ outcomes: [AdmissionOutcome]) -> [AccessError?] {
        zip(records, outcomes).map { record, outcome -> AccessError? in
            let index: UInt64
            switch outcome {
            case .added(let i), .duplicate(let i), .addedWhileSuspended(let i, _): index = i
            case .conflict, .refused, .refusedAfterTermination: return nil
            }
            do throws(AccessError) { try vault.store(record, entryIndex: index) } catch { return error }
            return nil
        }
    }

    /// The stamps with `key` as `principal` may see them: for each entry its record (with personal
    /// data only where the policy allows, logged), a fresh verification report, whether its chip is
    /// suspect, and its inclusion proof in the returned checkpoint.
    /// - Throws: ``AccessError`` `.notFound` when no entry has the key; `.storageFailure`.
    public func stamps(_ key: LookupKey, principal: AccessPrincipal?, request: String) async throws(AccessError) -> [String: Any] {
        let indices: [UInt64]
        do throws(LedgerError) { indices = try ledger.lookup(key) } catch { throw AccessError(code: .storageFailure, reason: error.reason) }
        guard !indices.isEmpty else { throw AccessError(code: .notFound, reason: "no entry has that key") }
        return try await views(of: indices, principal: principal, request: request, extra: [:])
    }

    /// A page of `organization`'s stamp records, for its auditor or the issuer, personal data
    /// included (logged): entries after `after`, at most `limit` (≤ ``maximumPage``).
    /// - Throws: ``AccessError`` `.unauthenticated`, `.forbidden`, `.malformedInput`, `.storageFailure`.
    public func organizationRecords(_ organization: String, after: UInt64?, limit: Int, principal: AccessPrincipal?,
                                    request: String) async throws(AccessError) -> [String: Any] {
        try AccessPolicy.requireOrganizationAccess(principal, organization: organization)
        guard (1...Self.maximumPage).contains(limit) else {
            throw AccessError(code: .malformedInput, reason: "limit is 1 to \(Self.maximumPage)")
        }
        try vault.catchUp(with: ledger)
        let indices = try vault.entryIndices(organization: organization, after: after, limit: limit)
        var extra: [String: Any] = ["organization": organization]
        if indices.count == limit, let last = indices.last { extra["next"] = Int(last) }
        return try await views(of: indices, principal: principal, request: request, extra: extra)
    }

    /// The access log about `organization`'s records (nil: all, for the issuer), for its auditor or
    /// the issuer, rows after `after`.
    /// - Throws: ``AccessError`` `.unauthenticated`, `.forbidden`, `.storageFailure`.
    public func accessLog(organization: String?, after: Int64, principal: AccessPrincipal?) throws(AccessError) -> [String: Any] {
        let scope = organization ?? principal?.organization
        if let scope { try AccessPolicy.requireOrganizationAccess(principal, organization: scope) } else { try AccessPolicy.requireIssuer(principal) }
        let rows = try vault.accessLog(organization: scope, after: after)
        return [
            "organization": scope.map { $0 as Any } ?? NSNull(),
            "entries": rows.map { row -> [String: Any] in
                ["id": Int(row.id), "time": ISO8601DateFormatter().string(from: row.time), "subject": row.subject, "role": row.role,
                 "tokenID": row.tokenID, "callerOrganization": row.callerOrganization.map { $0 as Any } ?? NSNull(), "index": Int(row.entryIndex),
                 "recordHash": hexString(row.recordHash), "recordOrganization": row.recordOrganization, "request": row.request]
            },
        ]
    }

    /// The longest lifetime ``issueToken(role:organization:subject:expiresIn:principal:)`` grants: 366 days.
    static let maximumTokenLifetime: Double = 366 * 86_400

    /// Issues a token for the issuer's administrator: `role`, `organization` (auditors only),
    /// `subject` and `expiresIn` seconds.
    /// - Throws: ``AccessError`` `.unauthenticated`, `.forbidden`, `.malformedInput`.
    public func issueToken(role: String?, organization: String?, subject: String?, expiresIn: Double?,
                           principal: AccessPrincipal?) async throws(AccessError) -> [String: Any] {
        try AccessPolicy.requireIssuer(principal)
        guard let role, let parsed = AccessRole(rawValue: role) else {
            throw AccessError(code: .malformedInput, reason: "role is public, auditor or issuer")
        }
        guard let subject else { throw AccessError(code: .malformedInput, reason: "subject is required") }
        let lifetime = expiresIn ?? 86_400
        // A bearer token is no credential for life: at most a year (and a date ISO 8601 can write).
        guard lifetime.isFinite, (1...Self.maximumTokenLifetime).contains(lifetime) else {
            throw AccessError(code: .malformedInput, reason: "expiresIn is 1 to \(Int(Self.maximumTokenLifetime)) seconds")
        }
        let token = try await tokens.issue(role: parsed, organization: organization, subject: subject, lifetime: lifetime)
        // The token's ID, which POST /v1/tokens/revoke takes.
        let tokenID = try await tokens.verify(token).tokenID
        return ["token": token, "jti": tokenID, "role": parsed.rawValue, "organization": organization.map { $0 as Any } ?? NSNull(), "subject": subject,
                "expires": ISO8601DateFormatter().string(from: Date().addingTimeInterval(lifetime))]
    }

    /// Revokes the token with ID `tokenID` for the issuer's administrator: from now on every request
    /// presenting it gets 401.
    /// - Throws: ``AccessError`` `.unauthenticated`, `.forbidden`, `.malformedInput`, `.storageFailure`.
    public func revokeToken(_ tokenID: String?, principal: AccessPrincipal?) throws(AccessError) -> [String: Any] {
        try AccessPolicy.requireIssuer(principal)
        guard let revocations = tokens.revocations else {
            throw AccessError(code: .storageFailure, reason: "this server keeps no token revocations")
        }
        guard let tokenID else { throw AccessError(code: .malformedInput, reason: "jti is required") }
        let time = Date()
        let new = try revocations.revoke(tokenID, by: principal?.subject ?? "", at: time)
        return ["jti": tokenID.lowercased(), "revoked": true, "alreadyRevoked": !new,
                "revokedAt": ISO8601DateFormatter().string(from: time)]
    }

    // MARK: Views

    private func views(of indices: [UInt64], principal: AccessPrincipal?, request: String,
                       extra: [String: Any]) async throws(AccessError) -> [String: Any] {
        let note = ledger.checkpointNote
        let treeSize: UInt64
        do throws(LedgerError) { treeSize = try Checkpoint(text: SignedNote(parsing: note).text).size } catch {
            throw AccessError(code: .storageFailure, reason: "the checkpoint does not parse: \(error.reason)")
        }
        var views: [[String: Any]] = []
        var accessed: [AccessedEntry] = []
        for index in indices where index < treeSize {
            let entry: StoredEntry
            let proof: [MerkleHash]
            do throws(LedgerError) {
                entry = try ledger.entry(at: index)
                proof = try ledger.inclusionProof(index: index, size: treeSize)
            } catch { throw AccessError(code: .storageFailure, reason: error.reason) }
            var view: [String: Any] = [
                "index": Int(index), "recordHash": hexString(entry.recordHash),
                "inclusionProof": ["treeSize": Int(treeSize), "hashes": proof.map { Data($0).base64EncodedString() }],
            ]
            guard entry.kind == .stampRecord else {
                view["kind"] = "conflict-evidence"
                views.append(view)
                continue
            }
            view["kind"] = "stamp-record"
            var record = try LeafRecord.decode(entry.bytes)
            if AccessPolicy.maySeePersonalData(principal, ofRecordOf: record.organizationName),
               let openings = try vault.openings(recordHash: entry.recordHash) {
                record = try openings.applied(to: record)
                accessed.append(AccessedEntry(index: index, recordHash: entry.recordHash, organization: record.organizationName))
                view["personalData"] = "included"
            } else {
                view["personalData"] = "not-shown"
            }
            let report = await verifier.verify(record, documentDigest: record.documentDigest)
            view["verification"] = [
                "valid": report.isValid,
                "checks": report.checks.map { ["id": $0.id.rawValue, "outcome": $0.outcome.rawValue, "detail": $0.detail] },
            ]
            if let evidence = try? ledger.suspectEvidence(chipID: record.chipID) { view["suspectEvidenceIndex"] = Int(evidence) }
            do {
                view["record"] = try JSONSerialization.jsonObject(with: record.jsonData())
            } catch {
                throw AccessError(code: .malformedInput, reason: "entry \(index) does not encode as a record")
            }
            views.append(view)
        }
        // Logged before anything personal leaves; without the log row, nothing is returned.
        if let principal { try vault.logAccess(by: principal, entries: accessed, request: request) }
        return extra.merging(["checkpoint": note, "entries": views]) { a, _ in a }
    }
}
