import Crypto
import Foundation
import SealHostDriver
import SealImprint
import SealLedger
import SealProtocol
import SealTestSupport
import Testing

/// The verification page (docs/verify-page.md) against a real `sealledger serve --tls-cert ...` on
/// loopback, with a certificate made by `openssl req -x509`: the JSON API through curl trusting that
/// certificate (`--cacert`), and the page itself in headless Chromium through chromedriver.
@Suite("The verification page", .serialized)
struct VerifyPageTests {
    /// A served ledger with TLS, holding a valid record of a live seal, a record of a terminated seal,
    /// their documents and record files, and an imprint QR code of the first.
    struct Scene {
        let directory: URL
        let server: ServedLedger
        let certificate: String
        let spki: String
        let valid: StampRecord
        let revoked: StampRecord
        let validEntry: UInt64

        var url: String { server.base }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        static func make() async throws -> Scene {
            let directory = try makeScratchDirectory()
            let ca = try AccessTestCA()
            try Data(try ca.pem.utf8).write(to: directory.appendingPathComponent("root.pem"))
            let issuerKey = P256.Signing.PrivateKey()
            try Data(issuerKey.publicKey.pemRepresentation.utf8).write(to: directory.appendingPathComponent("issuer.pem"))

            // A TLS certificate for 127.0.0.1, as an operator makes a self-signed one.
            let openssl = try #require(OpenSSLCommandLine.executable)
            let made = try await runProgram(openssl, [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", directory.appendingPathComponent("tls-key.pem").path, "-out", directory.appendingPathComponent("tls-cert.pem").path,
            ])
            #expect(made.status == 0, "\(made.stderr)")
            // What Chromium trusts: base64 of SHA-256 of the certificate's SubjectPublicKeyInfo.
            let spki = try await runProgram("/bin/sh", ["-c",
                "\(openssl) x509 -in \"$1\" -pubkey -noout | \(openssl) pkey -pubin -outform der | \(openssl) dgst -sha256 -binary | base64",
                "sh", directory.appendingPathComponent("tls-cert.pem").path])
            #expect(spki.status == 0, "\(spki.stderr)")

            let server = try await ServedLedger.start(directory: directory, arguments: [
                "--database", directory.appendingPathComponent("ledger.sqlite").path,
                "--vendor-roots", directory.appendingPathComponent("root.pem").path,
                "--issuer-root", directory.appendingPathComponent("issuer.pem").path,
                "--tls-cert", directory.appendingPathComponent("tls-cert.pem").path,
                "--tls-key", directory.appendingPathComponent("tls-key.pem").path,
            ])
            #expect(server.base.hasPrefix("https://127.0.0.1:"))
            let scene = Scene(directory: directory, server: server, certificate: directory.appendingPathComponent("tls-cert.pem").path,
                              spki: spki.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                              valid: try OrganizationChip(ca: ca, organization: "Org A", personal: .alpha, chip: 11)
                                  .record(counter: 1, document: "contract of sale"),
                              revoked: try OrganizationChip(ca: ca, organization: "Org A", personal: .alpha, chip: 12)
                                  .record(counter: 1, document: "power of attorney"),
                              validEntry: 0)
            // Submitted over HTTPS by curl, trusting the certificate.
            var (status, body) = try await scene.curl("/v1/entries", json: try scene.valid.jsonData())
            #expect(status == 200 && jsonObject(body)["index"] as? Int == 0, "\(String(decoding: body, as: UTF8.self))")
            (status, body) = try await scene.curl("/v1/entries", json: try scene.revoked.jsonData())
            #expect(status == 200 && jsonObject(body)["index"] as? Int == 1, "\(String(decoding: body, as: UTF8.self))")
            let termination = try SignedLifecycleEvent(
                signing: try LifecycleEvent(kind: .terminated, chipID: scene.revoked.chipID, time: UInt64(Date().timeIntervalSince1970), finalCounter: 1),
                with: issuerKey)
            (status, body) = try await scene.curl("/v1/events", json: try JSONSerialization.data(withJSONObject: ["event": Data(termination.bytes).base64EncodedString()]))
            #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")

            // The files a person drops on the page.
            try Data("contract of sale".utf8).write(to: directory.appendingPathComponent("contract.txt"))
            try Data("contract of sale, amended".utf8).write(to: directory.appendingPathComponent("contract-changed.txt"))
            try Data("power of attorney".utf8).write(to: directory.appendingPathComponent("attorney.txt"))
            try scene.valid.jsonData().write(to: directory.appendingPathComponent("contract.record.json"))
            try scene.revoked.jsonData().write(to: directory.appendingPathComponent("attorney.record.json"))
            let payload = try TracePayload(ledgerURL: scene.url, origin: "sealkit.local/ledger", index: 0,
                                           recordHash: LedgerLeaf.recordHash(scene.valid.canonicalBytes), serial: scene.valid.serial,
                                           expirationCode: scene.valid.expirationCode)
            try Data(try QRCode(text: payload.text).image(.png, moduleSize: 6)).write(to: directory.appendingPathComponent("imprint-qr.png"))
            return scene
        }

        func stop() {
            server.stop()
            try? FileManager.default.removeItem(at: directory)
        }

        /// curl over HTTPS, trusting the test certificate only.
        func curl(_ path: String, json: Data? = nil, contentType: String = "application/json", body file: String? = nil) async throws -> (Int, Data) {
            let output = directory.appendingPathComponent("curl-\(UUID().uuidString).out")
            var arguments = ["-sS", "--cacert", certificate, "-o", output.path, "-w", "%{http_code}"]
            if let json {
                let input = directory.appendingPathComponent("curl-\(UUID().uuidString).in")
                try json.write(to: input)
                arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", "@\(input.path)"]
            } else if let file {
                arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", "@\(file)"]
            }
            let run = try await runProgram("/usr/bin/curl", arguments + [url + path])
            #expect(run.status == 0, "curl: \(run.stderr)")
            return (Int(run.stdout) ?? 0, (try? Data(contentsOf: output)) ?? Data())
        }
    }

    @Test func tlsServesWithTheConfiguredCertificateAndOnlyClientsThatTrustItConnect() async throws {
        let scene = try await Scene.make()
        defer { scene.stop() }
        let (status, body) = try await scene.curl("/checkpoint")
        #expect(status == 200 && String(decoding: body, as: UTF8.self).hasPrefix("sealkit.local/ledger\n"))
        // Without the certificate curl refuses the server (60: peer certificate cannot be authenticated).
        let untrusted = try await runProgram("/usr/bin/curl", ["-sS", "-o", "/dev/null", scene.url + "/checkpoint"])
        #expect(untrusted.status == 60, "\(untrusted.stderr)")
        // openssl s_client verifies the chain against the certificate and sees TLS 1.3.
        let port = try #require(scene.url.split(separator: ":").last)
        let client = try await runProgram("/bin/sh", ["-c", "printf '' | \(try #require(OpenSSLCommandLine.executable)) s_client -connect 127.0.0.1:\(port) -CAfile \"$1\" -verify_return_error -brief 2>&1",
                                                      "sh", scene.certificate])
        #expect(client.stdout.contains("Verification: OK") && client.stdout.contains("TLSv1.3"), "\(client.stdout)")
        // Plain HTTP on the TLS port gets no HTTP answer.
        let plain = try await runProgram("/usr/bin/curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/checkpoint"])
        #expect(plain.stdout != "200")
    }

    @Test func theVerifyAPIAnswersValidInvalidAndRevoked() async throws {
        let scene = try await Scene.make()
        defer { scene.stop() }
        func verify(_ object: [String: Any]) async throws -> (Int, [String: Any]) {
            let (status, body) = try await scene.curl("/v1/verify", json: try JSONSerialization.data(withJSONObject: object))
            return (status, jsonObject(body))
        }
        let record = try #require(try JSONSerialization.jsonObject(with: try scene.valid.jsonData()) as? [String: Any])
        let digest = hexString(Array(SHA256.hash(data: Array("contract of sale".utf8))))
        var (status, answer) = try await verify(["record": record, "documentDigest": digest])
        #expect(status == 200 && answer["valid"] as? Bool == true && answer["status"] as? String == "valid", "\(answer)")
        #expect(answer["entryIndex"] as? Int == 0 && answer["reportURL"] as? String == "/v1/reports/0")
        let names = Set((answer["checks"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: ["document-digest", "stamp-signature", "device-certificate-chain", "ledger-entry", "ledger-inclusion", "seal-status"]))
        // Nothing personal in the answer, though the record sent carried it.
        for needle in personalNeedles(of: scene.valid) {
            #expect(leaks(of: [needle], in: Array(try JSONSerialization.data(withJSONObject: answer))).isEmpty, "\(needle.name)")
        }

        (status, answer) = try await verify(["record": record, "documentDigest": hexString(Array(SHA256.hash(data: Array("contract of sale, amended".utf8))))])
        #expect(status == 200 && answer["valid"] as? Bool == false && answer["status"] as? String == "invalid")
        #expect(answer["failedCheck"] as? String == "document-digest", "\(answer)")

        let revoked = try #require(try JSONSerialization.jsonObject(with: try scene.revoked.jsonData()) as? [String: Any])
        (status, answer) = try await verify(["record": revoked, "documentDigest": hexString(Array(SHA256.hash(data: Array("power of attorney".utf8))))])
        #expect(status == 200 && answer["status"] as? String == "revoked" && answer["failedCheck"] as? String == "seal-status", "\(answer)")

        // A record the ledger never admitted: invalid, no entry, no report.
        let stranger = try OrganizationChip(ca: AccessTestCA(), organization: "Org Z", personal: .bravo, chip: 13).record(counter: 1, document: "x")
        let strangerObject = try #require(try JSONSerialization.jsonObject(with: try stranger.jsonData()) as? [String: Any])
        (status, answer) = try await verify(["record": strangerObject, "documentDigest": hexString(Array(SHA256.hash(data: Array("x".utf8))))])
        #expect(answer["status"] as? String == "invalid" && answer["entryIndex"] is NSNull && answer["reportURL"] is NSNull, "\(answer)")

        // The QR payload route, through zbar: the imprint's code decodes, and verifies.
        let (qrStatus, qrBody) = try await scene.curl("/v1/qr-decode", contentType: "image/png", body: scene.path("imprint-qr.png"))
        let payload = try #require(jsonObject(qrBody)["payload"] as? String, "\(qrStatus) \(String(decoding: qrBody, as: UTF8.self))")
        (status, answer) = try await verify(["payload": payload, "documentDigest": digest])
        #expect(answer["status"] as? String == "valid" && answer["entryIndex"] as? Int == 0, "\(answer)")
        (status, answer) = try await verify(["payload": payload, "documentDigest": String(repeating: "0", count: 64)])
        #expect(answer["status"] as? String == "invalid" && answer["failedCheck"] as? String == "document-digest", "\(answer)")

        // Refusals: 4xx JSON, nothing changed.
        (status, answer) = try await verify(["record": record])
        #expect(status == 400)
        (status, answer) = try await verify(["record": record, "payload": payload, "documentDigest": digest])
        #expect(status == 400)
        (status, answer) = try await verify(["payload": "no payload", "documentDigest": digest])
        #expect(status == 400)
        try Data().write(to: URL(fileURLWithPath: scene.path("empty.png")))
        #expect(try await scene.curl("/v1/qr-decode", contentType: "image/png", body: scene.path("empty.png")).0 == 400)
        #expect(try await scene.curl("/v1/qr-decode", contentType: "image/gif", body: scene.path("contract.txt")).0 == 415)
        // A PNG without a QR code (a white square, drawn by librsvg's rsvg-convert): 422.
        try Data(#"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="white"/></svg>"#.utf8)
            .write(to: URL(fileURLWithPath: scene.path("blank.svg")))
        let drawn = try await runProgram("/usr/bin/rsvg-convert", ["-o", scene.path("blank.png"), scene.path("blank.svg")])
        #expect(drawn.status == 0, "\(drawn.stderr)")
        let (blankStatus, blankBody) = try await scene.curl("/v1/qr-decode", contentType: "image/png", body: scene.path("blank.png"))
        #expect(blankStatus == 422 && (jsonObject(blankBody)["error"] as? [String: Any])?["code"] as? String == "no-qr-code")
    }

    @Test(.enabled(if: HeadlessChromium.isAvailable, "needs Debian's chromium and chromium-driver (scripts/test.sh installs them)"))
    func thePageShowsValidInvalidRevokedAndReadsAQRCode() async throws {
        let scene = try await Scene.make()
        defer { scene.stop() }
        let browser = try await HeadlessChromium.start(directory: scene.directory, trustedSPKI: scene.spki)
        let screenshots = ProcessInfo.processInfo.environment["SEALKIT_VERIFY_SCREENSHOTS"].map { URL(fileURLWithPath: $0) }

        func run(document: String?, record: String?, qr: String?) async throws -> (status: String, verdict: String, page: String) {
            try await browser.open(scene.url + "/verify")
            if let document { try await browser.upload(scene.path(document), into: "#document-input") }
            if let record { try await browser.upload(scene.path(record), into: "#record-input") }
            if let qr { try await browser.upload(scene.path(qr), into: "#qr-input") }
            try await browser.click("#verify-button")
            let status = try await browser.waitFor("""
                const v = document.getElementById('verdict');
                return v && ['valid', 'invalid', 'revoked'].includes(v.dataset.status) || (v.dataset.status === 'error' && v.textContent !== 'Verifying…') ? v.dataset.status : '';
                """)
            let verdict = try await browser.evaluate("return document.getElementById('verdict').textContent") as? String ?? ""
            let page = try await browser.evaluate("return document.getElementById('result').innerText") as? String ?? ""
            return (status, verdict, page)
        }

        do {
            try await browser.open(scene.url + "/verify")
            // A secure context over the configured certificate: WebCrypto is there.
            #expect(try await browser.evaluate("return location.protocol + ' ' + window.isSecureContext + ' ' + typeof crypto.subtle") as? String
                    == "https: true object")

            var result = try await run(document: "contract.txt", record: "contract.record.json", qr: nil)
            #expect(result.status == "valid" && result.verdict == "VALID", "\(result.page)")
            #expect(result.page.contains("ledger entry 0") && result.page.contains("seal-status"), "\(result.page)")
            #expect(try await browser.evaluate("return document.getElementById('report-link').getAttribute('href')") as? String == "/v1/reports/0")
            // The digest the browser computed is the document's.
            #expect(try await browser.evaluate("return document.getElementById('document-digest').textContent") as? String
                    == "SHA-256 " + hexString(Array(SHA256.hash(data: Array("contract of sale".utf8)))))
            if let screenshots { try await browser.screenshot().write(to: screenshots.appendingPathComponent("verify-valid.png")) }

            result = try await run(document: "contract-changed.txt", record: "contract.record.json", qr: nil)
            #expect(result.status == "invalid" && result.verdict == "INVALID — failed check: document-digest", "\(result.page)")
            // The page alerted the ledger (POST /v1/verification-reports, docs/alerts.md): the note
            // names the alert, and the ledger's metrics count one verification-failed alert.
            let alerted = try await browser.waitFor("""
                const note = document.getElementById('alert-note').textContent;
                return note.startsWith('The ledger was alerted') ? note : '';
                """)
            #expect(alerted.hasPrefix("The ledger was alerted (alert "), "\(alerted)")
            let (metricsStatus, metrics) = try await scene.curl("/metrics")
            #expect(metricsStatus == 200 && String(decoding: metrics, as: UTF8.self).contains(#"sealledger_alerts_total{kind="verification-failed"} 1"#),
                    "\(String(decoding: metrics, as: UTF8.self))")
            if let screenshots { try await browser.screenshot().write(to: screenshots.appendingPathComponent("verify-invalid.png")) }

            result = try await run(document: "attorney.txt", record: "attorney.record.json", qr: nil)
            #expect(result.status == "revoked" && result.verdict == "REVOKED", "\(result.page)")
            #expect(result.page.contains("terminated"), "\(result.page)")
            if let screenshots { try await browser.screenshot().write(to: screenshots.appendingPathComponent("verify-revoked.png")) }

            result = try await run(document: "contract.txt", record: nil, qr: "imprint-qr.png")
            #expect(result.status == "valid", "\(result.page)")
            #expect(result.page.contains("inclusion-proof") && result.page.contains("document-digest"), "\(result.page)")

            // A phone that scanned the imprint opens the payload's URL: the ledger's root redirects to
            // the page, the fragment follows, and the page verifies it and links the report.
            let payload = try TracePayload(ledgerURL: scene.url, origin: "sealkit.local/ledger", index: 0,
                                           recordHash: LedgerLeaf.recordHash(scene.valid.canonicalBytes), serial: scene.valid.serial,
                                           expirationCode: scene.valid.expirationCode)
            try await browser.open(payload.text)
            let scanned = try await browser.waitFor("""
                const v = document.getElementById('verdict');
                return v && ['valid', 'invalid', 'revoked'].includes(v.dataset.status) ? v.dataset.status : '';
                """)
            let scannedPage = try await browser.evaluate("return document.body.innerText") as? String ?? ""
            #expect(scanned == "valid", "\(scannedPage)")
            #expect(try await browser.evaluate("return location.pathname") as? String == "/verify")
            #expect(try await browser.evaluate("return document.getElementById('report-link').getAttribute('href')") as? String == "/v1/reports/0")

            // A record without its document is refused on the page itself.
            result = try await run(document: nil, record: "contract.record.json", qr: nil)
            #expect(result.status == "error" && result.page.contains("give the document too"), "\(result.page)")
        } catch {
            await browser.stop()
            throw error
        }
        await browser.stop()
    }
}
