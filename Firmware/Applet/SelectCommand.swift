import SealProtocol

extension SealAppletRuntime {
    /// SELECT by DF name (SPEC §8.1): `00 A4 04 00|0C Lc AID [Le]`.
    func select(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        guard command.data == SealApplet.aid else { throw .status(.fileNotFound) }
        isSelected = true
        security = SecurityState()
        return CommandResult(data: command.p2 == 0x00 ? capabilities.fci() : [])
    }
}
