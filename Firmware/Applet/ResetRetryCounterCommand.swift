import SealProtocol

extension SealAppletRuntime {
    /// RESET RETRY COUNTER (SPEC §8.8): `00 2C 00 81 Lc 83 L PUK 82 L newPIN`.
    ///
    /// The PUK counter is charged and committed before the comparison. On a match the new PIN, the
    /// reset PIN counter and the reset PUK counter are committed together; the PIN is not verified.
    func resetRetryCounter(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .resetRetryCounter)
        if command.p1 == issuerUnblockP1 { return try issuerUnblock(command) }
        let pukCounter = try store.tryCounter(.pukTryCounter)
        guard !pukCounter.isBlocked else { throw .blocked }
        guard let secrets = Self.parseSecretPair(command.data, first: SealTag.pukValue, second: SealTag.newPIN),
              PersonalizationData.isValidPUK(secrets.first), PersonalizationData.isValidPIN(secrets.second) else {
            throw .wrongData
        }
        let pinCounter = try store.tryCounter(.pinTryCounter)

        switch try present(secrets.first, reference: .pukReference, counterRecord: .pukTryCounter, counter: pukCounter) {
        case .match(let charged):
            let salt = random.randomBytes(count: ReferenceData.saltLength)
            try store.atomically { () throws(CommandFailure) in
                try store.write(.pinReference, ReferenceData.protect(secrets.second, salt: salt))
                try store.write(.pinTryCounter, pinCounter.reset().encoded)
                try store.write(.pukTryCounter, charged.reset().encoded)
            }
            security.pinVerified = false
            return .success
        case .mismatch(let remaining):
            security.pinVerified = false
            return CommandResult(status: .verificationFailed(triesRemaining: remaining))
        }
    }

    /// RESET RETRY COUNTER P1 `02` (SPEC §8.8): the issuer sets a new PIN without the PUK and
    /// resets both try counters, so a token whose PIN and PUK a thief exhausted can be recovered.
    /// Issuer authenticated else `6982` (a blocked PUK does not matter); data `82 L newPIN`, else `6A80`.
    private func issuerUnblock(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard security.issuerAuthenticated else { throw .securityNotSatisfied }
        guard let objects = try? TLV.decodeAll(command.data, strict: true), objects.count == 1,
              objects[0].tag == SealTag.newPIN, PersonalizationData.isValidPIN(objects[0].value) else {
            throw .wrongData
        }
        let pinCounter = try store.tryCounter(.pinTryCounter)
        let pukCounter = try store.tryCounter(.pukTryCounter)
        let salt = random.randomBytes(count: ReferenceData.saltLength)
        try store.atomically { () throws(CommandFailure) in
            try store.write(.pinReference, ReferenceData.protect(objects[0].value, salt: salt))
            try store.write(.pinTryCounter, pinCounter.reset().encoded)
            try store.write(.pukTryCounter, pukCounter.reset().encoded)
        }
        security.pinVerified = false
        return .success
    }
}
