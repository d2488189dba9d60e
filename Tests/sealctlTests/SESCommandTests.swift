import Foundation
import Testing

/// `sealctl ses verify` over the real files of ../shared/fixtures/gbt38540 (skipped where that
/// folder is absent): exit 2 when everything is intact but the root is not given, 1 when invalid.
@Suite(.enabled(if: SESFixtures.arePresent, "../shared/fixtures/gbt38540 is not beside the package"))
struct SESCommandTests {
    func fixture(_ name: String) -> String { SESFixtures.directory.appendingPathComponent(name).path }

    @Test func intactSignatureWithoutItsRootExits2() async throws {
        let result = try await Sandbox().run(["ses", "verify", fixture("ofdrw-gm-SignedValueV4.dat")])
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.contains("signerSignature: passed") && result.stdout.contains("makerSignature: passed"))
        #expect(result.stdout.contains("UNKNOWN ROOT"))
    }

    @Test func bareSealIsJudgedAtTheGivenTime() async throws {
        let sandbox = try Sandbox()
        let then = try await sandbox.run(["ses", "verify", fixture("ofdrw-gm-UserV4.esl"), "--at", "2021-01-01T00:00:00Z"])
        #expect(then.status == 2, "\(then)")
        // Today the seal and its maker certificate have expired.
        let now = try await sandbox.run(["ses", "verify", fixture("ofdrw-gm-UserV4.esl"), "--json"])
        #expect(now.status == 1, "\(now)")
        #expect(now.stdout.contains("\"verdict\" : \"INVALID\""), "\(now.stdout)")
    }

    @Test func badMakerSignatureExits1() async throws {
        let result = try await Sandbox().run(["ses", "verify", fixture("ofdrw-sign-SESealData.DER"), "--at", "2020-12-01T00:00:00Z"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("makerSignature: FAILED"))
        #expect(result.stdout.contains("accepted: explicitDefaultFalse"))
    }

    @Test func unreadableInputIsOneLineAndExit1() async throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write("junk.der", "not DER")
        let result = try await sandbox.run(["ses", "verify", path])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrLines.count == 1, "\(result)")
        let usage = try await sandbox.run(["ses", "verify", path, "--at", "soon"])
        #expect(usage.status == 64, "\(usage)")
    }
}

enum SESFixtures {
    static let directory = Sandbox.repository.deletingLastPathComponent().appendingPathComponent("shared/fixtures/gbt38540")
    static var arePresent: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("NOTICE.md").path) }
}
