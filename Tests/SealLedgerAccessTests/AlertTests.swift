import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import SealHostDriver
import SealLedger
import SealProtocol
import SealTestSupport
import Synchronization
import Testing

/// The alerts of docs/alerts.md against a real `sealledger serve` on loopback: each kind raised by
/// the submission that causes it, the roles, signed and retried webhooks that survive a restart,
/// the event stream's resume, the anonymous-report limit, and bad input that changes nothing.
@Suite("Alerts: kinds, roles, webhooks, event stream, reports", .serialized)
struct AlertTests {
    @Test func eachKindIsRaisedByTheSubmissionThatCausesIt() async throws {
        let setup = try await AlertSetup.start()
        defer { setup.stop() }
        let server = setup.server, issuer = setup.issuerToken
        let chip = try AlertChip(ca: setup.ca, organization: "Org A", chip: 1)
        let t = UInt64(Date().timeIntervalSince1970) - 86_400
        var seen: UInt64 = 0

        /// The alerts raised since the last call, as the issuer reads them right after the submission answered.
        func newAlerts() async throws -> [[String: Any]] {
            let (status, data) = try await server.request("/v1/alerts?after=\(seen)", token: issuer)
            #expect(status == 200, "\(String(decoding: data, as: UTF8.self))")
            let alerts = (jsonObject(data)["alerts"] as? [[String: Any]]) ?? []
            if let last = alerts.last?["id"] as? Int { seen = UInt64(last) }
            return alerts
        }
        func submit(_ record: StampRecord) async throws -> (status: Int, object: [String: Any]) {
            let (status, data) = try await server.request("/v1/entries", method: "POST", body: try record.jsonData())
            return (status, jsonObject(data))
        }

        // Buenos Aires, then Sydney ten minutes later: 11,800 km in 10 minutes.
        let first = try chip.record(counter: 1, document: "one", time: t, location: (-34_603_722, -58_381_592))
        var (status, object) = try await submit(first)
        #expect(status == 200 && object["index"] as? Int == 0)
        #expect(try await newAlerts().isEmpty, "a first stamp raises nothing")
        (status, object) = try await submit(try chip.record(counter: 2, document: "two", time: t + 600, location: (-33_868_820, 151_209_290)))
        #expect(status == 200 && object["index"] as? Int == 1)
        var alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["impossible-travel"])
        #expect(alerts.first?["entryIndex"] as? Int == 1 && alerts.first?["chipID"] as? String == hexString(chip.chipID))
        let travel = alerts.first?["detail"] as? [String: Any] ?? [:]
        #expect((travel["distanceKm"] as? Double ?? 0) > 11_000 && (travel["speedKmh"] as? Double ?? 0) > 60_000, "\(travel)")
        #expect(travel["otherIndex"] as? Int == 0)

        // Counter 3 claimed an hour before counter 2.
        (status, object) = try await submit(try chip.record(counter: 3, document: "three", time: t - 3_600))
        #expect(status == 200 && object["index"] as? Int == 2)
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["counter-regression"] && alerts.first?["entryIndex"] as? Int == 2)

        // Another record for counter 3: conflict evidence.
        (status, object) = try await submit(try chip.record(counter: 3, document: "three again", time: t - 3_500))
        #expect(status == 200 && object["status"] as? String == "conflict")
        let evidence = object["evidenceIndex"] as? Int
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["clone-evidence"] && alerts.first?["entryIndex"] as? Int == evidence)

        // Grant 7 was for another document and expired at t + 700 (the --grants file).
        (status, object) = try await submit(try chip.record(counter: 4, document: "four", time: t + 900, grantSerial: 7))
        #expect(status == 200)
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["grant-misuse"] && alerts.first?["entryIndex"] as? Int == object["index"] as? Int)
        let reason = (alerts.first?["detail"] as? [String: Any])?["reason"] as? String ?? ""
        #expect(reason.contains("after notAfter") && reason.contains("not the granted one"), "\(reason)")
        // Grant 8 (a window of two stamps, counters 5–9) used within its bounds: no alert.
        (status, _) = try await submit(try chip.record(counter: 5, document: "five", time: t + 1_000, grantSerial: 8))
        #expect(status == 200)
        #expect(try await newAlerts().isEmpty)

        // Suspended by the issuer: the next stamp is flagged and raises an alert.
        let suspend = try setup.event(.suspended, chipID: chip.chipID)
        (status, _) = try await server.request("/v1/events", method: "POST", body: suspend)
        #expect(status == 200)
        (status, object) = try await submit(try chip.record(counter: 6, document: "six", time: t + 1_100, grantSerial: 8))
        #expect(status == 200 && object["flag"] as? String == "chip-suspended")
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["stamp-by-suspended-seal"] && alerts.first?["entryIndex"] as? Int == object["index"] as? Int)

        // Terminated at counter 6: counter 7 is refused, with evidence and an alert. Grant 8 is used a third time too,
        // but the refused record is no admitted use.
        (status, _) = try await server.request("/v1/events", method: "POST", body: try setup.event(.terminated, chipID: chip.chipID, finalCounter: 6))
        #expect(status == 200)
        (status, object) = try await submit(try chip.record(counter: 7, document: "seven", time: t + 1_200))
        #expect(status == 422)
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["stamp-by-terminated-seal"])
        #expect(alerts.first?["entryIndex"] as? Int == object["evidenceIndex"] as? Int)

        // A second chip's audit log shows counter 2, which no record reports; then a push whose chain is broken.
        let other = try AlertChip(ca: setup.ca, organization: "Org B", chip: 2)
        let y1 = try other.record(counter: 1, document: "y1", time: t), y2 = try other.record(counter: 2, document: "y2", time: t + 10)
        (status, _) = try await submit(y1)
        #expect(status == 200)
        #expect(try await newAlerts().isEmpty)
        let (entries, head) = auditEntries([y1, y2])
        var reply: Data
        (status, reply) = try await server.request("/v1/audit", method: "POST", body: try auditPush(other.chipID, entries, head: head))
        object = jsonObject(reply)
        #expect(status == 200)
        let unreportedIndex = (object["unreported"] as? [[String: Any]])?.first?["evidenceIndex"] as? Int
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["unreported-stamp"] && alerts.first?["entryIndex"] as? Int == unreportedIndex)
        #expect((alerts.first?["detail"] as? [String: Any])?["counter"] as? Int == 2)
        (status, reply) = try await server.request("/v1/audit", method: "POST",
                                                   body: try auditPush(other.chipID, entries, head: [UInt8](repeating: 0x11, count: 32)))
        object = jsonObject(reply)
        #expect(status == 422)
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["audit-tamper"] && alerts.first?["entryIndex"] as? Int == object["evidenceIndex"] as? Int)

        // A failed verification reported with a token, and one without.
        let reported = first
        let body = try reportBody(reported, failedCheck: "document-digest")
        var data: Data
        (status, data) = try await server.request("/v1/verification-reports", method: "POST", token: setup.auditorA, body: body)
        #expect(status == 202 && jsonObject(data)["authenticated"] as? Bool == true, "\(String(decoding: data, as: UTF8.self))")
        (status, data) = try await server.request("/v1/verification-reports", method: "POST", body: body)
        #expect(status == 202 && jsonObject(data)["authenticated"] as? Bool == false)
        alerts = try await newAlerts()
        #expect(alerts.map { $0["kind"] as? String } == ["verification-failed", "verification-failed"])
        #expect(alerts.map { $0["authenticated"] as? Bool } == [true, false])
        #expect(alerts.first?["entryIndex"] as? Int == 0, "the reported record is entry 0")
        #expect((alerts.first?["detail"] as? [String: Any])?["failedCheck"] as? String == "document-digest")

        // Who sees what: the issuer all, each auditor its organization's, the public and no token nothing.
        let (_, all) = try await server.request("/v1/alerts?limit=200", token: issuer)
        let kinds = Set(((jsonObject(all)["alerts"] as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String })
        #expect(kinds == Set(LedgerAlert.Kind.allCases.map(\.rawValue)), "every kind was raised: \(kinds.sorted())")
        let (_, forA) = try await server.request("/v1/alerts?limit=200", token: setup.auditorA)
        let (_, forB) = try await server.request("/v1/alerts?limit=200", token: setup.auditorB)
        let aChips = Set(((jsonObject(forA)["alerts"] as? [[String: Any]]) ?? []).compactMap { $0["chipID"] as? String })
        let bKinds = ((jsonObject(forB)["alerts"] as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String }
        #expect(aChips == [hexString(chip.chipID)])
        #expect(bKinds == ["unreported-stamp", "audit-tamper"])
        let (_, chipOnly) = try await server.request("/v1/alerts?chipID=\(hexString(other.chipID))", token: issuer)
        #expect(((jsonObject(chipOnly)["alerts"] as? [[String: Any]]) ?? []).count == 2)
        #expect(try await server.request("/v1/alerts", token: setup.publicToken).status == 403)
        #expect(try await server.request("/v1/alerts").status == 401)
        // No coordinates, operator IDs or salts in any alert.
        #expect(leaks(of: personalNeedles(of: reported), in: Array(all)).isEmpty)
    }

    @Test func webhooksAreSignedRetriedUntil2xxAndOwedDeliveriesSurviveARestart() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let secret = "whsec-alerts-test-0123456789abcdef"
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let secretFile = directory.appendingPathComponent("webhook.secret")
        try Data((secret + "\n").utf8).write(to: secretFile)
        let setup = try await AlertSetup.start(directory: directory, extra: [
            "--webhook", receiver.url, "--webhook-secret-file", secretFile.path, "--webhook-retry-base", "0.2",
        ])
        let chip = try AlertChip(ca: setup.ca, organization: "Org A", chip: 3)
        let t = UInt64(Date().timeIntervalSince1970) - 3_600

        // The receiver answers 500: the delivery is retried with backoff.
        receiver.answer(500)
        do {
            var (status, _) = try await setup.server.request("/v1/entries", method: "POST", body: try chip.record(counter: 1, document: "a", time: t).jsonData())
            #expect(status == 200)
            (status, _) = try await setup.server.request("/v1/entries", method: "POST", body: try chip.record(counter: 1, document: "b", time: t).jsonData())
            #expect(status == 200)
            try await waitFor("three failed attempts") { receiver.requests.count >= 3 }
        } catch {
            setup.stop()
            throw error
        }
        let failedAttempts = receiver.requests
        // Stopped while the delivery is owed; the receiver recovers; a new server on the same files delivers it.
        setup.stop()
        receiver.answer(204)
        let restarted = try await AlertSetup.start(directory: directory, reuse: setup, extra: [
            "--webhook", receiver.url, "--webhook-secret-file", secretFile.path, "--webhook-retry-base", "0.2",
        ])
        defer { restarted.stop() }
        try await waitFor("a delivery answered 204") { receiver.requests.contains { $0.answered == 204 } }
        try await Task.sleep(for: .milliseconds(500))
        let requests = receiver.requests
        #expect(requests.filter { $0.answered == 204 }.count == 1, "delivered once, then no more attempts")
        #expect(failedAttempts.allSatisfy { $0.answered == 500 })
        let gaps = zip(failedAttempts.dropFirst(), failedAttempts).map { $0.at.timeIntervalSince($1.at) }
        // Attempt k + 1 comes no sooner than 0.2 s × 2^(k − 1) after attempt k (later under load).
        #expect(gaps.count >= 2)
        for (k, gap) in gaps.enumerated() {
            #expect(gap >= 0.2 * pow(2, Double(k)) - 0.01, "the backoff doubles: \(gaps)")
        }

        // Every attempt carries the same alert, the same idempotency key, and a signature that verifies.
        let (_, listed) = try await restarted.server.request("/v1/alerts", token: restarted.issuerToken)
        let alert = try #require((jsonObject(listed)["alerts"] as? [[String: Any]])?.first)
        #expect(alert["kind"] as? String == "clone-evidence")
        for request in requests {
            #expect(request.headers["idempotency-key"] == "\(alert["id"] as? Int ?? -1)")
            #expect(jsonObject(request.body)["id"] as? Int == alert["id"] as? Int && jsonObject(request.body)["kind"] as? String == "clone-evidence")
            let signature = try #require(request.headers["sealkit-signature"])
            let parts = Dictionary(uniqueKeysWithValues: signature.split(separator: ",").compactMap { part -> (String, String)? in
                let pair = part.split(separator: "=", maxSplits: 1)
                return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
            })
            let time = try #require(parts["t"].flatMap { Int($0) })
            #expect(abs(Double(time) - request.at.timeIntervalSince1970) < 5, "the signed time is the sending time")
            var message = Data("\(time).".utf8)
            message.append(request.body)
            let expected = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
            #expect(parts["v1"] == Data(expected).map { String(format: "%02x", $0) }.joined())
        }
        // And with openssl, as docs/alerts.md shows a receiver doing it.
        let last = try #require(requests.last)
        let signed = directory.appendingPathComponent("signed.txt")
        let time = last.headers["sealkit-signature"]?.split(separator: ",").first?.dropFirst(2) ?? ""
        var message = Data("\(time).".utf8)
        message.append(last.body)
        try message.write(to: signed)
        let openssl = try await runProgram("/usr/bin/openssl", ["dgst", "-sha256", "-hmac", secret, "-r", signed.path])
        #expect(openssl.status == 0)
        #expect(last.headers["sealkit-signature"]?.hasSuffix("v1=" + (openssl.stdout.split(separator: " ").first.map(String.init) ?? "?")) == true,
                "\(openssl.stdout)")
    }

    @Test func theStreamResumesAfterLastEventIDAndWatchPrintsEachAlert() async throws {
        let setup = try await AlertSetup.start()
        defer { setup.stop() }
        let chip = try AlertChip(ca: setup.ca, organization: "Org A", chip: 4)
        let record = try chip.record(counter: 1, document: "streamed", time: UInt64(Date().timeIntervalSince1970) - 60)
        for check in ["c1", "c2", "c3"] {
            let (status, _) = try await setup.server.request("/v1/verification-reports", method: "POST", token: setup.issuerToken,
                                                             body: try reportBody(record, failedCheck: check))
            #expect(status == 202)
        }
        // curl, an independent client, reads the wire format: resumed after 1, it gets 2 and 3.
        let curl = try await runProgram("/usr/bin/curl", ["-sN", "--max-time", "3", "-H", "Authorization: Bearer \(setup.issuerToken)",
                                                          "-H", "Last-Event-ID: 1", setup.server.base + "/v1/alerts/stream"])
        let events = curl.stdout.components(separatedBy: "\n\n").filter { $0.contains("event: alert") }
        #expect(events.count == 2, "\(curl.stdout)")
        #expect(events.first?.hasPrefix("id: 2\nevent: alert\ndata: {") == true)
        #expect(events.last?.contains("\"failedCheck\":\"c3\"") == true)
        // Roles: no token 401, public 403, an auditor of another organization sees nothing of Org A.
        let (_, none) = try await curlStatus(setup.server.base + "/v1/alerts/stream", token: nil)
        #expect(none == 401)
        #expect(try await curlStatus(setup.server.base + "/v1/alerts/stream", token: setup.publicToken).status == 403)
        let foreign = try await runProgram("/usr/bin/curl", ["-sN", "--max-time", "2", "-H", "Authorization: Bearer \(setup.auditorB)",
                                                            setup.server.base + "/v1/alerts/stream"])
        #expect(!foreign.stdout.contains("event: alert"))

        // sealctl ledger watch after 2: alert 3 from the backlog, then 4 as it is raised.
        async let watched = runProgram(Built.url("sealctl"), ["ledger", "watch", "--ledger", setup.server.base, "--token", setup.issuerToken,
                                                              "--after", "2", "--count", "2"])
        try await Task.sleep(for: .seconds(1))
        let tampered = directory(of: setup).appendingPathComponent("tampered.txt")
        try Data("not the stamped document".utf8).write(to: tampered)
        let recordFile = directory(of: setup).appendingPathComponent("record.json")
        try record.jsonData().write(to: recordFile)
        let rootFile = directory(of: setup).appendingPathComponent("root.pem")
        // sealctl verify --report-to: the tampered copy fails and is reported (alert 4).
        let verify = try await runProgram(Built.url("sealctl"), ["verify", recordFile.path, "--document", tampered.path, "--vendor-root", rootFile.path,
                                                                 "--report-to", setup.server.base, "--report-token", setup.auditorA])
        #expect(verify.status == 1 && verify.stderr.contains("alert 4"), "\(verify)")
        let watch = try await watched
        #expect(watch.status == 0, "\(watch)")
        let lines = watch.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines.first?.hasPrefix("#3 ") == true && lines.last?.hasPrefix("#4 ") == true, "\(watch.stdout)")
        #expect(lines.last?.contains("verification-failed") == true && lines.last?.contains("failedCheck=document-digest") == true, "\(watch.stdout)")
        let json = try await runProgram(Built.url("sealctl"), ["ledger", "watch", "--ledger", setup.server.base, "--token", setup.issuerToken,
                                                               "--kind", "verification-failed", "--count", "1", "--json"])
        #expect(jsonObject(Data(json.stdout.utf8))["id"] as? Int == 1, "\(json)")
        let refused = try await runProgram(Built.url("sealctl"), ["ledger", "watch", "--ledger", setup.server.base, "--token", setup.publicToken, "--count", "1"])
        #expect(refused.status == 1 && refused.stderr.contains("403"), "\(refused)")
        let usage = try await runProgram(Built.url("sealctl"), ["ledger", "watch", "--ledger", setup.server.base, "--kind", "nonsense"])
        #expect(usage.status == 64)
    }

    @Test func anonymousReportsAreLimitedAndBadInputChangesNothing() async throws {
        let setup = try await AlertSetup.start(extra: ["--anonymous-report-rate", "3"])
        defer { setup.stop() }
        let server = setup.server
        let chip = try AlertChip(ca: setup.ca, organization: "Org A", chip: 5)
        let record = try chip.record(counter: 1, document: "limited", time: UInt64(Date().timeIntervalSince1970) - 60)
        let good = try reportBody(record, failedCheck: "seal-signature")
        for _ in 0..<3 {
            let (status, data) = try await server.request("/v1/verification-reports", method: "POST", body: good)
            #expect(status == 202 && jsonObject(data)["authenticated"] as? Bool == false)
        }
        let (limited, limitedBody) = try await server.request("/v1/verification-reports", method: "POST", body: good)
        #expect(limited == 429 && (jsonObject(limitedBody)["error"] as? [String: Any])?["code"] as? String == "rate-limited")
        #expect(try await server.request("/v1/verification-reports", method: "POST", token: setup.auditorA, body: good).status == 202,
                "a token is not limited")

        let before = try await server.request("/v1/alerts?limit=200", token: setup.issuerToken).body
        let checkpoint = try await server.request("/checkpoint").body
        var recordObject = try #require(try JSONSerialization.jsonObject(with: record.jsonData()) as? [String: Any])
        recordObject["signature"] = "zz"
        let bad: [(Data, String?, Int)] = [
            (Data("{not json".utf8), "application/json", 400),
            (Data("[]".utf8), "application/json", 400),
            (try JSONSerialization.data(withJSONObject: ["failedCheck": "x"]), "application/json", 400),
            (try JSONSerialization.data(withJSONObject: ["record": recordObject, "failedCheck": "x"]), "application/json", 400),
            (try JSONSerialization.data(withJSONObject: ["record": try JSONSerialization.jsonObject(with: record.jsonData()), "failedCheck": ""]), "application/json", 400),
            (try JSONSerialization.data(withJSONObject: ["record": try JSONSerialization.jsonObject(with: record.jsonData()), "failedCheck": "x", "documentDigest": "00"]), "application/json", 400),
            (try JSONSerialization.data(withJSONObject: ["record": try JSONSerialization.jsonObject(with: record.jsonData()), "failedCheck": "x", "detail": 5]), "application/json", 400),
            (try JSONSerialization.data(withJSONObject: ["record": try JSONSerialization.jsonObject(with: record.jsonData()), "failedCheck": "x", "extra": 1]), "application/json", 400),
            (good, "text/plain", 415),
            (good, nil, 415),
        ]
        for (body, contentType, expected) in bad {
            let (status, data) = try await rawRequest(server.base + "/v1/verification-reports", method: "POST", token: setup.issuerToken,
                                                      contentType: contentType, body: body)
            #expect(status == expected, "\(String(decoding: body.prefix(80), as: UTF8.self)) → \(status)")
            #expect((jsonObject(data)["error"] as? [String: Any])?["code"] is String)
        }
        for query in ["chipID=zz", "chipID=\(String(repeating: "0", count: 30))", "after=-1", "after=x", "limit=0", "limit=201", "after=1&after=2"] {
            let (status, data) = try await server.request("/v1/alerts?\(query)", token: setup.issuerToken)
            #expect(status == 400 && (jsonObject(data)["error"] as? [String: Any])?["code"] is String, "\(query) → \(status)")
        }
        let (_, streamStatus) = try await curlStatus(server.base + "/v1/alerts/stream", token: setup.issuerToken, lastEventID: "x")
        #expect(streamStatus == 400)
        for method in ["PUT", "DELETE"] {
            #expect(try await server.request("/v1/alerts", method: method, token: setup.issuerToken).status == 405)
            #expect(try await server.request("/v1/verification-reports", method: method).status == 405)
        }
        #expect(try await server.request("/v1/alerts?limit=200", token: setup.issuerToken).body == before, "no alert was raised")
        #expect(try await server.request("/checkpoint").body == checkpoint, "the log did not change")
    }
}

// MARK: Support

/// A served ledger with a vendor CA, an issuer key, a grants file and tokens of every role.
struct AlertSetup {
    let directory: URL
    let ca: AccessTestCA
    let issuerKey: P256.Signing.PrivateKey
    let server: ServedLedger
    let issuerToken: String
    let auditorA: String
    let auditorB: String
    let publicToken: String
    let ownsDirectory: Bool

    static func start(directory given: URL? = nil, reuse: AlertSetup? = nil, extra: [String] = []) async throws -> AlertSetup {
        let directory = try given ?? makeScratchDirectory()
        let ca = try reuse?.ca ?? AccessTestCA()
        let issuerKey = reuse?.issuerKey ?? P256.Signing.PrivateKey()
        let rootFile = directory.appendingPathComponent("root.pem"), issuerFile = directory.appendingPathComponent("issuer.pub.pem")
        try Data(try ca.pem.utf8).write(to: rootFile)
        try Data(issuerKey.publicKey.pemRepresentation.utf8).write(to: issuerFile)
        // Grants for chip 1 (AlertChip(chip: 1)): 7 a document grant ending at yesterday + 700 s, 8 a window of 2 stamps.
        let chip1 = AlertChip.chipID(1)
        let t = UInt64(Date().timeIntervalSince1970) - 86_400
        let grants: [[String: Any]] = [
            ["chipID": hexString(chip1), "grant": try grantJSON(AuthorizationGrant(serial: 7, kind: .document, firstCounter: 1, lastCounter: 100,
                documentDigest: Array(SHA256.hash(data: Array("granted".utf8))), notBefore: 0, notAfter: t + 700, signature: [0x30, 0]))],
            ["chipID": hexString(chip1), "grant": try grantJSON(AuthorizationGrant(serial: 8, kind: .counterWindow, firstCounter: 5, lastCounter: 9,
                documentDigest: nil, notBefore: 0, notAfter: t + 86_400 * 2, maxStamps: 2, signature: [0x30, 0]))],
        ]
        let grantsFile = directory.appendingPathComponent("grants.json")
        try JSONSerialization.data(withJSONObject: grants).write(to: grantsFile)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let server = try await ServedLedger.start(directory: directory, arguments: [
            "--database", database, "--vendor-roots", rootFile.path, "--issuer-root", issuerFile.path, "--grants", grantsFile.path,
        ] + extra)
        func issue(_ arguments: [String]) async throws -> String {
            let run = try await runProgram(Built.sealledger, ["token", "issue", "--database", database] + arguments,
                                           environment: ["SEALKIT_HOME": directory.path])
            return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return AlertSetup(
            directory: directory, ca: ca, issuerKey: issuerKey, server: server,
            issuerToken: try await issue(["--role", "issuer", "--subject", "alert-admin"]),
            auditorA: try await issue(["--role", "auditor", "--organization", "Org A", "--subject", "auditor-a"]),
            auditorB: try await issue(["--role", "auditor", "--organization", "Org B", "--subject", "auditor-b"]),
            publicToken: try await issue(["--role", "public", "--subject", "someone"]),
            ownsDirectory: given == nil)
    }

    func stop() {
        server.stop()
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    /// `{"event": base64}` of a lifecycle event signed by the issuer key.
    func event(_ kind: LifecycleEvent.Kind, chipID: [UInt8], finalCounter: UInt32? = nil) throws -> Data {
        let event = try SignedLifecycleEvent(signing: try LifecycleEvent(kind: kind, chipID: chipID, time: UInt64(Date().timeIntervalSince1970),
                                                                          finalCounter: finalCounter), with: issuerKey)
        return try JSONSerialization.data(withJSONObject: ["event": Data(event.bytes).base64EncodedString()])
    }
}

private func grantJSON(_ grant: AuthorizationGrant) throws -> Any {
    try JSONSerialization.jsonObject(with: JSONEncoder().encode(grant))
}

private func directory(of setup: AlertSetup) -> URL { setup.directory }

/// A chip of an organization whose records take a claimed time, a location and a grant serial.
struct AlertChip {
    let ca: AccessTestCA
    let organization: String
    let chipID: [UInt8]
    let deviceKey = P256.Signing.PrivateKey()
    let sealKey = P256.Signing.PrivateKey()
    let deviceCertificate: [UInt8]

    static func chipID(_ chip: UInt8) -> [UInt8] { (0..<16).map { UInt8(truncatingIfNeeded: Int($0) * 11 + Int(chip) * 3 + 1) } }

    init(ca: AccessTestCA, organization: String, chip: UInt8) throws {
        self.ca = ca
        self.organization = organization
        chipID = Self.chipID(chip)
        deviceCertificate = try ca.deviceCertificate(chipID: chipID, publicKey: deviceKey.publicKey)
    }

    func record(counter: UInt32, document: String, time: UInt64, location: (Int32, Int32)? = nil, grantSerial: UInt32 = 0) throws -> StampRecord {
        let metadata = StampMetadata(time: time, latitudeMicrodegrees: location?.0, longitudeMicrodegrees: location?.1,
                                     operatorID: location == nil ? nil : "operator-alert-5150", documentName: "\(document).pdf")
        let metadataEncoding = try metadata.encoded()
        let metadataDigest = Array(SHA256.hash(data: metadataEncoding))
        let sealPublicKey = Array(sealKey.publicKey.x963Representation)
        let serial = Watermark.serial(chipID: chipID, counter: counter)
        let expiry = time + 5 * 365 * 86_400
        let code = Watermark.expirationCode(watermarkKey: [UInt8](repeating: 9, count: 32), serial: serial, expiry: expiry)
        let keyID = Array(SHA256.hash(data: sealPublicKey))
        let featureHash = Array(SHA256.hash(data: Array("features \(organization)".utf8)))
        let documentDigest = Array(SHA256.hash(data: Array(document.utf8)))
        let tbs = StampTBS(chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: code,
                           documentDigest: documentDigest, metadataDigest: metadataDigest,
                           seal: SealIdentity(organizationName: organization, sealName: "Alert Seal", featureHash: featureHash),
                           keyID: keyID, grantSerial: grantSerial)
        let signature = Array(try sealKey.signature(for: tbs.encoded()).derRepresentation)
        let statement = AttestationStatement(
            chipID: chipID, sealPublicKey: sealPublicKey, keyID: keyID, featureHash: featureHash,
            keyPolicy: [.generatedOnChip, .neverExportable, .pinRequired], counter: counter,
            lifecycle: LifecycleState.active.rawValue,
            audit: AuditStatus(oldestCounter: 1, newestCounter: counter, headHash: [UInt8](repeating: 0x5A, count: 32)),
            nonce: StampRecord.attestationNonce(signature: signature)).encoded()
        return StampRecord(
            chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: code,
            documentDigest: documentDigest, metadata: metadata, metadataEncoding: metadataEncoding, metadataDigest: metadataDigest,
            featureHash: featureHash, keyID: keyID, sealPublicKey: sealPublicKey, grantSerial: grantSerial, signature: signature,
            organizationName: organization, sealName: "Alert Seal",
            attestationStatement: statement, attestationSignature: Array(try deviceKey.signature(for: statement).derRepresentation),
            deviceCertificate: deviceCertificate)
    }
}

/// The chained audit entries of `records` (SPEC §9.6) and the head hash.
private func auditEntries(_ records: [StampRecord]) -> (entries: [String], head: [UInt8]) {
    var previous = [UInt8](repeating: 0, count: 32)
    var entries: [String] = []
    for record in records {
        let entry = AuditEntry(counter: record.counter, time: record.metadata.time, documentDigest: record.documentDigest,
                               metadataDigest: record.metadataDigest, serial: record.serial, expiry: record.expiry,
                               expirationCode: record.expirationCode, grantSerial: record.grantSerial, previousHash: previous, signature: record.signature)
        previous = AuditEntry.chainHash(previous: previous, tbs: record.tbs.encoded(), signature: record.signature)
        entries.append(Data(entry.encoded()).base64EncodedString())
    }
    return (entries, previous)
}

private func auditPush(_ chipID: [UInt8], _ entries: [String], head: [UInt8]) throws -> Data {
    try JSONSerialization.data(withJSONObject: ["chipID": hexString(chipID), "headHash": hexString(head), "entries": entries])
}

private func reportBody(_ record: StampRecord, failedCheck: String) throws -> Data {
    try JSONSerialization.data(withJSONObject: [
        "record": try JSONSerialization.jsonObject(with: record.jsonData()), "failedCheck": failedCheck,
        "detail": "the document's digest differs", "documentDigest": hexString(Array(SHA256.hash(data: Array("tampered".utf8)))),
    ])
}

private func rawRequest(_ url: String, method: String, token: String?, contentType: String?, body: Data) async throws -> (Int, Data) {
    var request = URLRequest(url: try #require(URL(string: url)))
    request.httpMethod = method
    request.httpBody = body
    if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
}

/// The status curl sees for a stream request (it stops after 3 s when the stream is open).
private func curlStatus(_ url: String, token: String?, lastEventID: String? = nil) async throws -> (output: String, status: Int) {
    var arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3"]
    if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
    if let lastEventID { arguments += ["-H", "Last-Event-ID: \(lastEventID)"] }
    let run = try await runProgram("/usr/bin/curl", arguments + [url])
    return (run.stdout, Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
}

private func waitFor(_ what: String, seconds: Double = 30, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else {
            Issue.record("timed out waiting for \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// A webhook receiver: a Hummingbird server on a loopback port that records each request and
/// answers with the status it is told.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var at: Date
        var headers: [String: String]
        var body: Data
        var answered: Int
    }

    private let state = Mutex<(status: Int, received: [Received])>((204, []))
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)
    let url: String

    private init(port: Int) { url = "http://127.0.0.1:\(port)/hook" }

    static func start() async throws -> WebhookReceiver {
        let port = Mutex(0)
        let started = AsyncStream<Int>.makeStream()
        let receiver = WebhookReceiverBox()
        let router = Router()
        router.post("/hook") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let status = receiver.value?.record(Received(at: Date(), headers: headers, body: Data(buffer: body), answered: 0)) ?? 500
            return Response(status: HTTPResponse.Status(code: status))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in started.continuation.yield(channel.localAddress?.port ?? 0) })
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = started.stream.makeAsyncIterator()
        port.withLock { $0 = 0 }
        guard let bound = await iterator.next(), bound > 0 else { throw CocoaError(.fileReadUnknown) }
        let made = WebhookReceiver(port: bound)
        made.task.withLock { $0 = task }
        receiver.set(made)
        return made
    }

    func answer(_ status: Int) { state.withLock { $0.status = status } }

    fileprivate func record(_ request: Received) -> Int {
        state.withLock { state in
            var request = request
            request.answered = state.status
            state.received.append(request)
            return state.status
        }
    }

    var requests: [Received] { state.withLock { $0.received } }

    func stop() { task.withLock { $0?.cancel() } }
}

/// Lets the receiver's route reach the receiver made after it.
private final class WebhookReceiverBox: Sendable {
    private let box = Mutex<WebhookReceiver?>(nil)
    var value: WebhookReceiver? { box.withLock { $0 } }
    func set(_ receiver: WebhookReceiver) { box.withLock { $0 = receiver } }
}
