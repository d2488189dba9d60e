import Crypto
@_spi(Testing) import SealHostDriver
import SealProtocol

extension ConformanceCatalog {
    // MARK: RA — §9.5

    static func remoteAuthorizationCases() -> [ConformanceCase] {
        var list = CaseList("RA")
        list.add(1, "§9.5", "STAMP without a grant is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let before = try await token.card.counter()
            try await expectGrantRefused(token, grant: nil, "STAMP without A2")
            try expectEqual(try await token.card.counter(), before, "counter")
        }
        list.add(2, "§9.5", "A document grant authorizes one stamp whose TBS carries the grant serial", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let digest = SuiteData.documentDigest(ctx.caseID)
            let grant = try token.grant(serial: base.serial + 1, kind: .document, first: base.counter + 1, last: base.counter + 1, digest: digest)
            let stamped = try await token.card.stamp(pin: token.pin, digest: digest, grant: grant)
            try stamped.checkSignature(try await token.card.facts(), grantSerial: grant.serial)
            let entry = try AuditEntry(decoding: try await token.card.readAudit(0).data)
            try expectEqual(entry.grantSerial, grant.serial, "grant serial (C1) in the audit entry")
        }
        list.add(3, "§9.5", "A document grant replayed is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let digest = SuiteData.documentDigest(ctx.caseID)
            let grant = try token.grant(serial: base.serial + 1, kind: .document, first: base.counter + 1, last: base.counter + 2, digest: digest)
            _ = try await token.card.stamp(pin: token.pin, digest: digest, grant: grant)
            try await expectGrantRefused(token, grant: grant, digest: digest, "the same document grant again")
        }
        list.add(4, "§9.5", "A document grant for another digest is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let grant = try token.grant(serial: base.serial + 1, kind: .document, first: base.counter + 1, last: base.counter + 1,
                                        digest: SuiteData.documentDigest(ctx.caseID, 1))
            try await expectGrantRefused(token, grant: grant, digest: SuiteData.documentDigest(ctx.caseID, 2), "grant for another document")
        }
        list.add(5, "§9.5", "A counter-window grant covers several stamps", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let grant = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 3, digest: nil)
            let facts = try await token.card.facts()
            try await token.card.verifyPIN(token.pin)
            for index in 1...3 {
                let stamped = try await token.card.stamp(pin: token.pin, grant: grant)
                try expectEqual(stamped.response.counter, base.counter + UInt32(index), "counter of window stamp \(index)")
                try stamped.checkSignature(facts, grantSerial: grant.serial)
            }
        }
        list.add(6, "§9.5", "A stamp beyond the grant window is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let grant = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 2, digest: nil)
            try await token.card.verifyPIN(token.pin)
            _ = try await token.card.stamp(pin: nil, grant: grant)
            _ = try await token.card.stamp(pin: token.pin, grant: grant)
            try await expectGrantRefused(token, grant: grant, "third stamp on a two-counter window")
        }
        list.add(7, "§9.5", "A grant signed by another key is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let grant = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 5, digest: nil,
                                        signer: P256.Signing.PrivateKey())
            try await expectGrantRefused(token, grant: grant, "grant signed by a stranger")
        }
        list.add(8, "§9.5", "A grant for another chip is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            var other = token.chipID
            other[15] ^= 0x01
            let grant = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 5, digest: nil,
                                        forChip: other)
            try await expectGrantRefused(token, grant: grant, "grant bound to another chip ID")
        }
        list.add(9, "§9.5", "A newer grant does not cancel a counter window (v2: used serials are a set, not a high-water mark)",
                 requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let window = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 1, last: base.counter + 10, digest: nil)
            try await token.card.verifyPIN(token.pin)
            _ = try await token.card.stamp(pin: nil, grant: window)
            let digest = SuiteData.documentDigest(ctx.caseID)
            let document = try token.grant(serial: base.serial + 2, kind: .document, first: base.counter + 2, last: base.counter + 2, digest: digest)
            _ = try await token.card.stamp(pin: token.pin, digest: digest, grant: document)
            _ = try await token.card.stamp(pin: token.pin, grant: window)
        }
        list.add(10, "§9.5", "A grant whose window starts after the next counter is answered 6982", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let grant = try token.grant(serial: base.serial + 1, kind: .counterWindow, first: base.counter + 2, last: base.counter + 5, digest: nil)
            try await expectGrantRefused(token, grant: grant, "window \(base.counter + 2)… for counter \(base.counter + 1)")
        }
        list.add(11, "§9.5", "A refused grant does not consume its serial", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let base = try await token.baseline()
            let refused = try token.grant(serial: base.serial + 10, kind: .document, first: base.counter + 1, last: base.counter + 1,
                                          digest: SuiteData.documentDigest(ctx.caseID, 1))
            try await expectGrantRefused(token, grant: refused, digest: SuiteData.documentDigest(ctx.caseID, 2), "mismatching document grant")
            let digest = SuiteData.documentDigest(ctx.caseID, 3)
            let lower = try token.grant(serial: base.serial + 1, kind: .document, first: base.counter + 1, last: base.counter + 1, digest: digest)
            _ = try await token.card.stamp(pin: token.pin, digest: digest, grant: lower)
        }
        list.add(12, "§9.4", "The token declares remote authorization in GET DATA 0108 and the attestation policy", requires: remoteReq) { ctx in
            let token = try await ctx.remoteAuthorizationCard()
            let facts = try await token.card.facts()
            try expect(facts.personalization.requiresRemoteAuthorization, "GET DATA 0108 policy bit0 is clear")
            try expectBytes(facts.personalization.remoteAuthorityKey ?? [], Array(try token.authority.publicKey.x963Representation),
                            "GET DATA 0108 remote-authority key (48)")
            let statement = try await attestationStatement(token.card, nonce: [])
            try expect(statement.keyPolicy.contains(.remoteAuthorizationRequired), "attestation policy lacks bit3 (remote authorization)")
        }
        protocolV2GrantCases(&list)
        return list.cases
    }

    // MARK: TEAR — §11

    static func tearingCases() -> [ConformanceCase] {
        var list = CaseList("TEAR")
        list.add(1, "§11", "STAMP torn at every NVM write leaves the counter and audit head before or after", requires: tearReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            let injector = try faultInjector(card)
            let facts = try await card.facts()
            try await card.verifyPIN(SuiteData.freshPIN)
            let writes = try await measureWrites(injector) { _ = try await card.stamp(pin: nil) }
            var afterCount = 0
            for n in 1...writes {
                try await card.verifyPIN(SuiteData.freshPIN)
                let counter = try await card.counter()
                let head = try await card.auditStatus().headHash
                let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID, n), metadata: SuiteData.metadata())
                try await tear(card, injector, at: n, try SealCommand.stamp(request).encoded(), "STAMP")
                let now = try await card.counter()
                let status = try await card.auditStatus()
                if now == counter {
                    try expectBytes(status.headHash, head, "audit head after STAMP torn at write \(n) of \(writes) (counter unchanged)")
                } else {
                    try expectEqual(now, counter + 1, "counter after STAMP torn at write \(n) of \(writes)")
                    let entry = try AuditEntry(decoding: try await card.readAudit(0).data)
                    try expectEqual(entry.counter, now, "newest entry after the torn STAMP")
                    try expectBytes(entry.documentDigest, request.documentDigest, "document digest of the recovered entry")
                    try expectBytes(entry.previousHash, head, "previous hash of the recovered entry")
                    try expectBytes(status.headHash, auditEntryHash(entry, facts: facts), "audit head after the torn STAMP")
                    afterCount += 1
                }
            }
            try await injector.disarmPowerLoss()
            let counter = try await card.counter()
            let final = try await card.stamp(pin: SuiteData.freshPIN)
            try expectEqual(final.response.counter, counter + 1, "counter of a clean STAMP after the tears")
            await ctx.note("W = \(writes) NVM writes; \(writes - afterCount) tears before, \(afterCount) after the commit")
        }
        list.add(2, "§11", "A torn wrong VERIFY never leaves more tries than before, nor fewer than after", requires: tearReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(pinTryLimit: 10))
            let card = token.card
            let injector = try faultInjector(card)
            let wrong = SuiteData.wrongPIN(for: SuiteData.freshPIN)
            let writes = try await measureWrites(injector) { _ = try await card.send(SealCommand.verify(pin: wrong)) }
            try await card.verifyPIN(SuiteData.freshPIN)
            for n in 1...writes {
                let tries = try await card.pinStatus().pinTriesRemaining
                try await tear(card, injector, at: n, try SealCommand.verify(pin: wrong).encoded(), "wrong VERIFY")
                let now = try await card.pinStatus().pinTriesRemaining
                try expect(now == tries || now == tries - 1, "PIN tries after a wrong VERIFY torn at write \(n): \(now), expected \(tries) or \(tries - 1)")
                try await card.expectNotVerified("after the torn VERIFY")
            }
            await ctx.note("W = \(writes) NVM write(s)")
        }
        list.add(3, "§11", "PERSONALIZE torn at every NVM write is all or nothing", requires: tearReq) { ctx in
            let data = SuiteData.personalization()
            let probe = try await ctx.freshCard()
            let probeInjector = try faultInjector(probe)
            try await ctx.authenticateIssuer(on: probe)
            let writes = try await measureWrites(probeInjector) {
                try expectSW(try await probe.exchange(try SealCommand.personalize(data)), .success, "clean PERSONALIZE")
            }
            var complete = 0
            for n in 1...writes {
                let card = try await ctx.freshCard()
                let injector = try faultInjector(card)
                try await ctx.authenticateIssuer(on: card)
                try await tear(card, injector, at: n, try SealCommand.personalize(data).encoded(), "PERSONALIZE")
                let state = try await card.lifecycle()
                if state == LifecycleState.manufactured.rawValue {
                    for tag in ["01 04", "01 07", "01 08", "01 0A"] {
                        try expectSW(try await card.send(apdu("00 CA \(tag) 00")), .referencedDataNotFound,
                                     "GET DATA \(tag) after PERSONALIZE torn at write \(n) of \(writes) (still MANUFACTURED)")
                    }
                    try await ctx.authenticateIssuer(on: card)
                    try expectSW(try await card.exchange(try SealCommand.personalize(data)), .success, "PERSONALIZE retried after the tear")
                } else {
                    try expectEqual(state, LifecycleState.personalized.rawValue, "lifecycle after PERSONALIZE torn at write \(n) of \(writes)")
                    let key = try await card.getData(.sealPublicKey)
                    _ = try expectDecodes("seal key after the torn PERSONALIZE") { try P256.Signing.PublicKey(x963Representation: key) }
                    let info = try PersonalizationInfo(decoding: try await card.getData(.personalization))
                    try expectEqual(info.featureHash, data.featureHash, "feature hash after the torn PERSONALIZE")
                    let status = try await card.pinStatus()
                    try expectEqual(status, PINStatus(pinTriesRemaining: data.pinTryLimit, pinTryLimit: data.pinTryLimit,
                                                      pukTriesRemaining: data.pukTryLimit, pukTryLimit: data.pukTryLimit), "PIN status")
                    complete += 1
                }
                try await card.verifyPIN(data.pin)
                await card.disconnect()
            }
            await ctx.note("W = \(writes) NVM writes; \(writes - complete) tears left MANUFACTURED, \(complete) PERSONALIZED")
        }
        list.add(4, "§11", "A torn CHANGE REFERENCE DATA with a wrong old PIN never restores a try", requires: tearReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(pinTryLimit: 10))
            let card = token.card
            let injector = try faultInjector(card)
            let command = SealCommand.changePIN(current: SuiteData.wrongPIN(for: SuiteData.freshPIN), new: "11223344")
            let writes = try await measureWrites(injector) { _ = try await card.send(command) }
            for n in 1...writes {
                let tries = try await card.pinStatus().pinTriesRemaining
                try await tear(card, injector, at: n, try command.encoded(), "CHANGE REFERENCE DATA")
                let now = try await card.pinStatus().pinTriesRemaining
                try expect(now == tries || now == tries - 1, "PIN tries after the torn command at write \(n): \(now), expected \(tries) or \(tries - 1)")
            }
            try await card.verifyPIN(SuiteData.freshPIN)
        }
        list.add(5, "§11", "A torn RESET RETRY COUNTER with a wrong PUK never restores a PUK try", requires: tearReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(pukTryLimit: 10))
            let card = token.card
            let injector = try faultInjector(card)
            let command = SealCommand.resetRetryCounter(puk: SuiteData.wrongPIN(for: SuiteData.freshPUK), newPIN: "11223344")
            let writes = try await measureWrites(injector) { _ = try await card.send(command) }
            for n in 1...writes {
                let tries = try await card.pinStatus().pukTriesRemaining
                try await tear(card, injector, at: n, try command.encoded(), "RESET RETRY COUNTER")
                let now = try await card.pinStatus().pukTriesRemaining
                try expect(now == tries || now == tries - 1, "PUK tries after the torn command at write \(n): \(now), expected \(tries) or \(tries - 1)")
            }
            try await card.verifyPIN(SuiteData.freshPIN)
        }
        list.add(6, "§6", "A torn termination either keeps the token ACTIVE with its key or zeroizes it completely", requires: tearReq) { ctx in
            let probe = try await ctx.personalizedCard()
            let probeInjector = try faultInjector(probe.card)
            try await ctx.authenticateIssuer(on: probe.card)
            let writes = try await measureWrites(probeInjector) {
                try expectSW(try await probe.card.send(SealCommand.setLifecycle(.terminated)), .success, "clean termination")
            }
            for n in 1...writes {
                let token = try await ctx.personalizedCard()
                let card = token.card
                let injector = try faultInjector(card)
                try await ctx.authenticateIssuer(on: card)
                try await tear(card, injector, at: n, try SealCommand.setLifecycle(.terminated).encoded(), "SET LIFECYCLE TERMINATED")
                let state = try await card.lifecycle()
                if state == LifecycleState.active.rawValue {
                    try expectBytes(try await card.getData(.sealPublicKey), token.sealPublicKey, "seal key after a tear that kept ACTIVE")
                    _ = try await card.stamp(pin: SuiteData.freshPIN)
                } else {
                    try expectEqual(state, LifecycleState.terminated.rawValue, "lifecycle after termination torn at write \(n) of \(writes)")
                    try expectSW(try await card.send(apdu("00 CA 01 04 00")), .referencedDataNotFound, "GET DATA 0104 after the torn termination")
                    // v2 (§6): the public key and key ID stay; the private key is gone (STAMP below is refused anyway).
                    try expectBytes(try await card.getData(.sealPublicKey), token.sealPublicKey, "GET DATA 0107 after the torn termination")
                    try expectBytes(try await card.getData(.sealKeyID), token.keyID, "GET DATA 010A after the torn termination")
                    try expectSW(try await card.send(SealCommand.verify(pin: SuiteData.freshPIN)), .conditionsOfUseNotSatisfied, "VERIFY when TERMINATED")
                }
                await card.disconnect()
            }
            await ctx.note("W = \(writes) NVM writes")
        }
        list.add(7, "§11", "A torn correct VERIFY leaves the try counter at the limit or one below, never above", requires: tearReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            let injector = try faultInjector(card)
            let writes = try await measureWrites(injector) { try await card.verifyPIN(SuiteData.freshPIN) }
            let limit = SuiteData.freshPINTryLimit
            for n in 1...writes {
                try await card.verifyPIN(SuiteData.freshPIN)
                try await tear(card, injector, at: n, try SealCommand.verify(pin: SuiteData.freshPIN).encoded(), "correct VERIFY")
                let now = try await card.pinStatus().pinTriesRemaining
                try expect(now == limit || now == limit - 1, "PIN tries after a correct VERIFY torn at write \(n): \(now), expected \(limit) or \(limit - 1)")
                try await card.expectNotVerified("after the torn VERIFY")
            }
        }
        protocolV2EnduranceCases(&list)
        return list.cases
    }
}

// MARK: - Remote-authorization helpers

extension RemoteToken {
    /// The current counter and the last grant serial the chip accepted (from the newest audit entry).
    func baseline() async throws -> (counter: UInt32, serial: UInt32) {
        let counter = try await card.counter()
        guard counter > 0 else { return (0, 0) }
        let answer = try await card.readAudit(0)
        try expectSW(answer, .success, "READ AUDIT LOG of the newest entry")
        return (counter, try AuditEntry(decoding: answer.data).grantSerial)
    }
}

/// VERIFY, then STAMP with `grant` (or none); expects 6982 and an unchanged counter.
func expectGrantRefused(_ token: RemoteToken, grant: AuthorizationGrant?, digest: [UInt8]? = nil, _ what: String) async throws {
    try await token.card.verifyPIN(token.pin)
    let before = try await token.card.counter()
    let request = try StampRequest(documentDigest: digest ?? SuiteData.documentDigest(what), metadata: SuiteData.metadata(), grant: grant)
    try expectSW(try await token.card.exchange(SealCommand.stamp(request)), .securityStatusNotSatisfied, "STAMP, \(what)")
    try expectEqual(try await token.card.counter(), before, "counter after the refused STAMP (\(what))")
}

// MARK: - Tearing helpers

func faultInjector(_ card: ConformanceCard) throws -> any FaultInjectingTransport {
    guard let injector = card.faultInjector else {
        throw ConformanceSkip("\(card.label): its transport offers no power-loss injection (FaultInjectingTransport)")
    }
    return injector
}

/// Runs `body` once cleanly and returns how many NVM writes it made (at least 1).
func measureWrites(_ injector: any FaultInjectingTransport, _ body: () async throws -> Void) async throws -> Int {
    let before = try await injector.nvmWriteCount()
    try await body()
    let writes = try await injector.nvmWriteCount() - before
    try expect(writes >= 1, "the command made no NVM write, so there is nothing to tear")
    try expect(writes <= 64, "the command made \(writes) NVM writes; the suite tears at most 64")
    return writes
}

/// Arms a power loss at write `n`, sends `command`, expects no answer, power-cycles and SELECTs.
func tear(_ card: ConformanceCard, _ injector: any FaultInjectingTransport, at n: Int, _ command: [UInt8], _ what: String) async throws {
    try await injector.armPowerLoss(atNVMWrite: n)
    var answered: CardExchange?
    do {
        answered = try await card.send(command)
    } catch let error as SealDriverError where error.code == .noResponse || error.code == .transportFailure || error.code == .cardRemoved {
        answered = nil
    }
    try await injector.disarmPowerLoss()
    if let answered {
        throw ConformanceFailure("\(what) with power cut at NVM write \(n) still answered \(swText(answered.sw))")
    }
    _ = try await injector.powerCycle()
    try await card.select()
}
