import Foundation
import Testing

/// Issue 9: `sealctl` authenticates the chip (SPEC §14.2) under the TEST vendor root for a
/// simulated token and under `--vendor-root` otherwise; a chip certified by another vendor is
/// refused in one line.
@Suite("sealctl chip authentication")
struct ChipAuthenticationCLITests {
    static let otherVendorCertificate = Sandbox.repository.appendingPathComponent("Fixtures/test-tsa/root-cert.pem").path
    static let otherVendorKey = Sandbox.repository.appendingPathComponent("Fixtures/test-tsa/root-key.pem").path

    /// A state file of a chip manufactured under another vendor CA (the test TSA's root).
    static func otherVendorsToken(_ sandbox: Sandbox) async throws -> String {
        let state = sandbox.path("other-vendor.nvm")
        let made = try await sandbox.run(["manufacture", "--state", state, "--ca-cert", otherVendorCertificate, "--ca-key", otherVendorKey],
                                         executable: .sealsim)
        try #require(made.status == 0, "\(made)")
        return state
    }

    @Test("a simulated chip of another vendor is refused under the TEST root: one line, status 1")
    func anotherVendorsChipIsRefused() async throws {
        let sandbox = try Sandbox()
        let state = try await Self.otherVendorsToken(sandbox)
        let info = try await sandbox.run(["info", "--token-state", state])
        #expect(info.status == 1, "\(info)")
        #expect(info.stderrLines.count == 1, "\(info)")
        #expect(info.standardError.contains("not authenticated as a genuine seal chip"), "\(info)")
        #expect(info.standardError.contains("does not chain to a trusted vendor root"), "\(info)")
        #expect(info.stdout.isEmpty, "\(info)")

        let wrongRoot = try await sandbox.run(["info", "--token-state", state, "--vendor-root", Sandbox.vendorRoot])
        #expect(wrongRoot.status == 1 && wrongRoot.stderrLines.count == 1, "\(wrongRoot)")

        let ownRoot = try await sandbox.run(["info", "--token-state", state, "--vendor-root", Self.otherVendorCertificate, "--json"])
        #expect(ownRoot.status == 0, "the chip's own vendor root authenticates it: \(ownRoot)")
    }

    @Test("the embedded simulator is authenticated under the TEST root without --vendor-root")
    func simulatorUsesTheTestRoot() async throws {
        let sandbox = try Sandbox()
        let info = try await sandbox.run(["info", "--json"])
        #expect(info.status == 0, "\(info)")
    }

    @Test("a token in a reader or on USB needs --vendor-root: a usage error (64) before anything is opened",
          arguments: [["info", "--reader", "Virtual PCD 00 00"], ["info", "--usbip", "127.0.0.1:1"],
                      ["info", "--usb", "any"], ["conformance", "--all-readers"]])
    func readerNeedsAVendorRoot(arguments: [String]) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(arguments)
        #expect(result.status == 64, "\(result)")
        #expect(result.standardError.contains("--vendor-root"), "\(result)")
    }

    @Test("--vendor-root is one option with one meaning: conformance takes it from the common target options")
    func conformanceHelpListsOneVendorRoot() async throws {
        let sandbox = try Sandbox()
        let help = try await sandbox.run(["conformance", "--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.components(separatedBy: "--vendor-root <PEM>").count - 1 >= 1, "\(help.stdout)")
        #expect(help.stdout.components(separatedBy: "Trusted vendor root certificate").count - 1 == 1, "\(help.stdout)")
    }
}

/// SPEC §3.5 through `sealctl`: `--chip-sizes constrained` runs the simulated token as a chip at
/// the spec's minimums, and the conformance suite adapts to it.
@Suite("sealctl against a chip at the spec's minimums")
struct ConstrainedChipCLITests {
    @Test("the whole conformance suite in process against --chip-sizes constrained: every case passes, none skipped")
    func conformanceAgainstTheConstrainedProfile() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["conformance", "--chip-sizes", "constrained", "--json", "-"], timeout: .seconds(600))
        #expect(result.status == 0, "\(result.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: result.standardOutput) as? [String: Any], "\(result)")
        let summary = try #require(report["totals"] as? [String: Any])
        let cases = try #require(report["results"] as? [[String: Any]])
        let notPassed = cases.filter { $0["result"] as? String != "pass" }.map { "\($0["id"] ?? "?"): \($0["detail"] ?? "")" }
        #expect(notPassed.isEmpty, "\(notPassed.joined(separator: "\n"))")
        #expect(summary["skipped"] as? Int == 0 && summary["failed"] as? Int == 0)
        #expect((summary["passed"] as? Int ?? 0) > 200)
    }

    @Test("--chip-sizes takes reference or constrained, and only with a simulated token (64 otherwise)",
          arguments: [["info", "--chip-sizes", "tiny"], ["info", "--chip-sizes", "constrained", "--reader", "x", "--vendor-root", Sandbox.vendorRoot]])
    func chipSizesUsage(arguments: [String]) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(arguments)
        #expect(result.status == 64, "\(result)")
        #expect(result.standardError.contains("--chip-sizes"), "\(result)")
    }
}
