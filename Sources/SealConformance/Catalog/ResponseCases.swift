import Crypto
import SealGMCrypto
import SealHostDriver
import SealProtocol
import X509

extension ConformanceCatalog {
    // MARK: GR — §3.3, §8.2

    static func responseCases() -> [ConformanceCase] {
        var list = CaseList("GR")
        list.add(1, "§3.3", "61xx and a GET RESPONSE loop reassemble the device certificate") { ctx in
            let card = try await ctx.selected()
            // Without extended length (§3.5) the whole certificate comes through the driver-free
            // follower of the suite (Le 00 and GET RESPONSE), and the loop starts from a short Le 00.
            let extended = await card.offersExtendedLength
            let whole = extended ? try await card.send(apdu("00 CA 01 06 00 00 00")) : try await card.exchange(SealCommand.getData(.deviceCertificate))
            try expectSW(whole, .success, "GET DATA 0106 (whole)")
            var answer = try await card.send(extended ? apdu("00 CA 01 06 00 00 10") : apdu("00 CA 01 06 00"))
            guard extended else {
                var data = answer.data
                var rounds = 0
                while let remaining = answer.sw.bytesRemaining {
                    let expected = whole.data.count - data.count
                    try expectEqual(remaining, expected >= 256 ? 256 : expected, "61xx announced after \(data.count) bytes")
                    answer = try await card.send(SealCommand.getResponse(ne: 16))
                    data += answer.data
                    rounds += 1
                    try expect(rounds < 300, "GET RESPONSE loop does not end")
                }
                try expectSW(answer, .success, "last GET RESPONSE")
                try expectBytes(data, whole.data, "reassembled certificate")
                return
            }
            var data = answer.data
            try expectEqual(answer.data.count, min(16, whole.data.count), "bytes returned for extended Le 16")
            var rounds = 0
            while let remaining = answer.sw.bytesRemaining {
                let expected = whole.data.count - data.count
                try expectEqual(remaining, expected >= 256 ? 256 : expected, "61xx announced after \(data.count) bytes")
                answer = try await card.send(SealCommand.getResponse(ne: 16))
                data += answer.data
                rounds += 1
                try expect(rounds < 300, "GET RESPONSE loop does not end")
            }
            try expectSW(answer, .success, "last GET RESPONSE")
            try expectBytes(data, whole.data, "reassembled certificate")
        }
        list.add(2, "§8.2", "GET RESPONSE returns min(Le, pending) bytes and 61xx for the rest") { ctx in
            let card = try await ctx.selected()
            let started = try await card.startPendingResponse()
            let pending = started.pending.count
            let part = try await card.send(SealCommand.getResponse(ne: 5))
            try expectSW(part, .bytesRemaining(pending - 5), "GET RESPONSE Le 5 with \(pending) bytes pending")
            try expectEqual(part.data.count, 5, "bytes returned")
            let rest = try await card.send(SealCommand.getResponse(ne: 100))
            try expectSW(rest, .success, "GET RESPONSE Le 100 with \(pending - 5) bytes pending")
            try expectEqual(rest.data.count, pending - 5, "bytes returned")
            try expectBytes(started.pending, part.data + rest.data, "the pending bytes via GET RESPONSE")
        }
        list.add(3, "§8.2", "GET RESPONSE with nothing pending is answered 6985") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(SealCommand.getResponse(ne: 16)), .conditionsOfUseNotSatisfied, "GET RESPONSE after SELECT")
            let started = try await card.startPendingResponse()
            try expectSW(try await card.send(SealCommand.getResponse(ne: started.pending.count)), .success,
                         "GET RESPONSE of the \(started.pending.count) pending bytes")
            try expectSW(try await card.send(SealCommand.getResponse(ne: 16)), .conditionsOfUseNotSatisfied, "GET RESPONSE once everything was fetched")
        }
        list.add(4, "§3.3", "Pending response data is discarded by any other command") { ctx in
            let card = try await ctx.selected()
            _ = try await card.startPendingResponse()
            try expectSW(try await card.send(apdu("00 CA 01 02 01")), .success, "GET DATA 0102 while data is pending")
            try expectSW(try await card.send(SealCommand.getResponse(ne: 12)), .conditionsOfUseNotSatisfied, "GET RESPONSE after another command")
        }
        list.add(5, "§8.2", "GET RESPONSE without Le is answered 6700") { ctx in
            let card = try await ctx.selected()
            _ = try await card.startPendingResponse()
            try expectSW(try await card.send(apdu("00 C0 00 00")), .wrongLength, "GET RESPONSE without Le")
        }
        list.add(6, "§3.3", "GET DATA with a short wrong Le is answered 6C10, and the re-sent command succeeds") { ctx in
            let card = try await ctx.selected()
            let wrong = try await card.send(apdu("00 CA 01 01 05"))
            try expectSW(wrong, StatusWord(sw1: 0x6C, sw2: 0x10), "GET DATA 0101 Le 05")
            try expect(wrong.data.isEmpty, "6Cxx must come without data, got \(wrong.data.count) byte(s)")
            let right = try await card.send(apdu("00 CA 01 01 10"))
            try expectSW(right, .success, "GET DATA 0101 re-sent with Le 10")
            try expectEqual(right.data.count, 16, "chip ID length")
        }
        list.add(7, "§3.3", "6Cxx gives the exact length of a variable-length object (GET DATA 0108)") { ctx in
            let card = try await ctx.selected()
            let reference = try await card.send(apdu("00 CA 01 08 00"))
            try expectSW(reference, .success, "GET DATA 0108 with Le 00")
            let wrong = try await card.send(apdu("00 CA 01 08 01"))
            try expectSW(wrong, StatusWord.wrongLe(exact: reference.data.count), "GET DATA 0108 with Le 01")
            try expect(wrong.data.isEmpty, "6Cxx must come without data")
            let right = try await card.send(CommandAPDU(cla: 0x00, ins: 0xCA, p1: 0x01, p2: 0x08, ne: try expectValue(wrong.sw.exactLength, "no 6Cxx")))
            try expectSW(right, .success, "GET DATA 0108 re-sent with the Le of 6Cxx")
            try expectBytes(right.data, reference.data, "GET DATA 0108")
        }
        list.add(8, "§3.3", "A state-changing command is never answered 6Cxx (SELECT with a short Le → 61xx)") { ctx in
            let card = ctx.card
            let full = try await card.exchange(SealCommand.select())
            try expectSW(full, .success, "SELECT P2 00")
            let part = try await card.send(apdu("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01 04"))
            try expectSW(part, StatusWord.bytesRemaining(full.data.count - 4), "SELECT P2 00 with Le 04")
            try expectEqual(part.data.count, 4, "bytes returned")
            let rest = try await card.send(SealCommand.getResponse(ne: 256))
            try expectSW(rest, .success, "GET RESPONSE after SELECT")
            try expectBytes(part.data + rest.data, full.data, "reassembled FCI")
        }
        list.add(9, "§3.3", "A read-only command with a too-small extended Le gets 61xx, not 6Cxx (without extended length: 6700)") { ctx in
            let card = try await ctx.selected()
            guard await card.offersExtendedLength else {
                // §3.5: a chip without extended length refuses the extended form itself.
                try expectSW(try await card.send(CommandAPDU(cla: 0, ins: 0xCA, p1: 0x01, p2: 0x01, ne: 4, forceExtended: true)),
                             .wrongLength, "GET DATA 0101 with extended Le 4 on a chip without extended length")
                return
            }
            _ = try await card.startPendingResponse()  // checks 4 chip ID bytes and 610C
        }
        list.add(10, "§3.3", "A read-only response over 256 bytes with a short Le gets 61xx, not 6Cxx") { ctx in
            let card = try await ctx.selected()
            let nonce = SuiteData.randomBytes(32)
            let answer = try await card.send([0x80, 0x58, 0x00, 0x00, 0x20] + nonce + [0x0A])
            try expect(answer.sw.bytesRemaining != nil, "GET ATTESTATION (32-byte nonce, > 256-byte response) Le 0A: expected 61xx, got \(swText(answer.sw))")
            try expectEqual(answer.data.count, 10, "bytes returned for Le 0A")
        }
        list.add(11, "§3.3", "GET ATTESTATION, whose ECDSA signature length varies, is never answered 6Cxx: a short Le gets 61xx") { ctx in
            let card = try await ctx.selected()
            for le: UInt8 in [0x01, 0x48, 0xFF] {
                let answer = try await card.send([0x80, 0x58, 0x00, 0x00, le])
                try expect(answer.sw.exactLength == nil, "GET ATTESTATION without nonce, Le \(hexString([le])): 6Cxx is not allowed (§3.3 rule 2), got \(swText(answer.sw))")
                try expect(answer.sw.bytesRemaining != nil, "GET ATTESTATION without nonce, Le \(hexString([le])): expected 61xx, got \(swText(answer.sw))")
                try expectEqual(answer.data.count, Int(le), "bytes returned for Le \(hexString([le]))")
                let rest = try await card.exchange(SealCommand.getResponse(ne: answer.sw.bytesRemaining ?? 0))
                try expectSW(rest, .success, "GET RESPONSE of the rest")
                _ = try decodeAttestation(answer.data + rest.data)
            }
        }
        return list.cases
    }

    // MARK: CHN — §3.4

    static func chainingCases() -> [ConformanceCase] {
        var list = CaseList("CHN")
        list.add(1, "§3.4", "VERIFY sent as a two-part chain verifies the PIN") { ctx in
            let card = try await ctx.selected()
            let result = try await card.sendChain(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x81, data: Array(ctx.pin.utf8), partSize: 2, ne: nil)
            for part in result.intermediate { try expectSuccessNoData(part, "intermediate chain part") }
            try expectSuccessNoData(result.final, "last chain part of VERIFY")
            try await card.expectVerified("after the chained VERIFY")
        }
        list.add(2, "§3.4", "STAMP sent as a chain produces a valid stamp", consumes: .init(stamps: 1)) { ctx in
            let card = try await ctx.selected()
            let facts = try await card.facts()
            try await card.verifyPIN(ctx.pin)
            let request = try StampRequest(documentDigest: SuiteData.documentDigest(ctx.caseID), metadata: SuiteData.fullMetadata())
            let result = try await card.sendChain(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: request.encoded(), partSize: 40)
            try expect(result.intermediate.count >= 2, "suite: the chain should have at least 3 parts")
            for part in result.intermediate { try expectSuccessNoData(part, "intermediate STAMP part") }
            try expectSW(result.final, .success, "last STAMP part")
            let response = try expectDecodes("STAMP response") { try StampResponse(decoding: result.final.data) }
            try StampOutcome(request: request, exchange: result.final, response: response).checkSignature(facts)
        }
        list.add(3, "§3.4", "A chain interrupted by another INS is answered 6883 and discarded") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("10 20 00 81 02 31 32")), .success, "first part of a chained VERIFY")
            let interrupting = try await card.send(apdu("00 CA 01 01 10"))
            try expectSW(interrupting, .lastCommandOfChainExpected, "GET DATA while a VERIFY chain is open")
            try expect(interrupting.data.isEmpty, "the interrupting command must not be executed, got \(interrupting.data.count) data byte(s)")
            try expectSW(try await card.send(apdu("00 CA 01 01 10")), .success, "GET DATA after the discarded chain")
        }
        list.add(4, "§3.4", "A chain part with other P1-P2 is answered 6883") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("10 20 00 81 02 31 32")), .success, "first part of a chained VERIFY")
            try expectSW(try await card.send(apdu("00 20 FF 81")), .lastCommandOfChainExpected, "VERIFY P1 FF while the chain is open")
            try await card.expectNotVerified("after the broken chain")
        }
        list.add(5, "§3.4", "A chain part in another class is answered 6883") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("90 54 00 00 02 90 20")), .success, "first part of a chained STAMP")
            try expectSW(try await card.send(apdu("00 54 00 00 02 00 00")), .lastCommandOfChainExpected, "same INS in class 00")
        }
        list.add(6, "§3.4", "An intermediate chain part without data is answered 6700") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("10 20 00 81", .wrongLength), ("10 CA 01 01 00", .wrongLength)], "chained part without data")
        }
        list.add(7, "§3.4", "A chained GET RESPONSE is answered 6884") { ctx in
            let card = try await ctx.selected()
            _ = try await card.startPendingResponse()
            try expectSW(try await card.send(apdu("10 C0 00 00 0C")), .commandChainingNotSupported, "GET RESPONSE with CLA 10")
        }
        list.add(8, "§3.4", "A chained GET CHALLENGE is answered 6884") { ctx in
            let card = try await ctx.selected()
            try expectSW(try await card.send(apdu("10 84 00 00 10")), .commandChainingNotSupported, "GET CHALLENGE with CLA 10")
        }
        list.add(9, "§3.4", "A chain over the reported maximum command data is answered 6700 and discarded") { ctx in
            let card = try await ctx.selected()
            let capabilities = try await card.reportedCapabilities()
            let limit = Int(capabilities.maxCommandData)
            // Parts the chip can take in one APDU: 2000 bytes in extended form, 250 in short form.
            let partSize = capabilities.features.contains(.extendedLength) ? min(2000, limit) : 250
            var sent = 0
            var number = 0
            while sent + partSize <= limit {
                number += 1
                try expectSW(try await card.send(CommandAPDU(cla: 0x90, ins: 0x54, p1: 0, p2: 0, data: [UInt8](repeating: 0x41, count: partSize))),
                             .success, "chain part \(number) (\(sent + partSize) of \(limit) bytes)")
                sent += partSize
            }
            let overflow = min(200, partSize)
            let last = try await card.send(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [UInt8](repeating: 0x41, count: overflow)))
            try expectSW(last, .wrongLength, "last chain part (\(sent + overflow) bytes in total, the chip reports \(limit))")
            try expectSW(try await card.send(apdu("00 CA 01 01 10")), .success, "GET DATA after the discarded chain")
        }
        list.add(10, "§3.4", "A chain of exactly the reported maximum command data passes the length check") { ctx in
            let card = try await ctx.selected()
            let capabilities = try await card.reportedCapabilities()
            let limit = Int(capabilities.maxCommandData)
            let partSize = capabilities.features.contains(.extendedLength) ? 1024 : 255
            let result = try await card.sendChain(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [UInt8](repeating: 0x41, count: limit), partSize: partSize, ne: nil)
            for part in result.intermediate { try expectSuccessNoData(part, "intermediate part") }
            try expectSW(result.final, .securityStatusNotSatisfied, "\(limit)-byte chained STAMP without PIN (length accepted, then 6982)")
        }
        list.add(11, "§3.4", "Short and extended chain parts may be mixed") { ctx in
            // VERIFY travels wrapped (SPEC §14.6); the wrapped command is what is chained (§14.4).
            let card = try await ctx.selected()
            let wrapped = try await card.wrappedForChain(SealCommand.verify(pin: ctx.pin))
            try expectSuccessNoData(try await card.send([wrapped.cla | 0x10, 0x20, 0x00, 0x81, 0x08] + wrapped.data.prefix(8)), "short first part")
            let rest = Array(wrapped.data.dropFirst(8))
            guard await card.offersExtendedLength else {
                // §3.5: without extended length the extended part is refused as malformed (§5
                // step 1), which leaves the open chain as it was: a short last part completes it.
                let refused = try await card.send([wrapped.cla, 0x20, 0x00, 0x81, 0x00, 0x00, UInt8(rest.count)] + rest + [0x00, 0x00])
                try expectSW(refused, .wrongLength, "extended last part on a chip without extended length")
                let last = try await card.send([wrapped.cla, 0x20, 0x00, 0x81, UInt8(rest.count)] + rest + [0x00])
                try expectSuccessNoData(try await card.unwrap(last), "short last part after the refused extended one")
                try await card.expectVerified("after the chain")
                return
            }
            let last = try await card.send([wrapped.cla, 0x20, 0x00, 0x81, 0x00, 0x00, UInt8(rest.count)] + rest + [0x00, 0x00])
            try expectSuccessNoData(try await card.unwrap(last), "extended last part")
            try await card.expectVerified("after the mixed chain")
        }
        list.add(12, "§3.4", "An intermediate part's Le is ignored: 9000 without data") { ctx in
            let card = try await ctx.selected()
            let wrapped = try await card.wrappedForChain(SealCommand.verify(pin: ctx.pin))
            try expectSuccessNoData(try await card.send([wrapped.cla | 0x10, 0x20, 0x00, 0x81, 0x08] + wrapped.data.prefix(8) + [0x00]),
                                    "intermediate part with Le 00")
            let rest = Array(wrapped.data.dropFirst(8))
            let last = try await card.send([wrapped.cla, 0x20, 0x00, 0x81, UInt8(rest.count)] + rest + [0x00])
            try expectSuccessNoData(try await card.unwrap(last), "last part")
        }
        list.add(13, "§3.4", "PERSONALIZE sent as a chain personalizes a fresh token", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try await ctx.authenticateIssuer(on: card)
            let data = try SuiteData.personalization().encoded()
            let result = try await card.sendChain(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: data, partSize: 48)
            for part in result.intermediate { try expectSuccessNoData(part, "intermediate PERSONALIZE part") }
            try expectSW(result.final, .success, "last PERSONALIZE part")
            let key = try parsePersonalizeResponse(result.final.data, label: card.label)
            try expectBytes(try await card.getData(.sealPublicKey), key, "GET DATA 0107 after the chained PERSONALIZE")
            try expectEqual(try await card.lifecycle(), LifecycleState.personalized.rawValue, "lifecycle")
        }
        return list.cases
    }

    // MARK: GD — §8.5

    static func getDataCases() -> [ConformanceCase] {
        var list = CaseList("GD")
        list.add(1, "§8.5", "Chip ID is 16 bytes and stable across reset and power cycle") { ctx in
            let card = try await ctx.selected()
            let first = try await card.chipID()
            try await card.reset()
            try await card.select()
            try expectBytes(try await card.chipID(), first, "chip ID after warm reset")
            await card.disconnect()
            try await card.connectAndSelect()
            try expectBytes(try await card.chipID(), first, "chip ID after power cycle")
        }
        list.add(2, "§8.5", "Lifecycle of the token under test is ACTIVE (07)") { ctx in
            let card = try await ctx.selected()
            try expectEqual(try await card.lifecycle(), LifecycleState.active.rawValue, "GET DATA 0102")
        }
        list.add(3, "§8.5", "Signature counter is a u32 equal to the audit log's newest counter") { ctx in
            let card = try await ctx.selected()
            let counter = try await card.counter()
            let status = try await card.auditStatus()
            try expectEqual(status.newestCounter, counter, "audit status newest counter (GET DATA 0109) vs. counter (0103)")
        }
        list.add(4, "§8.5", "PIN status is 4 bytes with limits 1…15 and tries ≤ limit") { ctx in
            let card = try await ctx.selected()
            let status = try await card.pinStatus()
            try expect((1...15).contains(status.pinTryLimit) && (1...15).contains(status.pukTryLimit),
                       "try limits must be 1…15, got PIN \(status.pinTryLimit), PUK \(status.pukTryLimit)")
            try expect(status.pinTriesRemaining <= status.pinTryLimit && status.pukTriesRemaining <= status.pukTryLimit,
                       "tries left exceed the limit: \(status.encoded())")
            try await card.verifyPIN(ctx.pin)
            try expectEqual(try await card.pinStatus().pinTriesRemaining, status.pinTryLimit, "PIN tries after a correct VERIFY")
        }
        list.add(5, "§8.5", "Capabilities are the 21 bytes of §8.5 (24 with 85 01 02 for an SM2 seal)") { ctx in
            let card = try await ctx.selected()
            let bytes = try await card.getData(.capabilities)
            let caps = try expectDecodes("capabilities") { try SealCapabilities(decoding: bytes) }
            try expectEqual(bytes.count, caps.sealKeyAlgorithm == .sm2 ? 24 : 21, "GET DATA 0105 length")
            try expect(caps.sealKeyAlgorithm != .p256, "85 01 01 is not sent: absent means P-256 (§8.5)")
            try expectBytes(caps.specVersion, [0x02, 0x00], "spec version")
            // §3.5: the chip reports its real limits, at least the minimums.
            try expect(caps.sizeViolations.isEmpty, "capabilities break §3.5: \(caps.sizeViolations.joined(separator: "; "))")
            try expect(caps.features.contains(.commandChaining), "features \(caps.features.rawValue) lack command chaining")
            let atr = try expectDecodes("ATR") { try AnswerToReset(bytes: ctx.atr) }
            try expectEqual(atr.supportsExtendedLength, caps.features.contains(.extendedLength),
                            "the ATR's extended-length bit against the capabilities' feature bit 1")
            try expect(caps.auditLogCapacity >= 64, "audit log capacity \(caps.auditLogCapacity) is below 64")
        }
        list.add(6, "§12", "Device certificate is X.509 v3 with a P-256 key and ECDSA-with-SHA256") { ctx in
            let card = try await ctx.selected()
            let der = try await card.getData(.deviceCertificate)
            let certificate = try expectDecodes("device certificate") { try Certificate(derEncoded: der) }
            try expectEqual(certificate.version, .v3, "certificate version")
            try expect(P256.Signing.PublicKey(certificate.publicKey) != nil, "device certificate key is not P-256")
            try expectEqual(certificate.signatureAlgorithm, .ecdsaWithSHA256, "certificate signature algorithm")
        }
        list.add(7, "§8.5", "Seal public key is a valid uncompressed point of the seal's curve (P-256, or SM2 per 0105)") { ctx in
            let card = try await ctx.selected()
            let key = try await card.getData(.sealPublicKey)
            try expect(key.count == 65 && key.first == 0x04, "GET DATA 0107 must be 04 || X || Y (65 bytes), got \(key.count) bytes")
            let capabilities = try SealCapabilities(decoding: try await card.getData(.capabilities))
            if capabilities.sealKeyAlgorithm == .sm2 {
                _ = try expectDecodes("SM2 seal public key") { try SM2PublicKey(x963Representation: key) }
            } else {
                _ = try expectDecodes("seal public key") { try P256.Signing.PublicKey(x963Representation: key) }
            }
        }
        list.add(8, "§8.5", "Seal key ID is SHA-256 of the seal public key") { ctx in
            let card = try await ctx.selected()
            let key = try await card.getData(.sealPublicKey)
            try expectBytes(try await card.getData(.sealKeyID), Array(SHA256.hash(data: key)), "GET DATA 010A")
        }
        list.add(9, "§8.5", "Personalization object holds 41 42 43 [48] 49 4A in ascending order") { ctx in
            let card = try await ctx.selected()
            let bytes = try await card.getData(.personalization)
            let fields = try expectDecodes("GET DATA 0108") { try TLV.decodeAll(bytes) }
            let tags = fields.map { $0.tag.rawValue }
            try expect(tags == tags.sorted() && Set(tags).count == tags.count, "tags not ascending and unique: \(fields.map(\.tag.description))")
            try expect(Set(tags).isSubset(of: [0x41, 0x42, 0x43, 0x48, 0x49, 0x4A]) && Set(tags).isSuperset(of: [0x41, 0x42, 0x43, 0x49, 0x4A]),
                       "GET DATA 0108 must hold exactly 41 42 43 49 4A and optionally 48, got \(fields.map(\.tag.description))")
            _ = try expectDecodes("personalization info") { try PersonalizationInfo(decoding: bytes) }
        }
        list.add(10, "§8.5", "Audit status is 40 bytes and consistent with the counter") { ctx in
            let card = try await ctx.selected()
            let bytes = try await card.getData(.auditStatus)
            try expectEqual(bytes.count, 40, "GET DATA 0109 length")
            let status = try AuditStatus(decoding: bytes)
            let counter = try await card.counter()
            if counter == 0 {
                try expectBytes(bytes, [UInt8](repeating: 0, count: 40), "audit status of an empty log")
            } else {
                try expect(status.oldestCounter >= 1 && status.oldestCounter <= status.newestCounter,
                           "oldest \(status.oldestCounter) / newest \(status.newestCounter) out of order")
                try expect(status.newestCounter - status.oldestCounter < 65_536, "retained window implausibly large")
                try expect(status.headHash != [UInt8](repeating: 0, count: 32), "head hash is zero although the log is not empty")
            }
        }
        list.add(11, "§8.5", "GET DATA of an unknown tag is answered 6A88") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 CA 01 0B 00", .referencedDataNotFound), ("00 CA 01 00 00", .referencedDataNotFound),
                                      ("00 CA 00 00 00", .referencedDataNotFound), ("00 CA FF FF 00", .referencedDataNotFound)], "GET DATA unknown tag")
        }
        list.add(12, "§8.5", "GET DATA with a data field is answered 6700") { ctx in
            let card = try await ctx.selected()
            try await card.expectAll([("00 CA 01 01 01 00", .wrongLength), ("00 CA 01 01 01 00 00", .wrongLength)], "GET DATA with data")
        }
        list.add(13, "§8.5", "A MANUFACTURED token has identity objects but no PIN status, seal key or personalization", requires: freshReq) { ctx in
            let card = try await ctx.freshCard()
            try expectEqual(try await card.lifecycle(), LifecycleState.manufactured.rawValue, "lifecycle of a fresh token")
            try expectEqual(try await card.counter(), 0, "counter of a fresh token")
            try expectBytes(try await card.getData(.auditStatus), [UInt8](repeating: 0, count: 40), "audit status of a fresh token")
            _ = try await card.getData(.capabilities)
            _ = try await card.getData(.deviceCertificate)
            for tag in ["01 04", "01 07", "01 08", "01 0A"] {
                try expectSW(try await card.send(apdu("00 CA \(tag) 00")), .referencedDataNotFound, "GET DATA \(tag) on a MANUFACTURED token")
            }
        }
        return list.cases
    }
}
