import Crypto
import SealProtocol
import Testing

@_spi(Testing) @testable import SealFirmware

/// SPEC §11: a power loss at any NVM write point leaves the state exactly as before the command's
/// transaction or exactly as after it. Each command is run once cleanly to measure its W write
/// points; then, for every n in 1...W, a fresh chip restored from the same image loses power at
/// write n, must go mute, and after power-on must be in one of the two states.
@Suite("Chip tearing")
struct ChipTearingTests {
    /// A fresh chip over `image`, prepared by `prepare` (selection, PIN…), with the tear armed.
    private func tornChip(_ fixture: ChipFixture, image: [UInt8], tearAt n: Int,
                          prepare: (ChipHarness) -> Void) throws -> ChipHarness {
        let harness = try ChipHarness(fixture: fixture, image: image)
        prepare(harness)
        harness.chip.armPowerLoss(atNVMWrite: n)
        return harness
    }

    /// Measures the write points `command` costs on a fresh chip over `image`.
    private func writePoints(_ fixture: ChipFixture, image: [UInt8], command: CommandAPDU, expect sw: UInt16,
                             prepare: (ChipHarness) -> Void) throws -> Int {
        let clean = try ChipHarness(fixture: fixture, image: image)
        prepare(clean)
        let start = clean.chip.nvmWriteCount
        #expect(clean.send(command).sw == sw, "clean run")
        return clean.chip.nvmWriteCount - start
    }

    /// Sends the armed command (wrapped in the channel `prepare` opened): the chip must go mute
    /// and stay unpowered until power-on.
    private func loseAndRestore(_ harness: ChipHarness, command: CommandAPDU, n: Int) throws {
        #expect(harness.chip.process(harness.wrappedBytes(command)) == .mute, "tear at \(n): mute")
        #expect(!harness.chip.isPowered)
        #expect(harness.chip.process(SealCommand.select().encodedBytes) == .mute, "unpowered until power-on")
        _ = try harness.chip.powerOn()
        harness.select()
    }

    /// `outcomes[n-1]` is true when write n left the "after" state: first before, last after, monotonic.
    private func expectBeforeThenAfter(_ outcomes: [Bool], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcomes.first == false, "the first write point precedes the commit", sourceLocation: sourceLocation)
        #expect(outcomes.last == true, "the last write point follows the commit", sourceLocation: sourceLocation)
        let firstAfter = outcomes.firstIndex(of: true) ?? outcomes.count
        #expect(outcomes[firstAfter...].allSatisfy { $0 }, "once committed, always committed", sourceLocation: sourceLocation)
    }

    @Test("STAMP: counter and audit head are exactly before or exactly after, at every write point")
    func stamp() throws {
        let base = try ChipHarness.active()
        #expect(base.stamp(try base.stampRequest(time: 1_600_000_000)).0.sw == 0x9000)
        let image = base.image
        let fixture = base.fixture
        let before = try base.auditStatus()
        let request = try base.stampRequest(time: 1_700_000_000)
        let command = SealCommand.stamp(request)
        let prepare: (ChipHarness) -> Void = { $0.select(); $0.verifyPIN() }

        let w = try writePoints(fixture, image: image, command: command, expect: 0x9000, prepare: prepare)
        #expect(w == NonVolatileMemory.writePoints(forTransactionOf: 3), "counter, audit slot, audit head in one transaction")
        let sealKey = try base.sealPublicKey()
        var outcomes: [Bool] = []
        for n in 1...w {
            let harness = try tornChip(fixture, image: image, tearAt: n, prepare: prepare)
            try loseAndRestore(harness, command: command, n: n)
            let counter = harness.counter()
            let status = try harness.auditStatus()
            if counter == before.newestCounter {
                #expect(status == before, "tear at \(n): exactly before")
                harness.expectSW(SealCommand.readAuditLog(counter: counter + 1), 0x6A88)
                outcomes.append(false)
            } else {
                #expect(counter == before.newestCounter + 1, "tear at \(n): one stamp at most")
                #expect(status.newestCounter == counter && status.oldestCounter == 1)
                let entry = try AuditEntry(decoding: harness.readAuditLog(counter).data)
                #expect(entry.previousHash == before.headHash)
                #expect(entry.documentDigest == request.documentDigest)
                let tbs = try #require(verifyAuditEntry(entry, chipID: fixture.chipID, featureHash: fixture.featureHash,
                                                        sealKey: sealKey), "tear at \(n): the recovered stamp verifies")
                #expect(status.headHash == AuditEntry.chainHash(previous: before.headHash, tbs: tbs, signature: entry.signature),
                        "tear at \(n): exactly after")
                outcomes.append(true)
            }
            // A process that reopens the durable image sees the same state.
            let reopened = try harness.reopened()
            reopened.select()
            #expect(try reopened.auditStatus() == status)
            // And the chip goes on working.
            harness.verifyPIN()
            let (_, next) = harness.stamp(try harness.stampRequest(time: 1_800_000_000))
            #expect(next?.counter == counter + 1, "tear at \(n): next stamp")
        }
        expectBeforeThenAfter(outcomes)
    }

    @Test("VERIFY with a wrong PIN: the try counter is decremented or untouched, never more")
    func verifyWrongPIN() throws {
        let base = try ChipHarness.personalized()
        let command = SealCommand.verify(pin: "000000")
        let prepare: (ChipHarness) -> Void = { $0.select(); $0.openChannel(.b) }
        let w = try writePoints(base.fixture, image: base.image, command: command, expect: 0x63C2, prepare: prepare)
        #expect(w == NonVolatileMemory.writePoints(forTransactionOf: 1))
        var outcomes: [Bool] = []
        for n in 1...w {
            let harness = try tornChip(base.fixture, image: base.image, tearAt: n, prepare: prepare)
            try loseAndRestore(harness, command: command, n: n)
            let remaining = try PINStatus(decoding: harness.getData(.pinStatus).data).pinTriesRemaining
            #expect(remaining == 3 || remaining == 2, "tear at \(n): at most the one try of a completed wrong attempt")
            outcomes.append(remaining == 2)
            harness.expectSW(SealCommand.verifyStatus(), 0x63C0 | UInt16(remaining))
        }
        expectBeforeThenAfter(outcomes)
    }

    @Test("VERIFY with the right PIN: the decrement is durable before the comparison; never verified after a tear")
    func verifyRightPIN() throws {
        let base = try ChipHarness.personalized()
        let command = SealCommand.verify(pin: base.fixture.pin)
        let prepare: (ChipHarness) -> Void = { $0.select(); $0.openChannel(.b) }
        let w = try writePoints(base.fixture, image: base.image, command: command, expect: 0x9000, prepare: prepare)
        #expect(w == 2 * NonVolatileMemory.writePoints(forTransactionOf: 1), "decrement, then reset: two transactions")
        var remainingByWrite: [UInt8] = []
        for n in 1...w {
            let harness = try tornChip(base.fixture, image: base.image, tearAt: n, prepare: prepare)
            try loseAndRestore(harness, command: command, n: n)
            let remaining = try PINStatus(decoding: harness.getData(.pinStatus).data).pinTriesRemaining
            #expect(remaining == 3 || remaining == 2, "tear at \(n)")
            remainingByWrite.append(remaining)
            harness.expectSW(SealCommand.verifyStatus(), 0x63C0 | UInt16(remaining), "tear at \(n): not verified")
            harness.verifyPIN()
        }
        #expect(remainingByWrite.first == 3)
        #expect(remainingByWrite.contains(2), "a tear between the two transactions keeps the decrement")
        #expect(remainingByWrite.last == 3)
    }

    @Test("PERSONALIZE is all-or-nothing at every write point")
    func personalize() throws {
        let fixture = ChipFixture(withRemoteAuthority: true)
        let base = try ChipHarness.manufactured(fixture)
        let command = try SealCommand.personalize(fixture.personalization)
        let prepare: (ChipHarness) -> Void = { $0.select(); $0.authenticateIssuer() }
        let w = try writePoints(fixture, image: base.image, command: command, expect: 0x9000, prepare: prepare)
        #expect(w == NonVolatileMemory.writePoints(forTransactionOf: 15),
                "14 personalization records (v2: the seal public key and the time tolerance too) + lifecycle; erasing the absent seal image hash writes nothing")
        let records: [RecordID] = [.organizationName, .sealName, .featureHash, .sealPolicy, .timeTolerance, .watermarkValidity,
                                   .remoteAuthorityKey, .watermarkKey, .sealPrivateKey, .sealPublicKey, .pinReference, .pinTryCounter,
                                   .pukReference, .pukTryCounter]
        var outcomes: [Bool] = []
        for n in 1...w {
            let harness = try tornChip(fixture, image: base.image, tearAt: n, prepare: prepare)
            try loseAndRestore(harness, command: command, n: n)
            let present = records.map { harness.nvm.read($0.rawValue) != nil }
            let lifecycle = harness.getData(.lifecycle).data
            if lifecycle == [0x01] {
                #expect(present.allSatisfy { !$0 }, "tear at \(n): nothing of the personalization")
                #expect(harness.getData(.personalization).sw == 0x6A88)
                harness.authenticateIssuer()
                harness.expectSW(command, 0x9000, "tear at \(n): personalization can be redone")
                outcomes.append(false)
            } else {
                #expect(lifecycle == [0x03], "tear at \(n)")
                #expect(present.allSatisfy { $0 }, "tear at \(n): all of the personalization")
                #expect(harness.getData(.pinStatus).data == [3, 3, 5, 5])
                #expect(try PersonalizationInfo(decoding: harness.getData(.personalization).data).remoteAuthorityKey
                        == Array(fixture.authorityKey.publicKey.x963Representation))
                harness.verifyPIN()
                outcomes.append(true)
            }
        }
        expectBeforeThenAfter(outcomes)
    }

    @Test("TERMINATE is atomic: keys, PIN and PUK all there, or all zeroized")
    func terminate() throws {
        let base = try ChipHarness.active()
        let command = SealCommand.setLifecycle(.terminated)
        let prepare: (ChipHarness) -> Void = { $0.select(); $0.authenticateIssuer() }
        let w = try writePoints(base.fixture, image: base.image, command: command, expect: 0x9000, prepare: prepare)
        let zeroized: [RecordID] = [.sealPrivateKey, .watermarkKey, .pinReference, .pinTryCounter, .pukReference, .pukTryCounter]
        var outcomes: [Bool] = []
        for n in 1...w {
            let harness = try tornChip(base.fixture, image: base.image, tearAt: n, prepare: prepare)
            try loseAndRestore(harness, command: command, n: n)
            let present = zeroized.map { harness.nvm.read($0.rawValue) != nil }
            let terminated = harness.getData(.lifecycle).data == [0x7F]
            #expect(present.allSatisfy { $0 == !terminated }, "tear at \(n)")
            outcomes.append(terminated)
        }
        expectBeforeThenAfter(outcomes)
    }

    @Test("a storage failure answers 6581 and rolls the transaction back")
    func storageFailure() throws {
        let harness = try ChipHarness.active()
        harness.backing.failsStores = true
        harness.expectSW(SealCommand.stamp(try harness.stampRequest()), 0x6581)
        harness.expectSW(SealCommand.verify(pin: "000000"), 0x6581)
        harness.backing.failsStores = false
        #expect(harness.chip.isPowered)
        #expect(harness.counter() == 0)
        harness.expectSW(SealCommand.verifyStatus(), 0x9000, "the failed VERIFY changed nothing")
        #expect(harness.nvm.isInTransaction == false)
        #expect(harness.stamp(try harness.stampRequest()).0.sw == 0x9000)
    }
}
