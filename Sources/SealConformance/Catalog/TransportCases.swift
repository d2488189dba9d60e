import Crypto
import SealHostDriver
import SealProtocol

extension ConformanceCatalog {
    // MARK: ATR — §2.2, §2.3

    static func atrCases() -> [ConformanceCase] {
        var list = CaseList("ATR")
        list.add(1, "§2.2", "ATR is well formed and indicates T=1") { ctx in
            let atr = try expectDecodes("ATR \(spacedHex(ctx.atr))") { try AnswerToReset(bytes: ctx.atr) }
            try expect(atr.protocols.contains(1), "ATR \(spacedHex(ctx.atr)) offers protocols \(atr.protocols.sorted()), not T=1")
        }
        list.add(2, "§2.2", "ATR carries a valid TCK") { ctx in
            let atr = try expectDecodes("ATR \(spacedHex(ctx.atr))") { try AnswerToReset(bytes: ctx.atr) }
            try expect(atr.checkCharacter != nil, "ATR \(spacedHex(ctx.atr)) has no TCK although T=1 is indicated")
            let xor = ctx.atr.dropFirst().reduce(0, ^)
            try expect(xor == 0, "XOR of T0…TCK is \(hexString([xor])), must be 00")
        }
        list.add(3, "§2.2", "ATR card capabilities announce command chaining (b8 of the third byte)") { ctx in
            let atr = try expectDecodes("ATR") { try AnswerToReset(bytes: ctx.atr) }
            let caps = try expectValue(atr.cardCapabilities, "ATR has no card-capabilities compact TLV (category 80, tag 7)")
            try expect(caps.third & 0x80 != 0, "card capabilities third byte \(hexString([caps.third])): bit b8 (chaining) is clear")
        }
        list.add(4, "§2.2", "ATR card capabilities announce extended Lc/Le (b7 of the third byte) exactly when the chip offers it") { ctx in
            let atr = try expectDecodes("ATR") { try AnswerToReset(bytes: ctx.atr) }
            let caps = try expectValue(atr.cardCapabilities, "ATR has no card-capabilities compact TLV (category 80, tag 7)")
            let offered = try await ctx.selected().reportedCapabilities().features.contains(.extendedLength)
            try expect((caps.third & 0x40 != 0) == offered,
                       "card capabilities third byte \(hexString([caps.third])): bit b7 (extended length) must be \(offered ? "set" : "clear"), as GET DATA 0105 reports")
        }
        list.add(5, "§2.3", "Warm reset answers a valid T=1 ATR with the same capabilities") { ctx in
            let bytes = try await ctx.card.reset()
            let atr = try expectDecodes("ATR after warm reset \(spacedHex(bytes))") { try AnswerToReset(bytes: bytes) }
            try expect(atr.protocols.contains(1), "ATR after warm reset does not indicate T=1")
            try expect(atr.supportsCommandChaining, "ATR after warm reset does not announce chaining")
            try expectBytes(bytes, ctx.atr, "ATR after warm reset against the ATR at power-on (the same capabilities)")
        }
        return list.cases
    }

    // MARK: PWR — §1.2, §2.3

    static func powerCases() -> [ConformanceCase] {
        var list = CaseList("PWR")
        list.add(1, "§2.3", "Interindustry commands before SELECT are answered 6D00") { ctx in
            try await ctx.card.expectAll([
                ("00 CA 01 01 00", .insNotSupported), ("00 20 00 81", .insNotSupported), ("00 84 00 00 10", .insNotSupported),
                ("00 C0 00 00 10", .insNotSupported), ("00 82 00 01 02 30 00", .insNotSupported),
            ], "command before SELECT after power-on")
        }
        list.add(2, "§2.3", "Proprietary commands before SELECT are answered 6D00") { ctx in
            try await ctx.card.expectAll([
                ("80 56 00 00 04 00 00 00 00 00", .insNotSupported), ("80 58 00 00 00", .insNotSupported),
                ("80 52 0F 00", .insNotSupported), ("80 54 00 00 02 90 00 00", .insNotSupported), ("80 50 00 00 03 41 01 41", .insNotSupported),
            ], "proprietary command before SELECT after power-on")
        }
        list.add(3, "§2.3", "CLA errors take precedence over 'no application selected'") { ctx in
            try await ctx.card.expectAll([
                ("01 CA 01 01 00", .logicalChannelNotSupported), ("04 CA 01 01 00", .secureMessagingNotSupported),
                ("20 CA 01 01 00", .claNotSupported),
            ], "bad CLA before SELECT (SPEC §2.3: 6D00 only after the CLA checks)")
        }
        list.add(4, "§2.3", "Warm reset deselects the applet") { ctx in
            let card = try await ctx.selected()
            _ = try await card.chipID()
            try await card.reset()
            try expectSW(try await card.send(apdu("00 CA 01 01 00")), .insNotSupported, "GET DATA after warm reset, before SELECT")
        }
        list.add(5, "§1.2", "Warm reset clears the PIN-verified flag") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try await card.expectVerified("after VERIFY")
            try await card.reset()
            try await card.select()
            try await card.expectNotVerified("after warm reset and SELECT")
        }
        list.add(6, "§1.2", "Warm reset discards pending GET RESPONSE data") { ctx in
            let card = try await ctx.selected()
            _ = try await card.startPendingResponse()
            try await card.reset()
            try await card.select()
            try expectSW(try await card.send(SealCommand.getResponse(ne: 12)), .conditionsOfUseNotSatisfied,
                         "GET RESPONSE after warm reset (pending data must be gone)")
        }
        list.add(7, "§1.2", "Warm reset discards an open command chain") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("10 20 00 81 02 31 32")), .success, "first part of a chained VERIFY")
            try await card.reset()
            try await card.select()
            try expectSW(try await card.send(apdu("00 CA 01 01 10")), .success, "GET DATA after warm reset (the chain must be gone, not 6883)")
        }
        list.add(8, "§1.2", "Warm reset discards the pending issuer challenge") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.getChallenge()), .success, "GET CHALLENGE")
            try await card.reset()
            try await card.select()
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: dummySignature)), .conditionsOfUseNotSatisfied,
                         "EXTERNAL AUTHENTICATE after warm reset (no challenge pending)")
        }
        list.add(9, "§1.2", "SELECT clears the PIN-verified flag") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try await card.select()
            try await card.expectNotVerified("after a second SELECT")
        }
        list.add(10, "§1.2", "SELECT discards the pending issuer challenge") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.getChallenge()), .success, "GET CHALLENGE")
            try await card.select()
            try expectSW(try await card.send(SealCommand.externalAuthenticate(signature: dummySignature)), .conditionsOfUseNotSatisfied,
                         "EXTERNAL AUTHENTICATE after SELECT (no challenge pending)")
        }
        list.add(11, "§2.3", "Power-off and power-on clear the PIN-verified flag") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            await card.disconnect()
            try await card.connectAndSelect()
            try await card.expectNotVerified("after power-off and power-on")
        }
        return list.cases
    }

    // MARK: SEL — §8.1

    static func selectCases() -> [ConformanceCase] {
        var list = CaseList("SEL")
        list.add(1, "§8.1", "SELECT with P2 00 returns the FCI of §8.1") { ctx in
            let answer = try await ctx.card.exchange(SealCommand.select())
            try expectSW(answer, .success, "SELECT P2 00")
            let fci = try expectDecodes("FCI") { try TLV(decoding: answer.data) }
            try expectEqual(fci.tag, SealTag.fci, "FCI template tag")
            let children = try expectDecodes("FCI content") { try fci.children() }
            try expectEqual(children.map(\.tag.description), ["84", "A5"], "FCI objects")
            try expectBytes(children[0].value, SealApplet.aid, "FCI 84 (AID)")
            let proprietary = try expectDecodes("FCI A5") { try children[1].children() }
            try expectEqual(proprietary.map(\.tag.description), ["80", "81", "82", "83"], "FCI A5 objects")
            try expectBytes(proprietary[0].value, [0x02, 0x00], "FCI 80 (spec version)")
            // §3.5: 81 and 82 are the chip's real limits, at least the minimums; checked with the
            // rest of the capabilities below (SEAL-RSP-005); here they must equal GET DATA 0105.
            try expect(proprietary[1].value.count == 2 && proprietary[2].value.count == 4, "FCI 81 and 82 lengths")
            try expect(proprietary[3].value.count == 1 && proprietary[3].value[0] & 0x01 == 0x01,
                       "FCI 83 (features) must be 1 byte with bit0 (chaining), got \(spacedHex(proprietary[3].value))")
            let capabilities = try await ctx.card.getData(.capabilities)
            try expectBytes(children[1].value, Array(capabilities.prefix(children[1].value.count)), "FCI A5 against GET DATA 0105")
        }
        list.add(2, "§8.1", "SELECT with P2 0C answers 9000 without data") { ctx in
            try expectSuccessNoData(try await ctx.card.send(SealCommand.select(returnFCI: false)), "SELECT P2 0C")
        }
        list.add(3, "§8.1", "SELECT of an unknown AID is answered 6A82") { ctx in
            try expectSW(try await ctx.card.send(apdu("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 02 00")), .fileNotFound, "SELECT of AID …54 02")
            try expectSW(try await ctx.card.send(apdu("00 A4 04 0C 07 A0 00 00 00 03 10 10")), .fileNotFound, "SELECT of a payment AID")
        }
        list.add(4, "§8.1", "A failed SELECT leaves the applet selected") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("00 A4 04 0C 05 D2 76 00 00 01")), .fileNotFound, "SELECT of an unknown AID")
            try expectSW(try await card.send(apdu("00 CA 01 01 10")), .success, "GET DATA 0101 after the failed SELECT")
        }
        list.add(5, "§8.1", "SELECT matches the AID exactly (truncated or longer AID → 6A82)") { ctx in
            try expectSW(try await ctx.card.send(apdu("00 A4 04 0C 08 F0 53 45 41 4C 4B 49 54")), .fileNotFound, "SELECT of the AID without its last byte")
            try expectSW(try await ctx.card.send(apdu("00 A4 04 0C 0A F0 53 45 41 4C 4B 49 54 01 00")), .fileNotFound, "SELECT of the AID plus one byte")
        }
        list.add(6, "§8.1", "SELECT with P1 other than 04 is answered 6A86") { ctx in
            try await ctx.card.expectAll([
                ("00 A4 00 0C 09 F0 53 45 41 4C 4B 49 54 01", .incorrectP1P2), ("00 A4 02 0C 09 F0 53 45 41 4C 4B 49 54 01", .incorrectP1P2),
            ], "SELECT with P1 ≠ 04")
        }
        list.add(7, "§8.1", "SELECT with P2 other than 00/0C is answered 6A86") { ctx in
            try await ctx.card.expectAll([
                ("00 A4 04 04 09 F0 53 45 41 4C 4B 49 54 01", .incorrectP1P2), ("00 A4 04 0D 09 F0 53 45 41 4C 4B 49 54 01", .incorrectP1P2),
            ], "SELECT with P2 ∉ {00, 0C}")
        }
        list.add(8, "§8.1", "SELECT without Lc is answered 6700") { ctx in
            try await ctx.card.expectAll([("00 A4 04 0C", .wrongLength), ("00 A4 04 00 00", .wrongLength)], "SELECT without data")
        }
        return list.cases
    }

    // MARK: APDU — §3.1

    static func apduCases() -> [ConformanceCase] {
        var list = CaseList("APDU")
        list.add(1, "§3.1", "Case 1 (no Lc, no Le) is accepted: VERIFY P1 FF") { ctx in
            let card = try await ctx.selected()
            try expectSuccessNoData(try await card.send(apdu("00 20 FF 81")), "case 1 VERIFY P1 FF")
        }
        list.add(2, "§3.1", "Case 2 short: GET DATA with Le 10 returns 16 bytes") { ctx in
            let card = try await ctx.selected()
            let answer = try await card.send(apdu("00 CA 01 01 10"))
            try expectSW(answer, .success, "case 2S GET DATA 0101 Le 10")
            try expectEqual(answer.data.count, 16, "response length")
        }
        list.add(3, "§3.1", "Case 2 short: Le 00 means 256 (GET ATTESTATION without nonce: 256 bytes, then 61xx)") { ctx in
            let card = try await ctx.selected()
            // The v2 statement makes the response longer than 256 bytes (§9.4): Le 00 gets exactly
            // the first 256 bytes and 61xx for the rest (§3.3 step 3; its length varies, so never 6Cxx).
            let answer = try await card.send(apdu("80 58 00 00 00"))
            try expect(answer.sw.bytesRemaining != nil, "case 2S GET ATTESTATION Le 00: expected 61xx, got \(answer.sw)")
            try expect(answer.data.count == 256, "Le 00 must mean 256 bytes, got \(answer.data.count)")
            let rest = try await card.send(SealCommand.getResponse(ne: 256))
            try expectSW(rest, .success, "GET RESPONSE after GET ATTESTATION Le 00")
            _ = try decodeAttestation(answer.data + rest.data)
        }
        list.add(4, "§3.1", "Case 2 extended: Le 0000 means 65536 (whole device certificate at once); without extended length 6700") { ctx in
            let card = try await ctx.selected()
            guard await card.offersExtendedLength else {
                try expectSW(try await card.send(apdu("00 CA 01 06 00 00 00")), .wrongLength, "case 2E on a chip without extended length (§3.5)")
                return
            }
            let whole = try await card.send(apdu("00 CA 01 06 00 00 00"))
            try expectSW(whole, .success, "case 2E GET DATA 0106 Le 0000")
            let assembled = try await card.exchange(SealCommand.getData(.deviceCertificate, ne: 64))
            try expectBytes(whole.data, assembled.data, "certificate from one extended APDU vs. assembled with GET RESPONSE")
        }
        list.add(5, "§3.1", "Case 2 extended: explicit extended Le; without extended length 6700") { ctx in
            let card = try await ctx.selected()
            guard await card.offersExtendedLength else {
                try expectSW(try await card.send(apdu("00 CA 01 01 00 00 10")), .wrongLength, "case 2E on a chip without extended length (§3.5)")
                return
            }
            let answer = try await card.send(apdu("00 CA 01 01 00 00 10"))
            try expectSW(answer, .success, "case 2E GET DATA 0101 Le 0010")
            try expectEqual(answer.data.count, 16, "response length")
        }
        list.add(6, "§3.1", "Case 3 short: VERIFY with the PIN") { ctx in
            let card = try await ctx.selected()
            let pin = Array(ctx.pin.utf8)
            try expectSuccessNoData(try await card.send([0x00, 0x20, 0x00, 0x81, UInt8(pin.count)] + pin), "case 3S VERIFY")
        }
        list.add(7, "§3.1", "Case 3 extended: VERIFY with the PIN in extended form; without extended length 6700, no try spent") { ctx in
            let card = try await ctx.selected()
            let pin = Array(ctx.pin.utf8)
            guard await card.offersExtendedLength else {
                let before = try await card.pinStatus()
                try expectSW(try await card.send([0x00, 0x20, 0x00, 0x81, 0x00, 0x00, UInt8(pin.count)] + pin), .wrongLength,
                             "case 3E VERIFY on a chip without extended length (§3.5)")
                try await card.select()
                try await card.expectNotVerified("after the refused case 3E VERIFY")
                try expectEqual(try await card.pinStatus().pinTriesRemaining, before.pinTriesRemaining, "PIN tries after the refused VERIFY")
                return
            }
            try expectSuccessNoData(try await card.send([0x00, 0x20, 0x00, 0x81, 0x00, 0x00, UInt8(pin.count)] + pin), "case 3E VERIFY")
            try await card.expectVerified("after case 3E VERIFY")
        }
        list.add(8, "§3.1", "Case 4 short: SELECT P2 00 with Le 00") { ctx in
            let answer = try await ctx.card.send(apdu("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01 00"))
            try expectSW(answer, .success, "case 4S SELECT")
            let fci = try expectDecodes("FCI from case 4S SELECT") { try TLV(decoding: answer.data) }
            try expectEqual(fci.tag, SealTag.fci, "FCI template tag")
            let again = try await ctx.card.exchange(SealCommand.select())
            try expectBytes(answer.data, again.data, "FCI of case 4S SELECT vs. a second SELECT")
        }
        list.add(9, "§3.1", "Case 4 extended: GET ATTESTATION with a 32-byte nonce and Le 0000; without extended length 6700") { ctx in
            let card = try await ctx.selected()
            let nonce = SuiteData.randomBytes(32)
            guard await card.offersExtendedLength else {
                try expectSW(try await card.send([0x80, 0x58, 0x00, 0x00, 0x00, 0x00, 0x20] + nonce + [0x00, 0x00]), .wrongLength,
                             "case 4E GET ATTESTATION on a chip without extended length (§3.5)")
                return
            }
            let answer = try await card.send([0x80, 0x58, 0x00, 0x00, 0x00, 0x00, 0x20] + nonce + [0x00, 0x00])
            try expectSW(answer, .success, "case 4E GET ATTESTATION")
            let response = try decodeAttestation(answer.data)
            let statement = try expectDecodes("attestation statement") { try AttestationStatement(decoding: response.statementBytes) }
            try expectBytes(statement.nonce, nonce, "nonce in the statement")
            try expect(answer.data.count > 256, "a 32-byte-nonce attestation is longer than 256 bytes; got \(answer.data.count)")
        }
        list.add(10, "§3.1", "Case 4 short: Le 00 returns 256 bytes and 61xx for a longer response") { ctx in
            let card = try await ctx.selected()
            let nonce = SuiteData.randomBytes(32)
            let first = try await card.send([0x80, 0x58, 0x00, 0x00, 0x20] + nonce + [0x00])
            guard let remaining = first.sw.bytesRemaining else {
                throw ConformanceFailure("GET ATTESTATION (32-byte nonce, Le 00): expected 61xx, got \(swText(first.sw))")
            }
            try expectEqual(first.data.count, 256, "bytes returned for Le 00")
            let rest = try await card.exchange(SealCommand.getResponse(ne: remaining))
            try expectSW(rest, .success, "GET RESPONSE of the rest")
            let response = try decodeAttestation(first.data + rest.data)
            let statement = try expectDecodes("attestation statement") { try AttestationStatement(decoding: response.statementBytes) }
            try expectBytes(statement.nonce, nonce, "nonce in the statement")
        }
        list.add(11, "§3.1", "An APDU shorter than 4 bytes is answered 6700") { ctx in
            let card = try await ctx.selected()
            // Two and three bytes, not one: vpcd (the virtual reader of PC/SC test rigs) reads every
            // 1-byte frame as a control message, so a 1-byte APDU would never reach the card.
            try await card.expectAll([("00 CA 01", .wrongLength), ("00 CA", .wrongLength)], "APDU of fewer than 4 bytes")
        }
        list.add(12, "§3.1", "A short Lc inconsistent with the byte count is answered 6700") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([
                ("00 20 00 81 08 31 32 33 34", .wrongLength), ("00 20 00 81 04 31 32 33 34 00 00", .wrongLength),
            ], "short APDU whose length fields do not match its size")
            try expect(try await card.pinStatus().pinTriesRemaining > 0, "PIN status readable after malformed APDUs")
        }
        list.add(13, "§3.1", "An extended Lc of 0000 is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("00 20 00 81 00 00 00 31 32 33 34")), .wrongLength, "extended Lc 0000")
        }
        list.add(14, "§3.1", "Extended data followed by a one-byte Le is answered 6700") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("80 58 00 00 00 00 02 AA BB 00")), .wrongLength, "extended Lc with a one-byte Le")
        }
        list.add(15, "§3.1", "Command data over the reported maximum in one APDU is answered 6700") { ctx in
            let card = try await ctx.selected()
            let limit = Int(try await card.reportedCapabilities().maxCommandData)
            let answer = try await card.send(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [UInt8](repeating: 0x90, count: limit + 1), ne: nil))
            try expectSW(answer, .wrongLength, "STAMP with \(limit + 1) data bytes (extended Lc), the chip reports \(limit)")
        }
        list.add(16, "§3.1", "Command data of exactly the reported maximum in one APDU passes the length check (without extended length: 6700)") { ctx in
            let card = try await ctx.selected()
            let capabilities = try await card.reportedCapabilities()
            let limit = Int(capabilities.maxCommandData)
            let answer = try await card.send(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [UInt8](repeating: 0x90, count: limit), ne: nil))
            guard capabilities.features.contains(.extendedLength) || limit <= 255 else {
                // More than 255 bytes in one APDU is an extended Lc, which such a chip refuses (§3.5).
                try expectSW(answer, .wrongLength, "STAMP with \(limit) data bytes in extended form on a chip without extended length")
                return
            }
            try expectSW(answer, .securityStatusNotSatisfied, "STAMP with \(limit) data bytes and no PIN (length accepted, then 6982)")
        }
        return list.cases
    }

    // MARK: CLA — §3.2

    static func classCases() -> [ConformanceCase] {
        var list = CaseList("CLA")
        list.add(1, "§3.2", "CLA with logical-channel bits is answered 6881") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([
                ("01 CA 01 01 00", .logicalChannelNotSupported), ("02 CA 01 01 00", .logicalChannelNotSupported),
                ("03 CA 01 01 00", .logicalChannelNotSupported), ("81 56 00 00 04 00 00 00 00 00", .logicalChannelNotSupported),
            ], "CLA with bits 03")
        }
        list.add(2, "§3.2", "CLA with secure-messaging bits is answered 6882") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([
                ("04 CA 01 01 00", .secureMessagingNotSupported), ("08 CA 01 01 00", .secureMessagingNotSupported),
                ("0C CA 01 01 00", .secureMessagingNotSupported), ("84 58 00 00 00", .secureMessagingNotSupported),
            ], "CLA with bits 0C")
        }
        list.add(3, "§3.2", "Any other unsupported CLA is answered 6E00") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([
                ("20 CA 01 01 00", .claNotSupported), ("40 CA 01 01 00", .claNotSupported), ("A0 CA 01 01 00", .claNotSupported),
                ("C0 CA 01 01 00", .claNotSupported), ("E0 58 00 00 00", .claNotSupported),
            ], "CLA outside 00/10/80/90 without channel or SM bits")
        }
        list.add(4, "§3.2", "Logical-channel bits are checked before secure-messaging bits") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("0F CA 01 01 00", .logicalChannelNotSupported), ("85 58 00 00 00", .logicalChannelNotSupported)],
                                     "CLA with both channel and SM bits")
        }
        list.add(5, "§3.2", "An interindustry INS under the proprietary class is answered 6D00") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 CA 01 01 00", .insNotSupported), ("80 20 00 81", .insNotSupported), ("80 84 00 00 10", .insNotSupported)],
                                     "interindustry INS with CLA 80")
        }
        list.add(6, "§3.2", "A proprietary INS under the interindustry class is answered 6D00") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 58 00 00 00", .insNotSupported), ("00 52 0F 00", .insNotSupported),
                                      ("00 56 00 00 04 00 00 00 00 00", .insNotSupported)], "proprietary INS with CLA 00")
        }
        list.add(7, "§3.2", "An undefined INS is answered 6D00") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 B0 00 00 10", .insNotSupported), ("00 D6 00 00 01 00", .insNotSupported),
                                      ("80 00 00 00", .insNotSupported), ("80 5A 00 00 00", .insNotSupported)], "undefined INS")
        }
        list.add(8, "§5", "The CLA check precedes the INS check") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("01 B0 00 00 10", .logicalChannelNotSupported), ("20 FF 00 00", .claNotSupported)],
                                     "unsupported CLA with an undefined INS")
        }
        return list.cases
    }

    // MARK: ERR — §5

    static func precedenceCases() -> [ConformanceCase] {
        var list = CaseList("ERR")
        list.add(1, "§5", "Malformed APDU (6700) precedes the CLA check") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("01 20 00 81 08 31 32")), .wrongLength, "CLA 01 with an inconsistent Lc")
        }
        list.add(2, "§5", "P1-P2 (6A86) precedes the length check (6700)") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("00 20 00 82 0D 31 32 33 34 35 36 37 38 39 30 31 32 33")), .incorrectP1P2,
                         "VERIFY P2 82 with a 13-digit PIN")
        }
        list.add(3, "§5", "Length (6700) precedes the lifecycle check (6985)") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("80 50 00 00")), .wrongLength, "PERSONALIZE without data on an ACTIVE token")
        }
        list.add(4, "§5", "Lifecycle (6985) precedes security (6982)") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("80 50 00 00 03 41 01 41")), .conditionsOfUseNotSatisfied,
                         "PERSONALIZE on an ACTIVE token without issuer authentication")
        }
        list.add(5, "§5", "Security (6982) precedes data content (6A80)") { ctx in
            let card = try await ctx.selected()
            let before = try await card.counter()
            try expectSW(try await card.send(apdu("80 54 00 00 04 01 02 03 04")), .securityStatusNotSatisfied, "STAMP with garbage data and no PIN")
            try expectEqual(try await card.counter(), before, "counter after the refused STAMP")
        }
        list.add(6, "§5", "A refused command changes no state (PIN stays verified, counter unchanged)") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            let before = try await card.counter()
            try expectSW(try await card.stampRaw(apdu("90 03 01 02 03 A1 0A 91 08 00 00 00 00 00 00 00 01")), .wrongData, "STAMP with a 3-byte digest")
            try await card.expectVerified("after the refused STAMP")
            try expectEqual(try await card.counter(), before, "counter after the refused STAMP")
        }
        return list.cases
    }

    // MARK: PAR — P1-P2 of every command

    static func parameterCases() -> [ConformanceCase] {
        var list = CaseList("PAR")
        list.add(1, "§8.2", "GET RESPONSE with P1-P2 ≠ 0000 is answered 6B00") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("00 C0 00 01 10")), .wrongP1P2, "GET RESPONSE P1-P2 0001, nothing pending")
            _ = try await card.startPendingResponse()
            try expectSW(try await card.send(apdu("00 C0 01 00 0C")), .wrongP1P2, "GET RESPONSE P1-P2 0100, data pending")
        }
        list.add(2, "§8.3", "GET CHALLENGE with P1-P2 ≠ 0000 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 84 00 01 10", .incorrectP1P2), ("00 84 01 00 10", .incorrectP1P2)], "GET CHALLENGE with bad P1-P2")
        }
        list.add(3, "§8.4", "EXTERNAL AUTHENTICATE with P1-P2 ≠ 0001 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.getChallenge()), .success, "GET CHALLENGE")
            try await card.expectAll([("00 82 00 00 02 30 00", .incorrectP1P2), ("00 82 01 01 02 30 00", .incorrectP1P2)],
                                     "EXTERNAL AUTHENTICATE with bad P1-P2")
        }
        list.add(4, "§8.6", "VERIFY with P1 ∉ {00, FF} or P2 ≠ 81 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            let pin = hexString(Array(ctx.pin.utf8))
            let lc = hexString([UInt8(ctx.pin.utf8.count)])
            try await card.expectAll([("00 20 01 81 \(lc) \(pin)", .incorrectP1P2), ("00 20 00 80 \(lc) \(pin)", .incorrectP1P2),
                                      ("00 20 00 01", .incorrectP1P2)], "VERIFY with bad P1-P2")
            try await card.expectNotVerified("after the refused VERIFYs")
        }
        list.add(5, "§8.7", "CHANGE REFERENCE DATA with P1-P2 ≠ 0081 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 24 01 81 0C 81 04 31 32 33 34 82 04 31 32 33 34", .incorrectP1P2),
                                      ("00 24 00 80 0C 81 04 31 32 33 34 82 04 31 32 33 34", .incorrectP1P2)], "CHANGE REFERENCE DATA with bad P1-P2")
        }
        list.add(6, "§8.8", "RESET RETRY COUNTER with P1-P2 ≠ 0081 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 2C 01 81 10 83 08 31 32 33 34 35 36 37 38 82 04 31 32 33 34", .incorrectP1P2),
                                      ("00 2C 00 82 10 83 08 31 32 33 34 35 36 37 38 82 04 31 32 33 34", .incorrectP1P2)], "RESET RETRY COUNTER with bad P1-P2")
        }
        list.add(7, "§8.11", "PERSONALIZE with P1-P2 ≠ 0000 is answered 6A86 (before the lifecycle check)") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 50 00 01 03 41 01 41", .incorrectP1P2), ("80 50 01 00 03 41 01 41", .incorrectP1P2)], "PERSONALIZE with bad P1-P2")
        }
        list.add(8, "§8.12", "SET LIFECYCLE with P2 ≠ 00 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 52 0F 01", .incorrectP1P2), ("80 52 07 FF", .incorrectP1P2)], "SET LIFECYCLE with P2 ≠ 00")
        }
        list.add(9, "§8.13", "STAMP with P1-P2 ≠ 0000 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 54 00 01 02 90 00", .incorrectP1P2), ("80 54 01 00 02 90 00", .incorrectP1P2)], "STAMP with bad P1-P2")
        }
        list.add(10, "§8.14", "READ AUDIT LOG with P1-P2 ≠ 0000 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 56 00 01 04 00 00 00 00 00", .incorrectP1P2), ("80 56 01 00 04 00 00 00 00 00", .incorrectP1P2)],
                                     "READ AUDIT LOG with bad P1-P2")
        }
        list.add(11, "§8.15", "GET ATTESTATION with P1-P2 ≠ 0000 is answered 6A86") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("80 58 00 01 00", .incorrectP1P2), ("80 58 01 00 00", .incorrectP1P2)], "GET ATTESTATION with bad P1-P2")
        }
        return list.cases
    }
}

/// A syntactically valid DER ECDSA signature (r = s = 1) that verifies under no key.
let dummySignature: [UInt8] = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]
