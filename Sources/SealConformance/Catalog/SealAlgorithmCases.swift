import Crypto
import Foundation
import SealGMCrypto
import SealHostDriver
import SealProtocol
import SealSM2Verifier

extension ConformanceCatalog {
    // MARK: ALG — §7.1 seal key algorithms (P-256, SM2), §8.5 capabilities, §9.4 key policy bit 6

    static func sealAlgorithmCases() -> [ConformanceCase] {
        var list = CaseList("ALG")
        list.add(1, "§7.1", "PERSONALIZE with 4E 02 gives an SM2 seal key: 86 is a point on the SM2 curve, 0107 and 010A agree, 0105 ends 85 01 02",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(sm2Personalization())
            _ = try expectDecodes("PERSONALIZE 86 as an SM2 point") { try SM2PublicKey(x963Representation: token.sealPublicKey) }
            try expect((try? P256.Signing.PublicKey(x963Representation: token.sealPublicKey)) == nil,
                       "the SM2 seal key \(hexString(token.sealPublicKey)) is also a P-256 point: the chip made a P-256 key")
            try expectBytes(try await token.card.getData(.sealPublicKey), token.sealPublicKey, "GET DATA 0107 vs. the PERSONALIZE response")
            try expectBytes(try await token.card.getData(.sealKeyID), token.keyID, "GET DATA 010A vs. SHA-256 of the 65-byte point")
            let capabilities = try await token.card.getData(.capabilities)
            try expectBytes(Array(capabilities.suffix(3)), [0x85, 0x01, 0x02], "GET DATA 0105 ends with 85 01 02")
            try expectEqual(try SealCapabilities(decoding: capabilities).sealKeyAlgorithm, .sm2, "capabilities seal key algorithm")
        }
        list.add(2, "§7.1", "A token personalized without 4E (P-256) answers the 21 capability bytes, without 85",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let capabilities = try await token.card.getData(.capabilities)
            try expectEqual(capabilities.count, 21, "GET DATA 0105 length of a P-256 seal")
            _ = try expectDecodes("PERSONALIZE 86 as a P-256 point") { try P256.Signing.PublicKey(x963Representation: token.sealPublicKey) }
        }
        list.add(3, "§8.11", "PERSONALIZE with 4E other than one byte 01 or 02 is answered 6A80 and the token stays MANUFACTURED",
                 requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            let base = try SuiteData.personalization().encoded()
            for (what, extra) in [("4E 01 03", [0x4E, 0x01, 0x03]), ("4E 01 00", [0x4E, 0x01, 0x00]), ("4E 02 02 00", [0x4E, 0x02, 0x02, 0x00])] as [(String, [UInt8])] {
                let answer = try await card.exchange(CommandAPDU(cla: 0x80, ins: SealInstruction.personalize.rawValue, p1: 0, p2: 0,
                                                                 data: base + extra, ne: 256))
                try expectSW(answer, .wrongData, "PERSONALIZE with \(what)")
                try expectBytes(try await card.getData(.lifecycle), [LifecycleState.manufactured.rawValue], "lifecycle after PERSONALIZE with \(what)")
            }
        }
        list.add(4, "§9.4", "The attestation of an SM2 seal sets key policy bit 6, names the SM2 key and is signed by the P-256 device key",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(sm2Personalization())
            let answer = try await token.card.exchange(SealCommand.getAttestation(nonce: [0x5A]))
            try expectSW(answer, .success, "GET ATTESTATION")
            let response = try decodeAttestation(answer.data)
            let statement = try expectDecodes("attestation statement") { try AttestationStatement(decoding: response.statementBytes) }
            try expect(statement.keyPolicy.contains(.sm2SealKey), "key policy \(statement.keyPolicy.rawValue): bit 6 (SM2) clear")
            try expect(statement.keyPolicy.rawValue & 0x80 == 0, "key policy bit 7 set")
            try expectBytes(statement.sealPublicKey, token.sealPublicKey, "statement seal key")
            let certificate = try await deviceCertificate(token.card)
            let deviceKey = try expectValue(P256.Signing.PublicKey(certificate.publicKey), "device key is not P-256")
            try checkECDSA(publicKey: deviceKey, signature: response.signature, message: response.statementBytes, "attestation signature")
        }
        list.add(5, "§9.4", "Key policy bit 6 of the token under test agrees with 85 in its capabilities") { ctx in
            let card = try await ctx.selected()
            let facts = try await card.facts()
            let statement = try await attestationStatement(card, nonce: [])
            try expectEqual(statement.keyPolicy.sealKeyAlgorithm, facts.sealKeyAlgorithm, "attestation bit 6 vs. GET DATA 0105 85")
        }
        list.add(6, "§9.3", "STAMP with an SM2 seal: SM2/SM3 with ID 1234567812345678 over the rebuilt TBS, not ECDSA; the counter advances by one",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(sm2Personalization())
            let card = token.card
            let facts = try await card.facts()
            try expectEqual(facts.sealKeyAlgorithm, .sm2, "facts seal key algorithm")
            let before = try await card.counter()
            let stamped = try await card.stamp(pin: SuiteData.freshPIN)
            try expectEqual(stamped.response.counter, before + 1, "counter of the SM2 stamp")
            let tbs = stamped.tbs(facts).encoded()
            try checkSM2(publicKey: facts.sealPublicKey, signature: stamped.response.signature, message: tbs, "SM2 STAMP signature")
            let key = try SM2PublicKey(x963Representation: facts.sealPublicKey)
            try expect(!key.isValidSignature(stamped.response.signature, for: tbs, distinguishingID: Array("1234567812345679".utf8)),
                       "the SM2 stamp signature verifies with another distinguishing ID: Z_A is not bound")
        }
        list.add(7, "§9.6", "The audit log of an SM2 seal chains and every entry verifies with SM2", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(sm2Personalization())
            let card = token.card
            for _ in 0..<3 { _ = try await card.stamp(pin: SuiteData.freshPIN) }
            let facts = try await card.facts()
            let status = try await card.auditStatus()
            try expectEqual(status.newestCounter, 3, "newest audit counter after three stamps")
            try await checkAuditChain(card, facts: facts, from: 1, to: 3, head: status.headHash)
        }
        list.add(8, "§7.1", "A record from an SM2 seal verifies through the driver with the SM2 hook and fails the stamp signature without it",
                 .optional, requires: freshReq) { ctx in
            guard !ctx.vendorRoots.isEmpty else { throw ConformanceSkip("no vendor root certificates configured") }
            let token = try await ctx.personalizedCard(sm2Personalization())
            let document = Array("SealKit SM2 conformance document \(UUID().uuidString)".utf8)
            let record = try await stampWithDriver(token.card.transport, chipTrust: token.card.chipTrust, pin: SuiteData.freshPIN, document: document)
            try expectEqual(record.sealKeyAlgorithm, .sm2, "record seal key algorithm (from the attestation)")
            try await checkRecord(record, document: document, roots: ctx.vendorRoots)
            let p256Only = await StampVerifier(trustedRoots: ctx.vendorRoots).verify(record, document: document)
            try expect(p256Only.failures.map(\.id) == [.stampSignature],
                       "without the SM2 hook only the stamp signature may fail, failed: \(p256Only.failures.map(\.id.rawValue))")
            try await token.card.connectAndSelect()
        }
        return list.cases
    }
}

/// The suite's personalization with an SM2 seal key (SPEC §7 tag `4E`).
func sm2Personalization() -> PersonalizationData {
    var data = SuiteData.personalization(sealName: "Conformance SM2 Seal")
    data.sealKeyAlgorithm = .sm2
    return data
}
