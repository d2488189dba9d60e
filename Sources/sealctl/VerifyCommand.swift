import ArgumentParser
import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import SwiftASN1
import X509

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a stamp record offline against the document and trusted vendor roots.",
        discussion: "Exit status 0 when every check passes, 1 when any fails.")

    @Argument(help: "The stamp record (JSON) written by `sealctl stamp`.") var record: String
    @Option(help: "The document the record claims to stamp.") var document: String
    @Option(help: "A trusted vendor root certificate (PEM); repeat for several.") var vendorRoot: [String] = []
    @Option(help: "Watermark key (hex) to check the expiration code, as the issuer's validation service does.") var watermarkKey: String?
    @Option(help: "The highest counter already seen from this chip; the record's must be greater.") var lastCounter: UInt32?
    @Option(help: "Verify as of this time (seconds since 1970 or ISO 8601) instead of now.") var at: String?
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        struct Check: Encodable { let id: String; let outcome: String; let detail: String }
        let valid: Bool
        let chipID: String
        let counter: UInt32
        let serial: String
        let checks: [Check]
        let testRootWarning: String?
    }

    func run() async throws {
        guard !vendorRoot.isEmpty else { throw CLIError("give at least one --vendor-root PEM (the vendor CA that certifies the chips)") }
        let recordBytes = try readFile(record, what: "record")
        let stampRecord: StampRecord
        do {
            stampRecord = try StampRecord(jsonData: Data(recordBytes))
        } catch {
            throw CLIError("\(record) is not a valid stamp record: \(error)")
        }
        let documentBytes = try readFile(document, what: "document")
        var roots: [Certificate] = []
        for path in vendorRoot {
            let pem = String(decoding: try readFile(path, what: "vendor root"), as: UTF8.self)
            do {
                roots.append(contentsOf: try PEMDocument.parseMultiple(pemString: pem).map { try Certificate(pemDocument: $0) })
            } catch {
                throw CLIError("\(path) holds no PEM certificate: \(error)")
            }
        }
        var options = StampVerificationOptions()
        if let at {
            guard let seconds = parseTime(at) else { throw CLIError("--at must be seconds since 1970 or ISO 8601") }
            options.now = Date(timeIntervalSince1970: TimeInterval(seconds))
        }
        if let watermarkKey {
            guard let key = bytesFromHex(watermarkKey), key.count == 32 else { throw CLIError("--watermark-key must be 32 bytes of hex") }
            options.watermarkKey = key
        }
        options.lastSeenCounter = lastCounter
        let report = await StampVerifier(trustedRoots: roots).verify(stampRecord, document: documentBytes, options: options)

        let testRoot = try? Certificate(pemEncoded: TestCredentials.vendorRootCertificatePEM)
        let warning = roots.contains { $0 == testRoot }
            ? "verified against the TEST vendor root of Fixtures/: its key is public, so this proves nothing about a real seal" : nil
        if json {
            try printJSON(Output(
                valid: report.isValid, chipID: hexString(stampRecord.chipID), counter: stampRecord.counter, serial: stampRecord.serial,
                checks: report.checks.map { .init(id: $0.id.rawValue, outcome: $0.outcome.rawValue, detail: $0.detail) },
                testRootWarning: warning))
        } else {
            for check in report.checks {
                let mark = switch check.outcome {
                case .passed: "ok  "
                case .failed: "FAIL"
                case .skipped: "skip"
                }
                print("\(mark) \(check.id.rawValue): \(check.detail)")
            }
            if let warning { print("note: \(warning)") }
            if report.isValid {
                print("VALID: stamp #\(stampRecord.counter) (\(stampRecord.serial)) by chip \(hexString(stampRecord.chipID))")
            } else {
                let first = report.failures.first.map { "\($0.id.rawValue): \($0.detail)" } ?? ""
                print("INVALID: \(first)")
            }
        }
        if !report.isValid { throw ExitCode(1) }
    }
}
