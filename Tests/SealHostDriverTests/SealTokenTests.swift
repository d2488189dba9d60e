import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Testing
import X509

/// A token over the fake applet, with the keys and CA needed to check its records.
struct TokenHarness {
    let fixture: StampFixture
    let issuer: P256IssuerSigner
    let transport: ScriptedTransport
    let token: SealToken
    let events: EventLog<APDUTraceEvent>

    static let pin = "123456"
    static let puk = "12345678"

    init(atr: [UInt8] = TestATR.reference, configuration: APDUPipelineConfiguration = .init()) throws {
        let fixture = try StampFixture()
        let issuer = P256IssuerSigner(privateKey: P256.Signing.PrivateKey())
        let chip = FakeSealChip(chipID: fixture.chipID, deviceKey: fixture.deviceKey,
                                deviceCertificate: fixture.deviceCertificate, issuerPublicKey: issuer.publicKeyX963, atr: atr)
        let transport = ScriptedTransport(chip: chip)
        let events = EventLog<APDUTraceEvent>()
        self.events = events
        self.fixture = fixture
        self.issuer = issuer
        self.transport = transport
        // The fake applet speaks the protocol without the secure channel (SPEC §14); the real
        // chip's channel is tested through SimulatedTestToken.
        self.token = SealToken(transport: transport, configuration: configuration, trace: { events.append($0) },
                               secureChannel: .plain)
    }

    func personalization(remoteAuthorityKey: [UInt8]? = nil) -> PersonalizationData {
        PersonalizationData(
            organizationName: "Example Registry", sealName: "Official Seal", featureHash: fixture.featureHash,
            pin: Self.pin, puk: Self.puk, remoteAuthorityKey: remoteAuthorityKey,
            requiresRemoteAuthorization: remoteAuthorityKey != nil,
            watermarkValiditySeconds: UInt32(StampFixture.validity), watermarkKey: fixture.watermarkKey)
    }

    /// Connects, personalizes, activates and verifies the PIN.
    @discardableResult
    func ready(remoteAuthorityKey: [UInt8]? = nil) async throws -> [UInt8] {
        try await token.connect()
        try await token.authenticateIssuer(using: issuer)
        let key = try await token.personalize(personalization(remoteAuthorityKey: remoteAuthorityKey))
        try await token.authenticateIssuer(using: issuer)
        try await token.setLifecycle(.active)
        try await token.verifyPIN(Self.pin)
        return key
    }

    func verify(_ record: StampRecord, document: [UInt8]? = nil) async -> StampVerificationReport {
        await fixture.verifier.verify(record, document: document ?? fixture.document,
                                      options: StampVerificationOptions(now: StampFixture.now, watermarkKey: fixture.watermarkKey))
    }

    var digest: [UInt8] { Array(SHA256.hash(data: fixture.document)) }

    func chipLog() async -> [CommandAPDU] { await transport.chip?.log ?? [] }
}

let stampMetadata = StampMetadata(time: StampFixture.stampTime, operatorID: "clerk-1")

/// Metadata whose `A1` encoding makes the STAMP data field longer than 255 bytes.
let longMetadata = StampMetadata(
    time: StampFixture.stampTime, latitudeMicrodegrees: -33_856_784, longitudeMicrodegrees: 151_215_297,
    operatorID: String(repeating: "o", count: 64), deviceFingerprint: [UInt8](repeating: 0xF0, count: 64),
    organizationUnit: String(repeating: "u", count: 64), approvalNode: String(repeating: "n", count: 64))

@Suite("SealToken over a fake applet")
struct SealTokenTests {
    // MARK: Session

    @Test func connectConfiguresThePipelineFromATRAndCapabilities() async throws {
        let harness = try TokenHarness()
        let capabilities = try await harness.token.connect()
        #expect(capabilities == SealCapabilities())
        let configuration = await harness.token.pipelineConfiguration
        #expect(configuration.extendedLength)
        #expect(configuration.commandChaining)
        #expect(configuration.maxCommandData == 4096)
        #expect(await harness.token.answerToReset?.bytes == TestATR.reference)
        #expect(harness.events.all.first?.decoded == "SELECT seal applet, Nc=9, Ne=65536, extended")

        let chainingOnly = try TokenHarness(atr: TestATR.chainingOnly)
        try await chainingOnly.token.connect()
        #expect(await chainingOnly.token.pipelineConfiguration.extendedLength == false)
        #expect(chainingOnly.events.all.first?.decoded == "SELECT seal applet, Nc=9, Ne=256")
    }

    @Test func connectToACardWithoutTheAppletFails() async throws {
        let transport = ScriptedTransport { _ in answer([], 0x6A82) }
        let error = await #expect(throws: SealDriverError.self) { try await SealToken(transport: transport, secureChannel: .testVendorRoot).connect() }
        #expect(error?.statusWord == .fileNotFound)
        #expect(error?.command == "SELECT")
    }

    @Test func garbageATRIsAMalformedResponse() async throws {
        let transport = ScriptedTransport(atr: [0x12, 0x34], responses: [])
        await #expect(throws: SealDriverError(code: .malformedResponse, reason: "")) {
            try await SealToken(transport: transport, secureChannel: .testVendorRoot).connect()
        }
    }

    @Test func operationsBeforeConnectAreRejected() async throws {
        let harness = try TokenHarness()
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) { _ = try await harness.token.info() }
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) { try await harness.token.verifyPIN("123456") }
        try await harness.token.connect()
        await harness.token.disconnect()
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) { _ = try await harness.token.chipID() }
    }

    @Test func infoOfAManufacturedToken() async throws {
        let harness = try TokenHarness()
        try await harness.token.connect()
        let info = try await harness.token.info()
        #expect(info.chipID == harness.fixture.chipID)
        #expect(info.chipIDHex == hexString(harness.fixture.chipID))
        #expect(info.lifecycle == .manufactured)
        #expect(info.counter == 0)
        #expect(info.pinStatus == nil)
        #expect(info.personalization == nil)
        #expect(info.sealPublicKey == nil)
        #expect(info.sealKeyID == nil)
        #expect(info.answerToReset == TestATR.reference)
        #expect(try await harness.token.deviceCertificateDER() == harness.fixture.deviceCertificate)
    }

    // MARK: Issuer

    @Test func personalizationLifecycleAndInfo() async throws {
        let harness = try TokenHarness()
        let key = try await harness.ready()
        let info = try await harness.token.info()
        #expect(info.lifecycle == .active)
        #expect(info.sealPublicKey == key)
        #expect(info.sealKeyID == sealKeyID(publicKeyX963: key))
        #expect(info.personalization?.organizationName == "Example Registry")
        #expect(info.pinStatus == PINStatus(pinTriesRemaining: 3, pinTryLimit: 3, pukTriesRemaining: 10, pukTryLimit: 10))
        #expect(await harness.transport.maxOpenTransactions == 1)
    }

    @Test func personalizeNeedsIssuerAuthentication() async throws {
        let harness = try TokenHarness()
        try await harness.token.connect()
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await harness.token.personalize(harness.personalization())
        }
        #expect(error?.isSecurityStatusNotSatisfied == true)
    }

    @Test func wrongIssuerKeyIsRejectedByTheChip() async throws {
        let harness = try TokenHarness()
        try await harness.token.connect()
        let error = await #expect(throws: SealDriverError.self) {
            try await harness.token.authenticateIssuer(using: P256IssuerSigner(privateKey: P256.Signing.PrivateKey()))
        }
        #expect(error?.statusWord == .authenticationFailed)
        #expect(error?.command == "EXTERNAL AUTHENTICATE")
    }

    struct FailingSigner: IssuerSigner {
        struct HSMDown: Error {}
        func sign(_ tbs: [UInt8]) async throws -> [UInt8] { throw HSMDown() }
    }

    @Test func signerFailureIsReported() async throws {
        let harness = try TokenHarness()
        try await harness.token.connect()
        await #expect(throws: SealDriverError(code: .issuerSigningFailed, reason: "")) {
            try await harness.token.authenticateIssuer(using: FailingSigner())
        }
    }

    @Test func invalidPersonalizationIsRejectedBeforeSending() async throws {
        let harness = try TokenHarness()
        try await harness.token.connect()
        try await harness.token.authenticateIssuer(using: harness.issuer)
        var data = harness.personalization()
        data.pin = "12"
        let before = await harness.chipLog().count
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) { _ = try await harness.token.personalize(data) }
        #expect(await harness.chipLog().count == before)
    }

    // MARK: PIN

    @Test func pinLifecycle() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        try await harness.token.logout()
        #expect(try await harness.token.isPINVerified() == false)

        let error = await #expect(throws: SealDriverError.self) { try await harness.token.verifyPIN("000000") }
        #expect(error?.isPINIncorrect == true)
        #expect(error?.triesRemaining == 2)
        #expect(try await harness.token.pinStatus().pinTriesRemaining == 2)

        try await harness.token.verifyPIN(TokenHarness.pin)
        #expect(try await harness.token.isPINVerified())
        #expect(try await harness.token.pinStatus().pinTriesRemaining == 3)

        try await harness.token.changePIN(current: TokenHarness.pin, new: "654321")
        try await harness.token.logout()
        try await harness.token.verifyPIN("654321")

        for _ in 0..<3 { _ = try? await harness.token.verifyPIN("000000") }
        let blocked = await #expect(throws: SealDriverError.self) { try await harness.token.verifyPIN("654321") }
        #expect(blocked?.isBlocked == true)

        try await harness.token.unblockPIN(puk: TokenHarness.puk, newPIN: "111111")
        #expect(try await harness.token.isPINVerified() == false)
        try await harness.token.verifyPIN("111111")
    }

    @Test func malformedPINsAreRejectedWithoutSpendingATry() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        let before = await harness.chipLog().count
        for pin in ["123", "1234567890123", "12a4"] {
            await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) { try await harness.token.verifyPIN(pin) }
        }
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) {
            try await harness.token.unblockPIN(puk: "123", newPIN: "1234")
        }
        #expect(await harness.chipLog().count == before)
    }

    // MARK: Stamping

    @Test func stampProducesARecordThatVerifiesOffline() async throws {
        let harness = try TokenHarness()
        let key = try await harness.ready()
        let record = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata)
        #expect(record.counter == 1)
        #expect(record.sealPublicKey == key)
        #expect(record.deviceCertificate == harness.fixture.deviceCertificate)
        #expect(record.organizationName == "Example Registry")
        #expect(record.sealName == "Official Seal")
        #expect(record.grantSerial == 0)
        let report = await harness.verify(record)
        #expect(report.isValid, "\(report)")
        #expect(try StampRecord(jsonData: record.jsonData()) == record)
    }

    @Test func staticRecordPartsAreCachedAfterTheFirstStamp() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        let first = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata)
        let second = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata)
        #expect(second.counter == first.counter + 1)
        let log = await harness.chipLog()
        let certificateReads = log.filter { $0.ins == 0xCA && $0.p1 == 0x01 && $0.p2 == 0x06 }
        let attestations = log.filter { $0.ins == SealInstruction.getAttestation.rawValue }
        #expect(certificateReads.count == 1)
        #expect(attestations.count == 2)  // a fresh, stamp-bound attestation each time
        #expect(await harness.verify(second).isValid)
    }

    @Test func longStampCommandsUseExtendedLengthOrChaining() async throws {
        // Extended length token: one STAMP APDU in extended form.
        let extended = try TokenHarness()
        try await extended.ready()
        let record = try await extended.token.stamp(documentDigest: extended.digest, metadata: longMetadata)
        let stamps = await extended.chipLog().filter { $0.ins == SealInstruction.stamp.rawValue }
        #expect(stamps.count == 1)
        #expect(stamps.first?.encodingForm == .extended)
        #expect((stamps.first?.data.count ?? 0) > 255)
        #expect(await extended.verify(record).isValid)

        // Chaining-only token: a chain of short APDUs, and long responses come through GET RESPONSE.
        let chained = try TokenHarness(atr: TestATR.chainingOnly)
        try await chained.ready()
        let chainedRecord = try await chained.token.stamp(documentDigest: chained.digest, metadata: longMetadata)
        let parts = await chained.chipLog().filter { $0.ins == SealInstruction.stamp.rawValue }
        #expect(parts.map(\.cla) == [0x90, 0x80])
        #expect(parts.allSatisfy { $0.encodingForm == .short })
        #expect(await chained.chipLog().contains { $0.ins == SealInstruction.getResponse.rawValue })
        #expect(await chained.verify(chainedRecord).isValid)
    }

    @Test func stampWithoutPINIsRefused() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        try await harness.token.logout()
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata)
        }
        #expect(error?.isSecurityStatusNotSatisfied == true)
        #expect(error?.command == "STAMP")
    }

    @Test func stampArgumentsAreValidatedBeforeSending() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) {
            _ = try await harness.token.stamp(documentDigest: [1, 2, 3], metadata: stampMetadata)
        }
        var bad = stampMetadata
        bad.latitudeMicrodegrees = 1  // latitude without longitude
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) {
            _ = try await harness.token.stamp(documentDigest: harness.digest, metadata: bad)
        }
    }

    @Test func remoteAuthorizationGrantIsCarried() async throws {
        let authority = P256.Signing.PrivateKey()
        let harness = try TokenHarness()
        try await harness.ready(remoteAuthorityKey: Array(authority.publicKey.x963Representation))
        let refused = await #expect(throws: SealDriverError(code: .statusWord, reason: "")) {
            _ = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata)
        }
        #expect(refused?.statusWord == .securityStatusNotSatisfied)
        var grant = AuthorizationGrant(serial: 41, kind: .document, firstCounter: 1, lastCounter: 1,
                                       documentDigest: harness.digest, signature: [])
        grant.signature = Array(try authority.signature(for: grant.signedBytes(chipID: harness.fixture.chipID)).derRepresentation)
        let record = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata, grant: grant)
        #expect(record.grantSerial == 41)
        #expect(await harness.verify(record).isValid)
    }

    // MARK: Recovery and audit

    @Test func lostStampResponseIsRecoveredFromTheAuditLog() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        _ = try await harness.token.stamp(documentDigest: Array(SHA256.hash(data: [1])), metadata: stampMetadata)
        await harness.transport.updateChip { $0.loseNextStampResponse = true }
        await #expect(throws: SealDriverError(code: .noResponse, reason: "")) {
            _ = try await harness.token.stamp(documentDigest: harness.digest, metadata: longMetadata)
        }
        let record = try await harness.token.recoverStamp(documentDigest: harness.digest, metadata: longMetadata)
        #expect(record.counter == 2)
        #expect(record.metadata == longMetadata)
        #expect(await harness.verify(record).isValid)
    }

    @Test func recoveryRefusesAnotherDocumentOrAnEmptyLog() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        await #expect(throws: SealDriverError(code: .stampNotRecoverable, reason: "")) {
            _ = try await harness.token.recoverStamp(documentDigest: harness.digest, metadata: stampMetadata)
        }
        _ = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata)
        await #expect(throws: SealDriverError(code: .stampNotRecoverable, reason: "")) {
            _ = try await harness.token.recoverStamp(documentDigest: Array(SHA256.hash(data: [9])), metadata: stampMetadata)
        }
        var otherTime = stampMetadata
        otherTime.time += 1
        await #expect(throws: SealDriverError(code: .stampNotRecoverable, reason: "")) {
            _ = try await harness.token.recoverStamp(documentDigest: harness.digest, metadata: otherTime)
        }
    }

    @Test func auditLogIsReadOldestFirstAndChecked() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        #expect(try await harness.token.auditLog().isEmpty)
        var records: [StampRecord] = []
        for index in 0..<3 {
            records.append(try await harness.token.stamp(documentDigest: Array(SHA256.hash(data: [UInt8(index)])),
                                                         metadata: stampMetadata))
        }
        let entries = try await harness.token.auditLog()
        #expect(entries.map(\.counter) == [1, 2, 3])
        #expect(entries.map(\.signature) == records.map(\.signature))
        let status = try await harness.token.auditStatus()
        #expect(status.oldestCounter == 1)
        #expect(status.newestCounter == 3)
        #expect(try await harness.token.auditEntry(counter: 0) == entries[2])
        #expect(try await harness.token.auditEntry(counter: 2) == entries[1])
        let missing = await #expect(throws: SealDriverError.self) { _ = try await harness.token.auditEntry(counter: 9) }
        #expect(missing?.isReferencedDataNotFound == true)

        await harness.transport.updateChip { $0.corruptAuditSignatures = true }
        await #expect(throws: SealDriverError(code: .auditChainBroken, reason: "")) { _ = try await harness.token.auditLog() }
    }

    @Test func auditLogOfATerminatedTokenNeedsTheSealKey() async throws {
        let harness = try TokenHarness()
        let key = try await harness.ready()
        _ = try await harness.token.stamp(documentDigest: harness.digest, metadata: stampMetadata)
        try await harness.token.authenticateIssuer(using: harness.issuer)
        try await harness.token.setLifecycle(.terminated)

        // A fresh token object has no cached seal key, and the chip has zeroized its key.
        let fresh = SealToken(transport: harness.transport, secureChannel: .plain)
        try await fresh.connect()
        await #expect(throws: SealDriverError(code: .notSupportedByToken, reason: "")) { _ = try await fresh.auditLog() }
        #expect(try await fresh.auditLog(sealPublicKey: key).count == 1)
        #expect(try await fresh.info().lifecycle == .terminated)
    }

    // MARK: Attestation and raw access

    @Test func attestationCarriesTheNonceAndIsSignedByTheDeviceKey() async throws {
        let harness = try TokenHarness()
        let key = try await harness.ready()
        let nonce = [UInt8](repeating: 0x5A, count: 32)
        let attestation = try await harness.token.attestation(nonce: nonce)
        #expect(attestation.statement.nonce == nonce)
        #expect(attestation.statement.sealPublicKey == key)
        #expect(attestation.statement.keyPolicy.contains(.generatedOnChip))
        #expect(attestation.isSigned(by: try Certificate(derEncoded: harness.fixture.deviceCertificate)))
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) {
            _ = try await harness.token.attestation(nonce: [UInt8](repeating: 0, count: 33))
        }
    }

    @Test func rawAccessBypassesThePipeline() async throws {
        let harness = try TokenHarness(atr: TestATR.chainingOnly)
        try await harness.token.connect()
        // The device certificate is longer than 256 bytes: raw access sees the 61xx itself.
        let raw = try await harness.token.transmitRaw(SealCommand.getData(.deviceCertificate))
        #expect(raw.statusWord.bytesRemaining != nil)
        #expect(raw.data.count == 256)
        let bytes = try await harness.token.transmitRaw(bytes: [0x00, 0xC0, 0x00, 0x00, 0x00])
        #expect(bytes.count > 2)
        let sent = try await harness.token.send(SealCommand.getData(.deviceCertificate))
        #expect(sent.data == harness.fixture.deviceCertificate)
    }

    @Test func resetForgetsThePINOnTheChip() async throws {
        let harness = try TokenHarness()
        try await harness.ready()
        try await harness.token.reset()
        #expect(try await harness.token.isPINVerified() == false)
    }

    // MARK: Serialization

    @Test func concurrentOperationsDoNotInterleave() async throws {
        let harness = try TokenHarness()
        try await harness.token.connect()
        // Each issuer authentication is GET CHALLENGE then EXTERNAL AUTHENTICATE; interleaving two
        // would replace the pending challenge and make the chip answer 6300 or 6985.
        let token = harness.token
        let issuer = harness.issuer
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { try await token.authenticateIssuer(using: issuer) }
                group.addTask { _ = try await token.info() }
            }
            try await group.waitForAll()
        }
        #expect(await harness.transport.maxOpenTransactions == 1)
        #expect(await harness.transport.openTransactions == 0)
    }
}
