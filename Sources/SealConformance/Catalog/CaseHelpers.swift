import Crypto
import SealHostDriver
import SealProtocol

/// Requirement sets used throughout the catalog.
let freshReq: Set<ConformanceRequirement> = [.freshToken, .issuerKey]
let tearReq: Set<ConformanceRequirement> = [.faultInjection, .freshToken, .issuerKey]
let remoteReq: Set<ConformanceRequirement> = [.remoteAuthorityToken]

/// Parses `"00 CA 01 01 00"` into bytes (suite constants only).
func apdu(_ text: String) -> [UInt8] {
    guard let bytes = bytesFromHex(text) else { preconditionFailure("bad hex in suite: \(text)") }
    return bytes
}

/// A response whose rest waits for GET RESPONSE (§3.3 rule 3).
struct PendingResponse {
    /// The answer that left data pending: its first bytes and `61xx`.
    let answer: CardExchange
    /// The bytes still pending, in order.
    let pending: [UInt8]
}

extension ConformanceContext {
    /// SELECTs the applet on the token under test and returns it.
    @discardableResult
    func selected() async throws -> ConformanceCard {
        try await card.select()
        return card
    }

    /// Selects, verifies the PIN (which resets its try counter to the limit) and checks that `n`
    /// wrong tries leave at least one; registers a cleanup that restores the counter with a correct
    /// VERIFY. Returns the PIN status at the limit.
    func prepareWrongPINTries(_ n: Int) async throws -> PINStatus {
        let card = try await selected()
        let before = try await card.pinStatus()
        guard Int(before.pinTriesRemaining) > n else {
            throw ConformanceSkip("the PIN has \(before.pinTriesRemaining) tries left; \(n) wrong tries could block it")
        }
        try await card.verifyPIN(pin)
        let status = try await card.pinStatus()
        try expectEqual(status.pinTriesRemaining, status.pinTryLimit, "PIN tries left after a correct VERIFY (GET DATA 0104)")
        guard Int(status.pinTryLimit) > n else {
            throw ConformanceSkip("the PIN try limit is \(status.pinTryLimit); \(n) wrong tries could block it")
        }
        let pin = self.pin
        let card2 = card
        await onCleanup {
            try await card2.reset()
            try await card2.select()
            try await card2.verifyPIN(pin)
        }
        return status
    }

    /// Checks that `n` wrong PUK tries leave at least one; registers a cleanup that restores the
    /// PUK counter with RESET RETRY COUNTER (PUK, same PIN).
    func prepareWrongPUKTries(_ n: Int) async throws -> PINStatus {
        let card = try await selected()
        let status = try await card.pinStatus()
        guard Int(status.pukTriesRemaining) > n else {
            throw ConformanceSkip("the PUK has \(status.pukTriesRemaining) tries left; \(n) wrong tries could block it")
        }
        let (pin, puk) = (self.pin, self.puk)
        await onCleanup {
            try await card.reset()
            try await card.select()
            let answer = try await card.send(SealCommand.resetRetryCounter(puk: puk, newPIN: pin))
            try expectSW(answer, .success, "restoring the PUK counter with RESET RETRY COUNTER")
        }
        return status
    }

    /// Registers a cleanup that brings the token under test back to ACTIVE if a case (or a
    /// non-conformant chip) left it SUSPENDED.
    func restoreActiveAfterwards() async {
        let card = self.card
        await onCleanup { [self] in
            try await card.reset()
            try await card.select()
            if try await card.lifecycle() == LifecycleState.suspended.rawValue {
                guard target.issuerSigner != nil else {
                    throw ConformanceFailure("the token under test was left SUSPENDED and no issuer key is configured to resume it")
                }
                try await authenticateIssuer(on: card)
                try expectSW(try await card.send(SealCommand.setLifecycle(.active)), .success, "resuming the token under test")
            }
        }
    }

    /// Counter of the token under test (selected).
    func counterNow() async throws -> UInt32 {
        try await card.counter()
    }
}

extension ConformanceCard {
    /// Sends each raw command and expects its status word.
    func expectAll(_ commands: [(String, StatusWord)], _ what: String) async throws {
        for (hex, sw) in commands {
            try expectSW(try await send(apdu(hex)), sw, what)
        }
    }

    /// VERIFY without data: the PIN's verification status.
    func pinState() async throws -> CardExchange {
        try await send(SealCommand.verifyStatus())
    }

    /// Fails unless VERIFY without data answers `63Cx` (not verified).
    func expectNotVerified(_ what: String) async throws {
        let answer = try await pinState()
        try expect(answer.sw.retriesRemaining != nil,
                   "\(what): VERIFY without data must answer 63Cx (PIN not verified), got \(swText(answer.sw))")
    }

    /// Fails unless VERIFY without data answers `9000` (verified).
    func expectVerified(_ what: String) async throws {
        try expectSW(try await pinState(), .success, "\(what): VERIFY without data (PIN verified)")
    }

    /// Starts a response with pending data (§3.3 rule 3) and returns the answer (4 bytes and
    /// `61xx`) with the bytes still pending: GET DATA chip ID with an extended Le of 4 — or, on a
    /// chip without extended length (§3.5), SELECT with a short Le of 4, a state-changing command
    /// whose FCI is split rather than answered `6Cxx`.
    func startPendingResponse() async throws -> PendingResponse {
        guard offersExtendedLength else {
            let fci = try await exchange(SealCommand.select())
            try expectSW(fci, .success, "SELECT P2 00")
            let answer = try await send(CommandAPDU(cla: 0, ins: SealInstruction.select.rawValue, p1: 0x04, p2: 0x00, data: SealApplet.aid, ne: 4))
            let pending = Array(fci.data.dropFirst(4))
            try expectSW(answer, .bytesRemaining(pending.count), "SELECT with short Le 4 must return 4 FCI bytes and 61xx")
            try expectBytes(answer.data, Array(fci.data.prefix(4)), "first 4 FCI bytes")
            return PendingResponse(answer: answer, pending: pending)
        }
        let chipID = try await chipID()  // read first: any command after the next discards the pending data
        let answer = try await send(CommandAPDU(cla: 0, ins: 0xCA, p1: 0x01, p2: 0x01, ne: 4, forceExtended: true))
        try expectSW(answer, StatusWord(sw1: 0x61, sw2: 12), "GET DATA 0101 with extended Le 4 must return 4 bytes and 610C")
        try expectBytes(answer.data, Array(chipID.prefix(4)), "first 4 chip ID bytes")
        return PendingResponse(answer: answer, pending: Array(chipID.dropFirst(4)))
    }
}
