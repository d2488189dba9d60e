import CSealKit
import Foundation
import SealHostDriver
import SealKitCSimulated
import SwiftASN1
import Testing

// sealkit_verify_record: the report for records that verify and records that do not, and errors
// only for input that cannot be verified at all.

@Suite("libsealkit verification", .timeLimit(.minutes(2)))
struct VerificationTests {
    /// A record stamped on a fresh simulated token, with the token's watermark key.
    static func stampedRecord() async throws -> (record: String, watermarkKey: [UInt8]) {
        try await onCThread {
            let simulated = try SimulatedToken()
            let token = try simulated.open()
            defer { sealkit_token_close(token.pointer) }
            try callStatus { sealkit_token_verify_pin(token.pointer, "123456", $0) }
            return (try stamp(token, metadataJSON: #"{"operatorID": "verifier test"}"#), simulated.watermarkKey)
        }
    }

    @Test("a record verifies against PEM and DER roots, and each option turns on its check")
    func valid() async throws {
        let (record, key) = try await Self.stampedRecord()
        let hexKey = key.map { String(format: "%02X", $0) }.joined()

        let pem = try await verify(record)
        #expect(pem.valid)
        #expect(outcome(pem.report, "document-digest") == "passed")
        #expect(outcome(pem.report, "device-certificate-chain") == "passed")
        #expect(outcome(pem.report, "expiration-code") == "skipped")
        #expect(outcome(pem.report, "counter-freshness") == "skipped")
        #expect(pem.report["counter"] as? Int == 1)
        // The C report lists every check the Swift verifier runs, in its order.
        #expect((pem.report["checks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == StampVerificationCheck.ID.allCases.map(\.rawValue))

        let der = try PEMDocument(pemString: vendorRootPEM).derBytes
        #expect(try await verify(record, roots: der).valid)

        let noDigest = try await verify(record, digest: nil)
        #expect(noDigest.valid)
        #expect(outcome(noDigest.report, "document-digest") == "skipped")

        let withKey = try await verify(record, options: #"{"watermarkKey": "\#(hexKey)", "lastSeenCounter": 0}"#)
        #expect(withKey.valid)
        #expect(outcome(withKey.report, "expiration-code") == "passed")
        #expect(outcome(withKey.report, "counter-freshness") == "passed")
    }

    @Test("a record that does not hold is a report, not an error")
    func invalid() async throws {
        let (record, _) = try await Self.stampedRecord()
        var other = documentDigest
        other[31] ^= 0x80
        let wrongDocument = try await verify(record, digest: other)
        #expect(!wrongDocument.valid)
        #expect(outcome(wrongDocument.report, "document-digest") == "failed")
        #expect(outcome(wrongDocument.report, "stamp-signature") == "passed")

        let wrongKey = try await verify(record, options: #"{"watermarkKey": "\#(String(repeating: "00", count: 32))"}"#)
        #expect(!wrongKey.valid)
        #expect(outcome(wrongKey.report, "expiration-code") == "failed")

        let replayed = try await verify(record, options: #"{"lastSeenCounter": 1}"#)
        #expect(outcome(replayed.report, "counter-freshness") == "failed")

        let later = try await verify(record, options: #"{"now": 4102444800}"#)  // 2100-01-01
        #expect(outcome(later.report, "not-expired") == "failed")

        var tampered = try jsonObject(record)
        tampered["counter"] = 99
        let tamperedText = String(decoding: try JSONSerialization.data(withJSONObject: tampered), as: UTF8.self)
        let forged = try await verify(tamperedText)
        #expect(!forged.valid)
        #expect(outcome(forged.report, "stamp-signature") == "failed")

        // Another vendor's root (a throw-away self-signed P-256 CA): the chain fails.
        let otherRoot = """
        -----BEGIN CERTIFICATE-----
        MIIBnjCCAUWgAwIBAgIUNyW2mSSmmuIbcu+fqCxINBDsJPkwCgYIKoZIzj0EAwIw
        JTEjMCEGA1UEAwwaQW5vdGhlciBWZW5kb3IgUm9vdCAoVEVTVCkwHhcNMjYxMjA2
        MDUyMTQ5WhcNNDYxMjAxMDUyMTQ5WjAlMSMwIQYDVQQDDBpBbm90aGVyIFZlbmRv
        ciBSb290IChURVNUKTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLs5INFcvsFm
        +cuqSVR0amiy67vgFbEtWAgmgzIEQT+7uFsRUu86Wxx7wk+Km7ICrbSCy+Rz9416
        0eiCvHKg/YyjUzBRMB0GA1UdDgQWBBQv2vgq0sClPsIw5UK2u9S71hs4hjAfBgNV
        HSMEGDAWgBQv2vgq0sClPsIw5UK2u9S71hs4hjAPBgNVHRMBAf8EBTADAQH/MAoG
        CCqGSM49BAMCA0cAMEQCIBYMYNbyNU6WXfKNpiZ1Kumz/cRVjMFDmmlaZWmWu4oX
        AiBRNaf/Mn66TO1klmMYTIGCYAFyERm5WGJWznMqcheO2w==
        -----END CERTIFICATE-----
        """
        let foreign = try await verify(record, roots: Array(otherRoot.utf8))
        #expect(!foreign.valid)
        #expect(outcome(foreign.report, "device-certificate-chain") == "failed")
        #expect(outcome(foreign.report, "stamp-signature") == "passed")
    }

    @Test("the digest of a file is its SHA-256; an unreadable file is SEALKIT_E_FILE_UNREADABLE")
    func digestFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-clib-\(UUID().uuidString).txt")
        try Data("Hello, SealKit!\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (digest, missing, nullPath) = try await onCThread { () -> ([UInt8], CallFailure?, CallFailure?) in
            var digest = [UInt8](repeating: 0, count: 32)
            try callStatus { sealkit_digest_file(file.path, &digest, $0) }
            var untouched = [UInt8](repeating: 0xAA, count: 32)
            var missing: CallFailure?
            do throws(CallFailure) { try callStatus { sealkit_digest_file(file.path + ".missing", &untouched, $0) } } catch { missing = error }
            #expect(untouched == [UInt8](repeating: 0xAA, count: 32), "a failed digest wrote to the buffer")
            var nullPath: CallFailure?
            do throws(CallFailure) { try callStatus { sealkit_digest_file(nil, &untouched, $0) } } catch { nullPath = error }
            return (digest, missing, nullPath)
        }
        #expect(digest == documentDigest)
        #expect(missing?.code == SEALKIT_E_FILE_UNREADABLE)
        #expect(missing?.message.contains(".missing") == true)
        #expect(nullPath?.code == SEALKIT_E_INVALID_ARGUMENT)
    }

    @Test("input that cannot be verified is an error with its code, and valid is 0", arguments: [
        ("{}", "roots", SEALKIT_E_RECORD_INVALID, "formatVersion"),
        ("not json", "roots", SEALKIT_E_RECORD_INVALID, "not JSON"),
        ("record", "", SEALKIT_E_ROOTS_INVALID, "empty"),
        ("record", "garbage", SEALKIT_E_ROOTS_INVALID, "not an X.509 certificate"),
        ("record", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", SEALKIT_E_ROOTS_INVALID, "PEM block 1"),
        ("record", "options", SEALKIT_E_INVALID_ARGUMENT, "unknown key \"watermark\""),
        ("record", "digest", SEALKIT_E_INVALID_ARGUMENT, "32 bytes"),
    ])
    func unusableInput(recordCase: String, rootsCase: String, code: Int32, message: String) async throws {
        let (record, _) = recordCase == "record" ? try await Self.stampedRecord() : (recordCase, [])
        let roots: [UInt8] = switch rootsCase {
        case "roots", "options", "digest": Array(vendorRootPEM.utf8)
        default: Array(rootsCase.utf8)
        }
        let options: String? = rootsCase == "options" ? #"{"watermark": "00"}"# : nil
        let digest = rootsCase == "digest" ? Array(documentDigest.prefix(16)) : documentDigest
        let (returned, valid, reported) = try await onCThread { () -> (Bool, Int32, CallFailure?) in
            var valid: Int32 = 7
            var error: OpaquePointer?
            let report = options.withOptionalCString { options in
                sealkit_verify_record(record, roots, roots.count, digest, digest.count, options, &valid, &error)
            }
            sealkit_string_free(report)
            return (report != nil, valid, takeError(error))
        }
        #expect(!returned)
        #expect(valid == 0)
        let failure = try #require(reported)
        #expect(failure.code == code, "\(failure)")
        #expect(failure.message.contains(message), "\(failure)")
    }
}
