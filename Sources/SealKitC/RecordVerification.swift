#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSealKit
import SealKitCBridge
import SealHostDriver
import SealProtocol

/// `sealkit_verify_record`: a record, the trusted roots and the options from C in, the report JSON out.
enum RecordVerification {
    /// The report's JSON object (sealkit.h lists the keys).
    struct Report: Encodable {
        struct Check: Encodable {
            let id: String
            let outcome: String
            let detail: String
        }
        let valid: Bool
        let chipID: String
        let counter: UInt32
        let serial: String
        let checks: [Check]
    }

    /// The options object's keys, all optional.
    private struct Options: Decodable {
        var now: UInt64?
        var watermarkKey: String?
        var lastSeenCounter: UInt32?
    }

    /// The record; a `malformedRecord` driver error naming the field when it does not decode.
    static func decodeRecord(_ json: String) throws -> StampRecord {
        try StampRecord(jsonData: Data(json.utf8))
    }

    /// A verifier trusting the roots in `bytes`: PEM text with CERTIFICATE blocks, or one DER
    /// certificate. Bytes holding no certificate are refused (`invalidTrustAnchors`), never taken
    /// as "trust nothing".
    static func verifier(roots bytes: [UInt8]) throws -> StampVerifier {
        try StampVerifier(trustedRoots: bytes)
    }

    static func options(_ json: String?) throws(CLibraryError) -> StampVerificationOptions {
        var options = StampVerificationOptions()
        guard let json else { return options }
        let fields = try JSONInput.decode(Options.self, from: json, what: "options",
                                          allowedKeys: ["now", "watermarkKey", "lastSeenCounter"])
        if let now = fields.now {
            options.now = Date(timeIntervalSince1970: Double(now))
        }
        if let hex = fields.watermarkKey {
            guard let key = bytesFromHex(hex), key.count == 32 else {
                throw .invalidArgument("options watermarkKey must be 32 bytes of hex")
            }
            options.watermarkKey = key
        }
        options.lastSeenCounter = fields.lastSeenCounter
        return options
    }

    /// Runs every check. Without a document digest the record's own digest stands in, and the
    /// document check is reported as skipped rather than as a pass it did not earn.
    static func report(_ record: StampRecord, verifier: StampVerifier, documentDigest: [UInt8]?,
                       options: StampVerificationOptions) async -> StampVerificationReport {
        var report = await verifier.verify(record, documentDigest: documentDigest ?? record.documentDigest, options: options)
        if documentDigest == nil, let index = report.checks.firstIndex(where: { $0.id == .documentDigest }) {
            report.checks[index] = StampVerificationCheck(id: .documentDigest, outcome: .skipped,
                                                          detail: "no document digest given")
        }
        return report
    }

    static func json(_ report: StampVerificationReport, record: StampRecord) throws -> String {
        try JSONOutput.string(Report(
            valid: report.isValid, chipID: hexString(record.chipID), counter: record.counter, serial: record.serial,
            checks: report.checks.map { Report.Check(id: $0.id.rawValue, outcome: $0.outcome.rawValue, detail: $0.detail) }))
    }
}

/// `sealkit_verify_record` (sealkit.h).
@_cdecl("sealkit_verify_record")
package func sealkitVerifyRecord(_ recordJSON: UnsafePointer<CChar>?,
                                _ trustedRoots: UnsafeRawPointer?, _ trustedRootsLength: Int,
                                _ documentDigest: UnsafePointer<UInt8>?, _ documentDigestLength: Int,
                                _ optionsJSON: UnsafePointer<CChar>?, _ valid: UnsafeMutablePointer<Int32>?,
                                _ error: UnsafeMutablePointer<OpaquePointer?>?) -> UnsafeMutablePointer<CChar>? {
    valid?.pointee = 0
    return cEntry(error, failure: nil) {
        let record = try RecordVerification.decodeRecord(try stringArgument(recordJSON, "record JSON"))
        let roots = try bytesArgument(trustedRoots?.assumingMemoryBound(to: UInt8.self), count: trustedRootsLength, "trusted roots")
        let verifier = try RecordVerification.verifier(roots: roots)
        let digest: [UInt8]? =
            if documentDigest == nil && documentDigestLength == 0 { nil }
            else { try digestArgument(documentDigest, documentDigestLength, "document digest") }
        let options = try RecordVerification.options(try optionalStringArgument(optionsJSON, "options JSON"))
        let report = try runBlocking {
            await RecordVerification.report(record, verifier: verifier, documentDigest: digest, options: options)
        }
        let json = try returnedString(try RecordVerification.json(report, record: record))
        valid?.pointee = report.isValid ? 1 : 0
        return json
    }
}

/// `sealkit_digest_file` (sealkit.h).
@_cdecl("sealkit_digest_file")
package func sealkitDigestFile(_ path: UnsafePointer<CChar>?, _ digest: UnsafeMutablePointer<UInt8>?,
                              _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    cStatusEntry(error) {
        let file = try stringArgument(path, "path")
        guard let digest else { throw CLibraryError.invalidArgument("digest is NULL") }
        let bytes = try SealDigest.sha256(contentsOf: URL(fileURLWithPath: file))
        digest.update(from: bytes, count: min(bytes.count, 32))
    }
}
