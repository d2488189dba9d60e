import Foundation
import Hummingbird
import NIOCore
import SealHostDriver
import SealLedger
import SealLedgerAccess

/// The permissioned routes of docs/access.md (and the "access" section of docs/ledger-openapi.yaml):
/// stamps as each role may see them, an organization's records, the access log and token issue.
/// Refusals are 4xx JSON errors like the rest of the API: 401 with `WWW-Authenticate: Bearer` for a
/// missing, malformed, wrongly signed or expired token, 403 for a role or organization that may not.
struct AccessRoutes: Sendable {
    let access: LedgerAccess

    /// Refuses any request, on every route added after it, that presents a token which does not
    /// verify: a caller that shows a token must show a valid one, even where none is needed.
    struct BearerCheck<Context: RequestContext>: RouterMiddleware {
        let access: LedgerAccess

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            do throws(AccessError) { _ = try await access.tokens.principal(authorization: request.headers[.authorization]) } catch {
                return accessFailure(error)
            }
            return try await next(request, context)
        }
    }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/v1/stamps") { request, _ in
            await respond(request) { (principal: AccessPrincipal?) async throws(AccessError) -> [String: Any] in
                let query = request.uri.queryParameters
                // Exactly one key, as /v1/lookup: a second one would otherwise be ignored unchecked.
                guard ["recordHash", "documentDigest", "serial"].filter({ query.get($0) != nil }).count <= 1 else {
                    throw AccessError(code: .malformedInput, reason: "give exactly one of recordHash, serial or documentDigest")
                }
                let key: LookupKey
                if let value = query.get("recordHash") {
                    key = .recordHash(try hex32(value, "recordHash"))
                } else if let value = query.get("documentDigest") {
                    key = .documentDigest(try hex32(value, "documentDigest"))
                } else if let value = query.get("serial") {
                    key = .serial(value)
                } else {
                    throw AccessError(code: .malformedInput, reason: "give recordHash, serial or documentDigest")
                }
                return try await access.stamps(key, principal: principal, request: "GET /v1/stamps")
            }
        }
        router.get("/v1/organizations/:organization/records") { request, context in
            await respond(request) { (principal: AccessPrincipal?) async throws(AccessError) -> [String: Any] in
                guard let organization = context.parameters.get("organization")?.removingPercentEncoding else {
                    throw AccessError(code: .malformedInput, reason: "the organization is missing")
                }
                let query = request.uri.queryParameters
                let after = try query.get("after").map { text throws(AccessError) -> UInt64 in
                    guard let value = UInt64(text) else { throw AccessError(code: .malformedInput, reason: "after is an entry index") }
                    return value
                }
                let limit: Int = try query.get("limit").map { text throws(AccessError) -> Int in
                    guard let value = Int(text) else { throw AccessError(code: .malformedInput, reason: "limit is a number") }
                    return value
                } ?? 50
                return try await access.organizationRecords(organization, after: after, limit: limit, principal: principal,
                                                            request: "GET /v1/organizations/{organization}/records")
            }
        }
        router.get("/v1/access-log") { request, _ in
            await respond(request) { (principal: AccessPrincipal?) async throws(AccessError) -> [String: Any] in
                let query = request.uri.queryParameters
                let after: Int64 = try query.get("after").map { text throws(AccessError) -> Int64 in
                    guard let value = Int64(text), value >= 0 else { throw AccessError(code: .malformedInput, reason: "after is a row number") }
                    return value
                } ?? 0
                return try access.accessLog(organization: query.get("organization"), after: after, principal: principal)
            }
        }
        router.post("/v1/tokens") { request, _ in
            await respond(request) { (principal: AccessPrincipal?) async throws(AccessError) -> [String: Any] in
                // The role first: only the issuer gets to the body.
                try AccessPolicy.requireIssuer(principal)
                let body: ByteBuffer
                do { body = try await request.body.collect(upTo: 16_384) } catch {
                    throw AccessError(code: .malformedInput, reason: "the body exceeds 16384 bytes")
                }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] else {
                    throw AccessError(code: .malformedInput, reason: "send a JSON object {role, organization, subject, expiresIn}")
                }
                // A member of the wrong type is refused, never read as absent (schemathesis ST201).
                for name in ["role", "organization", "subject"] where object[name] != nil && !(object[name] is String) {
                    throw AccessError(code: .malformedInput, reason: "\(name) is a string")
                }
                if let value = object["expiresIn"], !(value is NSNumber) {
                    throw AccessError(code: .malformedInput, reason: "expiresIn is a number of seconds")
                }
                return try await access.issueToken(role: object["role"] as? String, organization: object["organization"] as? String,
                                                   subject: object["subject"] as? String, expiresIn: (object["expiresIn"] as? NSNumber)?.doubleValue,
                                                   principal: principal)
            }
        }
    }

    /// `POST /v1/tokens/revoke` (`{"jti": "..."}`, the issuer's administrator only).
    func addRevocationRoute(to router: Router<BasicRequestContext>) {
        router.post("/v1/tokens/revoke") { request, _ in
            await respond(request) { (principal: AccessPrincipal?) async throws(AccessError) -> [String: Any] in
                try AccessPolicy.requireIssuer(principal)
                let body: ByteBuffer
                do { body = try await request.body.collect(upTo: 16_384) } catch {
                    throw AccessError(code: .malformedInput, reason: "the body exceeds 16384 bytes")
                }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] else {
                    throw AccessError(code: .malformedInput, reason: "send a JSON object {jti}")
                }
                guard object.count == 1, let tokenID = object["jti"] as? String else {
                    throw AccessError(code: .malformedInput, reason: "the body is {\"jti\": \"<token ID>\"}")
                }
                return try access.revokeToken(tokenID, principal: principal)
            }
        }
    }

    /// After `ledger.submit`: stores the openings submitted beside admitted records. Nil when all
    /// went well, else the refusal to send (the records are in the log all the same).
    func afterSubmission(_ records: [StampRecord], _ outcomes: [AdmissionOutcome]) -> Response? {
        let failures = access.recordsAdmitted(records, outcomes).enumerated().compactMap { item in item.element.map { (item.offset, $0) } }
        guard let (position, error) = failures.first else { return nil }
        let status: HTTPResponse.Status = error.code == .personalDataMismatch ? .unprocessableContent : .internalServerError
        return accessJSON(["error": ["code": "personal-data-not-stored",
                                     "message": "record \(position): \(error.reason); the record is in the log, submit it again to store its personal data"]],
                          status: status)
    }

    /// Authenticates, runs `body` and turns its result or refusal into a response.
    private func respond(_ request: Request, _ body: (AccessPrincipal?) async throws(AccessError) -> [String: Any]) async -> Response {
        do throws(AccessError) {
            let principal = try await access.tokens.principal(authorization: request.headers[.authorization])
            return accessJSON(try await body(principal))
        } catch { return accessFailure(error) }
    }
}

private func hex32(_ text: String, _ name: String) throws(AccessError) -> [UInt8] {
    let digits = Array(text.utf8)
    guard digits.count == 64 else { throw AccessError(code: .malformedInput, reason: "\(name) is 64 hex digits") }
    var out: [UInt8] = []
    for i in stride(from: 0, to: 64, by: 2) {
        guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else {
            throw AccessError(code: .malformedInput, reason: "\(name) is 64 hex digits")
        }
        out.append(byte)
    }
    return out
}

private func accessJSON(_ object: [String: Any], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    var fields = headers
    fields[.contentType] = "application/json"
    fields[.cacheControl] = "no-store"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

private func accessFailure(_ error: AccessError) -> Response {
    let status: HTTPResponse.Status
    var headers: HTTPFields = [:]
    switch error.code {
    case .unauthenticated:
        status = .unauthorized
        headers[.wwwAuthenticate] = "Bearer realm=\"sealledger\""
    case .forbidden: status = .forbidden
    case .notFound: status = .notFound
    case .malformedInput: status = .badRequest
    case .personalDataMismatch: status = .unprocessableContent
    default: status = .internalServerError
    }
    return accessJSON(["error": ["code": error.code.description, "message": error.reason]], status: status, headers: headers)
}
