import SealHostDriver
import SealProtocol
import SealFirmware
import Foundation
import SealSimulatedToken
import Testing

/// The deterministic chip still produces Fixtures/transcripts/basic-session.txt: every line that
/// does not carry an ECDSA signature is byte-for-byte the same, the others keep their header and
/// status word. A change to the chip's observable behaviour shows up here as a diff.
struct TranscriptTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/transcripts/basic-session.txt")

    @Test func deterministicSessionMatchesTheFixture() async throws {
        let text = try String(contentsOf: Self.fixture, encoding: .utf8)
        let expected = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        let actual = try await TranscriptScenario.run()
        #expect(actual.count > 40)
        let mismatch = TranscriptScenario.firstMismatch(expected: expected, actual: actual)
        #expect(mismatch == nil, "\(mismatch ?? "")")
    }

    @Test func mismatchesAreReported() async throws {
        let actual = try await TranscriptScenario.run()
        var altered = actual
        if let index = altered.firstIndex(where: { $0.hasPrefix("<< ") && $0.contains("90 00") }) {
            altered[index] = altered[index].replacingOccurrences(of: "90 00", with: "6A 80")
        }
        #expect(TranscriptScenario.firstMismatch(expected: altered, actual: actual) != nil)
        #expect(TranscriptScenario.firstMismatch(expected: Array(actual.dropLast()), actual: actual) != nil)
    }
}
