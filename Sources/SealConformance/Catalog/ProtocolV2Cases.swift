import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SealSM2Verifier

/// Cases for the rules protocol v2 added to STAMP, the signed encodings, the attestation and the
/// audit log (issue 9, findings 3, 5–8, 13, 14). They join the areas they belong to.
extension ConformanceCatalog {
    /// The cases of rules a Java Card applet cannot guarantee (SPEC §13.1): the ATR (§2.2), the
    /// state before any selection (§2.3: `6D00`, warm reset deselecting), logical channels and the
    /// CLA checks that precede selection (§3.2). The Java Card profile skips them.
    public static let nativeOSCaseIDs: Set<String> = [
        "SEAL-ATR-001", "SEAL-ATR-002", "SEAL-ATR-003", "SEAL-ATR-004", "SEAL-ATR-005",
        "SEAL-PWR-001", "SEAL-PWR-002", "SEAL-PWR-003", "SEAL-PWR-004",
        "SEAL-CLA-001", "SEAL-CLA-004", "SEAL-CLA-008",
    ]

    // MARK: STP — §8.13, §9.2, §9.3, §10.1

    static func protocolV2StampCases(_ list: inout CaseList) {
        list.add(18, "§8.13", "PIN always (policy bit1, the default): a STAMP consumes the PIN verification; a second STAMP without VERIFY is 6982",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization())
            let card = token.card
            let first = try await card.stamp(pin: SuiteData.freshPIN)
            try expectSW(try await card.send(SealCommand.verifyStatus()), .verificationFailed(triesRemaining: Int(SuiteData.freshPINTryLimit)),
                         "VERIFY status after the STAMP (PIN no longer verified)")
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata())
            try expectSW(try await card.exchange(SealCommand.stamp(request)), .securityStatusNotSatisfied, "second STAMP without VERIFY")
            try expectEqual(try await card.counter(), first.response.counter, "counter after the refused STAMP")
            let second = try await card.stamp(pin: SuiteData.freshPIN)
            try expectEqual(second.response.counter, first.response.counter + 1, "STAMP after a new VERIFY")
        }
        list.add(19, "§8.13", "With policy bit1 clear one VERIFY covers several stamps", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(requiresPINPerStamp: false))
            let first = try await token.card.stamp(pin: SuiteData.freshPIN)
            let second = try await token.card.stamp(pin: nil)
            try expectEqual(second.response.counter, first.response.counter + 1, "second STAMP on the same VERIFY")
        }
        list.add(20, "§9.3", "The TBS signs the organization, seal name, feature hash and seal image hash; another shown value fails",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(sealName: "Seal \(ctx.caseID)"))
            let card = token.card
            let facts = try await card.facts()
            try expectBytes(facts.personalization.sealImageHash ?? [], SuiteData.sealImageHash, "GET DATA 0108 tag 4C")
            let stamped = try await card.stamp(pin: SuiteData.freshPIN)
            try stamped.checkSignature(facts)
            let key = try facts.publicKey()
            let seal = facts.personalization.sealIdentity
            let forged: [(String, SealIdentity)] = [
                ("organization", SealIdentity(organizationName: seal.organizationName + "!", sealName: seal.sealName,
                                              featureHash: seal.featureHash, sealImageHash: seal.sealImageHash)),
                ("seal name", SealIdentity(organizationName: seal.organizationName, sealName: "Other seal",
                                           featureHash: seal.featureHash, sealImageHash: seal.sealImageHash)),
                ("feature hash", SealIdentity(organizationName: seal.organizationName, sealName: seal.sealName,
                                              featureHash: seal.featureHash.reversed(), sealImageHash: seal.sealImageHash)),
                ("image hash", SealIdentity(organizationName: seal.organizationName, sealName: seal.sealName,
                                            featureHash: seal.featureHash, sealImageHash: nil)),
            ]
            for (what, identity) in forged {
                var tbs = stamped.tbs(facts)
                tbs.seal = identity
                let signature = try expectDecodes("signature") { try P256.Signing.ECDSASignature(derRepresentation: stamped.response.signature) }
                try expect(!key.isValidSignature(signature, for: tbs.encoded()), "the signature still verifies with another \(what)")
            }
        }
        list.add(21, "§9.2", "Metadata v2: commitments must be 32 bytes, the v1 location form and unknown tags are refused (6A80)") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            let before = try await card.counter()
            let digest = TLV(tag: SealTag.documentDigest, value: SuiteData.documentDigest(ctx.caseID)).encoded()
            let time = TLV(tag: SealTag.time, value: bigEndianBytes(SuiteData.now())).encoded()
            let bad: [(String, [UInt8])] = [
                ("operator ID commitment of 31 bytes", time + TLV(tag: SealTag.operatorIDCommitment, value: [UInt8](repeating: 1, count: 31)).encoded()),
                ("v1 latitude and longitude (92, 93 of 4 bytes)", time + TLV(tag: 0x92, value: [0, 0, 0, 1]).encoded() + TLV(tag: 0x93, value: [0, 0, 0, 1]).encoded()),
                ("document name of 129 bytes", time + TLV(tag: SealTag.documentName, value: [UInt8](repeating: 0x41, count: 129)).encoded()),
                ("document name before the time", TLV(tag: SealTag.documentName, value: [0x41]).encoded() + time),
                ("unknown tag 98", time + TLV(tag: 0x98, value: [UInt8](repeating: 0, count: 32)).encoded()),
            ]
            for (what, metadata) in bad {
                let answer = try await card.stampRaw(digest + TLV(tag: SealTag.metadata, value: metadata).encoded())
                try expectSW(answer, .wrongData, "STAMP with \(what)")
            }
            try expectEqual(try await card.counter(), before, "counter after the refused stamps")
        }
        list.add(22, "§9.2.1", "A full metadata v2 record verifies, its openings match the commitments, and a record without them still verifies",
                 .optional, consumes: .init(stamps: 1)) { ctx in
            guard !ctx.vendorRoots.isEmpty else { throw ConformanceSkip("no vendor root certificates configured") }
            let document = Array("SealKit conformance document \(UUID().uuidString)".utf8)
            let record = try await stampWithDriver(ctx.card.transport, chipTrust: ctx.card.chipTrust, pin: ctx.pin, document: document)
            try expectEqual(record.metadata.documentName, "Conformance contract.pdf", "document name in the record")
            let verifier = StampVerifier(trustedRoots: ctx.vendorRoots).verifyingSM2()
            let report = await verifier.verify(record, document: document)
            try expect(report.isValid, "record rejected: \(report.failures.map(\.description).joined(separator: "; "))")
            let personal = try expectValue(report.checks.first { $0.id == .personalData }, "no personal-data check in the report")
            try expect(personal.passed && personal.detail.contains("operatorID"), "personal-data check: \(personal.detail)")
            let stripped = record.withoutPersonalData()
            try expect(stripped.metadata.operatorID == nil, "the stripped record still holds the operator ID")
            try expectBytes(stripped.canonicalBytes, record.canonicalBytes, "canonical bytes with and without the personal data")
            try expect(await verifier.verify(stripped, document: document).isValid, "the record without personal data does not verify")
            // Change the opening in the JSON, as a forger would: the signed commitment stays.
            let text = String(decoding: try record.jsonData(), as: UTF8.self)
            let forgedText = text.replacingOccurrences(of: "\"conformance-operator\"", with: "\"someone else\"")
            try expect(forgedText != text, "the record JSON does not carry the operator ID opening")
            let forged = try StampRecord(jsonData: Data(forgedText.utf8))
            let forgedReport = await verifier.verify(forged, document: document)
            try expect(forgedReport.failures.map(\.id) == [.personalData],
                       "a changed operator ID must fail only personal-data, failed: \(forgedReport.failures.map(\.id.rawValue))")
            var renamed = record
            renamed.organizationName = "Forged Organization"
            let renamedReport = await verifier.verify(renamed, document: document)
            try expect(renamedReport.failures.map(\.id) == [.stampSignature],
                       "a changed organization must fail the stamp signature, failed: \(renamedReport.failures.map(\.id.rawValue))")
        }
        protocolV2TimeCases(&list)
    }

    static func protocolV2TimeCases(_ list: inout CaseList) {
        list.add(23, "§8.13", "Time cannot be rolled back: a stamp dated more than the tolerance (4D) before the floor is 6A80; one future-dated stamp does not block honest ones",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(requiresPINPerStamp: false, timeToleranceSeconds: 60))
            let card = token.card
            let t = SuiteData.now()
            try await card.verifyPIN(SuiteData.freshPIN)
            _ = try await card.stamp(pin: nil, metadata: SuiteData.metadata(time: t))
            _ = try await card.stamp(pin: nil, metadata: SuiteData.metadata(time: t + 1))
            let before = try await card.counter()
            let rolledBack = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata(time: t - 61))
            try expectSW(try await card.exchange(SealCommand.stamp(rolledBack)), .wrongData, "STAMP dated 61 s before the floor (tolerance 60 s)")
            try expectEqual(try await card.counter(), before, "counter after the refused STAMP")
            _ = try await card.stamp(pin: nil, metadata: SuiteData.metadata(time: t - 60))
            _ = try await card.stamp(pin: nil, metadata: SuiteData.metadata(time: t + 10 * 365 * 86_400))
            _ = try await card.stamp(pin: nil, metadata: SuiteData.metadata(time: t + 2))
        }
        list.add(24, "§8.16", "RESET TIME FLOOR: after two future-dated stamps block honest ones (6A80), the issuer's reset in the SCP11a channel unblocks them; inside SCP11b it is 6982 and changes nothing",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(requiresPINPerStamp: false, timeToleranceSeconds: 60))
            let card = token.card
            let t = SuiteData.now()
            let future = t + 10 * 365 * 86_400
            try await card.verifyPIN(SuiteData.freshPIN)
            _ = try await card.stamp(pin: nil, metadata: SuiteData.metadata(time: future))
            _ = try await card.stamp(pin: nil, metadata: SuiteData.metadata(time: future + 1))
            let honest = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata(time: t))
            try expectSW(try await card.exchange(SealCommand.stamp(honest)), .wrongData, "honest STAMP after two future-dated ones")
            let before = try await card.counter()
            // The PIN was verified in the holder's SCP11b channel: the reset is refused there.
            try expectSW(try await card.exchangeWithoutOpeningChannel(SealCommand.resetTimeFloor(to: t)), .securityStatusNotSatisfied,
                         "RESET TIME FLOOR inside the holder's channel")
            try await card.verifyPIN(SuiteData.freshPIN)
            try expectSW(try await card.exchange(SealCommand.stamp(honest)), .wrongData, "honest STAMP after the refused reset")
            try expectSuccessNoData(try await card.exchange(SealCommand.resetTimeFloor(to: t)), "RESET TIME FLOOR in the issuer channel")
            try await card.verifyPIN(SuiteData.freshPIN)
            try expectSW(try await card.exchange(SealCommand.stamp(honest)), .success, "honest STAMP after the reset")
            try expectEqual(try await card.counter(), before + 1, "counter after the honest STAMP")
            let rolledBack = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata(time: t - 61))
            try expectSW(try await card.exchange(SealCommand.stamp(rolledBack)), .wrongData, "STAMP 61 s before the reset's floor (tolerance 60 s)")
        }
    }

    // MARK: ATT — §9.4

    static func protocolV2AttestationCases(_ list: inout CaseList) {
        list.add(8, "§9.4", "The statement signs the audit state of GET DATA 0109 and the policy bits") { ctx in
            let card = try await ctx.selected()
            let status = try await card.auditStatus()
            let statement = try await attestationStatement(card, nonce: [0x07])
            try expectEqual(statement.audit, status, "statement audit (oldest, newest, head) vs. GET DATA 0109")
            try expectEqual(statement.audit.newestCounter, statement.counter, "statement audit newest vs. statement counter")
            let info = try await card.facts().personalization
            try expectEqual(statement.keyPolicy.contains(.pinPerStamp), info.policyByte & SealPolicy.pinPerStamp != 0,
                            "statement bit4 (PIN always) vs. seal policy bit1")
            try expectEqual(statement.keyPolicy.contains(.auditLogNeedsAuthentication), info.policyByte & SealPolicy.auditLogNeedsAuthentication != 0,
                            "statement bit5 vs. seal policy bit2")
        }
        list.add(9, "§9.4", "After a stamp the statement's audit head moves to the new entry", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            let empty = try await attestationStatement(card, nonce: [])
            try expectEqual(empty.audit, AuditStatus(oldestCounter: 0, newestCounter: 0, headHash: [UInt8](repeating: 0, count: 32)),
                            "statement audit of an empty log")
            _ = try await card.stamp(pin: SuiteData.freshPIN)
            let after = try await attestationStatement(card, nonce: [])
            try expectEqual(after.audit, try await card.auditStatus(), "statement audit after one stamp vs. GET DATA 0109")
            try expectEqual(after.audit.newestCounter, 1, "newest counter after the first stamp")
        }
    }

    /// GET ATTESTATION with `nonce`, decoded.
    private static func attestationStatement(_ card: ConformanceCard, nonce: [UInt8]) async throws -> AttestationStatement {
        let answer = try await card.exchange(SealCommand.getAttestation(nonce: nonce))
        try expectSW(answer, .success, "GET ATTESTATION")
        let response = try decodeAttestation(answer.data)
        return try expectDecodes("attestation statement") { try AttestationStatement(decoding: response.statementBytes) }
    }

    // MARK: AUD — §8.14

    static func protocolV2AuditCases(_ list: inout CaseList) {
        list.add(10, "§8.14", "With policy bit2 READ AUDIT LOG needs the PIN or the issuer (6982 otherwise)", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(auditLogRequiresAuthentication: true))
            let card = token.card
            _ = try await card.stamp(pin: SuiteData.freshPIN)
            try await card.select()
            try expectSW(try await card.readAudit(0), .securityStatusNotSatisfied, "READ AUDIT LOG without authentication")
            try await card.verifyPIN(SuiteData.freshPIN)
            try expectSW(try await card.readAudit(0), .success, "READ AUDIT LOG with the PIN verified")
            try await card.select()
            try await ctx.authenticateIssuer(on: card)
            try expectSW(try await card.readAudit(0), .success, "READ AUDIT LOG with the issuer authenticated")
            try await card.select()
            try expectSW(try await card.readAudit(0), .securityStatusNotSatisfied, "READ AUDIT LOG after SELECT")
        }
        list.add(11, "§8.14", "Without policy bit2 READ AUDIT LOG needs no authentication") { ctx in
            let card = try await ctx.selected()
            let info = try await card.facts().personalization
            guard info.policyByte & SealPolicy.auditLogNeedsAuthentication == 0 else {
                throw ConformanceSkip("the token under test protects its audit log (policy bit2)")
            }
            let status = try await card.auditStatus()
            let expected: StatusWord = status.newestCounter == 0 ? .referencedDataNotFound : .success
            try expectSW(try await card.readAudit(0), expected, "READ AUDIT LOG right after SELECT")
        }
    }

    // MARK: LCS — §8.11

    static func protocolV2PersonalizationCases(_ list: inout CaseList) {
        list.add(19, "§8.11", "PERSONALIZE with an undefined seal-policy bit or a seal image hash of 31 bytes is answered 6A80", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            let good = try SuiteData.personalization().encoded()
            let fields = try TLV.decodeAll(good, strict: true)
            let badPolicy = fields.map { $0.tag == SealTag.sealPolicy ? TLV(tag: SealTag.sealPolicy, value: [0x08]) : $0 }.encoded()
            let badImage = fields.map { $0.tag == SealTag.sealImageHash ? TLV(tag: SealTag.sealImageHash, value: [UInt8](repeating: 1, count: 31)) : $0 }.encoded()
            for (what, data) in [("policy 08", badPolicy), ("image hash of 31 bytes", badImage)] {
                let answer = try await card.sendChain(cla: 0x80, ins: SealInstruction.personalize.rawValue, p1: 0, p2: 0, data: data, partSize: 255)
                try expectSW(answer.final, .wrongData, "PERSONALIZE with \(what)")
                try expectEqual(try await card.lifecycle(), LifecycleState.manufactured.rawValue, "lifecycle after the refused PERSONALIZE")
            }
        }
        protocolV2PINPolicyCases(&list)
    }

    // MARK: PIN — §8.6–§8.8 (v2 PIN policy)

    static func protocolV2PINCases(_ list: inout CaseList) {
        list.add(26, "§8.6", "One status word for a PIN of the wrong length: 6A80 in VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER, no try spent",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            for pin in ["12345", "1234567890123"] {
                try expectSW(try await card.send(SealCommand.verify(pin: pin)), .wrongData, "VERIFY with \(pin.count) digits")
                try expectSW(try await card.send(SealCommand.changePIN(current: SuiteData.freshPIN, new: pin)), .wrongData,
                             "CHANGE REFERENCE DATA to \(pin.count) digits")
                try expectSW(try await card.send(SealCommand.resetRetryCounter(puk: SuiteData.freshPUK, newPIN: pin)), .wrongData,
                             "RESET RETRY COUNTER to \(pin.count) digits")
            }
            let status = try await card.pinStatus()
            try expectEqual(status.pinTriesRemaining, SuiteData.freshPINTryLimit, "PIN tries after the refused commands")
            try expectEqual(status.pukTriesRemaining, SuiteData.freshPUKTryLimit, "PUK tries after the refused commands")
        }
        list.add(27, "§8.8", "The issuer unblocks a token whose PIN and PUK are exhausted (RESET RETRY COUNTER P1 02); without issuer authentication 6982",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(pinTryLimit: 1, pukTryLimit: 1))
            let card = token.card
            _ = try await card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: SuiteData.freshPIN)))
            _ = try await card.send(SealCommand.resetRetryCounter(puk: SuiteData.wrongPIN(for: SuiteData.freshPUK), newPIN: "975310"))
            let blocked = try await card.pinStatus()
            try expect(blocked.pinTriesRemaining == 0 && blocked.pukTriesRemaining == 0, "PIN and PUK not both blocked: \(blocked)")
            try expectSW(try await card.send(SealCommand.issuerResetRetryCounter(newPIN: "975310")), .securityStatusNotSatisfied,
                         "issuer unblock without issuer authentication")
            try await ctx.authenticateIssuer(on: card)
            try expectSW(try await card.send(SealCommand.issuerResetRetryCounter(newPIN: "9753")), .wrongData, "issuer unblock to a 4-digit PIN")
            try expectSW(try await card.send(SealCommand.issuerResetRetryCounter(newPIN: "975310")), .success, "issuer unblock")
            let status = try await card.pinStatus()
            try expect(status.pinTriesRemaining == 1 && status.pukTriesRemaining == 1, "counters after the unblock: \(status)")
            try await card.expectNotVerified("after the issuer unblock")
            _ = try await card.stamp(pin: "975310")
        }
    }

    // MARK: LCS — §7 PIN policy at PERSONALIZE

    static func protocolV2PINPolicyCases(_ list: inout CaseList) {
        list.add(20, "§8.11", "PERSONALIZE refuses a PIN of 5 digits and try limits above 10 (6A80)", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            let fields = try TLV.decodeAll(try SuiteData.personalization().encoded(), strict: true)
            func replacing(_ tag: BERTag, _ value: [UInt8]) -> [UInt8] {
                fields.map { $0.tag == tag ? TLV(tag: tag, value: value) : $0 }.encoded()
            }
            for (what, data) in [("PIN of 5 digits", replacing(SealTag.pin, Array("12345".utf8))),
                                 ("PIN try limit 11", replacing(SealTag.pinTryLimit, [11])),
                                 ("PUK try limit 11", replacing(SealTag.pukTryLimit, [11]))] {
                let answer = try await card.sendChain(cla: 0x80, ins: SealInstruction.personalize.rawValue, p1: 0, p2: 0, data: data, partSize: 255)
                try expectSW(answer.final, .wrongData, "PERSONALIZE with a \(what)")
            }
            try expectEqual(try await card.lifecycle(), LifecycleState.manufactured.rawValue, "lifecycle after the refused PERSONALIZE")
        }
    }

    // MARK: TEAR — §11 NVM writes per command (write endurance)

    static func protocolV2EnduranceCases(_ list: inout CaseList) {
        list.add(8, "§11", "NVM writes per command: STAMP commits once, VERIFY twice on a match and once on a mismatch (write endurance, reported)",
                 requires: tearReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(requiresPINPerStamp: false))
            let card = token.card
            let injector = try faultInjector(card)
            let wrongVerify = try await measureWrites(injector) {
                _ = try await card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: SuiteData.freshPIN)))
            }
            let rightVerify = try await measureWrites(injector) { try await card.verifyPIN(SuiteData.freshPIN) }
            let stamp = try await measureWrites(injector) { _ = try await card.stamp(pin: nil) }
            // §11: one transaction per commit; a transaction of r records costs at most 2r + 2 write points
            // with a journal (the reference NVM), so the bounds are: wrong VERIFY 1 commit of 1 record,
            // right VERIFY 2 commits of 1 record, STAMP 1 commit of 3 records.
            try expect(wrongVerify <= 4, "a wrong VERIFY made \(wrongVerify) NVM writes (one commit of the try counter: at most 4)")
            try expect(rightVerify <= 8 && rightVerify > wrongVerify,
                       "a right VERIFY made \(rightVerify) NVM writes (decrement, then reset: two commits, at most 8)")
            try expect(stamp <= 8, "a STAMP made \(stamp) NVM writes (counter, audit entry, audit head in one commit: at most 8)")
            await ctx.note("NVM writes: STAMP \(stamp), VERIFY right \(rightVerify), VERIFY wrong \(wrongVerify)")
        }
    }

    // MARK: RA — §9.5 v2 grants

    static func protocolV2GrantCases(_ list: inout CaseList) {
        list.add(13, "§9.5", "Document grants are usable in any order: a lower serial after a higher one is accepted, each once", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let digests = (1...2).map { SuiteData.documentDigest(ctx.caseID, $0) }
            let high = try token.grant(serial: base.serial + 20, kind: .document, first: base.counter + 1, last: base.counter + 5, digest: digests[1])
            let low = try token.grant(serial: base.serial + 10, kind: .document, first: base.counter + 1, last: base.counter + 5, digest: digests[0])
            _ = try await token.card.stamp(pin: token.pin, digest: digests[1], grant: high)
            _ = try await token.card.stamp(pin: token.pin, digest: digests[0], grant: low)
            try await expectGrantRefused(token, grant: low, digest: digests[0], "the lower document grant a second time")
            // End on the highest serial so that later cases (which build on the newest entry's serial) stay clear of the used ones.
            let digest = SuiteData.documentDigest(ctx.caseID, 3)
            let highest = try token.grant(serial: base.serial + 30, kind: .document, first: base.counter + 3, last: base.counter + 3, digest: digest)
            _ = try await token.card.stamp(pin: token.pin, digest: digest, grant: highest)
        }
        list.add(14, "§9.5", "A grant outside its notBefore/notAfter (C7/C8) is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let now = SuiteData.now()
            let expired = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 5,
                                          digest: nil, notBefore: now - 7200, notAfter: now - 3600)
            try await expectGrantRefused(token, grant: expired, "an expired grant")
            let early = try token.grant(serial: base.serial + 2, kind: .counterWindow, first: base.counter + 1, last: base.counter + 5,
                                        digest: nil, notBefore: now + 3600, notAfter: now + 7200)
            try await expectGrantRefused(token, grant: early, "a grant not yet valid")
        }
        list.add(15, "§9.5", "A counter-window grant stops at its stamp limit (C9)", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let window = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 50,
                                         digest: nil, maxStamps: 1)
            _ = try await token.card.stamp(pin: token.pin, grant: window)
            try await expectGrantRefused(token, grant: window, "a second stamp on a one-stamp window")
        }
        list.add(16, "§9.5", "A malformed grant (empty validity, window without C9) is answered 6A80, an invalid one 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            try await token.card.verifyPIN(token.pin)
            var backwards = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 5, digest: nil)
            backwards.notBefore = 20
            backwards.notAfter = 10
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata(), grant: backwards)
            try expectSW(try await token.card.exchange(SealCommand.stamp(request)), .wrongData, "STAMP with notBefore > notAfter")
            let counter = try await token.card.counter()
            try expectEqual(counter, base.counter, "counter after the refused STAMP")
        }
    }
}
