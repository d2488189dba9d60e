import Foundation
import SealHostDriver
@testable import SealLedger
import SealSimulatedToken
import SealSM2Verifier
import Testing

/// An SM2 seal signs its audit entries with SM2 (SPEC §7.1, §9.6): the ledger checks a pushed log
/// with the verifier it admits that seal's records with, not with P-256.
@Suite("Ledger: audit pushes from an SM2 seal")
struct SM2AuditPushTests {
    @Test func anSM2ChipsPushedLogIsCheckedWithSM2AndFindsTheUnreportedStamp() async throws {
        var data = SimulatedTestToken.defaultPersonalization(watermarkKey: [UInt8](repeating: 5, count: 32))
        data.sealKeyAlgorithm = .sm2
        let session = try await SimulatedTestToken.make(personalization: data)
        await session.token.addSignatureVerifier(SM2SealSignatureVerifier())
        _ = try await session.token.connect()
        let now = UInt64(Date().timeIntervalSince1970)
        var records: [StampRecord] = []
        for i in 1...3 {
            records.append(try await session.token.stamp(document: Array("SM2 document \(i)".utf8), metadata: StampMetadata(time: now),
                                                          pin: SimulatedTestToken.pin))
        }
        let entries = try await session.token.auditLog()
        let status = try await session.token.auditStatus()
        let push = try AuditPush(chipID: session.chipID, headHash: status.headHash, entries: entries)

        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let signer = try LedgerHome.loadOrCreateKey(at: LedgerHome.keyPath(database: database), origin: "test.sealkit/sm2")
        let ledger = try Ledger(storage: try SQLiteStorage(path: database), signer: signer,
                                stampVerifier: SimulatedTestToken.verifier.verifyingSM2())
        // Stamps 1 and 3 reach the ledger; 2 was stamped offline and never reported.
        #expect(await ledger.submit([records[0], records[2]]) == [.added(index: 0), .added(index: 1)])
        let outcome = try ledger.submit(audit: push)
        #expect(outcome.index == 2 && outcome.tamperEvidenceIndex == nil)
        #expect(outcome.unreported == [.init(counter: 2, evidenceIndex: 3)])
        #expect(try ledger.suspectEvidence(chipID: session.chipID) == nil)

        // An entry whose SM2 signature is altered is refused as unsigned bytes: nothing is written.
        var forged = entries
        forged[1].signature[forged[1].signature.count - 1] ^= 0x01
        #expect(throws: LedgerError(code: .recordRefused, reason: "")) {
            try ledger.submit(audit: try AuditPush(chipID: session.chipID, headHash: status.headHash, entries: forged))
        }
        #expect(ledger.size == 4)
    }
}
