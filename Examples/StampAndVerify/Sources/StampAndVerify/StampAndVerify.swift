// Stamp a document with a seal token and verify the record offline, as an integrator would, with
// the in-process simulated token standing in for a token in a reader. Only public API of the
// SealHostDriver and SealSimulatedToken products is used.
//
// Every step checks what it gets; the program exits 1 if anything is not as expected, so running
// it is a test (scripts/examples.sh).

import Foundation
import SealHostDriver       // SealToken, StampRecord, StampVerifier, SealDigest, SealDriverError, StampMetadata
import SealSimulatedToken   // SimulatedTestToken: a ready token in memory, and the test vendor root

@main
struct StampAndVerify {
    static func main() async {
        var example = Example()
        do {
            try await example.run()
        } catch {
            example.fail("unexpected error: \(error)")
        }
        if example.failures > 0 {
            print("\(example.failures) check(s) failed")
            exit(1)
        }
        print("all checks passed")
    }
}

struct Example {
    private(set) var failures = 0

    mutating func check(_ condition: Bool, _ what: String) {
        if condition {
            print("ok    \(what)")
        } else {
            fail(what)
        }
    }

    mutating func fail(_ what: String) {
        failures += 1
        print("FAIL  \(what)")
    }

    mutating func run() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sealkit-example-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        // 1. A token. In production: SealToken(transport: PCSCTransport(readerName: …), secureChannel: SecureChannelSettings(trustedVendorRoots: [vendorRoot])) or a USB
        //    transport; here a simulated chip in memory, personalized with the test PIN.
        let simulated = try await SimulatedTestToken.make()
        let token = simulated.token
        try await token.connect()
        let info = try await token.info()
        check(info.lifecycle == .active, "connected to \(info.personalization?.sealName ?? "?"), lifecycle \(info.lifecycle)")

        // 2. A wrong PIN is a SealDriverError that says so, with the tries left.
        do {
            try await token.verifyPIN("000000")
            fail("a wrong PIN was accepted")
        } catch let error as SealDriverError where error.isPINIncorrect {
            check(error.triesRemaining == 2, "wrong PIN refused, \(error.triesRemaining ?? -1) tries left: \(error.message)")
        }
        try await token.verifyPIN(SimulatedTestToken.pin)
        check(try await token.isPINVerified(), "PIN verified")

        // 3. Stamp a document held in memory, and a file (hashed in constant memory).
        let document = Array("Contract no. 42: the parties agree.\n".utf8)
        let metadata = StampMetadata(time: UInt64(Date().timeIntervalSince1970), operatorID: "clerk-7")
        let fromBytes = try await token.stamp(document: document, metadata: metadata)
        check(fromBytes.documentDigest == SealDigest.sha256(document), "stamped the bytes: serial \(fromBytes.serial)")

        let documentURL = directory.appendingPathComponent("contract.txt")
        try Data(document).write(to: documentURL)
        // Protocol v2 tokens are "PIN always" by default: every stamp needs its own VERIFY.
        try await token.verifyPIN(SimulatedTestToken.pin)
        let fromFile = try await token.stamp(documentAt: documentURL, metadata: metadata)
        check(fromFile.documentDigest == fromBytes.documentDigest && fromFile.counter == fromBytes.counter + 1,
              "stamped the file: serial \(fromFile.serial), counter \(fromFile.counter)")
        await token.close()

        // 4. The record travels as JSON; read it back.
        let recordURL = directory.appendingPathComponent("contract.stamp.json")
        try fromFile.jsonData().write(to: recordURL)
        let record = try StampRecord(jsonData: try Data(contentsOf: recordURL))
        check(record == fromFile, "record written to and read back from \(recordURL.lastPathComponent)")

        // 5. Verify offline against the vendor root: valid for the document, as bytes and as a file.
        let verifier = try StampVerifier(trustedRootsPEM: SimulatedTestToken.vendorRootPEM)
        let options = StampVerificationOptions(watermarkKey: simulated.watermarkKey)
        let report = await verifier.verify(record, document: document, options: options)
        check(report.isValid, "record VALID against the document (\(report.checks.filter(\.passed).count) checks passed)")
        let fileReport = try await verifier.verify(record, documentAt: documentURL, options: options)
        check(fileReport.isValid, "record VALID against the file")

        // 6. Tamper with the document: the record no longer verifies, and the report says why.
        var tampered = document
        tampered[10] ^= 0x01
        let tamperedReport = await verifier.verify(record, document: tampered, options: options)
        check(!tamperedReport.isValid && tamperedReport.firstFailure?.id == .documentDigest,
              "tampered document INVALID, failed check: \(tamperedReport.firstFailure?.id.rawValue ?? "none")")
        do {
            try tamperedReport.throwIfInvalid()
            fail("throwIfInvalid accepted a tampered document")
        } catch {
            check(error.code == .stampInvalid && error.failedCheck == .documentDigest, "as an error: \(error.message)")
        }

        // 7. A damaged record file is a SealDriverError naming the field, not a Foundation error.
        var fields = try JSONSerialization.jsonObject(with: try Data(contentsOf: recordURL)) as? [String: Any] ?? [:]
        fields["counter"] = "many"
        let damaged = try JSONSerialization.data(withJSONObject: fields)
        do {
            _ = try StampRecord(jsonData: damaged)
            fail("a damaged record was accepted")
        } catch {
            check(error.code == .malformedRecord && error.field == "counter", "damaged record refused: \(error.message)")
        }

        // 8. Trust anchors that hold no certificate are refused up front.
        do {
            _ = try StampVerifier(trustedRootsPEM: "not a certificate")
            fail("a verifier without roots was made")
        } catch {
            check(error.code == .invalidTrustAnchors, "roots without a certificate refused: \(error.message)")
        }
    }
}
