import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the token's hash-chained audit log and check its chain and signatures.",
        discussion: """
            With --push LEDGER_URL the entries are also submitted to a ledger (docs/ledger.md, \
            "Audit-log pushes"), which checks them against the chip's records: it reports the stamps \
            it holds no record of, and a chain that does not verify becomes tamper evidence (exit 1).
            """)

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("Also submit the entries to this ledger (its base URL).", valueName: "LEDGER_URL")) var push: String?

    struct Entry: Encodable {
        let counter: UInt32
        let time: UInt64
        let serial: String
        let expirationCode: String
        let expiry: UInt64
        let documentDigest: String
        let metadataDigest: String
        let grantSerial: UInt32
    }

    func run() async throws {
        let (entries, status, chipID) = try await withToken(target, output) { token in
            let info = try await token.info()
            let entries = try await token.auditLog(sealPublicKey: info.sealPublicKey)
            return (entries, try await token.auditStatus(), info.chipID)
        }
        var pushed: [String: Any]?
        if let push {
            guard !entries.isEmpty else { throw CLIError("the audit log is empty: nothing to push") }
            pushed = try await pushAuditLog(chipID: chipID, status: status, entries: entries, ledgerURL: push)
        }
        let out = entries.map {
            Entry(counter: $0.counter, time: $0.time, serial: $0.serial, expirationCode: $0.expirationCode, expiry: $0.expiry,
                  documentDigest: hexString($0.documentDigest), metadataDigest: hexString($0.metadataDigest), grantSerial: $0.grantSerial)
        }
        if output.json {
            struct Log: Encodable { let headHash: String; let oldestCounter: UInt32; let newestCounter: UInt32; let entries: [Entry] }
            let log = Log(headHash: hexString(status.headHash), oldestCounter: status.oldestCounter,
                          newestCounter: status.newestCounter, entries: out)
            guard let pushed else { try printJSON(log); return }
            // One object: the log as without --push, and the ledger's answer under "ledger".
            var object = (try JSONSerialization.jsonObject(with: JSONEncoder().encode(log)) as? [String: Any]) ?? [:]
            object["ledger"] = pushed
            printJSONLine(object)
            return
        }
        print("audit log: \(entries.count) entries, counters \(status.oldestCounter)...\(status.newestCounter), chain and signatures verified")
        print("head: \(hexString(status.headHash))")
        for entry in out {
            let date = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(entry.time)))
            print("#\(entry.counter)  \(date)  \(entry.serial)  code \(entry.expirationCode)  doc \(entry.documentDigest.prefix(16))…")
        }
        if let pushed {
            let unreported = (pushed["unreported"] as? [[String: Any]] ?? []).map { "\($0["counter"] ?? "?")" }
            print("pushed to the ledger: \(pushed["status"] ?? "?") at index \(pushed["index"] ?? "?")"
                  + (unreported.isEmpty ? "" : "; unreported stamps (no record in the ledger): \(unreported.joined(separator: ", "))"))
        }
    }
}
