import SealProtocol

extension SealAppletRuntime {
    /// SET LIFECYCLE (SPEC §8.12): `80 52 state 00`.
    ///
    /// Entering TERMINATED zeroizes (erases) the seal private key, the watermark key, the PIN and
    /// the PUK with their counters in the same transaction as the state change; identity,
    /// personalization data, counter and audit log stay.
    func setLifecycle(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard !command.hasData else { throw .wrongLength }
        guard let target = LifecycleState(rawValue: command.p1) else { throw .incorrectP1P2 }
        let current = try store.lifecycle()
        guard current.canTransition(to: target) else { throw .conditionsNotSatisfied }
        guard security.issuerAuthenticated else { throw .securityNotSatisfied }

        try store.atomically { () throws(CommandFailure) in
            try store.write(.lifecycle, [target.rawValue])
            if target == .terminated {
                for record in [RecordID.sealPrivateKey, .watermarkKey, .pinReference, .pinTryCounter,
                               .pukReference, .pukTryCounter] {
                    try store.erase(record)
                }
            }
        }
        security.pinVerified = false
        if target == .terminated {
            security.issuerAuthenticated = false
        }
        return .success
    }
}
