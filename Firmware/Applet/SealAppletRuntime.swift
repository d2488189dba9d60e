import SealProtocol

/// The seal applet instance: its volatile state, its persistent store, the command dispatcher and
/// the SPEC §5 step 4–5 header checks. One handler per command lives in its own file as an
/// extension of this class.
final class SealAppletRuntime: APDUCommandTarget {
    let store: PersistentStore
    let random: any ChipRandomSource
    /// What GET DATA `0105` and the FCI report (SPEC §3.5).
    let capabilities: SealCapabilities

    /// Whether the applet is selected (cleared only at power-on, reset and power-off).
    var isSelected = false
    var security = SecurityState()

    init(store: PersistentStore, random: any ChipRandomSource, capabilities: SealCapabilities = .reference) {
        self.store = store
        self.random = random
        self.capabilities = capabilities
    }

    /// Power-on, warm reset, power-off: everything volatile, selection included.
    func resetVolatileState() {
        isSelected = false
        security = SecurityState()
    }

    // MARK: - APDUCommandTarget

    func checkHeader(_ header: CommandHeader) throws(CommandFailure) -> SealInstruction {
        guard let instruction = SealInstruction(cla: header.classByte, ins: header.ins) else {
            throw .insNotSupported
        }
        guard isSelected || instruction == .select else {
            throw .insNotSupported
        }
        guard CommandHeaderRules.acceptsP1P2(instruction, p1: header.p1, p2: header.p2) else {
            throw .status(CommandHeaderRules.rejection(for: instruction))
        }
        return instruction
    }

    func execute(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        switch command.instruction {
        case .select: return try select(command)
        case .getChallenge: return try getChallenge(command)
        case .externalAuthenticate: return try externalAuthenticate(command)
        case .getData: return try getData(command)
        case .verify: return try verify(command)
        case .changeReferenceData: return try changeReferenceData(command)
        case .resetRetryCounter: return try resetRetryCounter(command)
        case .personalize: return try personalize(command)
        case .setLifecycle: return try setLifecycle(command)
        case .stamp: return try stamp(command)
        case .readAuditLog: return try readAuditLog(command)
        case .getAttestation: return try getAttestation(command)
        case .resetTimeFloor: return try resetTimeFloor(command)
        case .putSESSeal: return try putSESSeal(command)
        case .readSESSeal: return try readSESSeal(command)
        case .stampSES: return try stampSES(command)
        case .getResponse: throw .insNotSupported  // answered by the APDU front end
        }
    }

    // MARK: - Shared checks

    /// SPEC §5 step 7: the lifecycle state allows `instruction` (else `6985`). Returns the state.
    @discardableResult
    func requireLifecycle(for instruction: SealInstruction) throws(CommandFailure) -> LifecycleState {
        let state = try store.lifecycle()
        guard LifecyclePolicy.allows(instruction, in: state) else { throw .conditionsNotSatisfied }
        return state
    }
}
