import Foundation
import SealTestSupport
import Testing

/// Revoking bearer tokens (docs/access.md, "Revoking a token"): by the issuer's administrator through
/// `POST /v1/tokens/revoke` or offline with `sealledger token revoke`; a revoked token gets 401 on
/// every route from the next request on, and stays revoked across restarts.
@Suite("Token revocation", .serialized)
struct TokenRevocationTests {
    @Test func aRevokedTokenIsRefusedEverywhereAtOnceAndAfterARestart() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("ledger.sqlite").path
        var server = try await ServedLedger.start(directory: directory, arguments: ["--database", database])
        func issue(_ arguments: [String]) async throws -> String {
            let run = try await runProgram(Built.sealledger, ["token", "issue", "--database", database] + arguments,
                                           environment: ["SEALKIT_HOME": directory.path])
            #expect(run.status == 0, "\(run.stderr)")
            return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let issuer = try await issue(["--role", "issuer", "--subject", "admin"])
        let auditorToken = try await issue(["--role", "auditor", "--organization", "Org A", "--subject", "auditor"])
        let publicToken = try await issue(["--role", "public", "--subject", "kiosk"])
        let routes = ["/checkpoint", "/v1/access-log?organization=Org%20A", "/v1/stamps?serial=none", "/verify"]

        // The issuer makes a token through the API, which names its ID.
        var (status, body) = try await server.request("/v1/tokens", method: "POST", token: issuer,
                                                      body: Data(#"{"role":"auditor","organization":"Org A","subject":"temp"}"#.utf8))
        #expect(status == 200)
        let temporary = try #require(jsonObject(body)["token"] as? String)
        let temporaryID = try #require(jsonObject(body)["jti"] as? String)
        #expect(try await server.request("/v1/access-log?organization=Org%20A", token: temporary).status == 200)

        // Only the issuer revokes; malformed requests change nothing.
        #expect(try await server.request("/v1/tokens/revoke", method: "POST", body: Data(#"{"jti":"\#(temporaryID)"}"#.utf8)).status == 401)
        #expect(try await server.request("/v1/tokens/revoke", method: "POST", token: auditorToken,
                                         body: Data(#"{"jti":"\#(temporaryID)"}"#.utf8)).status == 403)
        for bad in [#"{"jti":"a b"}"#, #"{"jti":7}"#, #"{}"#, #"{"jti":"x","also":1}"#, "["] {
            #expect(try await server.request("/v1/tokens/revoke", method: "POST", token: issuer, body: Data(bad.utf8)).status == 400, "\(bad)")
        }
        #expect(try await server.request("/v1/access-log?organization=Org%20A", token: temporary).status == 200)

        (status, body) = try await server.request("/v1/tokens/revoke", method: "POST", token: issuer, body: Data(#"{"jti":"\#(temporaryID)"}"#.utf8))
        #expect(status == 200 && jsonObject(body)["revoked"] as? Bool == true && jsonObject(body)["alreadyRevoked"] as? Bool == false)
        for route in routes {
            let (status, body) = try await server.request(route, token: temporary)
            #expect(status == 401 && String(decoding: body, as: UTF8.self).contains("revoked"), "\(route) → \(status)")
        }
        (status, body) = try await server.request("/v1/tokens/revoke", method: "POST", token: issuer, body: Data(#"{"jti":"\#(temporaryID)"}"#.utf8))
        #expect(status == 200 && jsonObject(body)["alreadyRevoked"] as? Bool == true)
        // Other tokens are untouched.
        #expect(try await server.request("/v1/access-log?organization=Org%20A", token: auditorToken).status == 200)

        // The command line, while the server runs: by the token itself, then by an ID.
        let revoke = try await runProgram(Built.sealledger, ["token", "revoke", "--database", database, publicToken])
        #expect(revoke.status == 0 && revoke.stdout.hasPrefix("revoked "), "\(revoke.stdout)\(revoke.stderr)")
        for route in routes { #expect(try await server.request(route, token: publicToken).status == 401, "\(route)") }
        #expect(try await server.request("/checkpoint", token: auditorToken).status == 200)
        #expect(try await runProgram(Built.sealledger, ["token", "revoke", "--database", database, "not a token"]).status == 64)

        // Durable: after a restart both stay revoked, the others still work.
        server.stop()
        server = try await ServedLedger.start(directory: directory, arguments: ["--database", database])
        defer { server.stop() }
        for token in [temporary, publicToken] {
            for route in routes { #expect(try await server.request(route, token: token).status == 401, "\(route)") }
        }
        #expect(try await server.request("/v1/access-log?organization=Org%20A", token: auditorToken).status == 200)
        #expect(try await server.request("/v1/access-log", token: issuer).status == 200)
    }
}
