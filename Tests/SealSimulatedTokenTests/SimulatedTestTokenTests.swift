import Foundation
import SealHostDriver
import SealSimulatedToken
import Testing

/// The one-call token integrators' tests start from.
@Suite("SimulatedTestToken")
struct SimulatedTestTokenTests {
    @Test func aFreshTokenIsActiveStampsAndVerifiesAgainstTheTestRoot() async throws {
        let simulated = try await SimulatedTestToken.make()
        let token = simulated.token
        try await token.connect()
        let info = try await token.info()
        #expect(info.lifecycle == .active)
        #expect(info.chipID == simulated.chipID)
        #expect(info.personalization?.organizationName == "SealKit Demo Co.")

        try await token.verifyPIN(SimulatedTestToken.pin)
        let document = Array("A document stamped in a test\n".utf8)
        let record = try await token.stamp(document: document, metadata: StampMetadata(time: UInt64(Date().timeIntervalSince1970)))
        #expect(record.chipID == simulated.chipID)

        let options = StampVerificationOptions(watermarkKey: simulated.watermarkKey)
        let report = await SimulatedTestToken.verifier.verify(record, document: document, options: options)
        #expect(report.isValid, "\(report)")
        #expect(report.check(.expirationCode)?.outcome == .passed)
        #expect(SimulatedTestToken.verifier.trustedRoots == [try VendorCA.testVendor().certificate])
        await token.close()
    }

    @Test func eachCallMakesAFreshChip() async throws {
        let first = try await SimulatedTestToken.make()
        let second = try await SimulatedTestToken.make()
        #expect(first.chipID != second.chipID)
        #expect(first.watermarkKey != second.watermarkKey)
        // Wrong PINs count down on one chip only.
        try await first.token.connect()
        let wrong = await #expect(throws: SealDriverError.self) { try await first.token.verifyPIN("000000") }
        #expect(wrong?.isPINIncorrect == true)
        #expect(wrong?.triesRemaining == 2)
        try await second.token.connect()
        #expect(try await second.token.pinStatus().pinTriesRemaining == 3)
    }

    @Test func aCustomPersonalizationIsUsedAndABadOneRefused() async throws {
        var data = SimulatedTestToken.defaultPersonalization(watermarkKey: [UInt8](repeating: 7, count: 32))
        data.pin = "246800"
        let custom = try await SimulatedTestToken.make(personalization: data)
        try await custom.token.connect()
        try await custom.token.verifyPIN("246800")
        #expect(custom.watermarkKey == [UInt8](repeating: 7, count: 32))

        data.pin = "12"
        await #expect(throws: SimulatorError(code: .personalization, reason: "")) {
            _ = try await SimulatedTestToken.make(personalization: data)
        }
    }
}
