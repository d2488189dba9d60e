import SealProtocol

extension SealAppletRuntime {
    /// EXTERNAL AUTHENTICATE of the issuer (SPEC §8.4): `00 82 00 01 Lc signature`.
    ///
    /// The signature covers SPEC §9.1 with the pending challenge, which is consumed whatever the
    /// outcome. A failed attempt also drops an earlier issuer authentication.
    func externalAuthenticate(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard (1...72).contains(command.data.count) else { throw .wrongLength }
        guard let challenge = security.pendingChallenge else { throw .conditionsNotSatisfied }
        // Consumed before anything can fail (SPEC §8.4): a challenge is never usable twice, not
        // even after a failure to read the chip ID or the issuer key (6581).
        security.pendingChallenge = nil
        let chipID = try store.chipID()
        let issuerKey = try store.issuerPublicKey()
        let message = issuerAuthenticationTBS(chipID: chipID, challenge: challenge)
        let valid = ChipSigner.verify(command.data, over: message, with: issuerKey)
        security.issuerAuthenticated = valid
        guard valid else { throw .status(.authenticationFailed) }
        return .success
    }
}
