import SealProtocol

extension SealAppletRuntime {
    /// RESET RETRY COUNTER (SPEC §8.8): `00 2C 00 81 Lc 83 L PUK 82 L newPIN`.
    ///
    /// The PUK counter is charged and committed before the comparison. On a match the new PIN, the
    /// reset PIN counter and the reset PUK counter are committed together; the PIN is not verified.
    func resetRetryCounter(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .resetRetryCounter)
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
}
