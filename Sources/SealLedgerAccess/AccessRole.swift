/// Who a caller of the ledger is, as far as what it may see goes (docs/access.md).
public enum AccessRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// A public verifier: validity and proofs of stamps, never personal data.
    case publicVerifier = "public"
    /// An organization's auditor: every record of the organization's seals, personal data included.
    case auditor
    /// The issuer's administrator: everything, including issuing tokens.
    case issuer
}

/// An authenticated caller: what a verified bearer token says.
public struct AccessPrincipal: Sendable, Hashable {
    /// The caller's role.
    public var role: AccessRole
    /// For an auditor, the organization (a record's signed `organizationName`) it audits.
    public var organization: String?
    /// Who the token was issued to (its `sub` claim), as the access log names the caller.
    public var subject: String
    /// The token's ID (its `jti` claim), so a log row points at one token.
    public var tokenID: String

    /// Creates a principal.
    public init(role: AccessRole, organization: String?, subject: String, tokenID: String) {
        self.role = role
        self.organization = organization
        self.subject = subject
        self.tokenID = tokenID
    }
}

/// The access rules, in one place and free of I/O (docs/access.md, "Who sees what").
///
/// A caller without a token is treated as a public verifier. Personal data of a record is shown to
/// the issuer and to an auditor of the record's organization, and to no one else.
public enum AccessPolicy {
    /// Whether `principal` (nil: no token) may see the personal data of a record of `organization`.
    public static func maySeePersonalData(_ principal: AccessPrincipal?, ofRecordOf organization: String) -> Bool {
        guard let principal else { return false }
        switch principal.role {
        case .issuer: return true
        case .auditor: return principal.organization == organization
        case .publicVerifier: return false
        }
    }

    /// Checks that `principal` may list the records of `organization`, or read that organization's
    /// part of the access log: the issuer, or an auditor of that organization.
    /// - Throws: ``AccessError`` `.unauthenticated` without a token, `.forbidden` for another role
    ///   or organization.
    public static func requireOrganizationAccess(_ principal: AccessPrincipal?, organization: String) throws(AccessError) {
        let principal = try requireToken(principal)
        switch principal.role {
        case .issuer: return
        case .auditor where principal.organization == organization: return
        case .auditor:
            throw AccessError(code: .forbidden, reason: "this token audits another organization")
        case .publicVerifier:
            throw AccessError(code: .forbidden, reason: "the public role sees no organization's records")
        }
    }

    /// Checks that `principal` is the issuer's administrator (issuing tokens, the whole access log).
    /// - Throws: ``AccessError`` `.unauthenticated` without a token, `.forbidden` for another role.
    public static func requireIssuer(_ principal: AccessPrincipal?) throws(AccessError) {
        guard try requireToken(principal).role == .issuer else {
            throw AccessError(code: .forbidden, reason: "only the issuer's administrator may do this")
        }
    }

    private static func requireToken(_ principal: AccessPrincipal?) throws(AccessError) -> AccessPrincipal {
        guard let principal else { throw AccessError(code: .unauthenticated, reason: "send Authorization: Bearer TOKEN") }
        return principal
    }
}
