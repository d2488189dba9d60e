import SealProtocol

extension SealToken {
    /// Verifies the PIN (VERIFY, SPEC §8.6). The PIN stays verified until ``logout()``, a reset, a
    /// SELECT or a lifecycle change.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidArgument`` when the PIN is not 6 to 12
    ///   digits (nothing is sent, no try is spent); a `statusWord` error with
    ///   ``SealDriverError/isPINIncorrect`` and ``SealDriverError/triesRemaining`` for a wrong PIN,
    ///   ``SealDriverError/isBlocked`` when blocked.
    public func verifyPIN(_ pin: String) async throws {
        try Self.checkPIN(pin, name: "PIN")
        try await session { _ = try await run(SealCommand.verify(pin: pin)) }
    }

    /// Whether the PIN is currently verified (VERIFY without data). Spends no try.
    ///
    /// - Throws: a `statusWord` error with ``SealDriverError/isBlocked`` when the PIN is blocked.
    public func isPINVerified() async throws -> Bool {
        try await session {
            let command = SealCommand.verifyStatus()
            let response = try await exchange(command)
            if response.statusWord == .success { return true }
            if response.statusWord.retriesRemaining != nil { return false }
            throw SealDriverError(statusWord: response.statusWord, command: "VERIFY")
        }
    }

    /// PIN and PUK tries left and limits (GET DATA `0104`).
    ///
    /// - Throws: a `statusWord` `6A88` error in MANUFACTURED and TERMINATED, where there is no PIN.
    public func pinStatus() async throws -> PINStatus {
        try await session {
            let bytes = try await requiredData(.pinStatus)
            return try decode("PIN status") { () throws(SealDataError) in try PINStatus(decoding: bytes) }
        }
    }

    /// Changes the PIN (CHANGE REFERENCE DATA, SPEC §8.7). On success the new PIN is verified.
    public func changePIN(current: String, new: String) async throws {
        try Self.checkPIN(current, name: "current PIN")
        try Self.checkPIN(new, name: "new PIN")
        try await session { _ = try await run(SealCommand.changePIN(current: current, new: new)) }
    }

    /// Sets a new PIN with the PUK and resets both try counters (RESET RETRY COUNTER, SPEC §8.8).
    /// The new PIN is not verified afterwards.
    public func unblockPIN(puk: String, newPIN: String) async throws {
        guard PersonalizationData.isValidPUK(Array(puk.utf8)) else {
            throw SealDriverError(code: .invalidArgument, reason: "the PUK must be 8 to 16 digits")
        }
        try Self.checkPIN(newPIN, name: "new PIN")
        try await session { _ = try await run(SealCommand.resetRetryCounter(puk: puk, newPIN: newPIN)) }
    }

    /// The issuer's unblock: sets a new PIN without the PUK and resets both try counters (RESET
    /// RETRY COUNTER P1 `02`, SPEC §8.8). Call ``authenticateIssuer(using:)`` first; the new PIN
    /// is not verified afterwards.
    public func issuerUnblockPIN(newPIN: String) async throws {
        try Self.checkPIN(newPIN, name: "new PIN")
        try await session { _ = try await run(SealCommand.issuerResetRetryCounter(newPIN: newPIN)) }
    }

    /// Clears PIN verification (VERIFY P1 `FF`).
    public func logout() async throws {
        try await session { _ = try await run(SealCommand.logout()) }
    }

    static func checkPIN(_ pin: String, name: String) throws {
        guard PersonalizationData.isValidPIN(Array(pin.utf8)) else {
            throw SealDriverError(code: .invalidArgument, reason: "the \(name) must be 6 to 12 digits")
        }
    }
}
