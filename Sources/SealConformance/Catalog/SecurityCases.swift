import Crypto
import SealHostDriver
import SealProtocol

extension ConformanceCatalog {
    // MARK: PIN — §8.6–§8.9

    static func pinCases() -> [ConformanceCase] {
        var list = CaseList("PIN")
        list.add(1, "§8.6", "VERIFY without data reports the tries left (63Cx) when not verified") { ctx in
            let card = try await ctx.selected()
            let status = try await card.pinStatus()
            try expectSW(try await card.pinState(), .verificationFailed(triesRemaining: Int(status.pinTriesRemaining)),
                         "VERIFY without data, PIN not verified (GET DATA 0104 says \(status.pinTriesRemaining) tries)")
        }
        list.add(2, "§8.6", "VERIFY without data answers 9000 once the PIN is verified") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try await card.expectVerified("after VERIFY")
        }
        list.add(3, "§8.6", "VERIFY with the correct PIN answers 9000 and keeps the counter at the limit") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            let status = try await card.pinStatus()
            try expectEqual(status.pinTriesRemaining, status.pinTryLimit, "PIN tries left after a correct VERIFY")
        }
        list.add(4, "§8.6", "VERIFY with a wrong PIN decrements the counter and answers 63Cx", consumes: .init(wrongPINTries: 1)) { ctx in
            let status = try await ctx.prepareWrongPINTries(1)
            let answer = try await ctx.card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: ctx.pin)))
            try expectSW(answer, .verificationFailed(triesRemaining: Int(status.pinTryLimit) - 1), "VERIFY with a wrong PIN")
            try expectEqual(try await ctx.card.pinStatus().pinTriesRemaining, status.pinTryLimit - 1, "GET DATA 0104 PIN tries after one wrong VERIFY")
        }
        list.add(5, "§8.6", "A correct VERIFY resets the counter after a wrong one", consumes: .init(wrongPINTries: 1)) { ctx in
            let status = try await ctx.prepareWrongPINTries(1)
            _ = try await ctx.card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: ctx.pin)))
            try await ctx.card.verifyPIN(ctx.pin)
            try expectEqual(try await ctx.card.pinStatus().pinTriesRemaining, status.pinTryLimit, "PIN tries after wrong then correct VERIFY")
        }
        list.add(6, "§8.9", "A failed VERIFY clears the PIN-verified flag", consumes: .init(wrongPINTries: 1)) { ctx in
            _ = try await ctx.prepareWrongPINTries(1)
            try await ctx.card.expectVerified("after the correct VERIFY")
            _ = try await ctx.card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: ctx.pin)))
            try await ctx.card.expectNotVerified("after a wrong VERIFY")
        }
        list.add(7, "§8.6", "A PIN outside 6…12 digits is answered 6A80 without decrement") { ctx in
            let card = try await ctx.selected()
            let before = try await card.pinStatus()
            try await card.expectAll([("00 20 00 81 03 31 32 33", .wrongData), ("00 20 00 81 05 31 32 33 34 35", .wrongData),
                                      ("00 20 00 81 0D 31 32 33 34 35 36 37 38 39 30 31 32 33", .wrongData)],
                                     "VERIFY with a 3-, 5- or 13-digit PIN")
            try expectEqual(try await card.pinStatus(), before, "PIN status after the length errors")
        }
        list.add(8, "§8.6", "A PIN with a non-digit is answered 6A80 without decrement") { ctx in
            let card = try await ctx.selected()
            let before = try await card.pinStatus()
            try await card.expectAll([("00 20 00 81 04 31 32 41 34", .wrongData), ("00 20 00 81 05 31 32 20 33 34", .wrongData)], "VERIFY with a non-digit")
            try expectEqual(try await card.pinStatus(), before, "PIN status after the data errors")
        }
        list.add(9, "§8.6", "VERIFY P1 FF clears the PIN-verified flag (STAMP then 6982)") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try expectSuccessNoData(try await card.send(SealCommand.logout()), "VERIFY P1 FF")
            try await card.expectNotVerified("after VERIFY P1 FF")
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata())
            try expectSW(try await card.exchange(SealCommand.stamp(request)), .securityStatusNotSatisfied, "STAMP after logout")
        }
        list.add(10, "§8.6", "VERIFY P1 FF with data is answered 6700") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try expectSW(try await card.send(apdu("00 20 FF 81 04 31 32 33 34")), .wrongLength, "VERIFY P1 FF with data")
        }
        list.add(11, "§8.13", "STAMP without a verified PIN is answered 6982 and does not count") { ctx in
            let card = try await ctx.selected()
            let before = try await card.counter()
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata())
            try expectSW(try await card.exchange(SealCommand.stamp(request)), .securityStatusNotSatisfied, "STAMP without VERIFY")
            try expectEqual(try await card.counter(), before, "counter after the refused STAMP")
        }
        list.add(12, "§8.7", "CHANGE REFERENCE DATA changes the PIN and leaves it verified",
                 consumes: .init(wrongPINTries: 1, reversibleChanges: ["PIN changed and changed back"])) { ctx in
            let status = try await ctx.prepareWrongPINTries(1)
            let card = ctx.card
            let newPIN = ctx.pin == "97531864" ? "86420975" : "97531864"
            let pin = ctx.pin
            await ctx.onCleanup {
                // Runs before the VERIFY restore registered above (cleanups run last-first).
                try await card.reset()
                try await card.select()
                if try await card.send(SealCommand.verify(pin: pin)).sw != .success {
                    try expectSW(try await card.send(SealCommand.changePIN(current: newPIN, new: pin)), .success, "changing the PIN back")
                }
            }
            try await card.select()
            try expectSuccessNoData(try await card.send(SealCommand.changePIN(current: pin, new: newPIN)), "CHANGE REFERENCE DATA")
            try await card.expectVerified("right after CHANGE REFERENCE DATA")
            try await card.select()
            try expectSW(try await card.send(SealCommand.verify(pin: pin)), .verificationFailed(triesRemaining: Int(status.pinTryLimit) - 1),
                         "VERIFY with the old PIN")
            try await card.verifyPIN(newPIN)
            try expectSuccessNoData(try await card.send(SealCommand.changePIN(current: newPIN, new: pin)), "CHANGE REFERENCE DATA back")
            try expectEqual(try await card.pinStatus().pinTriesRemaining, status.pinTryLimit, "PIN tries after the change back")
        }
        list.add(13, "§8.7", "CHANGE REFERENCE DATA with a wrong old PIN answers 63Cx and keeps the PIN", consumes: .init(wrongPINTries: 1)) { ctx in
            let status = try await ctx.prepareWrongPINTries(1)
            let card = ctx.card
            try await card.select()
            try expectSW(try await card.send(SealCommand.changePIN(current: SuiteData.wrongPIN(for: ctx.pin), new: "13572468")),
                         .verificationFailed(triesRemaining: Int(status.pinTryLimit) - 1), "CHANGE REFERENCE DATA with a wrong old PIN")
            try await card.verifyPIN(ctx.pin)
        }
        list.add(14, "§8.7", "CHANGE REFERENCE DATA with malformed data is answered 6A80 without decrement") { ctx in
            let card = try await ctx.selected()
            let before = try await card.pinStatus()
            let old = TLV(tag: SealTag.currentPIN, value: Array(ctx.pin.utf8))
            for (data, what) in [
                ([old, TLV(tag: SealTag.newPIN, value: Array("123".utf8))].encoded(), "new PIN of 3 digits"),
                ([old, TLV(tag: SealTag.newPIN, value: Array("12AB56".utf8))].encoded(), "new PIN with letters"),
                ([old].encoded(), "no new PIN"),
                (apdu("81 09 31 32"), "truncated TLV"),
            ] {
                try expectSW(try await card.send(CommandAPDU(cla: 0, ins: 0x24, p1: 0, p2: 0x81, data: data)), .wrongData, "CHANGE REFERENCE DATA, \(what)")
            }
            try expectEqual(try await card.pinStatus(), before, "PIN status after the refused changes")
            try await card.verifyPIN(ctx.pin)
        }
        list.add(15, "§8.7", "CHANGE REFERENCE DATA without data is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("00 24 00 81")), .wrongLength, "CHANGE REFERENCE DATA without Lc")
        }
        list.add(16, "§8.8", "RESET RETRY COUNTER resets both counters and leaves the PIN unverified", consumes: .init(wrongPINTries: 1)) { ctx in
            let status = try await ctx.prepareWrongPINTries(1)
            let card = ctx.card
            try expectSW(try await card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: ctx.pin))),
                         .verificationFailed(triesRemaining: Int(status.pinTryLimit) - 1), "wrong VERIFY")
            try expectSuccessNoData(try await card.send(SealCommand.resetRetryCounter(puk: ctx.puk, newPIN: ctx.pin)), "RESET RETRY COUNTER")
            let after = try await card.pinStatus()
            try expectEqual(after.pinTriesRemaining, status.pinTryLimit, "PIN tries after RESET RETRY COUNTER")
            try expectEqual(after.pukTriesRemaining, status.pukTryLimit, "PUK tries after RESET RETRY COUNTER")
            try await card.expectNotVerified("after RESET RETRY COUNTER")
        }
        list.add(17, "§8.8", "RESET RETRY COUNTER with a wrong PUK answers 63Cx with the PUK tries left", consumes: .init(wrongPUKTries: 1)) { ctx in
            let status = try await ctx.prepareWrongPUKTries(1)
            let answer = try await ctx.card.send(SealCommand.resetRetryCounter(puk: SuiteData.wrongPIN(for: ctx.puk), newPIN: ctx.pin))
            try expectSW(answer, .verificationFailed(triesRemaining: Int(status.pukTriesRemaining) - 1), "RESET RETRY COUNTER with a wrong PUK")
            try expectEqual(try await ctx.card.pinStatus().pukTriesRemaining, status.pukTriesRemaining - 1, "GET DATA 0104 PUK tries")
        }
        list.add(18, "§8.8", "RESET RETRY COUNTER with malformed data is answered 6A80 without decrement") { ctx in
            let card = try await ctx.selected()
            let before = try await card.pinStatus()
            let puk = TLV(tag: SealTag.pukValue, value: Array(ctx.puk.utf8))
            for (data, what) in [
                ([TLV(tag: SealTag.pukValue, value: Array("1234567".utf8)), TLV(tag: SealTag.newPIN, value: Array(ctx.pin.utf8))].encoded(), "7-digit PUK"),
                ([puk, TLV(tag: SealTag.newPIN, value: Array("123".utf8))].encoded(), "3-digit new PIN"),
                ([TLV(tag: SealTag.newPIN, value: Array(ctx.pin.utf8))].encoded(), "no PUK"),
            ] {
                try expectSW(try await card.send(CommandAPDU(cla: 0, ins: 0x2C, p1: 0, p2: 0x81, data: data)), .wrongData, "RESET RETRY COUNTER, \(what)")
            }
            try expectEqual(try await card.pinStatus(), before, "PIN status after the refused commands")
        }
        list.add(19, "§8.8", "RESET RETRY COUNTER without data is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("00 2C 00 81")), .wrongLength, "RESET RETRY COUNTER without Lc")
        }
        list.add(20, "§8.6", "The PIN blocks after its limit: 63C2, 63C1, 63C0, then 6983 even for the right PIN", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            let wrong = SuiteData.wrongPIN(for: SuiteData.freshPIN)
            for left in stride(from: Int(SuiteData.freshPINTryLimit) - 1, through: 0, by: -1) {
                try expectSW(try await card.send(SealCommand.verify(pin: wrong)), .verificationFailed(triesRemaining: left), "wrong VERIFY, \(left) left")
            }
            try expectSW(try await card.send(SealCommand.verify(pin: wrong)), .authenticationMethodBlocked, "wrong VERIFY on a blocked PIN")
            try expectSW(try await card.send(SealCommand.verify(pin: SuiteData.freshPIN)), .authenticationMethodBlocked, "correct VERIFY on a blocked PIN")
            try expectSW(try await card.pinState(), .authenticationMethodBlocked, "VERIFY without data on a blocked PIN")
            try expectEqual(try await card.pinStatus().pinTriesRemaining, 0, "GET DATA 0104 PIN tries")
        }
        list.add(21, "§8.6", "On a blocked PIN a PIN of the wrong length or with a non-digit is answered 6983", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(pinTryLimit: 1))
            let card = token.card
            try expectSW(try await card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: SuiteData.freshPIN))), .verificationFailed(triesRemaining: 0), "the only wrong try")
            try expectSW(try await card.send(apdu("00 20 00 81 03 31 32 33")), .authenticationMethodBlocked, "3-digit VERIFY on a blocked PIN")
            try expectSW(try await card.send(apdu("00 20 00 81 04 31 32 41 34")), .authenticationMethodBlocked, "non-digit VERIFY on a blocked PIN")
        }
        list.add(22, "§8.7", "CHANGE REFERENCE DATA on a blocked PIN is answered 6983", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(pinTryLimit: 1))
            let card = token.card
            _ = try await card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: SuiteData.freshPIN)))
            try expectSW(try await card.send(SealCommand.changePIN(current: SuiteData.freshPIN, new: "11223344")), .authenticationMethodBlocked,
                         "CHANGE REFERENCE DATA with the right old PIN on a blocked PIN")
        }
        list.add(23, "§8.8", "RESET RETRY COUNTER unblocks a blocked PIN with a new PIN", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(SuiteData.personalization(pinTryLimit: 1))
            let card = token.card
            _ = try await card.send(SealCommand.verify(pin: SuiteData.wrongPIN(for: SuiteData.freshPIN)))
            try expectSuccessNoData(try await card.send(SealCommand.resetRetryCounter(puk: SuiteData.freshPUK, newPIN: "55667788")), "RESET RETRY COUNTER")
            try expectSW(try await card.send(SealCommand.verify(pin: SuiteData.freshPIN)), .verificationFailed(triesRemaining: 0), "VERIFY with the old PIN")
            try expectSuccessNoData(try await card.send(SealCommand.resetRetryCounter(puk: SuiteData.freshPUK, newPIN: "55667788")), "RESET RETRY COUNTER again")
            try await card.verifyPIN("55667788")
        }
        list.add(24, "§8.8", "The PUK blocks after its limit; then even the right PUK gets 6983", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            let wrong = SuiteData.wrongPIN(for: SuiteData.freshPUK)
            for left in stride(from: Int(SuiteData.freshPUKTryLimit) - 1, through: 0, by: -1) {
                try expectSW(try await card.send(SealCommand.resetRetryCounter(puk: wrong, newPIN: "11223344")),
                             .verificationFailed(triesRemaining: left), "wrong PUK, \(left) left")
            }
            try expectSW(try await card.send(SealCommand.resetRetryCounter(puk: SuiteData.freshPUK, newPIN: "11223344")), .authenticationMethodBlocked,
                         "right PUK on a blocked PUK")
            try await card.verifyPIN(SuiteData.freshPIN)
        }
        list.add(25, "§6", "PIN commands are refused (6985) on a MANUFACTURED token", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try expectSW(try await card.send(SealCommand.verify(pin: "1234")), .conditionsOfUseNotSatisfied, "VERIFY")
            try expectSW(try await card.send(SealCommand.changePIN(current: "1234", new: "5678")), .conditionsOfUseNotSatisfied, "CHANGE REFERENCE DATA")
            try expectSW(try await card.send(SealCommand.resetRetryCounter(puk: "12345678", newPIN: "5678")), .conditionsOfUseNotSatisfied, "RESET RETRY COUNTER")
        }
        protocolV2PINCases(&list)
        return list.cases
    }

    // MARK: LCS — §6, §8.11, §8.12

    static func lifecycleCases() -> [ConformanceCase] {
        var list = CaseList("LCS")
        list.add(1, "§8.12", "SET LIFECYCLE without issuer authentication is answered 6982") { ctx in
            let card = try await ctx.selected()
            await ctx.restoreActiveAfterwards()
            try expectSW(try await card.exchangeWithoutOpeningChannel(SealCommand.setLifecycle(.suspended)), .securityStatusNotSatisfied,
                         "SET LIFECYCLE SUSPENDED without issuer auth (outside the SCP11a channel, SPEC §14.6)")
            try expectEqual(try await card.lifecycle(), LifecycleState.active.rawValue, "lifecycle afterwards")
        }
        list.add(2, "§8.12", "A transition not in §6 is answered 6985") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.setLifecycle(.personalized)), .conditionsOfUseNotSatisfied, "ACTIVE → PERSONALIZED")
            try expectSW(try await card.send(SealCommand.setLifecycle(.manufactured)), .conditionsOfUseNotSatisfied, "ACTIVE → MANUFACTURED")
        }
        list.add(3, "§8.12", "A transition to the same state is answered 6985") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.setLifecycle(.active)), .conditionsOfUseNotSatisfied, "ACTIVE → ACTIVE")
        }
        list.add(4, "§8.12", "SET LIFECYCLE with P1 not a state code is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 52 00 00", .incorrectP1P2), ("80 52 02 00", .incorrectP1P2), ("80 52 08 00", .incorrectP1P2),
                                      ("80 52 FF 00", .incorrectP1P2)], "SET LIFECYCLE unknown state")
        }
        list.add(5, "§8.12", "SET LIFECYCLE with data is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("80 52 0F 00 01 00")), .wrongLength, "SET LIFECYCLE with a data field")
        }
        list.add(6, "§6", "SUSPENDED refuses STAMP (6985) and RESUME restores stamping", requires: [.issuerKey],
                 consumes: .init(stamps: 1, reversibleChanges: ["SUSPEND then RESUME"])) { ctx in
            let card = try await ctx.selected()
            await ctx.restoreActiveAfterwards()
            try await ctx.authenticateIssuer(on: card)
            try expectSuccessNoData(try await card.send(SealCommand.setLifecycle(.suspended)), "SET LIFECYCLE SUSPENDED")
            try expectEqual(try await card.lifecycle(), LifecycleState.suspended.rawValue, "lifecycle")
            try await card.verifyPIN(ctx.pin)
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata())
            try expectSW(try await card.exchange(SealCommand.stamp(request)), .conditionsOfUseNotSatisfied, "STAMP while SUSPENDED")
            try expectSW(try await card.exchange(SealCommand.getAttestation(nonce: [])), .success, "GET ATTESTATION while SUSPENDED")
            try expectSuccessNoData(try await card.send(SealCommand.setLifecycle(.active)), "SET LIFECYCLE ACTIVE (resume)")
            try await card.verifyPIN(ctx.pin)
            _ = try await card.stamp(pin: nil)
        }
        list.add(7, "§8.12", "SET LIFECYCLE clears the PIN-verified flag", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(activate: false)
            let card = token.card
            try await card.verifyPIN(SuiteData.freshPIN)
            try await ctx.authenticateIssuer(on: card)
            try expectSuccessNoData(try await card.send(SealCommand.setLifecycle(.active)), "PERSONALIZED → ACTIVE")
            try await card.expectNotVerified("after SET LIFECYCLE")
        }
        list.add(8, "§6", "TERMINATED zeroizes the keys but keeps counter, audit log, identity, seal public key and key ID readable",
                 requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            let stamped = try await card.stamp(pin: SuiteData.freshPIN)
            let facts = try await card.facts()
            try await ctx.authenticateIssuer(on: card)
            try expectSuccessNoData(try await card.send(SealCommand.setLifecycle(.terminated)), "SET LIFECYCLE TERMINATED")
            try expectEqual(try await card.lifecycle(), LifecycleState.terminated.rawValue, "lifecycle")
            try expectSW(try await card.send(apdu("00 CA 01 04 00")), .referencedDataNotFound, "GET DATA 0104 (PIN status) after termination")
            // v2 (§6, §8.5): the public key and key ID outlive the private key, so the log stays checkable.
            try expectBytes(try await card.getData(.sealPublicKey), token.sealPublicKey, "GET DATA 0107 after termination")
            try expectBytes(try await card.getData(.sealKeyID), sealKeyID(publicKeyX963: token.sealPublicKey), "GET DATA 010A after termination")
            let status = try await card.auditStatus()
            try await checkAuditChain(card, facts: facts, from: status.oldestCounter, to: status.newestCounter, head: status.headHash)
            try expectEqual(try await card.counter(), stamped.response.counter, "counter after termination")
            try expectBytes(try await card.chipID(), token.chipID, "chip ID after termination")
            let entry = try await card.readAudit(0)
            try expectSW(entry, .success, "READ AUDIT LOG after termination")
            try expectEqual(try AuditEntry(decoding: entry.data).counter, stamped.response.counter, "newest audit entry after termination")
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata())
            try expectSW(try await card.exchange(SealCommand.stamp(request)), .conditionsOfUseNotSatisfied, "STAMP after termination")
        }
        list.add(9, "§6", "TERMINATED refuses lifecycle, PIN, attestation and personalization commands (6985)", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard()
            let card = token.card
            try await ctx.authenticateIssuer(on: card)
            try expectSuccessNoData(try await card.send(SealCommand.setLifecycle(.terminated)), "SET LIFECYCLE TERMINATED")
            try expectSW(try await card.send(SealCommand.setLifecycle(.active)), .conditionsOfUseNotSatisfied, "TERMINATED → ACTIVE")
            try expectSW(try await card.send(SealCommand.setLifecycle(.terminated)), .conditionsOfUseNotSatisfied, "TERMINATED → TERMINATED")
            try expectSW(try await card.send(SealCommand.verify(pin: SuiteData.freshPIN)), .conditionsOfUseNotSatisfied, "VERIFY")
            try expectSW(try await card.send(SealCommand.resetRetryCounter(puk: SuiteData.freshPUK, newPIN: "1234")), .conditionsOfUseNotSatisfied, "RESET RETRY COUNTER")
            try expectSW(try await card.exchange(SealCommand.getAttestation(nonce: [])), .conditionsOfUseNotSatisfied, "GET ATTESTATION")
            try expectSW(try await card.exchange(try SealCommand.personalize(SuiteData.personalization())), .conditionsOfUseNotSatisfied, "PERSONALIZE")
        }
        list.add(10, "§8.11", "PERSONALIZE on the ACTIVE token under test is answered 6985") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.exchange(try SealCommand.personalize(SuiteData.personalization())), .conditionsOfUseNotSatisfied,
                         "PERSONALIZE on an ACTIVE token")
        }
        list.add(11, "§8.11", "PERSONALIZE a second time is answered 6985", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(activate: false)
            let card = token.card
            try await ctx.authenticateIssuer(on: card)
            try expectSW(try await card.exchange(try SealCommand.personalize(SuiteData.personalization())), .conditionsOfUseNotSatisfied,
                         "second PERSONALIZE")
            try expectBytes(try await card.getData(.sealPublicKey), token.sealPublicKey, "seal key after the refused PERSONALIZE")
        }
        list.add(12, "§6", "PERSONALIZED allows VERIFY and attestation but not STAMP; ACTIVE then stamps", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(activate: false)
            let card = token.card
            try expectEqual(try await card.lifecycle(), LifecycleState.personalized.rawValue, "lifecycle")
            try await card.verifyPIN(SuiteData.freshPIN)
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.metadata())
            try expectSW(try await card.exchange(SealCommand.stamp(request)), .conditionsOfUseNotSatisfied, "STAMP while PERSONALIZED")
            try expectSW(try await card.exchange(SealCommand.getAttestation(nonce: [1])), .success, "GET ATTESTATION while PERSONALIZED")
            try expectSW(try await card.readAudit(0), .referencedDataNotFound, "READ AUDIT LOG of the empty log while PERSONALIZED")
            try await ctx.authenticateIssuer(on: card)
            try expectSuccessNoData(try await card.send(SealCommand.setLifecycle(.active)), "PERSONALIZED → ACTIVE")
            let stamped = try await card.stamp(pin: SuiteData.freshPIN)
            try expectEqual(stamped.response.counter, 1, "first counter of a new token")
        }
        list.add(13, "§6", "MANUFACTURED refuses STAMP, attestation and audit reads (6985)", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try expectSW(try await card.send(apdu("80 54 00 00 02 90 00 00")), .conditionsOfUseNotSatisfied, "STAMP")
            try expectSW(try await card.exchange(SealCommand.getAttestation(nonce: [])), .conditionsOfUseNotSatisfied, "GET ATTESTATION")
            try expectSW(try await card.readAudit(0), .conditionsOfUseNotSatisfied, "READ AUDIT LOG")
        }
        list.add(14, "§6", "MANUFACTURED cannot go to ACTIVE or SUSPENDED directly (6985)", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            try expectSW(try await card.send(SealCommand.setLifecycle(.active)), .conditionsOfUseNotSatisfied, "MANUFACTURED → ACTIVE")
            try expectSW(try await card.send(SealCommand.setLifecycle(.suspended)), .conditionsOfUseNotSatisfied, "MANUFACTURED → SUSPENDED")
            try expectEqual(try await card.lifecycle(), LifecycleState.manufactured.rawValue, "lifecycle")
        }
        list.add(15, "§6", "Any state but TERMINATED may terminate (MANUFACTURED, SUSPENDED)", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            try expectSuccessNoData(try await card.send(SealCommand.setLifecycle(.terminated)), "MANUFACTURED → TERMINATED")
            try expectEqual(try await card.lifecycle(), LifecycleState.terminated.rawValue, "lifecycle")
            let token = try await ctx.personalizedCard()
            try await ctx.authenticateIssuer(on: token.card)
            try expectSuccessNoData(try await token.card.send(SealCommand.setLifecycle(.suspended)), "ACTIVE → SUSPENDED")
            try expectSuccessNoData(try await token.card.send(SealCommand.setLifecycle(.terminated)), "SUSPENDED → TERMINATED")
        }
        list.add(16, "§8.11", "PERSONALIZE without issuer authentication is answered 6982", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try expectSW(try await card.exchangeWithoutOpeningChannel(try SealCommand.personalize(SuiteData.personalization())),
                         .securityStatusNotSatisfied, "PERSONALIZE without issuer authentication (outside the SCP11a channel, SPEC §14.6)")
            try expectEqual(try await card.lifecycle(), LifecycleState.manufactured.rawValue, "lifecycle")
        }
        list.add(17, "§8.11", "PERSONALIZE with invalid data is answered 6A80 and changes nothing", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            let good = try expectDecodes("suite personalization") { try TLV.decodeAll(try SuiteData.personalization().encoded()) }
            var policyWithoutKey = good.filter { $0.tag != SealTag.sealPolicy }
            policyWithoutKey.append(TLV(tag: SealTag.sealPolicy, value: [0x01]))
            var badPoint = good
            badPoint.append(TLV(tag: SealTag.remoteAuthorityKey, value: [0x04] + [UInt8](repeating: 0x11, count: 64)))
            let variants: [([TLV], String)] = [
                (policyWithoutKey, "policy bit0 without 48"),
                (badPoint, "48 not a P-256 point"),
                (good.filter { $0.tag != SealTag.pin }, "PIN (44) missing"),
                (good + [TLV(tag: 0x4C, value: [0])], "unknown tag 4C"),
                (good + [TLV(tag: SealTag.organizationName, value: Array("Twice".utf8))], "tag 41 twice"),
            ]
            for (fields, what) in variants {
                try expectSW(try await card.exchange(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: fields.encoded(), ne: 256)), .wrongData,
                             "PERSONALIZE, \(what)")
            }
            try expectEqual(try await card.lifecycle(), LifecycleState.manufactured.rawValue, "lifecycle after the refused PERSONALIZEs")
        }
        list.add(18, "§8.11", "PERSONALIZE accepts its TLVs in any order", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            let fields = try expectDecodes("suite personalization") { try TLV.decodeAll(try SuiteData.personalization().encoded()) }
            let answer = try await card.exchange(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: Array(fields.reversed()).encoded(), ne: 256))
            try expectSW(answer, .success, "PERSONALIZE with the TLVs in descending order")
            _ = try parsePersonalizeResponse(answer.data, label: card.label)
        }
        protocolV2PersonalizationCases(&list)
        return list.cases
    }

    // MARK: ISS — §8.3, §8.4

    static func issuerCases() -> [ConformanceCase] {
        var list = CaseList("ISS")
        list.add(1, "§8.3", "GET CHALLENGE returns 16 fresh random bytes") { ctx in
            let card = try await ctx.selected()
            var seen: Set<[UInt8]> = []
            for _ in 0..<4 {
                let answer = try await card.send(SealCommand.getChallenge())
                try expectSW(answer, .success, "GET CHALLENGE")
                try expectEqual(answer.data.count, 16, "challenge length")
                seen.insert(answer.data)
            }
            try expectEqual(seen.count, 4, "distinct challenges out of 4")
        }
        list.add(2, "§8.3", "GET CHALLENGE with a wrong Le is answered 6C10") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 84 00 00 08", StatusWord(sw1: 0x6C, sw2: 0x10)), ("00 84 00 00 20", StatusWord(sw1: 0x6C, sw2: 0x10))],
                                     "GET CHALLENGE with Le ≠ 10")
            guard await card.offersExtendedLength else {
                // §3.5: a chip without extended length refuses the extended forms as malformed.
                try await card.expectAll([("00 84 00 00 00 00 0F", .wrongLength), ("00 84 00 00 00 01 00", .wrongLength)],
                                         "GET CHALLENGE with an extended Le on a chip without extended length")
                return
            }
            try await card.expectAll([("00 84 00 00 00 00 0F", StatusWord(sw1: 0x6C, sw2: 0x10))], "GET CHALLENGE with extended Le 000F")
            let extended = try await card.send(apdu("00 84 00 00 00 01 00"))
            try expectSW(extended, .success, "GET CHALLENGE with extended Le 0100")
            try expectEqual(extended.data.count, 16, "challenge length")
        }
        list.add(3, "§8.3", "GET CHALLENGE without Le is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("00 84 00 00")), .wrongLength, "GET CHALLENGE without Le")
        }
        list.add(4, "§8.4", "EXTERNAL AUTHENTICATE without a challenge is answered 6985") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: dummySignature)), .conditionsOfUseNotSatisfied,
                         "EXTERNAL AUTHENTICATE right after SELECT")
        }
        list.add(5, "§8.4", "A wrong signature is answered 6300 and consumes the challenge") { ctx in
            let card = try await ctx.selected()
            let chipID = try await card.chipID()
            let challenge = try await card.send(SealCommand.getChallenge())
            let stranger = P256.Signing.PrivateKey()
            let signature = Array(try stranger.signature(for: issuerAuthenticationTBS(chipID: chipID, challenge: challenge.data)).derRepresentation)
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: signature)), .authenticationFailed, "signature by another key")
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: signature)), .conditionsOfUseNotSatisfied,
                         "second attempt on the consumed challenge")
        }
        list.add(6, "§8.4", "A signature that is not DER is answered 6300") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.getChallenge()), .success, "GET CHALLENGE")
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: SuiteData.randomBytes(64))), .authenticationFailed,
                         "64 raw bytes as signature")
        }
        list.add(7, "§8.4", "EXTERNAL AUTHENTICATE without data or over 72 bytes is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.getChallenge()), .success, "GET CHALLENGE")
            try expectSW(try await card.send(apdu("00 82 00 01")), .wrongLength, "EXTERNAL AUTHENTICATE without Lc")
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: [UInt8](repeating: 0x30, count: 73))), .wrongLength,
                         "EXTERNAL AUTHENTICATE with 73 bytes")
        }
        list.add(8, "§8.9", "A valid issuer signature authenticates; SELECT clears it", requires: [.issuerKey]) { ctx in
            let card = try await ctx.selected()
            await ctx.restoreActiveAfterwards()
            let signature = try await ctx.issuerSignature(on: card)
            try expectSuccessNoData(try await card.send(SealCommand.externalAuthenticate(signature: signature)), "EXTERNAL AUTHENTICATE")
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: signature)), .conditionsOfUseNotSatisfied,
                         "replaying the signature (challenge consumed)")
            try await card.select()
            try expectSW(try await card.exchangeWithoutOpeningChannel(SealCommand.setLifecycle(.suspended)), .securityStatusNotSatisfied,
                         "SET LIFECYCLE after SELECT")
        }
        list.add(9, "§8.3", "A newer GET CHALLENGE replaces the earlier challenge", requires: [.issuerKey]) { ctx in
            let card = try await ctx.selected()
            let chipID = try await card.chipID()
            let first = try await card.send(SealCommand.getChallenge())
            _ = try await card.send(SealCommand.getChallenge())
            let signature = try await ctx.signAsIssuer(issuerAuthenticationTBS(chipID: chipID, challenge: first.data))
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: signature)), .authenticationFailed,
                         "issuer signature over the superseded challenge")
        }
        list.add(10, "§9.1", "An issuer signature bound to another chip ID is answered 6300", requires: [.issuerKey]) { ctx in
            let card = try await ctx.selected()
            let chipID = try await card.chipID()
            let challenge = try await card.send(SealCommand.getChallenge())
            var other = chipID
            other[0] ^= 0xFF
            let signature = try await ctx.signAsIssuer(issuerAuthenticationTBS(chipID: other, challenge: challenge.data))
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: signature)), .authenticationFailed,
                         "issuer signature over another chip ID")
        }
        return list.cases
    }
}
