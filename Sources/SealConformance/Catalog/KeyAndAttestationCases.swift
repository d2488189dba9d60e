import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import X509

extension ConformanceCatalog {
    // MARK: KEY — §1, §8.11

    static func keyCases() -> [ConformanceCase] {
        var list = CaseList("KEY")
        list.add(1, "§8.11", "PERSONALIZE answers 86 41 with the seal key that GET DATA 0107 then returns", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            try expectBytes(try await token.card.getData(.sealPublicKey), token.sealPublicKey, "GET DATA 0107 vs. the PERSONALIZE response")
            try expectBytes(try await token.card.getData(.sealKeyID), token.keyID, "GET DATA 010A vs. SHA-256 of the PERSONALIZE key")
        }
        list.add(2, "§8.11", "The seal key is generated on chip: identical personalizations give different keys", requires: freshReq) { ctx in
            let data = SuiteData.personalization(watermarkKey: [UInt8](repeating: 0x5A, count: 32))
            let first = try await ctx.personalizedCard(data)
            let second = try await ctx.personalizedCard(data)
            try expect(first.chipID != second.chipID, "the factory returned two tokens with the same chip ID \(hexString(first.chipID))")
            try expect(first.sealPublicKey != second.sealPublicKey, "two tokens personalized with the same data have the same seal key")
        }
        list.add(3, "§9.4", "Attestation key policy says generated on chip, never exportable, PIN required") { ctx in
            let card = try await ctx.selected()
            let answer = try await card.exchange(SealCommand.getAttestation(nonce: []))
            try expectSW(answer, .success, "GET ATTESTATION")
            let response = try decodeAttestation(answer.data)
            let statement = try expectDecodes("statement") { try AttestationStatement(decoding: response.statementBytes) }
            let required: AttestationStatement.KeyPolicy = [.generatedOnChip, .neverExportable, .pinRequired]
            try expect(statement.keyPolicy.isSuperset(of: required),
                       "key policy \(hexString([statement.keyPolicy.rawValue])) lacks generatedOnChip|neverExportable|pinRequired (07)")
        }
        list.add(4, "§1", "No response of a personalized token contains its PIN, PUK or watermark key", requires: freshReq) { ctx in
            let data = SuiteData.personalization(pin: "468024680246", puk: "9753197531975319")
            let token = try await ctx.personalizedCard(data)
            let card = token.card
            _ = try await card.exchange(SealCommand.select())
            for object in SealDataObject.allCases { _ = try await card.exchange(SealCommand.getData(object)) }
            _ = try await card.exchange(SealCommand.getAttestation(nonce: SuiteData.randomBytes(32)))
            let stamped = try await card.stamp(pin: data.pin, metadata: SuiteData.fullMetadata())
            _ = try await card.readAudit(0)
            _ = try await card.readAudit(stamped.response.counter)
            let secrets: [(String, [UInt8])] = [("watermark key", data.watermarkKey), ("PIN", Array(data.pin.utf8)), ("PUK", Array(data.puk.utf8))]
            let transcript = await card.transcript()
            for (name, secret) in secrets {
                for (index, response) in transcript.enumerated() where contains(response, secret) {
                    throw ConformanceFailure("response #\(index + 1) (\(response.count) bytes) contains the \(name)")
                }
            }
            await ctx.note("\(transcript.count) responses scanned")
        }
        list.add(5, "§8.5", "GET DATA 0108 holds no PIN, PUK, try limits or watermark key") { ctx in
            let card = try await ctx.selected()
            let bytes = try await card.getData(.personalization)
            let fields = try expectDecodes("GET DATA 0108") { try TLV.decodeAll(bytes) }
            let secretTags: Set<UInt32> = [0x44, 0x45, 0x46, 0x47, 0x4B]
            let leaked = fields.filter { secretTags.contains($0.tag.rawValue) }.map(\.tag.description)
            try expect(leaked.isEmpty, "GET DATA 0108 carries secret tags \(leaked)")
        }
        list.add(6, "§9.4", "Seal key and key ID agree between GET DATA and the attestation statement") { ctx in
            let card = try await ctx.selected()
            let statement = try await attestationStatement(card, nonce: [])
            try expectBytes(statement.sealPublicKey, try await card.getData(.sealPublicKey), "statement seal key vs. GET DATA 0107")
            try expectBytes(statement.keyID, try await card.getData(.sealKeyID), "statement key ID vs. GET DATA 010A")
        }
        list.add(7, "§1", "The device attestation key differs from the seal key", .optional) { ctx in
            let card = try await ctx.selected()
            let certificate = try await deviceCertificate(card)
            let deviceKey = try expectValue(P256.Signing.PublicKey(certificate.publicKey), "device key is not P-256")
            try expect(Array(deviceKey.x963Representation) != (try await card.getData(.sealPublicKey)), "the seal key is the device attestation key")
        }
        return list.cases
    }

    // MARK: ATT — §8.15, §9.4, §12

    static func attestationCases() -> [ConformanceCase] {
        var list = CaseList("ATT")
        list.add(1, "§12", "The device certificate chains to a vendor root") { ctx in
            guard !ctx.vendorRoots.isEmpty else { throw ConformanceSkip("no vendor root certificates configured") }
            let card = try await ctx.selected()
            let certificate = try await deviceCertificate(card)
            var verifier = Verifier(rootCertificates: CertificateStore(ctx.vendorRoots)) {
                RFC5280Policy()
            }
            switch await verifier.validate(leaf: certificate, intermediates: CertificateStore()) {
            case .validCertificate(let chain):
                await ctx.note("chain of \(chain.count) to \(chain.last.map { "\($0.subject)" } ?? "?")")
            case .couldNotValidate(let failures):
                throw ConformanceFailure("device certificate does not chain to the \(ctx.vendorRoots.count) vendor root(s): "
                    + failures.map { "\($0.policyFailureReason)" }.joined(separator: "; "))
            }
        }
        list.add(2, "§12", "Device certificate: serialNumber = chip ID, digitalSignature, not a CA") { ctx in
            let card = try await ctx.selected()
            let chipID = try await card.chipID()
            let certificate = try await deviceCertificate(card)
            let serials = certificate.subject.flatMap { Array($0) }.filter { $0.type.description == "2.5.4.5" }.compactMap { String($0.value) }
            try expectEqual(serials, [hexString(chipID)], "subject serialNumber (2.5.4.5)")
            let usage = try expectValue(try certificate.extensions.keyUsage, "device certificate has no key usage extension")
            try expect(usage.digitalSignature, "key usage lacks digitalSignature")
            let constraints = try expectValue(try certificate.extensions.basicConstraints, "device certificate has no basic constraints")
            try expect(constraints == .notCertificateAuthority, "basic constraints must be CA:false, got \(constraints)")
        }
        list.add(3, "§9.4", "The attestation signature verifies under the device certificate key") { ctx in
            let card = try await ctx.selected()
            let answer = try await card.exchange(SealCommand.getAttestation(nonce: [0xA5]))
            try expectSW(answer, .success, "GET ATTESTATION")
            let response = try decodeAttestation(answer.data)
            let certificate = try await deviceCertificate(card)
            let key = try expectValue(P256.Signing.PublicKey(certificate.publicKey), "device key is not P-256")
            try checkECDSA(publicKey: key, signature: response.signature, message: response.statementBytes, "attestation signature")
        }
        list.add(4, "§9.4", "Attestation statement fields match GET DATA") { ctx in
            let card = try await ctx.selected()
            let facts = try await card.facts()
            let statement = try await attestationStatement(card, nonce: [])
            try expectBytes(statement.chipID, facts.chipID, "statement chip ID")
            try expectBytes(statement.sealPublicKey, facts.sealPublicKey, "statement seal key")
            try expectBytes(statement.keyID, facts.keyID, "statement key ID")
            try expectBytes(statement.featureHash, facts.featureHash, "statement feature hash vs. GET DATA 0108")
            try expectEqual(statement.lifecycle, LifecycleState.active.rawValue, "statement lifecycle")
            try expectEqual(statement.keyPolicy.contains(.remoteAuthorizationRequired), facts.personalization.requiresRemoteAuthorization,
                            "statement policy bit3 vs. GET DATA 0108 policy")
        }
        list.add(5, "§8.15", "The attestation echoes nonces of 0, 1 and 32 bytes") { ctx in
            let card = try await ctx.selected()
            for length in [0, 1, 32] {
                let nonce = SuiteData.randomBytes(length)
                try expectBytes(try await attestationStatement(card, nonce: nonce).nonce, nonce, "nonce of \(length) bytes in the statement")
            }
        }
        list.add(6, "§8.15", "A nonce longer than 32 bytes is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.exchange(SealCommand.getAttestation(nonce: SuiteData.randomBytes(33))), .wrongLength, "GET ATTESTATION with 33 bytes")
        }
        list.add(7, "§9.4", "The statement counter is the current signature counter") { ctx in
            let card = try await ctx.selected()
            try expectEqual(try await attestationStatement(card, nonce: [7]).counter, try await card.counter(), "statement counter vs. GET DATA 0103")
        }
        protocolV2AttestationCases(&list)
        return list.cases
    }
}

/// GET ATTESTATION, decoded (not verified).
func attestationStatement(_ card: ConformanceCard, nonce: [UInt8]) async throws -> AttestationStatement {
    let answer = try await card.exchange(SealCommand.getAttestation(nonce: nonce))
    try expectSW(answer, .success, "\(card.label): GET ATTESTATION")
    let response = try decodeAttestation(answer.data)
    return try expectDecodes("attestation statement") { try AttestationStatement(decoding: response.statementBytes) }
}

/// GET DATA 0106, parsed.
func deviceCertificate(_ card: ConformanceCard) async throws -> Certificate {
    let der = try await card.getData(.deviceCertificate)
    return try expectDecodes("device certificate") { try Certificate(derEncoded: der) }
}

/// Whether `haystack` contains `needle` as a contiguous window.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
    }
    return false
}
