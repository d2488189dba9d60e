import Crypto
import Foundation
import SealConformance
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Testing

/// The whole conformance suite against the in-process simulated chip, with every requirement
/// supplied: the test issuer key, fresh tokens from the simulated factory (with power-loss
/// injection) and a remote-authorization token.
@Suite("In-process conformance run")
struct InProcessConformanceTests {
    static func issuerKey() throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
    }

    /// A new MANUFACTURED simulated token in memory, under the test vendor CA and test issuer key,
    /// with the size limits of `capabilities`.
    static func manufacture(_ capabilities: SealCapabilities = .reference) throws -> InProcessTransport {
        let backing = InMemoryBackingStore()
        try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(), issuerPublicKey: try issuerKey().publicKey)
        return try InProcessTransport(name: "simulated fresh token", backing: backing, capabilities: capabilities)
    }

    /// A new ACTIVE simulated token personalized with `data`.
    static func personalized(_ data: PersonalizationData, _ capabilities: SealCapabilities = .reference) async throws -> InProcessTransport {
        let transport = try manufacture(capabilities)
        try await TokenFactory.personalize(transport: transport, issuerKey: try issuerKey(), data: data, activate: true)
        return transport
    }

    static func target(tokenUnderTest: InProcessTransport, capabilities: SealCapabilities = .reference) throws -> ConformanceTarget {
        ConformanceTarget(
            name: "SealKit in-process simulator",
            openToken: { tokenUnderTest },
            pin: TestCredentials.defaultPIN,
            puk: TestCredentials.defaultPUK,
            issuerSigner: P256IssuerSigner(privateKey: try issuerKey()),
            vendorRoots: [try VendorCA.testVendor().certificate],
            makeFreshToken: { try manufacture(capabilities) },
            makeRemoteAuthorizationToken: {
                let authority = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.remoteAuthorityKeyPEM)
                var data = TokenStore.defaultPersonalization(watermarkKey: SealConformance.SuiteData.randomBytes(32))
                data.remoteAuthorityKey = Array(authority.publicKey.x963Representation)
                data.requiresRemoteAuthorization = true
                return (try await personalized(data, capabilities), authority, data.pin)
            },
            isSimulator: true)
    }

    /// The reference chip, and a chip at the spec's minimums (SPEC §3.5: 512-byte chain buffer,
    /// 1024-byte responses, no extended length), which the suite adapts to: its cases check the
    /// refusal of what the chip does not offer rather than skip.
    @Test(.timeLimit(.minutes(20)), arguments: ["reference", "constrained"])
    func wholeSuitePassesAgainstTheSimulator(profile: String) async throws {
        let capabilities: SealCapabilities = profile == "constrained" ? .constrained : .reference
        let tokenUnderTest = try await Self.personalized(TokenStore.defaultPersonalization(watermarkKey: SuiteData.randomBytes(32)), capabilities)
        let probe = SealToken(transport: tokenUnderTest, secureChannel: .testVendorRoot)
        #expect(try await probe.connect() == capabilities, "GET DATA 0105 reports the profile's limits")
        #expect(await probe.pipelineConfiguration.extendedLength == capabilities.features.contains(.extendedLength))
        await probe.disconnect()
        let target = try Self.target(tokenUnderTest: tokenUnderTest, capabilities: capabilities)
        #expect(target.offeredRequirements == Set(ConformanceRequirement.allCases))

        let before = try await Self.snapshot(tokenUnderTest)
        let report = await ConformanceRunner().run(target: target)
        for failure in report.failures {
            Issue.record("\(failure.id) \(failure.specSection) \(failure.title): \(failure.detail)")
        }
        for skipped in report.results where skipped.outcome == .skip {
            Issue.record("\(skipped.id) skipped: \(skipped.detail)")
        }
        let (passed, failed, skipped) = (report.passed, report.failed, report.skipped)
        let allMandatoryPassed = report.allMandatoryPassed
        let summary = report.summaryLine
        #expect(failed == 0)
        #expect(skipped == 0)
        #expect(passed >= 80)
        #expect(passed == ConformanceCatalog.all.count)
        #expect(allMandatoryPassed)
        #expect(report.chipIDHex.count == 32)
        #expect(summary == "\(passed) passed, 0 failed, 0 skipped")

        // Every report format renders the real run.
        #expect(try JSONSerialization.jsonObject(with: try report.json()) is [String: Any])
        #expect(report.junitXML().components(separatedBy: "<testcase ").count - 1 == report.results.count)
        #expect(report.markdown().components(separatedBy: "\n| pass | SEAL-").count - 1 == passed)

        // The token under test is left as documented: counter advanced by the catalog's stamps,
        // PIN and PUK counters at their limits, same PIN, still ACTIVE.
        let after = try await Self.snapshot(tokenUnderTest)
        #expect(after.counter == before.counter + UInt32(ConformanceCatalog.totalConsumption.stamps))
        #expect(after.lifecycle == LifecycleState.active)
        #expect(after.pinStatus == before.pinStatus)
        #expect(after.pinStatus?.pinTriesRemaining == after.pinStatus?.pinTryLimit)
        #expect(after.pinStatus?.pukTriesRemaining == after.pinStatus?.pukTryLimit)
        let token = SealToken(transport: tokenUnderTest, secureChannel: .testVendorRoot)
        _ = try await token.connect()
        try await token.verifyPIN(TestCredentials.defaultPIN)
        await token.disconnect()
    }

    static func snapshot(_ transport: InProcessTransport) async throws -> SealTokenInfo {
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        _ = try await token.connect()
        let info = try await token.info()
        await token.disconnect()
        return info
    }
}
