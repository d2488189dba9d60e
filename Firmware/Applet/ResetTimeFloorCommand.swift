import SealProtocol

extension SealAppletRuntime {
    /// RESET TIME FLOOR (SPEC §8.16): `80 5C 00 00 08 <floor u64>`, the issuer's command (inside
    /// the SCP11a channel, SPEC §14.6, checked by the front end before this runs).
    ///
    /// Two stamps dated in the future raise the time floor of SPEC §8.13 and would block honest
    /// stamps until real time caught up; the issuer sets the floor again. Checks in the order of
    /// §8.16; then ONE transaction writes the floor with the signature counter of the moment, so
    /// only stamps made after the reset count towards the floor again.
    func resetTimeFloor(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.data.count == 8 else { throw .wrongLength }
        try requireLifecycle(for: .resetTimeFloor)
        guard security.issuerAuthenticated else { throw .securityNotSatisfied }
        let counter = try store.signatureCounter()
        try store.atomically { () throws(CommandFailure) in
            try store.write(.timeFloorReset, command.data + bigEndianBytes(counter))
        }
        return .success
    }
}
