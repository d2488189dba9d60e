import SealProtocol

extension SealAppletRuntime {
    /// VERIFY (SPEC §8.6): `00 20 00|FF 81 [Lc PIN]`.
    func verify(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        if command.p1 == 0xFF {
            // Log out.
            guard !command.hasData else { throw .wrongLength }
            try requireLifecycle(for: .verify)
            security.pinVerified = false
            return .success
        }
        if !command.hasData {
            // Status query.
            try requireLifecycle(for: .verify)
            if security.pinVerified { return .success }
            let counter = try store.tryCounter(.pinTryCounter)
            guard !counter.isBlocked else { throw .blocked }
            return CommandResult(status: .verificationFailed(triesRemaining: Int(counter.remaining)))
        }
        try requireLifecycle(for: .verify)
        let counter = try store.tryCounter(.pinTryCounter)
        guard !counter.isBlocked else { throw .blocked }
        // One SW for a PIN of the wrong length or with a non-digit, as in CHANGE REFERENCE DATA
        // and RESET RETRY COUNTER (SPEC v2 §8.6): 6A80, no try spent.
        guard PersonalizationData.isValidPIN(command.data) else { throw .wrongData }

        switch try present(command.data, reference: .pinReference, counterRecord: .pinTryCounter, counter: counter) {
        case .match(let charged):
            try store.atomically { () throws(CommandFailure) in
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
