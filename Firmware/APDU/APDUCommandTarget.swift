import SealProtocol

/// What the APDU front end needs from the application behind it.
///
/// The front end owns SPEC §5 steps 1–3 (malformed APDU, CLA, chaining) and GET RESPONSE; the
/// target owns steps 4–5 (INS, selection, P1-P2) and everything from step 6 on.
protocol APDUCommandTarget: AnyObject {
    /// SPEC §5 steps 4–5 for a command or a chain part: the instruction must exist for the class,
    /// an application must be selected (except for SELECT), and P1-P2 must be acceptable.
    /// Changes no state.
    func checkHeader(_ header: CommandHeader) throws(CommandFailure) -> SealInstruction

    /// Executes a complete command (SPEC §5 steps 6–10). GET RESPONSE never arrives here.
    func execute(_ command: AppletCommand) throws(CommandFailure) -> CommandResult

    /// Answers a key-agreement command (SPEC §14.3): checks selection and P1-P2, and runs the
    /// card's side of the handshake with the chip's key-agreement key.
    func openSecureChannel(_ variant: SCP11Variant, header: CommandHeader, data: [UInt8]) throws(CommandFailure) -> SCP11CardHandshake.Result

    /// A channel of `variant` was opened (`variant` non-nil) or the open one ended (`nil`): the
    /// security state bound to the channel (PIN verified, issuer authenticated) starts afresh.
    func secureChannelChanged(to variant: SCP11Variant?)
}
