import Crypto
import Foundation
import SealTestSupport
import SealHostDriver
import SealLedger
import SealLedgerAccess
import SealProtocol
import Testing
import Yams

/// The issue's test: every operation of docs/ledger-openapi.yaml, with every role, against a real
/// `sealledger serve` on a real SQLite file; every response body is searched for the personal
/// values (plaintexts and salts, as text and as raw bytes) of every record submitted.
@Suite("Every endpoint of the OpenAPI document, every role", .serialized)
struct EndpointWalkTests {
    /// A caller of the walk.
    struct Caller {
        var name: String
        var token: String?
        /// The organization an auditor audits; "*" for the issuer.
        var sees: String?
        var role: String?
    }

    @Test func noPersonalDataReachesARoleThatMayNotSeeIt() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try AccessTestCA()
        let rootFile = directory.appendingPathComponent("root.pem")
        try Data(try ca.pem.utf8).write(to: rootFile)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let server = try await ServedLedger.start(directory: directory, arguments: ["--database", database, "--vendor-roots", rootFile.path])
        defer { server.stop() }

        // Two organizations; three records with personal data, and one submitted without it.
        let chipA = try OrganizationChip(ca: ca, organization: "Org A", personal: .alpha, chip: 1)
        let chipB = try OrganizationChip(ca: ca, organization: "Org B", personal: .bravo, chip: 2)
        let a1 = try chipA.record(counter: 1, document: "lease A1"), a2 = try chipA.record(counter: 2, document: "lease A2")
        let b1 = try chipB.record(counter: 1, document: "loan B1"), b2 = try chipB.record(counter: 2, document: "loan B2")
        var (status, body) = try await server.request("/v1/entries", method: "POST", body: try a1.jsonData())
        #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
        let batch = Data("[".utf8) + (try [a2, b1, b2.withoutPersonalData()].map { try $0.jsonData() }).joined(separator: Data(",".utf8)) + Data("]".utf8)
        (status, body) = try await server.request("/v1/entries/batch", method: "POST", body: batch)
        #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
        #expect((jsonObject(body)["results"] as? [[String: Any]])?.compactMap { $0["status"] as? String } == ["added", "added", "added"])
        let withPersonalData = [a1, a2, b1]

        // Tokens from the CLI, as an operator issues them; and two that must be refused.
        func issue(_ arguments: [String]) async throws -> String {
            let run = try await runProgram(Built.sealledger, ["token", "issue", "--database", database] + arguments,
                                           environment: ["SEALKIT_HOME": directory.path])
            #expect(run.status == 0, "\(run.stderr)")
            return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let callers = [
            Caller(name: "none", token: nil, sees: nil, role: nil),
            Caller(name: "public", token: try await issue(["--role", "public", "--subject", "verifier"]), sees: nil, role: "public"),
            Caller(name: "auditor A", token: try await issue(["--role", "auditor", "--organization", "Org A", "--subject", "auditor-a"]),
                   sees: "Org A", role: "auditor"),
            Caller(name: "auditor B", token: try await issue(["--role", "auditor", "--organization", "Org B", "--subject", "auditor-b"]),
                   sees: "Org B", role: "auditor"),
            Caller(name: "issuer", token: try await issue(["--role", "issuer", "--subject", "issuer-admin"]), sees: "*", role: "issuer"),
        ]
        let expired = try await issue(["--role", "issuer", "--subject", "late", "--expires", "1s"])
        // A token revoked with the CLI (docs/access.md, "Revoking a token").
        let revoked = try await issue(["--role", "issuer", "--subject", "revoked"])
        let revocation = try await runProgram(Built.sealledger, ["token", "revoke", "--database", database, revoked],
                                              environment: ["SEALKIT_HOME": directory.path])
        #expect(revocation.status == 0, "\(revocation.stderr)")
        // The right ledger (its default origin), the wrong key.
        let stranger = await AccessTokenAuthority(key: Curve25519.Signing.PrivateKey(), issuer: "sealkit.local/ledger")
        let wronglySigned = try await stranger.issue(role: .issuer, organization: nil, subject: "mallory", lifetime: 600)
        try await Task.sleep(for: .seconds(2))

        // The walk, generated from the document.
        let document = try #require(try Yams.load(yaml: String(contentsOf: repositoryRoot.appendingPathComponent("docs/ledger-openapi.yaml"),
                                                               encoding: .utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let treeSize = 4
        var requests = 0, operations = 0
        var sawPersonalData: [String: Set<String>] = [:]
        for sample in [(a1, 0), (b1, 2)] {
            let (record, index) = sample
            let values: [String: String] = [
                "index": "\(index)", "level": "entries", "serial": record.serial, "documentDigest": hexString(record.documentDigest),
                "recordHash": hexString(LedgerLeaf.recordHash(record.canonicalBytes)), "organization": record.organizationName,
                "size": "\(treeSize)", "from": "1", "to": "\(treeSize)", "after": "0", "limit": "50",
                "chipID": hexString(record.chipID),
            ]
            for (template, item) in paths.sorted(by: { $0.key < $1.key }) {
                guard let methods = item as? [String: Any] else { continue }
                for (method, operationValue) in methods.sorted(by: { $0.key < $1.key }) {
                    guard ["get", "post"].contains(method), let operation = operationValue as? [String: Any] else { continue }
                    // An endless event stream (the alerts' SSE) has no body to search; AlertTests walks its roles.
                    let ok = ((operation["responses"] as? [String: Any])?["200"] as? [String: Any])?["content"] as? [String: Any]
                    if ok?["text/event-stream"] != nil { continue }
                    operations += 1
                    let parameters = (operation["parameters"] as? [[String: Any]]) ?? []
                    var path = template
                    for parameter in parameters where parameter["in"] as? String == "path" {
                        let name = parameter["name"] as? String ?? ""
                        // A tile path: the partial entry bundle that holds every leaf.
                        let value = template.hasPrefix("/tile/") && name == "index" ? "000.p/\(treeSize)" : values[name] ?? "1"
                        path = path.replacingOccurrences(of: "{\(name)}", with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? value)
                    }
                    // Required query parameters always; each optional one alone; and none.
                    let query = parameters.filter { $0["in"] as? String == "query" }
                    let required = query.filter { $0["required"] as? Bool == true }.compactMap { $0["name"] as? String }
                    let optional = query.filter { $0["required"] as? Bool != true }.compactMap { $0["name"] as? String }
                    let variants = [required] + optional.map { required + [$0] }
                    let body = try requestBody(operation, record: record)
                    for variant in variants {
                        var components = URLComponents()
                        components.percentEncodedPath = path
                        if !variant.isEmpty { components.queryItems = variant.map { URLQueryItem(name: $0, value: values[$0] ?? "1") } }
                        let target = components.percentEncodedPath + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
                        let namesOrganization = path.contains(record.organizationName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "")
                            || variant.contains("organization")
                        for caller in callers {
                            requests += 1
                            let (status, data) = try await server.request(target, method: method.uppercased(), token: caller.token, body: body)
                            let label = "\(caller.name) \(method.uppercased()) \(target) → \(status)"
                            #expect(status > 0 && status < 500, "\(label): \(String(decoding: data, as: UTF8.self).prefix(300))")
                            for submitted in withPersonalData {
                                let found = leaks(of: personalNeedles(of: submitted), in: Array(data))
                                let allowed = caller.sees == "*" || caller.sees == submitted.organizationName
                                if allowed {
                                    if !found.isEmpty { sawPersonalData[caller.name, default: []].insert("\(submitted.serial) \(method) \(template)") }
                                } else {
                                    #expect(found.isEmpty, "\(label) leaks \(submitted.organizationName)'s \(found)")
                                }
                            }
                            expectStatus(status, operation: operation, caller: caller, namesOtherOrganization: namesOrganization && caller.sees != "*"
                                         && caller.sees != nil && caller.sees != record.organizationName, label: label)
                        }
                        // Tokens that do not verify are refused everywhere.
                        for bad in [expired, wronglySigned, "not.a.token", revoked] {
                            requests += 1
                            let (status, data) = try await server.request(target, method: method.uppercased(), token: bad, body: body)
                            #expect(status == 401, "bad token \(method) \(target) → \(status)")
                            #expect((jsonObject(data)["error"] as? [String: Any])?["code"] as? String == "unauthenticated")
                        }
                    }
                }
            }
        }
        #expect(operations >= 26, "the walk covered \(operations) operations")

        // The roles that may see personal data do, in full, where the document says they get it.
        for (caller, record) in [(callers[2], a1), (callers[4], a1), (callers[3], b1), (callers[4], b1)] {
            let (status, data) = try await server.request("/v1/stamps?serial=\(record.serial)", token: caller.token)
            #expect(status == 200)
            let textual = personalNeedles(of: record).filter { !$0.name.hasSuffix("raw") && !$0.name.hasSuffix("lowercase hex") && !$0.name.hasSuffix("base64") }
            #expect(leaks(of: textual, in: Array(data)).count == textual.count, "\(caller.name) sees all of \(record.serial)")
            let entry = try #require((jsonObject(data)["entries"] as? [[String: Any]])?.first)
            #expect(entry["personalData"] as? String == "included")
            #expect((entry["verification"] as? [String: Any])?["valid"] as? Bool == true)
        }
        // The report page (docs/report.md) follows the same rule: the openings for the issuer and A's
        // auditor, the commitments for everyone else.
        for caller in callers {
            let (status, data) = try await server.request("/v1/reports/0", token: caller.token)
            let page = String(decoding: data, as: UTF8.self)
            let sees = caller.sees == "*" || caller.sees == a1.organizationName
            #expect(status == 200 && page.contains("id=\"who\""), "\(caller.name) GET /v1/reports/0 → \(status)")
            #expect(page.contains(a1.metadata.operatorID ?? "?") == sees, "\(caller.name) sees the operator in the report: \(sees)")
            #expect(page.contains("withheld — commitment") != sees, "\(caller.name) sees commitments in the report: \(!sees)")
        }
        let (pageStatus, page) = try await server.request("/v1/organizations/Org%20A/records", token: callers[2].token)
        #expect(pageStatus == 200)
        #expect((jsonObject(page)["entries"] as? [[String: Any]])?.compactMap { $0["index"] as? Int } == [0, 1])
        for record in [a1, a2] { #expect(leaks(of: personalNeedles(of: record), in: Array(page)).contains("operator ID")) }
        let (_, bPage) = try await server.request("/v1/organizations/Org%20B/records", token: callers[3].token)
        let bEntries = (jsonObject(bPage)["entries"] as? [[String: Any]]) ?? []
        #expect(bEntries.compactMap { $0["personalData"] as? String } == ["included", "not-shown"], "B2 was submitted without personal data")
        #expect(sawPersonalData["auditor A"]?.isEmpty == false && sawPersonalData["issuer"]?.isEmpty == false)

        // The access log: auditor A reads its organization's rows only; each names who and which entry.
        let (logStatus, logData) = try await server.request("/v1/access-log", token: callers[2].token)
        #expect(logStatus == 200)
        let rows = (jsonObject(logData)["entries"] as? [[String: Any]]) ?? []
        #expect(!rows.isEmpty && rows.allSatisfy { $0["recordOrganization"] as? String == "Org A" })
        #expect(Set(rows.compactMap { $0["subject"] as? String }) == ["auditor-a", "issuer-admin"])
        #expect(Set(rows.compactMap { $0["index"] as? Int }) == [0, 1])
        let (_, bLog) = try await server.request("/v1/access-log", token: callers[3].token)
        let bRows = (jsonObject(bLog)["entries"] as? [[String: Any]]) ?? []
        #expect(!bRows.isEmpty && bRows.allSatisfy { $0["recordOrganization"] as? String == "Org B" })
        let (allStatus, allLog) = try await server.request("/v1/access-log", token: callers[4].token)
        #expect(allStatus == 200 && (jsonObject(allLog)["entries"] as? [Any])?.count == rows.count + bRows.count)
        print("endpoint walk: \(operations) operations, \(requests) requests, \(rows.count) access-log rows for Org A")

        // Nothing personal in the ledger's own files; the access database holds it only sealed.
        for file in [database, database + "-wal", database + ".access.sqlite", database + ".access.sqlite-wal"] {
            let bytes = Array(FileManager.default.contents(atPath: file) ?? Data())
            for record in withPersonalData { #expect(leaks(of: personalNeedles(of: record), in: bytes).isEmpty, "\(file)") }
        }
    }

    @Test func openingsThatDoNotMatchTheCommitmentsAreRefused() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try AccessTestCA()
        let rootFile = directory.appendingPathComponent("root.pem")
        try Data(try ca.pem.utf8).write(to: rootFile)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let server = try await ServedLedger.start(directory: directory, arguments: ["--database", database, "--vendor-roots", rootFile.path],
                                                  environment: ["SEALLEDGER_PERSONAL_DATA_KEYS": PersonalDataKeyring.generateKeyLine()])
        defer { server.stop() }
        let chip = try OrganizationChip(ca: ca, organization: "Org A", personal: .alpha, chip: 5)
        let record = try chip.record(counter: 1, document: "deed")
        var forged = try StampRecord(jsonData: try record.jsonData())
        forged.metadata.operatorID = "someone-else"
        forged.metadata.salts[.operatorID] = record.metadata.salts[.operatorID]
        forged.metadata.withheldCommitments[.operatorID] = record.metadata.commitment(for: .operatorID)
        let (status, body) = try await server.request("/v1/entries", method: "POST", body: try forged.jsonData())
        #expect(status == 422)
        #expect((jsonObject(body)["error"] as? [String: Any])?["failedCheck"] as? String == "personal-data")
        let issuer = try await runProgram(Built.sealledger, ["token", "issue", "--database", database, "--role", "issuer"],
                                          environment: ["SEALKIT_HOME": directory.path])
        let token = issuer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await server.request("/v1/stamps?serial=\(record.serial)", token: token).status == 404)
        // With the environment's keyring, no keyring file was made.
        #expect(!FileManager.default.fileExists(atPath: database + ".personal-data-keys"))

        // The same record, first without its personal data, then with it: the openings join it.
        #expect(try await server.request("/v1/entries", method: "POST", body: try record.withoutPersonalData().jsonData()).status == 200)
        var (_, view) = try await server.request("/v1/stamps?serial=\(record.serial)", token: token)
        #expect((jsonObject(view)["entries"] as? [[String: Any]])?.first?["personalData"] as? String == "not-shown")
        let (again, result) = try await server.request("/v1/entries", method: "POST", body: try record.jsonData())
        #expect(again == 200 && jsonObject(result)["status"] as? String == "duplicate")
        (_, view) = try await server.request("/v1/stamps?serial=\(record.serial)", token: token)
        #expect((jsonObject(view)["entries"] as? [[String: Any]])?.first?["personalData"] as? String == "included")
        #expect(leaks(of: personalNeedles(of: record), in: Array(view)).contains("operator ID"))
    }

    @Test func keysRotateReSealsEveryRowUnderTheNewKey() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try AccessTestCA()
        let rootFile = directory.appendingPathComponent("root.pem")
        try Data(try ca.pem.utf8).write(to: rootFile)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let keyring = directory.appendingPathComponent("keyring").path
        let store = ["--database", database, "--personal-data-keys", keyring]
        let oldKey = PersonalDataKeyring.generateKeyLine()
        try Data("\(oldKey)\n".utf8).write(to: URL(fileURLWithPath: keyring))
        let chip = try OrganizationChip(ca: ca, organization: "Org A", personal: .alpha, chip: 6)
        let record = try chip.record(counter: 1, document: "will")
        var server = try await ServedLedger.start(directory: directory, arguments: store + ["--vendor-roots", rootFile.path])
        #expect(try await server.request("/v1/entries", method: "POST", body: try record.jsonData()).status == 200)
        server.stop()

        // A new current key in front of the old one; rotate; then the new key alone opens the row.
        let generated = try await runProgram(Built.sealledger, ["keys", "generate"])
        let newKey = generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try Data("\(newKey)\n\(oldKey)\n".utf8).write(to: URL(fileURLWithPath: keyring))
        let newID = try PersonalDataKeyring(text: newKey).currentKeyID, oldID = try PersonalDataKeyring(text: oldKey).currentKeyID
        var status = try await runProgram(Built.sealledger, ["keys", "status"] + store)
        #expect(status.stdout.contains("\(newID) current 0 rows") && status.stdout.contains("\(oldID) old 1 rows"), "\(status.stdout)")
        let rotate = try await runProgram(Built.sealledger, ["keys", "rotate"] + store)
        #expect(rotate.status == 0 && rotate.stdout.contains("re-sealed 1 of 1 rows under key \(newID)"), "\(rotate.stdout)\(rotate.stderr)")
        try Data("\(newKey)\n".utf8).write(to: URL(fileURLWithPath: keyring))
        status = try await runProgram(Built.sealledger, ["keys", "status"] + store)
        #expect(status.stdout.contains("\(newID) current 1 rows") && !status.stdout.contains(oldID), "\(status.stdout)")

        server = try await ServedLedger.start(directory: directory, arguments: store + ["--vendor-roots", rootFile.path])
        defer { server.stop() }
        let issuer = try await runProgram(Built.sealledger, ["token", "issue", "--role", "issuer"] + store)
        let (_, view) = try await server.request("/v1/stamps?serial=\(record.serial)", token: issuer.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect((jsonObject(view)["entries"] as? [[String: Any]])?.first?["personalData"] as? String == "included")
    }

    @Test func theCommandLineRefusesInconsistentTokenRequests() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("ledger.sqlite").path
        for arguments in [["--role", "auditor"], ["--role", "issuer", "--organization", "Org A"], ["--role", "owner"],
                          ["--role", "public", "--expires", "soon"]] {
            let run = try await runProgram(Built.sealledger, ["token", "issue", "--database", database] + arguments)
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
        }
    }
}

/// The body an operation takes: a submitted record (or a batch of it) for the entry routes, the
/// document's example otherwise.
private func requestBody(_ operation: [String: Any], record: StampRecord) throws -> Data? {
    guard let content = (operation["requestBody"] as? [String: Any])?["content"] as? [String: Any],
          let json = content["application/json"] as? [String: Any] else { return nil }
    if let example = json["example"] { return try JSONSerialization.data(withJSONObject: example) }
    let schema = json["schema"] as? [String: Any] ?? [:]
    let recordJSON = try record.jsonData()
    if schema["type"] as? String == "array" { return Data("[".utf8) + recordJSON + Data("]".utf8) }
    if (schema["$ref"] as? String)?.hasSuffix("/StampRecord") == true { return recordJSON }
    // The verification page's check: the record with personal data, against its own document digest.
    if (schema["$ref"] as? String)?.hasSuffix("/VerifyRequest") == true {
        return try JSONSerialization.data(withJSONObject: ["record": try JSONSerialization.jsonObject(with: recordJSON),
                                                           "documentDigest": hexString(record.documentDigest)])
    }
    return Data("{}".utf8)
}

/// What the document's `x-sealkit-access` says the status must be for this caller.
private func expectStatus(_ status: Int, operation: [String: Any], caller: EndpointWalkTests.Caller, namesOtherOrganization: Bool, label: String) {
    guard let access = operation["x-sealkit-access"] as? String else {
        #expect(status != 401 && status != 403, "\(label): an open operation")
        return
    }
    switch (access, caller.role) {
    case (_, nil): #expect(status == 401, "\(label)")
    case ("issuer", "issuer"), ("organization", "issuer"): #expect((200..<300).contains(status), "\(label)")
    case ("organization", "auditor"): #expect(namesOtherOrganization ? status == 403 : (200..<300).contains(status), "\(label)")
    default: #expect(status == 403, "\(label)")
    }
}
