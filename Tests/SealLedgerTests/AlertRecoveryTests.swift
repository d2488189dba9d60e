import Foundation
import SealHostDriver
import SealLedger
import SealTestSupport
import Testing

/// What a crash between the log's commit and the alerts' commit leaves (docs/alerts.md, "When an
/// alert is raised, and why none is lost"): entries beyond the alert store's cursor. The next scan
/// raises their alerts, once, with the webhook deliveries they owe; a scan from the start raises
/// nothing twice.
@Suite("Alerts raised from the log after a crash", .serialized)
struct AlertRecoveryTests {
    @Test func entriesCommittedWithoutTheirAlertsRaiseThemAtTheNextScanOnce() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try StampFixture()
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let signer = try NoteSigner(generatingFor: "test.sealkit/alerts")

        // The process that died: the log committed a conflict, no alert was stored.
        var evidenceIndex: UInt64 = 0
        do {
            let ledger = try Ledger(storage: try SQLiteStorage(path: path), signer: signer, stampVerifier: fixture.verifier)
            let outcomes = await ledger.submit([try fixture.record(counter: 1, document: Array("a".utf8)),
                                                try fixture.record(counter: 1, document: Array("b".utf8))])
            guard case .conflict(_, let evidence) = outcomes[1] else {
                Issue.record("no conflict: \(outcomes)")
                return
            }
            evidenceIndex = evidence
        }

        // The next start.
        let ledger = try Ledger(storage: try SQLiteStorage(path: path), signer: signer, stampVerifier: fixture.verifier)
        let alertsPath = SQLiteAlertStore.defaultPath(ledgerDatabase: path)
        let store = try SQLiteAlertStore(path: alertsPath)
        #expect(try store.scannedSize() == 0)
        let monitor = try AlertMonitor(ledger: ledger, store: store, endpoints: ["http://127.0.0.1:9/hook"])
        let raised = try monitor.catchUp()
        #expect(raised.map(\.kind) == [.cloneEvidence])
        #expect(raised.first?.entryIndex == evidenceIndex && raised.first?.chipID == fixture.chipID)
        #expect(raised.first?.organization == "Example Registry")
        #expect(try store.scannedSize() == ledger.size)
        #expect(try monitor.catchUp().isEmpty, "scanned once")
        #expect(try store.dueDeliveries(now: Date(), limit: 10).map(\.alert.id) == raised.map(\.id), "the delivery is owed")

        // The cursor lost (the store rebuilt from an old copy): a scan from 0 stores nothing twice.
        let reset = try await runProgram("/usr/bin/sqlite3", [alertsPath, "UPDATE scan_state SET scanned_size = 0"])
        #expect(reset.status == 0, "\(reset.stderr)")
        let again = try AlertMonitor(ledger: ledger, store: try SQLiteAlertStore(path: alertsPath))
        #expect(try again.catchUp().isEmpty)
        #expect(try store.alerts(after: 0, limit: 10, chipID: nil, organization: nil).count == 1)

        // The JSON form has exactly the contract's members.
        let alert = try #require(raised.first)
        let object = try #require(try JSONSerialization.jsonObject(with: alert.jsonData()) as? [String: Any])
        #expect(Set(object.keys) == ["id", "kind", "chipID", "entryIndex", "raisedAt", "authenticated", "detail"])
        #expect(object["kind"] as? String == "clone-evidence" && object["entryIndex"] as? Int == Int(evidenceIndex))
        #expect((object["detail"] as? [String: Any])?["counter"] as? Int == 1)
        #expect(ISO8601DateFormatter().date(from: (object["raisedAt"] as? String ?? "").replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) != nil)
    }

    @Test func travelDistancesAreGreatCircleAcrossTheAntimeridian() {
        // Paris–New York, about 5,837 km (great circle).
        let paris = StampLocation(latitudeMicrodegrees: 48_856_600, longitudeMicrodegrees: 2_352_200)
        let newYork = StampLocation(latitudeMicrodegrees: 40_712_800, longitudeMicrodegrees: -74_006_000)
        #expect(abs(paris.distanceKm(to: newYork) - 5_837) < 10)
        #expect(paris.distanceKm(to: paris) == 0)
        // Across the antimeridian: Suva to Savai'i is about 1,122 km, not 40,000 minus that.
        let fiji = StampLocation(latitudeMicrodegrees: -18_141_600, longitudeMicrodegrees: 178_441_900)
        let samoa = StampLocation(latitudeMicrodegrees: -13_759_000, longitudeMicrodegrees: -172_104_600)
        #expect(abs(fiji.distanceKm(to: samoa) - 1_122) < 5)
    }
}
