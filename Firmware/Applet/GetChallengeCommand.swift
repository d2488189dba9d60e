import SealProtocol

extension SealAppletRuntime {
    /// GET CHALLENGE (SPEC §8.3): `00 84 00 00 Le`; 16 random bytes, kept as the pending issuer challenge.
    func getChallenge(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        let length = SealApplet.challengeLength
        guard !command.hasData, let ne = command.ne else { throw .wrongLength }
        let acceptable = command.leForm == .short ? (ne == length || ne == 256) : ne >= length
        guard acceptable else { throw .status(.wrongLe(exact: length)) }
        let challenge = random.randomBytes(count: length)
        security.pendingChallenge = challenge
        return CommandResult(data: challenge)
    }
}
