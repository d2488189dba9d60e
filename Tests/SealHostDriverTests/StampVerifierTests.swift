import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import Testing

@Suite("StampVerifier")
struct StampVerifierTests {
    // MARK: Positive

    @Test func validRecordPassesEveryCheck() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        record.timestampToken = try TestTSA.token(for: record.signature)
        var verifier = fixture.verifier
        verifier.timestampRoots = [try TestTSA.root]
        let report = await verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(report.timestampBound != nil)
        #expect(report.isValid, "\(report)")
        #expect(report.checks.map(\.id) == StampVerificationCheck.ID.allCases)
        #expect(report.checks.allSatisfy { $0.passed }, "\(report)")
        #expect(report.firstFailure == nil)
        try report.throwIfInvalid()
    }

    @Test func optionalChecksAreSkippedWithoutTheirInputs() async throws {
        let fixture = try StampFixture()
        let report = await fixture.verifier.verify(try fixture.record(), document: fixture.document,
                                                   options: StampVerificationOptions(now: StampFixture.now))
        #expect(report.isValid)
        #expect(report.check(.expirationCode)?.outcome == .skipped)
        #expect(report.check(.counterFreshness)?.outcome == .skipped)
        #expect(report.failures.isEmpty)
    }

    @Test func verifiesAgainstADigestAndFromPEMOrDER() async throws {
        let fixture = try StampFixture()
        let record = try fixture.record()
        let digest = Array(SHA256.hash(data: fixture.document))
        let fromPEM = try StampVerifier(trustedRootsPEM: try fixture.ca.pem)
        #expect(await fromPEM.verify(record, documentDigest: digest, options: fixture.fullOptions).isValid)
        let fromDER = try StampVerifier(trustedRootsDER: [try fixture.ca.der])
        #expect(await fromDER.verify(record, documentDigest: digest, options: fixture.fullOptions).isValid)
    }

    @Test func roundTrippedJSONStillVerifies() async throws {
        let fixture = try StampFixture()
        let record = try StampRecord(jsonData: try fixture.record().jsonData())
        #expect(await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions).isValid)
    }

    @Test func validateThrowsTheFirstFailure() async throws {
        let fixture = try StampFixture()
        let record = try fixture.record()
        let error = await #expect(throws: SealDriverError(code: .stampInvalid, reason: "")) {
            try await fixture.verifier.validate(record, document: fixture.document + [0], options: fixture.fullOptions)
        }
        #expect(error?.failedCheck == .documentDigest)
        #expect(error?.message.contains("document-digest") == true)
        try await fixture.verifier.validate(record, document: fixture.document, options: fixture.fullOptions)
    }

    // MARK: The negative cases named in the brief

    @Test func flippedDocumentByteFails() async throws {
        let fixture = try StampFixture()
        let report = await fixture.verifier.verify(try fixture.record(), document: fixture.document.flipping(at: 5),
                                                   options: fixture.fullOptions)
        #expect(report.failures.map(\.id) == [.documentDigest])
        #expect(report.firstFailure?.id == .documentDigest)
    }

    @Test func flippedSignatureByteFails() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        record.signature = record.signature.flipping(at: -1)
        let report = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(report.check(.stampSignature)?.outcome == .failed)
        #expect(report.firstFailure?.id == .stampSignature)
    }

    @Test func flippedMetadataByteFails() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        record.metadataEncoding = record.metadataEncoding.flipping(at: -1)  // last byte of approval node
        let report = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(Set(report.failures.map(\.id)) == [.metadataEncoding, .metadataDigest])
    }

    @Test func wrongRootFails() async throws {
        let fixture = try StampFixture()
        let otherRoot = try TestCA(commonName: "SealKit Test Vendor Root")  // same name, different key
        let report = await StampVerifier(trustedRoots: [otherRoot.certificate])
            .verify(try fixture.record(), document: fixture.document, options: fixture.fullOptions)
        #expect(report.failures.map(\.id) == [.deviceCertificateChain])
    }

    @Test func expiredStampFails() async throws {
        let fixture = try StampFixture()
        let record = try fixture.record()
        var options = fixture.fullOptions
        options.now = Date(timeIntervalSince1970: TimeInterval(record.expiry + 1))
        let report = await fixture.verifier.verify(record, document: fixture.document, options: options)
        #expect(report.failures.map(\.id) == [.notExpired])
        options.now = Date(timeIntervalSince1970: TimeInterval(record.expiry))
        #expect(await fixture.verifier.verify(record, document: fixture.document, options: options).isValid)
    }

    @Test func expiredDeviceCertificateFails() async throws {
        let fixture = try StampFixture()
        var parameters = StampFixture.Parameters()
        parameters.deviceCertificate = try fixture.ca.deviceCertificate(
            serialNumber: hexString(fixture.chipID), publicKey: fixture.deviceKey.publicKey,
            notValidAfter: Date(timeIntervalSince1970: 1_750_000_000))
        let report = await fixture.verifier.verify(try fixture.record(parameters), document: fixture.document,
                                                   options: fixture.fullOptions)
        #expect(report.failures.map(\.id) == [.deviceCertificateChain])
    }

    @Test func counterNotGreaterThanLastSeenFails() async throws {
        let fixture = try StampFixture()
        let record = try fixture.record()
        var options = fixture.fullOptions
        options.lastSeenCounter = record.counter
        #expect(await fixture.verifier.verify(record, document: fixture.document, options: options).failures.map(\.id)
                == [.counterFreshness])
        options.lastSeenCounter = record.counter + 5
        #expect(await fixture.verifier.verify(record, document: fixture.document, options: options).failures.map(\.id)
                == [.counterFreshness])
    }

    // MARK: Every check fails when its input changes

    /// For each check, a scenario that changes that check's input and nothing else where possible.
    @Test(arguments: StampVerificationCheck.ID.allCases)
    func everyCheckFailsWhenItsInputChanges(id: StampVerificationCheck.ID) async throws {
        let fixture = try StampFixture()
        var parameters = StampFixture.Parameters()
        var options = fixture.fullOptions
        var document = fixture.document
        var verifier = fixture.verifier
        var edit: (inout StampRecord) -> Void = { _ in }
        /// Checks that must also fail for this scenario (their input changes too).
        var alsoFailing: Set<StampVerificationCheck.ID> = []
        /// The record's timestamp token (the test TSA's, over the stamp signature, unless a case
        /// makes another).
        var timestamp: (StampRecord) throws -> [UInt8] = { try TestTSA.token(for: $0.signature) }
        verifier.timestampRoots = [try TestTSA.root]

        switch id {
        case .recordFormat:
            edit = { $0.formatVersion = 1 }
        case .documentDigest:
            document = document.flipping(at: 0)
        case .metadataEncoding:
            edit = { $0.metadata.approvalNode = "node-4" }  // fields no longer encode to the signed A1 value
        case .personalData:
            // The shown commitment stays, the opening changes: only the opening is wrong.
            edit = { record in
                record.metadata.withheldCommitments[.operatorID] = record.metadata.commitment(for: .operatorID)
                record.metadata.operatorID = "op-18"
            }
        case .metadataDigest:
            edit = { $0.metadataDigest = $0.metadataDigest.flipping(at: 3) }
            alsoFailing = [.stampSignature]
        case .keyID:
            edit = { $0.keyID = $0.keyID.flipping(at: 0) }
            alsoFailing = [.stampSignature, .attestationKeyID]
        case .serialFormat:
            edit = { record in
                var characters = Array(record.serial)
                characters[0] = characters[0] == "Z" ? "Y" : "Z"
                record.serial = String(characters)
            }
            alsoFailing = [.serialChip, .serialCounter, .stampSignature, .expirationCode]
        case .serialChip:
            parameters.serial = Watermark.serial(chipID: [UInt8](repeating: 9, count: 16), counter: parameters.counter)
        case .serialCounter:
            parameters.serial = Watermark.serial(chipID: fixture.chipID, counter: parameters.counter + 1)
        case .expirationCodeFormat:
            parameters.expirationCode = "1234567A"
            alsoFailing = [.expirationCode]
        case .expirationCode:
            parameters.expirationCode = Watermark.expirationCode(
                watermarkKey: [UInt8](repeating: 1, count: 32),
                serial: Watermark.serial(chipID: fixture.chipID, counter: parameters.counter),
                expiry: StampFixture.stampTime + StampFixture.validity)
        case .expiryAfterStampTime:
            parameters.expiry = StampFixture.stampTime
            options.now = Date(timeIntervalSince1970: TimeInterval(StampFixture.stampTime - 10))
        case .notExpired:
            options.now = Date(timeIntervalSince1970: TimeInterval(StampFixture.stampTime + StampFixture.validity + 1))
        case .stampSignature:
            edit = { $0.signature = $0.signature.flipping(at: -1) }
            alsoFailing = [.attestationBinding, .timestampImprint]
        case .deviceCertificateChain:
            verifier = StampVerifier(trustedRoots: [try TestCA().certificate])
        case .deviceCertificateChipID:
            parameters.deviceCertificate = try fixture.ca.deviceCertificate(
                serialNumber: hexString(fixture.chipID.flipping(at: 15)), publicKey: fixture.deviceKey.publicKey)
        case .deviceCertificateProfile:
            parameters.deviceCertificate = try fixture.ca.deviceCertificate(
                serialNumber: hexString(fixture.chipID), publicKey: fixture.deviceKey.publicKey, digitalSignature: false)
        case .attestationFormat:
            edit = { $0.attestationStatement.removeLast() }
            alsoFailing = [.attestationSignature, .attestationChipID, .attestationSealKey, .attestationKeyID,
                           .attestationFeatureHash, .attestationKeyPolicy, .attestationBinding]
        case .attestationSignature:
            edit = { $0.attestationSignature = $0.attestationSignature.flipping(at: -1) }
        case .attestationChipID:
            parameters.attestationChipID = fixture.chipID.flipping(at: 0)
        case .attestationSealKey:
            parameters.attestationSealKey = Array(P256.Signing.PrivateKey().publicKey.x963Representation)
        case .attestationKeyID:
            parameters.attestationKeyID = [UInt8](repeating: 0x11, count: 32)
        case .attestationFeatureHash:
            parameters.attestationFeatureHash = [UInt8](repeating: 0x22, count: 32)
        case .attestationKeyPolicy:
            parameters.keyPolicy = [.neverExportable, .pinRequired]
        case .attestationBinding:
            parameters.attestationNonce = [UInt8](repeating: 0x33, count: 32)
        case .counterFreshness:
            options.lastSeenCounter = parameters.counter
        case .timestampImprint:
            timestamp = { try TestTSA.token(for: $0.signature.flipping(at: 0)) }  // a token over another signature
        case .timestampSignature:
            // A changed token: one byte of the signed TSTInfo (the nonce's last) differs.
            timestamp = { record in
                let nonce: [UInt8] = [0x5E, 0xA1, 0x4B, 0x17, 0x00, 0x42]
                var token = try TestTSA.token(for: record.signature, nonce: nonce)
                guard let at = token.firstRange(of: [0x02, UInt8(nonce.count)] + nonce) else {
                    Issue.record("the nonce is not in the token")
                    return token
                }
                token[at.upperBound - 1] ^= 0x01
                return token
            }
        case .timestampAuthority:
            verifier.timestampRoots = [try TestCA().certificate]  // a root that did not certify the TSA
        default:
            Issue.record("no scenario for \(id)")
            return
        }

        var record = try fixture.record(parameters)
        record.timestampToken = try timestamp(record)
        edit(&record)
        let report = await verifier.verify(record, document: document, options: options)
        #expect(report.check(id)?.outcome == .failed, "\(report)")
        #expect(!report.isValid)
        #expect(Set(report.failures.map(\.id)).subtracting(alsoFailing) == [id], "\(report)")
    }

    /// Finding 13: everything a record shows about the seal is signed; a changed value fails the
    /// stamp signature and nothing else.
    @Test(arguments: ["organization", "seal name", "seal image hash", "no seal image hash", "feature hash"])
    func changedSealIdentityFailsTheSignature(what: String) async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        var alsoFailing: Set<StampVerificationCheck.ID> = []
        switch what {
        case "organization": record.organizationName = "Example Registry Ltd"
        case "seal name": record.sealName = "Official Seal 2"
        case "seal image hash": record.sealImageHash = record.sealImageHash?.flipping(at: 0)
        case "no seal image hash": record.sealImageHash = nil
        default:
            record.featureHash = record.featureHash.flipping(at: 31)
            alsoFailing = [.attestationFeatureHash]
        }
        let report = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(Set(report.failures.map(\.id)) == alsoFailing.union([.stampSignature]), "\(report)")
    }

    /// Finding 14: a record without its personal data still verifies; the check lists what is withheld.
    @Test func recordWithoutPersonalDataVerifies() async throws {
        let fixture = try StampFixture()
        let record = try fixture.record()
        let full = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(full.isValid, "\(full)")
        #expect(full.check(.personalData)?.detail.contains("opened: location, operatorBiometricReference, operatorID, deviceFingerprint") == true)
        let stripped = record.withoutPersonalData()
        #expect(stripped.metadata.operatorID == nil && stripped.metadata.latitudeMicrodegrees == nil)
        #expect(stripped.metadataEncoding == record.metadataEncoding)
        let report = await fixture.verifier.verify(stripped, document: fixture.document, options: fixture.fullOptions)
        #expect(report.isValid, "\(report)")
        #expect(report.check(.personalData)?.detail.contains("withheld: location, operatorBiometricReference, operatorID, deviceFingerprint") == true)
        // Through JSON too: no personalData object, the commitments still shown.
        let decoded = try StampRecord(jsonData: try stripped.jsonData())
        #expect(decoded == stripped)
        #expect(!String(decoding: try stripped.jsonData(), as: UTF8.self).contains("personalData"))
        #expect(await fixture.verifier.verify(decoded, document: fixture.document, options: fixture.fullOptions).isValid)
    }

    /// An opening whose field the signed metadata does not commit to fails personal-data.
    @Test func openingWithoutCommitmentFails() async throws {
        let fixture = try StampFixture()
        var parameters = StampFixture.Parameters()
        parameters.metadata = StampMetadata(time: StampFixture.stampTime, approvalNode: "node-3")
        var record = try fixture.record(parameters)
        record.metadata.operatorID = "op-17"  // not in the signed A1 value
        let report = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(report.check(.personalData)?.outcome == .failed)
        #expect(report.check(.personalData)?.detail.contains("not committed") == true)
    }

    @Test func attestationCounterBelowTheStampFailsBinding() async throws {
        let fixture = try StampFixture()
        var parameters = StampFixture.Parameters()
        parameters.attestationCounter = parameters.counter - 1
        let report = await fixture.verifier.verify(try fixture.record(parameters), document: fixture.document,
                                                   options: fixture.fullOptions)
        #expect(report.failures.map(\.id) == [.attestationBinding])
    }

    @Test func deviceCertificateWithoutSerialNumberOrAsCAFails() async throws {
        let fixture = try StampFixture()
        var parameters = StampFixture.Parameters()
        parameters.deviceCertificate = try fixture.ca.deviceCertificate(serialNumber: nil, publicKey: fixture.deviceKey.publicKey)
        var report = await fixture.verifier.verify(try fixture.record(parameters), document: fixture.document, options: fixture.fullOptions)
        #expect(report.failures.map(\.id) == [.deviceCertificateChipID])

        parameters.deviceCertificate = try fixture.ca.deviceCertificate(
            serialNumber: hexString(fixture.chipID).lowercased(), publicKey: fixture.deviceKey.publicKey)
        report = await fixture.verifier.verify(try fixture.record(parameters), document: fixture.document, options: fixture.fullOptions)
        #expect(report.failures.map(\.id) == [.deviceCertificateChipID])  // must be uppercase

        parameters.deviceCertificate = try fixture.ca.deviceCertificate(
            serialNumber: hexString(fixture.chipID), publicKey: fixture.deviceKey.publicKey, isCA: true)
        report = await fixture.verifier.verify(try fixture.record(parameters), document: fixture.document, options: fixture.fullOptions)
        #expect(report.check(.deviceCertificateProfile)?.outcome == .failed)
    }

    @Test func garbageCertificateFailsWithoutTrapping() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        record.deviceCertificate = [0x30, 0x03, 0x02, 0x01]
        let report = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(Set(report.failures.map(\.id)) == [.deviceCertificateChain, .deviceCertificateChipID,
                                                    .deviceCertificateProfile, .attestationSignature])
    }

    @Test func wrongSizedFieldsFailFormatWithoutTrapping() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        record.chipID = [1, 2, 3]
        record.sealPublicKey = []
        record.signature = []
        let report = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(report.check(.recordFormat)?.outcome == .failed)
        #expect(report.check(.stampSignature)?.outcome == .failed)
    }

    @Test func wrongSizedWatermarkKeyFailsTheCodeCheck() async throws {
        let fixture = try StampFixture()
        var options = fixture.fullOptions
        options.watermarkKey = [1, 2, 3]
        let report = await fixture.verifier.verify(try fixture.record(), document: fixture.document, options: options)
        #expect(report.failures.map(\.id) == [.expirationCode])
    }
}
