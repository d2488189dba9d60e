import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// SPEC §2 (ATR, power), §3 (APDU forms, CLA, 61xx/6Cxx, chaining), §5 (precedence), §1.2 (volatile state).
@Suite("Chip APDU layer")
struct ChipAPDULayerTests {
    // MARK: ATR and power

    @Test("ATR is T=1 with a valid TCK and announces chaining and extended length")
    func answerToReset() throws {
        let harness = try ChipHarness.manufactured()
        harness.chip.powerOff()
        let atr = try harness.chip.powerOn()
        #expect(atr == hex("3B 8A 81 01 80 73 80 00 C0 54 53 45 41 4C") + [hex("8A 81 01 80 73 80 00 C0 54 53 45 41 4C").reduce(0, ^)])
        let parsed = try AnswerToReset(bytes: atr)
        #expect(parsed.protocols == [1])
        #expect(parsed.checkCharacter != nil)
        #expect(atr.dropFirst().reduce(0, ^) == 0, "XOR of T0…TCK vanishes")
        #expect(parsed.supportsCommandChaining)
        #expect(parsed.supportsExtendedLength)
        #expect(harness.chip.warmReset() == atr)
        #expect(SealChip.answerToReset == atr)
    }

    @Test("an unpowered chip is mute; warm reset needs power")
    func unpoweredIsMute() throws {
        let harness = try ChipHarness.manufactured()
        #expect(harness.chip.isPowered)
        harness.chip.powerOff()
        #expect(!harness.chip.isPowered)
        #expect(harness.chip.process(SealCommand.select().encodedBytes) == .mute)
        #expect(harness.chip.warmReset() == [])
        _ = try harness.chip.powerOn()
        #expect(harness.chip.process(SealCommand.select().encodedBytes) != .mute)
    }

    @Test("after power-on no application is selected: 6D00 after the CLA checks")
    func noApplicationSelected() throws {
        let harness = try ChipHarness.personalized()
        try harness.reboot()
        harness.chip.powerOff()
        _ = try harness.chip.powerOn()
        harness.expectSW(SealCommand.getData(.chipID), 0x6D00)
        harness.expectSW(SealCommand.verify(pin: "1234"), 0x6D00)
        harness.expectSW(SealCommand.getChallenge(), 0x6D00)
        harness.expectSW(hex("00 C0 00 00 10"), 0x6D00, "GET RESPONSE")
        harness.expectSW(hex("80 54 01 00 01 00"), 0x6D00, "INS before P1-P2")
        harness.expectSW(hex("84 CA 01 01 00"), 0x6882, "CLA before selection")
        harness.expectSW(hex("10 84 00 00 10"), 0x6884, "chaining before selection")
        harness.select()
        harness.expectSW(SealCommand.getData(.chipID), 0x9000)
    }

    // MARK: Malformed APDUs and CLA

    @Test("malformed APDUs are 6700 before anything else", arguments: [
        "", "00", "00 A4 04", "FF A4",  // fewer than 4 bytes
        "00 A4 04 00 05 F0 53",  // short Lc larger than the data
        "00 CA 01 01 02 00 00 00 00",  // trailing bytes after short Le
        "00 CA 01 01 00 00",  // 6 bytes: extended marker without a full length
        "00 CA 01 01 00 00 00 10",  // extended Lc 0000
        "00 A4 04 00 00 00 02 F0 53 10",  // extended data with a one-byte Le
        "84 CA 01 01 00 00 00 10",  // malformed beats CLA
    ])
    func malformed(apdu: String) throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        #expect(harness.send(hex(apdu)).sw == 0x6700)
    }

    @Test("a single APDU with more than 4096 data bytes is 6700; 4096 is accepted")
    func commandDataLimit() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let tooLong = CommandAPDU(cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 4097))
        harness.expectSW(tooLong, 0x6700)
        let limit = CommandAPDU(cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 4096))
        harness.expectSW(limit, 0x6700, "accepted by the transport; GET ATTESTATION refuses a nonce > 32")
        harness.expectSW(CommandAPDU(cla: 0x80, ins: 0x58, p1: 1, p2: 0, data: [UInt8](repeating: 1, count: 4096)), 0x6A86,
                         "4096 bytes pass the transport: P1-P2 is checked")
    }

    @Test("CLA: channel bits 6881, SM bits 6882, other classes 6E00")
    func classByte() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        for cla: UInt8 in [0x01, 0x02, 0x03, 0x81, 0x83, 0x93, 0xFF, 0x0F, 0x8D] {
            harness.expectSW([cla, 0xCA, 0x01, 0x01, 0x00], 0x6881, "CLA \(cla)")
        }
        for cla: UInt8 in [0x04, 0x08, 0x0C, 0x84, 0x8C, 0x1C, 0x9C] {
            harness.expectSW([cla, 0xCA, 0x01, 0x01, 0x00], 0x6882, "CLA \(cla)")
        }
        for cla: UInt8 in [0x20, 0x40, 0x60, 0xA0, 0xB0, 0xC0, 0xE0, 0xF0] {
            harness.expectSW([cla, 0xCA, 0x01, 0x01, 0x00], 0x6E00, "CLA \(cla)")
        }
    }

    @Test("an INS not defined for the class is 6D00; P1-P2 is checked after INS")
    func instructionClass() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        harness.expectSW(hex("00 54 00 00 01 00"), 0x6D00, "STAMP in the interindustry class")
        harness.expectSW(hex("80 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01"), 0x6D00, "SELECT in the proprietary class")
        harness.expectSW(hex("80 CA 01 01 00"), 0x6D00)
        harness.expectSW(hex("80 C0 00 00 10"), 0x6D00)
        harness.expectSW(hex("00 FF 00 00"), 0x6D00)
        harness.expectSW(hex("00 B0 00 00 10"), 0x6D00)
        harness.expectSW(hex("00 A4 00 00"), 0x6A86, "P1-P2 before Lc")
        harness.expectSW(hex("00 A4 04 01 09 F0 53 45 41 4C 4B 49 54 01"), 0x6A86)
    }

    // MARK: SELECT

    @Test("SELECT: FCI, P2 0C, unknown AID keeps the selection, Lc absent")
    func select() throws {
        let harness = try ChipHarness.manufactured()
        let fci = harness.send(SealCommand.select())
        #expect(fci.sw == 0x9000)
        #expect(fci.data == hex("6F 1E 84 09 F0 53 45 41 4C 4B 49 54 01 A5 11 80 02 02 00 81 02 10 00 82 04 00 01 00 00 83 01 07"))
        let noFCI = harness.send(SealCommand.select(returnFCI: false))
        #expect(noFCI.sw == 0x9000 && noFCI.data.isEmpty)
        harness.expectSW(hex("00 A4 04 0C 09 F0 53 45 41 4C 4B 49 54 01 00"), 0x9000, "Le ignored with P2 0C")
        harness.expectSW(hex("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 02"), 0x6A82)
        harness.expectSW(hex("00 A4 04 00 08 F0 53 45 41 4C 4B 49 54"), 0x6A82, "partial AID")
        harness.expectSW(hex("00 A4 04 00"), 0x6700)
        harness.expectSW(hex("00 A4 04 00 00"), 0x6700, "Le without Lc")
        harness.expectSW(SealCommand.getData(.chipID), 0x9000, "still selected after 6A82")
        harness.chip.powerOff()
        _ = try harness.chip.powerOn()
        harness.expectSW(hex("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 02"), 0x6A82)
        harness.expectSW(SealCommand.getData(.chipID), 0x6D00, "still not selected after 6A82")
        let withoutLe = harness.send(hex("00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01"))
        #expect(withoutLe.sw == 0x6120 && withoutLe.data.isEmpty, "FCI pending when Le is absent")
        let fetched = harness.send(SealCommand.getResponse(ne: 256))
        #expect(fetched.sw == 0x9000 && fetched.data == fci.data)
    }

    // MARK: 61xx, 6Cxx and GET RESPONSE

    @Test("GET RESPONSE loops fetch a long object in Ne-sized pieces")
    func getResponseLoop() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let first = harness.send(hex("00 CA 01 06"))
        #expect(first.sw == 0x6100 && first.data.isEmpty, "no Le: nothing now, 256 or more pending")
        var collected: [UInt8] = []
        var response = harness.send(hex("00 C0 00 00 40"))
        var rounds = 1
        while true {
            collected += response.data
            guard let remaining = response.statusWord.bytesRemaining else { break }
            #expect(response.data.count == 0x40)
            let expectedRemaining = ChipFixture.certificate.count - collected.count
            #expect(remaining == min(expectedRemaining, 256), "61xx counts what is left, 00 when ≥ 256")
            response = harness.send(hex("00 C0 00 00 40"))
            rounds += 1
        }
        #expect(response.sw == 0x9000)
        #expect(collected == ChipFixture.certificate)
        #expect(rounds == (ChipFixture.certificate.count + 0x3F) / 0x40)
        harness.expectSW(hex("00 C0 00 00 40"), 0x6985, "nothing left")
    }

    @Test("GET RESPONSE errors: 6985 when nothing pending, 6B00, 6700, 6884; pending data discarded by other commands")
    func getResponseErrors() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        harness.expectSW(hex("00 C0 00 00 10"), 0x6985)
        #expect(harness.send(hex("00 CA 01 01")).sw == 0x6110)
        harness.expectSW(hex("00 C0 00 01 10"), 0x6B00)
        harness.expectSW(hex("00 C0 01 00 10"), 0x6B00)
        harness.expectSW(hex("00 C0 00 00"), 0x6700, "Le absent")
        harness.expectSW(hex("00 C0 00 00 01 AA 10"), 0x6700, "data present")
        harness.expectSW(hex("10 C0 00 00 10"), 0x6884, "chained GET RESPONSE")
        harness.expectSW(hex("00 C0"), 0x6700, "malformed")
        harness.expectSW(hex("84 C0 00 00 10"), 0x6882, "CLA")
        let afterErrors = harness.send(hex("00 C0 00 00 08"))
        #expect(afterErrors.sw == 0x6108 && afterErrors.data == Array(harness.fixture.chipID.prefix(8)),
                "rejected GET RESPONSEs, malformed APDUs and CLA errors keep pending data")
        harness.expectSW(hex("00 CA 01 02 01"), 0x9000)
        harness.expectSW(hex("00 C0 00 00 10"), 0x6985, "another command discarded the chip-ID remainder")
        #expect(harness.send(hex("00 CA 01 01")).sw == 0x6110)
        harness.expectSW(hex("00 CA 01 FF 00"), 0x6A88)
        harness.expectSW(hex("00 C0 00 00 10"), 0x6985, "a failing command discards it too")
        #expect(harness.send(hex("00 CA 01 01")).sw == 0x6110)
        let all = harness.send(hex("00 C0 00 00 00"))
        #expect(all.sw == 0x9000 && all.data == harness.fixture.chipID, "Le 00 = 256 fetches everything")
    }

    @Test("6Cxx: read-only commands with a short Le that is too small; extended Le gives 61xx")
    func wrongLe() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let wrong = harness.send(hex("00 CA 01 01 05"))
        #expect(wrong.sw == 0x6C10 && wrong.data.isEmpty)
        harness.expectSW(hex("00 C0 00 00 10"), 0x6985, "6Cxx leaves nothing pending")
        let exact = harness.send(hex("00 CA 01 01 10"))
        #expect(exact.sw == 0x9000 && exact.data == harness.fixture.chipID)
        let larger = harness.send(hex("00 CA 01 01 20"))
        #expect(larger.sw == 0x9000 && larger.data == harness.fixture.chipID)
        let extended = harness.send(hex("00 CA 01 01 00 00 05"))
        #expect(extended.sw == 0x610B && extended.data == Array(harness.fixture.chipID.prefix(5)))
        let rest = harness.send(hex("00 C0 00 00 0B"))
        #expect(rest.sw == 0x9000 && rest.data == Array(harness.fixture.chipID.dropFirst(5)))
        let capabilities = harness.send(hex("00 CA 01 05 01"))
        #expect(capabilities.sw == 0x6C15)
        let certificate = harness.send(hex("00 CA 01 06 00"))
        #expect(certificate.sw == 0x6100 && certificate.data == Array(ChipFixture.certificate.prefix(256)),
                "|R| > 256: first 256 bytes and 61xx, not 6Cxx")
        let extendedAll = harness.send(hex("00 CA 01 06 00 00 00"))
        #expect(extendedAll.sw == 0x9000 && extendedAll.data == ChipFixture.certificate, "extended Le 0000 = 65536")
    }

    @Test("6Cxx on READ AUDIT LOG and GET ATTESTATION; never on state-changing commands")
    func wrongLeOnlyReadOnly() throws {
        let harness = try ChipHarness.active()
        let (_, first) = harness.stamp(try harness.stampRequest())
        #expect(first != nil)
        harness.select()  // READ AUDIT LOG and GET ATTESTATION plain, outside the channel
        var read = SealCommand.readAuditLog(counter: 0)
        read.ne = 10
        let sized = harness.send(read)
        #expect(sized.statusWord.exactLength != nil && sized.data.isEmpty)
        read.ne = sized.statusWord.exactLength
        #expect(harness.send(read).sw == 0x9000)

        // GET ATTESTATION's v2 response exceeds 256 bytes and its length varies (DER): 61xx, not 6Cxx.
        var attest = SealCommand.getAttestation(nonce: [])
        attest.ne = 1
        let attested = harness.send(attest)
        #expect(attested.statusWord.exactLength == nil && attested.statusWord.bytesRemaining != nil && attested.data.count == 1)

        // STAMP inside the channel (SPEC §14.4): the wrapped response is split with 61xx below the
        // channel, never answered 6Cxx, and the command runs once.
        harness.verifyPIN()
        var stampBytes = harness.wrappedChain(SealCommand.stamp(try harness.stampRequest(time: 1_700_000_500)), sizes: [])[0]
        stampBytes[stampBytes.count - 1] = 0x10
        let partial = harness.send(stampBytes)
        #expect(partial.statusWord.bytesRemaining != nil && partial.data.count == 0x10, "STAMP gets 61xx, never 6Cxx")
        let rest = harness.send(hex("00 C0 00 00 00"))
        #expect(rest.sw == 0x9000)
        let plain = harness.unwrap(ResponseAPDU(data: partial.data + rest.data, statusWord: rest.statusWord))
        let decoded = try StampResponse(decoding: plain.data)
        #expect(decoded.counter == 2)
        #expect(harness.counter() == 2, "executed once")

        let noLe = Array(harness.wrappedChain(SealCommand.stamp(try harness.stampRequest(time: 1_700_000_600)), sizes: [])[0].dropLast())
        let pending = harness.send(noLe)
        #expect(pending.data.isEmpty && pending.statusWord.bytesRemaining != nil)
        #expect(harness.counter() == 3)

        var challenge = SealCommand.getChallenge()
        challenge.ne = 256
        let challengeResponse = harness.send(challenge)
        #expect(challengeResponse.sw == 0x9000 && challengeResponse.data.count == 16)
    }

    // MARK: Chaining

    @Test("PERSONALIZE in a chain of short parts; intermediate parts answer 9000 without data")
    func chainedPersonalize() throws {
        let fixture = ChipFixture(withRemoteAuthority: true)
        let harness = try ChipHarness.manufactured(fixture)
        harness.select()
        harness.authenticateIssuer()
        let data = try fixture.personalization.encoded()
        #expect(data.count > 200)
        let wrappedLength = SCP03SecureMessaging.wrappedLength(plainLength: data.count)
        let parts = harness.wrappedChain(try SealCommand.personalize(fixture.personalization),
                                         sizes: Array(repeating: 50, count: (wrappedLength - 1) / 50))
        for part in parts.dropLast() {
            let response = harness.send(part + [0x00])
            #expect(response.sw == 0x9000 && response.data.isEmpty, "intermediate part, Le ignored")
        }
        let final = harness.unwrap(harness.send(parts[parts.count - 1]))
        #expect(final.sw == 0x9000)
        #expect(final.data.count == 67 && final.data.prefix(3) == [0x86, 0x41, 0x04])
        #expect(harness.getData(.lifecycle).data == [0x03])
    }

    @Test("a chain may mix short and extended parts")
    func chainMixedForms() throws {
        let harness = try ChipHarness.active()
        let parts = harness.wrappedChain(SealCommand.stamp(try harness.stampRequest()), sizes: [40])
        let head = parts[0]
        harness.expectSW(Array(head[0..<4]) + [0x00, 0x00, head[4]] + Array(head[5...]), 0x9000)
        let final = harness.unwrap(harness.send(parts[1]))
        #expect(final.sw == 0x9000)
        #expect(try StampResponse(decoding: final.data).counter == 1)
    }

    @Test("6883: a different command, INS, P1-P2 or class interrupts the chain and is not executed")
    func chainInterrupted() throws {
        // A wrapped STAMP chain; an interruption discards the chain, and the host's channel,
        // whose counter already counted the STAMP, is then out of step: a new one is opened.
        let harness = try ChipHarness.active()
        func freshChain() throws -> [[UInt8]] {
            harness.select()
            harness.verifyPIN()
            return harness.wrappedChain(SealCommand.stamp(try harness.stampRequest()), sizes: [40])
        }
        var parts = try freshChain()
        harness.expectSW(parts[0], 0x9000)
        #expect(harness.sendPlain(hex("00 CA 01 03 00")).sw == 0x6883, "GET DATA inside a STAMP chain")
        harness.expectSW(parts[1], 0x6988, "the chain was discarded: the tail alone is not a wrapped STAMP")
        #expect(harness.counter() == 0)

        parts = try freshChain()
        harness.expectSW(parts[0], 0x9000)
        harness.expectSW(Array(parts[1][0..<3]) + [0x01] + Array(parts[1][4...]), 0x6883, "other P2")
        parts = try freshChain()
        harness.expectSW(parts[0], 0x9000)
        harness.expectSW([0x04] + Array(parts[1][1...]), 0x6883, "other class")
        parts = try freshChain()
        harness.expectSW(parts[0], 0x9000)
        harness.expectSW(SealCommand.select(), 0x6883, "SELECT is not executed inside a chain")
        parts = try freshChain()
        harness.expectSW(parts[0], 0x9000)
        harness.expectSW(hex("00 C0 00 00 10"), 0x6883, "GET RESPONSE inside a chain")

        parts = try freshChain()
        harness.expectSW(parts[0], 0x9000)
        harness.expectSW(hex("8C 54 00 00 01 00"), 0x6882, "CLA errors leave the chain open")
        harness.expectSW(hex("80 54"), 0x6700, "malformed APDUs leave the chain open")
        let completed = harness.unwrap(harness.send(parts[1]))
        #expect(completed.sw == 0x9000)
        #expect(harness.counter() == 1)
    }

    @Test("6884 for chained GET RESPONSE and GET CHALLENGE")
    func chainingNotSupported() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        harness.expectSW(hex("10 C0 00 00 10"), 0x6884)
        harness.expectSW(hex("10 84 00 00 10"), 0x6884)
        harness.expectSW(hex("10 84 00 00 01 00 10"), 0x6884)
        harness.expectSW(hex("10 84 01 00 10"), 0x6884, "chaining before P1-P2")
    }

    @Test("chain limits: > 4096 bytes in total is 6700 and discards the chain; empty intermediate part is 6700")
    func chainLimits() throws {
        let harness = try ChipHarness.manufactured()
        harness.select()
        let block = [UInt8](repeating: 0x41, count: 2000)
        let part = [0x90, 0x50, 0x00, 0x00, 0x00, 0x07, 0xD0] + block
        harness.expectSW(part, 0x9000)
        harness.expectSW(part, 0x9000)
        harness.expectSW([0x80, 0x50, 0x00, 0x00, 0x00, 0x00, 0x61] + [UInt8](repeating: 0x41, count: 97), 0x6700, "4097 in total")
        harness.expectSW([0x80, 0x50, 0x00, 0x00, 0x01, 0x41], 0x6982, "chain discarded: a fresh PERSONALIZE (no issuer auth)")
        harness.expectSW(part, 0x9000)
        harness.expectSW(part, 0x9000)
        harness.expectSW([0x90, 0x50, 0x00, 0x00, 0x00, 0x00, 0x61] + [UInt8](repeating: 0x41, count: 97), 0x6700, "intermediate overflow")
        harness.expectSW(hex("90 50 00 00"), 0x6700, "a first intermediate part must carry data")
        harness.expectSW(hex("90 50 00 00 01 41"), 0x9000)
        harness.expectSW(hex("90 50 00 00 00"), 0x6700, "an intermediate part must carry data")
        harness.expectSW(hex("80 50 00 00 01 41"), 0x6982, "chain was discarded")
        harness.expectSW(hex("90 50 01 00 01 41"), 0x6A86, "P1-P2 is checked on the first part")
        harness.expectSW(hex("90 5F 00 00 01 41"), 0x6D00, "INS is checked on the first part")
        harness.expectSW(hex("80 50 00 00 01 41"), 0x6982, "no chain was opened by refused parts")
    }

    // MARK: Volatile state

    @Test("power-on, warm reset and power-off clear selection, PIN, issuer auth, challenge, pending data and chain")
    func resetClearsVolatileState() throws {
        for reset in ["warm", "power-off/on", "power-off"] {
            let harness = try ChipHarness.active()
            #expect(harness.send(SealCommand.verifyStatus()).sw == 0x9000)
            #expect(harness.send(SealCommand.getChallenge()).sw == 0x9000)
            var certificate = harness.wrappedChain(SealCommand.getData(.deviceCertificate), sizes: [])[0]
            certificate[certificate.count - 1] = 0x80
            #expect(harness.send(certificate).statusWord.bytesRemaining != nil)
            #expect(harness.chip.frontEnd.secureChannel != nil)
            #expect(harness.chip.applet.security.pinVerified)
            #expect(harness.chip.applet.security.issuerAuthenticated)
            #expect(harness.chip.applet.security.pendingChallenge != nil)
            #expect(harness.chip.frontEnd.pendingResponse != nil)
            switch reset {
            case "warm":
                #expect(!harness.chip.warmReset().isEmpty)
            case "power-off":
                harness.chip.powerOff()
            default:
                harness.chip.powerOff()
                _ = try harness.chip.powerOn()
            }
            #expect(harness.chip.applet.security == SecurityState(), "\(reset)")
            #expect(!harness.chip.applet.isSelected, "\(reset)")
            #expect(harness.chip.frontEnd.pendingResponse == nil, "\(reset)")
            #expect(harness.chip.frontEnd.secureChannel == nil, "\(reset): the secure channel ended")
            harness.channel = nil
            if reset == "power-off" { _ = try harness.chip.powerOn() }
            harness.expectSW(SealCommand.getData(.chipID), 0x6D00, "\(reset): selection cleared")
            harness.select()
            harness.expectSW(hex("00 C0 00 00 10"), 0x6985, "\(reset): pending response cleared")
            harness.expectSW(SealCommand.verifyStatus(), 0x63C3, "\(reset): PIN no longer verified")
            harness.expectSW(SealCommand.externalAuthenticate(signature: [0x30, 0x00]), 0x6985, "\(reset): challenge cleared")
            harness.expectSW(SealCommand.setLifecycle(.suspended), 0x6982, "\(reset): issuer authentication cleared")
        }
    }

    @Test("reset discards an open chain")
    func resetClearsChain() throws {
        let harness = try ChipHarness.active()
        let parts = harness.wrappedChain(SealCommand.stamp(try harness.stampRequest()), sizes: [40])
        harness.expectSW(parts[0], 0x9000)
        #expect(harness.chip.frontEnd.chain != nil)
        _ = harness.chip.warmReset()
        #expect(harness.chip.frontEnd.chain == nil)
        harness.channel = nil
        harness.select()
        harness.verifyPIN()
        harness.expectSW(parts[1], 0x6988, "the tail of a chain of an ended channel")
    }

    @Test("SELECT clears the security state but not the persistent state")
    func selectClearsSecurityState() throws {
        let harness = try ChipHarness.active()
        #expect(harness.send(SealCommand.getChallenge()).sw == 0x9000)
        harness.select()
        harness.expectSW(SealCommand.verifyStatus(), 0x63C3)
        harness.expectSW(SealCommand.setLifecycle(.suspended), 0x6982)
        harness.expectSW(SealCommand.externalAuthenticate(signature: [0x30, 0x00]), 0x6985)
        #expect(harness.getData(.lifecycle).data == [0x07])
    }
}

extension CommandAPDU {
    var encodedBytes: [UInt8] { (try? encoded()) ?? [] }
}
