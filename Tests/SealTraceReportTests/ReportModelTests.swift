import Crypto
import Foundation
import SealHostDriver
import SealLedger
import SealProtocol
import SealSimulatedToken
import SealTraceReport
import Testing
import X509

/// The repository root (Fixtures/ is read from there).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A real ledger in process (SQLite in a scratch folder) holding the example record of
/// docs/stamp-record.md — a real stamp of the simulated token — after its chip's personalization
/// event, with a checkpoint cosigned by one witness: everything a report is made from.
struct LedgerFixture {
    let directory: URL
    let ledger: Ledger
    let record: StampRecord
    let index: UInt64
    let witness: CosignatureSigner
    let cosignedNote: String
    let cosignatureTime: UInt64 = 1_800_000_500
    let verifier: StampVerifier

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("SealTraceReportTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        record = try StampRecord(jsonData: Data(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/fuzz/FuzzStampRecord/example.json")))
        verifier = StampVerifier(trustedRoots: [try Certificate(pemEncoded: TestCredentials.vendorRootCertificatePEM)])
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
        // The stamp claims 1800000000 (2027-01-15): the ledger admits it as of a minute later.
        var options = StampVerificationOptions()
        options.now = Date(timeIntervalSince1970: 1_800_000_060)
        let admission = options
        ledger = try Ledger(storage: try SQLiteStorage(path: directory.appendingPathComponent("ledger.sqlite").path),
                            signer: try NoteSigner(generatingFor: "sealkit.local/ledger"), stampVerifier: verifier,
                            issuerTrust: IssuerTrust(keys: [issuerKey.publicKey]), verificationOptions: { admission })
        let personalized = try LifecycleEvent(kind: .personalized, chipID: record.chipID, time: 1_799_999_000, seal: record.sealIdentity)
        guard case .added = ledger.submit(event: try SignedLifecycleEvent(signing: personalized, with: issuerKey)) else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "the personalization event was refused"])
        }
        guard case .added(let index) = await ledger.submit([record])[0] else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "the example record was refused"])
        }
        self.index = index
        witness = try CosignatureSigner(generatingFor: "witness.example")
        let note = ledger.checkpointNote
        cosignedNote = note + (try witness.cosign(checkpointText: try SignedNote(parsing: note).text, time: cosignatureTime))
    }

    /// The report input for `viewer`, verified as of the stamp's time.
    func input(viewer: TraceReport.Viewer, logKey: NoteVerifier? = nil, witnesses: WitnessPolicy? = nil,
               alerts: [TraceReport.Alert]? = []) async throws -> TraceReportInput {
        var options = StampVerificationOptions()
        options.now = Date(timeIntervalSince1970: 1_800_000_060)
        let entry = try ledger.entry(at: index)
        let size = try Checkpoint(text: SignedNote(parsing: cosignedNote).text).size
        let policy = try witnesses ?? WitnessPolicy(witnesses: [witness.verifier], quorum: 1)
        return TraceReportInput(
            record: record, viewer: viewer, entryIndex: index, entry: entry.bytes,
            inclusionProof: try ledger.inclusionProof(index: index, size: size), checkpointNote: cosignedNote,
            logKey: logKey ?? ledger.verifier, witnessPolicy: policy,
            stampVerification: await verifier.verify(record, documentDigest: record.documentDigest, options: options),
            history: TraceReportBuilder.history(try ledger.history(chipID: record.chipID)), alerts: alerts,
            now: Date(timeIntervalSince1970: 1_800_000_600))
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

let auditor = TraceReport.Viewer(role: "auditor", organization: "Example Registry", seesPersonalData: true)

/// The body of the HTML section with `id`.
func section(_ id: String, of html: String) -> String {
    guard let start = html.range(of: "<section id=\"\(id)\">"), let end = html.range(of: "</section>", range: start.upperBound..<html.endIndex) else {
        return ""
    }
    return String(html[start.upperBound..<end.lowerBound])
}

@Suite("The traceability report: model and page (docs/report.md)")
struct ReportModelTests {
    @Test func everySectionCarriesTheRightValues() async throws {
        let fixture = try await LedgerFixture()
        defer { fixture.remove() }
        let alert = TraceReport.Alert(id: 7, kind: "impossible-travel", raisedAt: "2027-01-15T09:00:00Z", entryIndex: fixture.index,
                                      authenticated: true, detail: "{\"kilometres\":950}")
        let report = TraceReportBuilder.build(try await fixture.input(viewer: auditor, alerts: [alert]))
        #expect(report.isValid, "\(report.checks.filter { $0.outcome == "failed" })")
        let html = TraceReportHTML.render(report)
        let record = fixture.record

        let seal = section("seal", of: html)
        #expect(seal.contains(hexString(record.chipID)) && seal.contains("Example Registry") && seal.contains("Official Seal"))
        #expect(seal.contains("SealKit Seal Chip") && seal.contains("SealKit Test Vendor Root CA"), "certificate subject and issuer")
        #expect(seal.contains("2026-12-06T08:22:58Z to 2046-12-01T09:22:58Z"), "certificate validity")
        #expect(seal.contains(hexString(record.sealImageHash ?? [])) && seal.contains(">matches<"))
        #expect(seal.contains("entry 0, 2027-01-15T07:43:20Z"), "the personalization event and its time")

        let who = section("who", of: html)
        #expect(who.contains("Registry") && who.contains("node-3") && who.contains("op-17") && who.contains("laptop-7"))
        #expect(who.contains("5CDE0F1298F41F7D1C8B907A36992A7A513225A2615BD6E307BF1A9149B06B40") && !who.contains("withheld"))

        let when = section("when", of: html)
        #expect(when.contains("2027-01-15T08:00:00Z"), "the claimed time")
        #expect(when.contains("2027-01-15T08:08:20Z (witness.example, verified cosignature)"), "the cosigned bound")
        #expect(when.contains("consistent: claimed 500 s before the bound"))

        let location = section("where", of: html)
        #expect(location.contains("48.858370, 2.294481") && location.contains("<svg"))
        // Equirectangular world plot: x = 30 + 180 + lon, y = 20 + 90 − lat.
        #expect(location.contains("cx=\"212.29\" cy=\"61.14\""))
        #expect(!location.contains("http") || location.contains("xmlns=\"http://www.w3.org/2000/svg\""), "no fetch but the SVG namespace")

        let document = section("document", of: html)
        #expect(document.contains("Contract no. 42.pdf") && document.contains(hexString(record.documentDigest)))
        #expect(document.contains(record.serial) && document.contains(record.expirationCode))

        let checks = section("checks", of: html)
        for id in StampVerificationCheck.ID.allCases.map(\.rawValue) + TraceReportBuilder.ledgerCheckIDs {
            #expect(checks.contains("data-check=\"\(id)\""), "check \(id)")
        }
        #expect(report.checks.first { $0.id == "witness-quorum" }?.outcome == "passed")
        #expect(report.checks.first { $0.id == "checkpoint-signature" }?.outcome == "passed")

        let proof = section("proof", of: html)
        let entry = try fixture.ledger.entry(at: fixture.index)
        #expect(proof.contains(hexString(entry.recordHash)) && proof.contains("witness.example"))
        #expect(proof.contains(String(format: "%08x", fixture.witness.verifier.keyID)) && proof.contains("verified"))
        for hash in try fixture.ledger.inclusionProof(index: fixture.index, size: fixture.ledger.size) {
            #expect(proof.contains(Data(hash).base64EncodedString()))
        }

        let history = section("history", of: html)
        #expect(history.contains("personalized") && history.contains("\(fixture.index) (this stamp)"))
        let alerts = section("alerts", of: html)
        #expect(alerts.contains("impossible-travel") && alerts.contains("authenticated") && alerts.contains("{&quot;kilometres&quot;:950}"))
        #expect(html.contains("<p class=\"verdict valid\" id=\"verdict\">VALID"))
    }

    @Test func thePublicSeesCommitmentsOnly() async throws {
        let fixture = try await LedgerFixture()
        defer { fixture.remove() }
        // The input holds the full record with its openings: the builder must drop them itself.
        #expect(fixture.record.metadata.operatorID == "op-17")
        let html = TraceReportHTML.render(TraceReportBuilder.build(try await fixture.input(viewer: .publicVerifier)))
        let metadata = fixture.record.metadata
        var secrets = ["op-17", "laptop-7", "48.858370", "2.294481", "48858370", "2294481", "<svg"]
        secrets += [metadata.operatorBiometricReference ?? []].map(hexString)
        secrets += metadata.salts.values.map(hexString)
        for secret in secrets { #expect(!html.contains(secret), "the public page shows \(secret)") }
        for field in StampMetadata.PersonalField.allCases {
            let commitment = try #require(metadata.commitment(for: field))
            #expect(html.contains(hexString(commitment)), "the commitment of \(field)")
        }
        #expect(section("who", of: html).contains("this public view shows the signed commitments"))
        #expect(html.contains("Organization unit</th><td>Registry") && html.contains("node-3"), "the clear fields stay")
    }

    @Test func hostileTextIsEscapedEverywhere() async throws {
        let fixture = try await LedgerFixture()
        defer { fixture.remove() }
        let hostile = "<script>alert('x')</script><img src=x onerror=\"y\">"
        var input = try await fixture.input(viewer: TraceReport.Viewer(role: "auditor", organization: hostile, seesPersonalData: true),
                                            alerts: [.init(id: 1, kind: hostile, raisedAt: hostile, entryIndex: nil, authenticated: false, detail: hostile)])
        input.history.append(.init(index: 99, kind: "lifecycle-event", event: hostile, time: 1, detail: hostile,
                                   personalization: .init(index: 99, time: 1, imageHash: hostile, organizationName: hostile, sealName: hostile)))
        let html = TraceReportHTML.render(TraceReportBuilder.build(input))
        #expect(!html.contains("<script") && !html.contains("<img src=x"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=&quot;y&quot;&gt;"))
        #expect(TraceReportHTML.escape("a&b<c>\"d'\u{07}") == "a&amp;b&lt;c&gt;&quot;d&#39;\u{FFFD}")
        // The page fetches nothing and runs nothing: one CSP, no src or href but data: images.
        #expect(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\""))
        #expect(!html.contains("src=\"http") && !html.contains("href="))
    }

    @Test func aRegisteredImageThatDiffersFailsTheReport() async throws {
        let fixture = try await LedgerFixture()
        defer { fixture.remove() }
        var input = try await fixture.input(viewer: auditor)
        input.history = input.history.map { entry in
            var changed = entry
            changed.personalization?.imageHash = String(repeating: "AB", count: 32)
            return changed
        }
        let report = TraceReportBuilder.build(input)
        #expect(report.seal.imageComparison == .differs && !report.isValid)
        #expect(report.checks.first { $0.id == "seal-image-registration" }?.outcome == "failed")
        #expect(TraceReportHTML.render(report).contains(">differs<"))
        input.history = []
        let unregistered = TraceReportBuilder.build(input)
        #expect(unregistered.seal.imageComparison == .noRegistration && unregistered.isValid)
        #expect(unregistered.checks.first { $0.id == "seal-image-registration" }?.outcome == "skipped")
        // The registered image itself is shown only when it hashes to the signed hash.
        input.sealImagePNG = Array("not the seal image".utf8)
        #expect(TraceReportBuilder.build(input).seal.imagePNG == nil)
    }

    @Test func aForeignLogKeyATamperedProofOrAnUntrustedWitnessFail() async throws {
        let fixture = try await LedgerFixture()
        defer { fixture.remove() }
        let foreign = try NoteSigner(generatingFor: "sealkit.local/ledger").verifier
        let wrongKey = TraceReportBuilder.build(try await fixture.input(viewer: auditor, logKey: foreign))
        #expect(wrongKey.checks.first { $0.id == "checkpoint-signature" }?.outcome == "failed")

        var tampered = try await fixture.input(viewer: auditor)
        tampered.inclusionProof = tampered.inclusionProof.map { $0.map { $0 ^ 1 } } + [[UInt8](repeating: 0, count: 32)]
        #expect(TraceReportBuilder.build(tampered).checks.first { $0.id == "inclusion-proof" }?.outcome == "failed")

        let stranger = try CosignatureSigner(generatingFor: "other-witness.example")
        let policy = try WitnessPolicy(witnesses: [stranger.verifier], quorum: 1)
        let untrusted = TraceReportBuilder.build(try await fixture.input(viewer: auditor, witnesses: policy))
        #expect(untrusted.checks.first { $0.id == "witness-quorum" }?.outcome == "failed")
        #expect(untrusted.witnesses.map(\.status) == ["not checked"] && !untrusted.when.cosignedBoundVerified)
        #expect(TraceReportHTML.render(untrusted).contains("cosignature not verified here"))

        // Without alerts from the source the page says so, and an empty list is "none".
        let unavailable = TraceReportHTML.render(TraceReportBuilder.build(try await fixture.input(viewer: auditor, alerts: nil)))
        #expect(section("alerts", of: unavailable).contains("not available"))
        #expect(await UnavailableAlertSource().alerts(chipID: fixture.record.chipID) == nil)
    }

    @Test func historyAndAlertsReadFromTheLedgersJSON() {
        let history = TraceReportBuilder.history(json: ["entries": [
            ["index": 0, "kind": "lifecycle-event", "event": "personalized", "time": 1_799_999_000, "organizationName": "Org",
             "sealName": "Seal", "sealImageHash": "AB", "recordHash": "00"],
            ["index": 1, "kind": "stamp-record", "counter": 1, "serial": "S-1", "flag": "chip-suspended", "recordHash": "11"],
        ]])
        #expect(history.count == 2 && history[0].personalization?.imageHash == "AB" && history[0].detail == "Org / Seal")
        #expect(history[1].counter == 1 && history[1].detail == "serial S-1; chip-suspended")
        let alerts = TraceReportBuilder.alerts(json: ["alerts": [
            ["id": 3, "kind": "clone-evidence", "chipID": "00", "entryIndex": 5, "raisedAt": "2027-01-01T00:00:00Z",
             "authenticated": false, "detail": ["evidenceIndex": 5]],
        ]])
        #expect(alerts == [TraceReport.Alert(id: 3, kind: "clone-evidence", raisedAt: "2027-01-01T00:00:00Z", entryIndex: 5,
                                             authenticated: false, detail: "{\"evidenceIndex\":5}")])
    }
}
