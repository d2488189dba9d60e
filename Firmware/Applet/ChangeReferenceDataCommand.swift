import SealProtocol

extension SealAppletRuntime {
    /// CHANGE REFERENCE DATA (SPEC §8.7): `00 24 00 81 Lc 81 L old 82 L new`.
    ///
    /// The old PIN is checked exactly as VERIFY checks it (same counter, decrement before compare);
    /// a mismatch also clears the PIN-verified flag, as a failed VERIFY does.
    func changeReferenceData(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .changeReferenceData)
        let counter = try store.tryCounter(.pinTryCounter)
        guard !counter.isBlocked else { throw .blocked }
        guard let pins = Self.parseSecretPair(command.data, first: SealTag.currentPIN, second: SealTag.newPIN),
              PersonalizationData.isValidPIN(pins.first), PersonalizationData.isValidPIN(pins.second) else {
            throw .wrongData
        }

        switch try present(pins.first, reference: .pinReference, counterRecord: .pinTryCounter, counter: counter) {
        case .match(let charged):
            let salt = random.randomBytes(count: ReferenceData.saltLength)
            try store.atomically { () throws(CommandFailure) in
                try store.write(.pinReference, ReferenceData.protect(pins.second, salt: salt))
                try store.write(.pinTryCounter, charged.reset().encoded)
            }
            security.pinVerified = true
            return .success
        case .mismatch(let remaining):
            security.pinVerified = false
            return CommandResult(status: .verificationFailed(triesRemaining: remaining))
        }
    }
}
