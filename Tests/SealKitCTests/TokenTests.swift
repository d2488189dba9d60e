import CSealKit
import Foundation
import Synchronization
import SealHostDriver
import SealProtocol
import Testing

// libsealkit's token functions on the simulated token of libsealkit-sim, called as C calls them.

/// Serializes VERIFY + STAMP pairs of the shared-handle test (PIN always: one VERIFY per STAMP).
private let sharedHandleStampPair = Mutex(())

@Suite("libsealkit tokens", .timeLimit(.minutes(2)))
struct TokenTests {
    @Test("info is a JSON object with numbers as numbers and the transport's name")
    func info() async throws {
        let info = try await onCThread {
            let token = try SimulatedToken().open()
            defer { sealkit_token_close(token.pointer) }
            return try callString { sealkit_token_info(token.pointer, $0) }
        }
        let object = try jsonObject(info)
        #expect(object["lifecycle"] as? String == "ACTIVE")
        #expect(object["counter"] as? Int == 0)
        #expect(object["pinTriesRemaining"] as? Int == 3)
        #expect(object["organizationName"] as? String == "SealKit Demo Co.")
        #expect((object["chipID"] as? String)?.count == 32)
        #expect(object["transport"] as? String == "SealKit simulated token (libsealkit-sim)")
        #expect(object["features"] as? [String] == ["commandChaining", "extendedLength", "remoteAuthorization"])
    }

    @Test("a wrong PIN counts down, then blocks; the right one no longer helps")
    func wrongPIN() async throws {
        let failures = try await onCThread {
            let token = try SimulatedToken().open()
            defer { sealkit_token_close(token.pointer) }
            return (0..<5).map { attempt -> CallFailure in
                do throws(CallFailure) {
                    try callStatus { sealkit_token_verify_pin(token.pointer, attempt < 4 ? "000000" : "123456", $0) }
                    return CallFailure(code: SEALKIT_OK, message: "", statusWord: -1, triesRemaining: -1)
                } catch {
                    return error
                }
            }
        }
        #expect(failures.map(\.code) == [SEALKIT_E_PIN_INCORRECT, SEALKIT_E_PIN_INCORRECT, SEALKIT_E_PIN_INCORRECT,
                                         SEALKIT_E_PIN_BLOCKED, SEALKIT_E_PIN_BLOCKED])
        #expect(failures.map(\.triesRemaining) == [2, 1, 0, -1, -1])
        #expect(failures.map(\.statusWord) == [0x63C2, 0x63C1, 0x63C0, 0x6983, 0x6983])
        #expect(failures[0].message.contains("2 tries left"))
        #expect(failures[3].message.contains("blocked"))
    }

    @Test("stamping before the PIN is verified is refused with 6982")
    func stampWithoutPIN() async throws {
        let failure = try await onCThread { () -> CallFailure? in
            let token = try SimulatedToken().open()
            defer { sealkit_token_close(token.pointer) }
            do throws(CallFailure) {
                _ = try stamp(token)
                return nil
            } catch let failure as CallFailure {
                return failure
            }
        }
        #expect(failure?.code == SEALKIT_E_NOT_AUTHORIZED)
        #expect(failure?.statusWord == 0x6982)
    }

    @Test("bad arguments fail with SEALKIT_E_INVALID_ARGUMENT, send nothing and spend no PIN try")
    func badArguments() async throws {
        let (failures, info) = try await onCThread { () -> ([CallFailure], String) in
            let token = try SimulatedToken().open()
            defer { sealkit_token_close(token.pointer) }
            var failures: [CallFailure] = []
            func record(_ body: () throws -> Void) {
                do {
                    try body()
                    failures.append(CallFailure(code: SEALKIT_OK, message: "succeeded", statusWord: -1, triesRemaining: -1))
                } catch let error as CallFailure {
                    failures.append(error)
                } catch {
                    failures.append(CallFailure(code: -1, message: "\(error)", statusWord: -1, triesRemaining: -1))
                }
            }
            record { try callStatus { sealkit_token_verify_pin(token.pointer, "12ab", $0) } }
            record { try callStatus { sealkit_token_verify_pin(token.pointer, nil, $0) } }
            try callStatus { sealkit_token_verify_pin(token.pointer, "123456", $0) }
            record { _ = try stamp(token, digest: Array(documentDigest.prefix(31))) }
            record { _ = try callString { sealkit_token_stamp_digest(token.pointer, nil, 32, nil, $0) } }
            record { _ = try stamp(token, metadataJSON: #"{"time": 1767225600, "operatorId": "x"}"#) }
            record { _ = try stamp(token, metadataJSON: #"{"time": "noon"}"#) }
            record { _ = try stamp(token, metadataJSON: #"{"latitudeMicrodegrees": 1}"#) }
            record { _ = try stamp(token, metadataJSON: #"{"deviceFingerprint": "XYZ"}"#) }
            record { _ = try stamp(token, metadataJSON: "[1, 2]") }
            record {
                var fields = sealkit_metadata()
                let long = String(repeating: "x", count: 65)
                _ = try long.withCString { text in
                    fields.operator_id = text
                    return try callString { sealkit_token_stamp_digest_fields(token.pointer, documentDigest, 32, &fields, $0) }
                }
            }
            record {
                var fields = sealkit_metadata()
                fields.device_fingerprint_length = 4
                _ = try callString { sealkit_token_stamp_digest_fields(token.pointer, documentDigest, 32, &fields, $0) }
            }
            let info = try callString { sealkit_token_info(token.pointer, $0) }
            return (failures, info)
        }
        #expect(failures.count == 11)
        #expect(failures.allSatisfy { $0.code == SEALKIT_E_INVALID_ARGUMENT }, "\(failures)")
        #expect(failures.allSatisfy { $0.statusWord == -1 })
        let messages = failures.map(\.message)
        #expect(messages[0].contains("6 to 12 digits"))
        #expect(messages[1] == "PIN is NULL")
        #expect(messages[2].contains("32 bytes"))
        #expect(messages[3] == "digest is NULL")
        #expect(messages[4].contains("unknown key \"operatorId\""))
        #expect(messages[5].contains("time"))
        #expect(messages[6].contains("together"))
        #expect(messages[7].contains("deviceFingerprint is not hex"))
        #expect(messages[9].contains("operator ID must be 1 to 64"))
        #expect(messages[10].contains("device_fingerprint"))
        let object = try jsonObject(info)
        #expect(object["counter"] as? Int == 0, "a refused stamp reached the token")
        #expect(object["pinTriesRemaining"] as? Int == 3, "a malformed PIN spent a try")
    }

    @Test("the record carries the metadata given as JSON and as fields")
    func metadata() async throws {
        let (jsonRecord, fieldsRecord) = try await onCThread {
            let token = try SimulatedToken().open()
            defer { sealkit_token_close(token.pointer) }
            try callStatus { sealkit_token_verify_pin(token.pointer, "123456", $0) }
            let first = try stamp(token, metadataJSON: #"""
                {"time": 1767225600, "latitudeMicrodegrees": -33868800, "longitudeMicrodegrees": 151209300,
                 "operatorID": "op-7", "organizationUnit": "Legal", "approvalNode": "desk 4", "deviceFingerprint": "a1b2"}
                """#)
            var fields = sealkit_metadata()
            fields.time = 1_767_225_601
            let fingerprint: [UInt8] = [0xC0, 0xFF, 0xEE]
            // PIN always (SPEC v2 §8.13, on by default): every STAMP needs its own VERIFY.
            try callStatus { sealkit_token_verify_pin(token.pointer, "123456", $0) }
            let second = try "op-8".withCString { op in
                try fingerprint.withUnsafeBufferPointer { bytes in
                    fields.operator_id = op
                    fields.device_fingerprint = bytes.baseAddress
                    fields.device_fingerprint_length = bytes.count
                    return try callString { sealkit_token_stamp_digest_fields(token.pointer, documentDigest, 32, &fields, $0) }
                }
            }
            return (first, second)
        }
        let first = try StampRecord(jsonData: Data(jsonRecord.utf8))
        // Personal fields are committed with random salts (metadata v2): compare them field by field.
        #expect(first.metadata.time == 1_767_225_600 && first.metadata.latitudeMicrodegrees == -33_868_800
                && first.metadata.longitudeMicrodegrees == 151_209_300 && first.metadata.operatorID == "op-7"
                && first.metadata.deviceFingerprint == [0xA1, 0xB2] && first.metadata.organizationUnit == "Legal"
                && first.metadata.approvalNode == "desk 4")
        #expect(first.documentDigest == documentDigest)
        #expect(first.counter == 1)
        let second = try StampRecord(jsonData: Data(fieldsRecord.utf8))
        #expect(second.metadata.time == 1_767_225_601 && second.metadata.operatorID == "op-8"
                && second.metadata.deviceFingerprint == [0xC0, 0xFF, 0xEE] && second.metadata.latitudeMicrodegrees == nil)
        #expect(second.counter == 2)
    }

    @Test("one handle shared by eight threads: every call succeeds, stamps run one at a time")
    func sharedHandle() async throws {
        let token = try await onCThread {
            let token = try SimulatedToken().open()
            try callStatus { sealkit_token_verify_pin(token.pointer, "123456", $0) }
            return token
        }
        // Each thread returns the counters of its stamps and its failures.
        let outcomes = try await withThrowingTaskGroup(of: ([UInt32], [String]).self) { group in
            for thread in 0..<8 {
                group.addTask {
                    try await onCThread {
                        var counters: [UInt32] = []
                        var failures: [String] = []
                        for round in 0..<2 {
                            do {
                                _ = try callString { sealkit_token_info(token.pointer, $0) }
                                // PIN always (SPEC v2 §8.13): VERIFY and STAMP go together, so
                                // the threads take turns for that pair; info calls stay concurrent.
                                let record = try sharedHandleStampPair.withLock { _ in
                                    try callStatus { sealkit_token_verify_pin(token.pointer, "123456", $0) }
                                    return try stamp(token, metadataJSON: #"{"operatorID": "thread \#(thread) round \#(round)"}"#)
                                }
                                counters.append(try StampRecord(jsonData: Data(record.utf8)).counter)
                            } catch {
                                failures.append("\(error)")
                            }
                        }
                        return (counters, failures)
                    }
                }
            }
            return try await group.reduce(into: [([UInt32], [String])]()) { $0.append($1) }
        }
        try await onCThread { sealkit_token_close(token.pointer) }
        #expect(outcomes.flatMap(\.1) == [])
        #expect(outcomes.flatMap(\.0).sorted() == Array(1...16))
    }
}

/// Issue 9: the C library authenticates the chip under the caller's vendor roots (SPEC §14.2)
/// and refuses it by default.
@Suite("libsealkit chip authentication", .timeLimit(.minutes(2)))
struct ChipAuthenticationCTests {
    /// A CA certificate that certified no chip: the test TSA's root of Fixtures/.
    static var unrelatedRoot: [UInt8] {
        get throws {
            let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return Array(try Data(contentsOf: repository.appendingPathComponent("Fixtures/test-tsa/root-cert.pem")))
        }
    }

    @Test("no vendor roots (NULL, 0): SEALKIT_E_CHIP_NOT_AUTHENTICATED, and the caller's transport is released")
    func noRootsIsRefused() async throws {
        let failure = try await onCThread { () -> CallFailure? in
            do {
                let token = try SimulatedToken().open(roots: [])
                sealkit_token_close(token.pointer)
                return nil
            } catch let failure as CallFailure {
                return failure
            }
        }
        #expect(failure?.code == SEALKIT_E_CHIP_NOT_AUTHENTICATED, "\(String(describing: failure))")
        #expect(failure?.name == "SEALKIT_E_CHIP_NOT_AUTHENTICATED")
        #expect(failure?.message.contains("vendor root") == true)
    }

    @Test("a chip certified under another root than the one given: SEALKIT_E_CHIP_NOT_AUTHENTICATED")
    func anotherRootIsRefused() async throws {
        let roots = try Self.unrelatedRoot
        let failure = try await onCThread { () -> CallFailure? in
            do {
                let token = try SimulatedToken().open(roots: roots)
                sealkit_token_close(token.pointer)
                return nil
            } catch let failure as CallFailure {
                return failure
            }
        }
        #expect(failure?.code == SEALKIT_E_CHIP_NOT_AUTHENTICATED, "\(String(describing: failure))")
        #expect(failure?.message.contains("does not chain to a trusted vendor root") == true)
    }

    @Test("roots that hold no certificate: SEALKIT_E_ROOTS_INVALID before the token is touched")
    func unusableRoots() async throws {
        let failure = try await onCThread { () -> CallFailure? in
            do {
                let token = try SimulatedToken().open(roots: Array("not a certificate".utf8))
                sealkit_token_close(token.pointer)
                return nil
            } catch let failure as CallFailure {
                return failure
            }
        }
        #expect(failure?.code == SEALKIT_E_ROOTS_INVALID, "\(String(describing: failure))")
    }
}
