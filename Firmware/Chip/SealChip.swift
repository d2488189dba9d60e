import SealProtocol

/// The seal secure element: the applet of Protocol/SPEC.md behind an ISO 7816-4 front end, over
/// a journaled ``NonVolatileMemory``.
///
/// RAM (selection, PIN-verified and issuer-authenticated flags, the pending challenge, pending
/// GET RESPONSE data, an open command chain) lives in this object and is cleared at power-on,
/// warm reset and power-off; everything persistent lives in the NVM and changes only through
/// NVM transactions. Not thread-safe and not `Sendable`: confine it to one isolation domain
/// (the simulator wraps it in an actor).
public final class SealChip {
    /// The Answer-to-Reset (SPEC §2.2).
    public static var answerToReset: [UInt8] { ChipATR.bytes }

    private let nvm: NonVolatileMemory
    /// The applet instance and its volatile state (internal: visible to white-box tests only).
    let applet: SealAppletRuntime
    /// The ISO 7816-4 front end and its volatile state (internal: visible to white-box tests only).
    var frontEnd: APDUFrontEnd { state.frontEnd }

    /// What a command reads and changes in this object: power, the memory fault and the front end.
    ///
    /// One stored property rather than three, so that ``process(_:)`` enters it with one access
    /// (`inout`, checked statically from there on) instead of one dynamic exclusivity check per
    /// field — each a thread-local lookup in the Swift runtime, measured on the simulator's vpcd
    /// slot thread at about 90 instructions apiece per APDU.
    private struct State {
        var isPowered = false
        var memoryFault: String?
        var frontEnd: APDUFrontEnd
    }

    private var state: State

    /// The sizes this chip handles and reports (GET DATA `0105`, the FCI, the ATR): ROM, not NVM,
    /// so they are fixed when the chip is made (SPEC §3.5).
    public let capabilities: SealCapabilities
    /// This chip's Answer-to-Reset.
    private let atr: [UInt8]

    /// Whether the chip is powered. A power loss during a command clears it.
    public var isPowered: Bool { state.isPowered }

    /// Why the chip refuses its persistent state, or `nil` when the state is consistent.
    ///
    /// Checked when the chip is opened and at every power-on (SPEC §11): the signature counter
    /// record must exist and must not be lower than the newest audit entry. While it is set the
    /// chip answers every command `6581` (memory failure), as a chip does whose NVM fails its
    /// integrity check; no command can change the NVM, so it stays set across power cycles.
    package var memoryFault: String? { state.memoryFault }

    /// Why the durable store refused the last command's commit (a read-only state file, a full
    /// disk), when that command was answered `6581` for it; `nil` otherwise. Cleared at the start
    /// of every command.
    package var lastStorageFailure: String? { nvm.lastStoreFailure?.reason }

    /// Opens the chip whose persistent state is `nvm`. The chip starts unpowered.
    ///
    /// - Parameters:
    ///   - nvm: the chip's persistent memory, holding a manufactured chip.
    ///   - random: the chip's randomness (keys, challenges, channel keys).
    ///   - capabilities: the chip's size limits and features: `SealCapabilities.reference`
    ///     by default, `SealCapabilities.constrained` for a chip at the spec's minimums.
    /// - Throws: ``SealChipError/Code/notManufactured`` when `nvm` holds no manufactured chip
    ///   (see ``manufacture(nvm:chipID:issuerPublicKey:random:)``).
    public init(nvm: NonVolatileMemory, random: any ChipRandomSource, capabilities: SealCapabilities = .reference) throws {
        let store = PersistentStore(nvm: nvm)
        guard store.isManufactured else {
            throw SealChipError(.notManufactured, "the NVM holds no manufactured chip")
        }
        self.nvm = nvm
        self.capabilities = capabilities
        self.atr = ChipATR.bytes(for: capabilities)
        self.applet = SealAppletRuntime(store: store, random: random, capabilities: capabilities)
        self.state = State(memoryFault: store.counterConsistencyFault(), frontEnd: APDUFrontEnd(capabilities: capabilities))
    }

    // MARK: - Power

    /// Powers the chip on: NVM recovery (rolling a committed transaction forward, discarding an
    /// uncommitted one), all volatile state cleared, no application selected.
    ///
    /// - Returns: the ATR.
    /// - Throws: the ``NVMError`` of a failed recovery; the chip then stays unpowered and
    ///   `powerOn()` may be retried.
    public func powerOn() throws -> [UInt8] {
        clearVolatileState()
        state.isPowered = false
        try nvm.powerOn()
        state.memoryFault = applet.store.counterConsistencyFault()
        state.isPowered = true
        return atr
    }

    /// Warm reset: clears all volatile state and returns the ATR; `[]` (no answer) when unpowered.
    public func warmReset() -> [UInt8] {
        guard isPowered else { return [] }
        clearVolatileState()
        return atr
    }

    /// Removes power; volatile state is lost.
    public func powerOff() {
        clearVolatileState()
        state.isPowered = false
    }

    // MARK: - APDUs

    /// Processes one command APDU.
    ///
    /// - Returns: the response APDU bytes, or ``ChipResponse/mute`` when the chip is unpowered or
    ///   lost power during the command (it then stays unpowered until ``powerOn()``).
    public func process(_ command: [UInt8]) -> ChipResponse {
        Self.process(command, state: &state, nvm: nvm, applet: applet)
    }

    /// The body of ``process(_:)``, on the chip's state passed `inout`: one exclusivity check for
    /// the whole command (see `State`). Nothing the command runs can reach this object (the applet
    /// and the memory hold no reference to it), so the access cannot conflict.
    private static func process(_ command: [UInt8], state: inout State, nvm: NonVolatileMemory,
                                applet: SealAppletRuntime) -> ChipResponse {
        guard state.isPowered else { return .mute }
        nvm.clearLastStoreFailure()
        guard state.memoryFault == nil else { return .response([StatusWord.memoryFailure.sw1, StatusWord.memoryFailure.sw2]) }
        switch state.frontEnd.process(command, target: applet) {
        case .response(let bytes):
            return .response(bytes)
        case .powerLost:
            nvm.abortTransaction()
            clearVolatileState(&state, applet: applet)
            state.isPowered = false
            return .mute
        }
    }

    // MARK: - Measuring hook (sealbench)

    /// A measuring hook, not a command: runs the STAMP command `80 54 00 00` with `data` as the
    /// secure channel hands a STAMP to the applet once it has unwrapped it (SPEC §5 steps 4–10,
    /// with the security state as it is), and returns the response: data ‖ SW1 SW2, or `[]` when
    /// the chip is unpowered or lost power (it then goes mute as ``process(_:)`` does).
    ///
    /// No APDU reaches this path: protocol v2 accepts STAMP only inside the channel (SPEC §14.6),
    /// and ``process(_:)`` keeps refusing a plain one. It exists so that `sealbench` can measure
    /// the chip's own STAMP work without the channel's wrap and unwrap (issue 13's figure), after
    /// a VERIFY through an open channel. Nothing but the benchmark imports this SPI.
    @_spi(Benchmarks) public func stampAsUnwrappedByChannel(_ data: [UInt8]) -> [UInt8] {
        guard isPowered else { return [] }
        nvm.clearLastStoreFailure()
        guard memoryFault == nil else { return [StatusWord.memoryFailure.sw1, StatusWord.memoryFailure.sw2] }
        var result: CommandResult
        do {
            let header = CommandHeader(classByte: SealClass.proprietary, ins: SealInstruction.stamp.rawValue, p1: 0, p2: 0)
            let instruction = try applet.checkHeader(header)
            result = try applet.execute(AppletCommand(instruction: instruction, p1: 0, p2: 0, data: data, ne: 256, leForm: .short))
        } catch .status(let status) {
            return [status.sw1, status.sw2]
        } catch {
            nvm.abortTransaction()
            clearVolatileState()
            state.isPowered = false
            return []
        }
        // The status appended in place (the response encoders leave room for it), as the front end
        // delivers a complete response.
        result.data.append(result.status.sw1)
        result.data.append(result.status.sw2)
        return result.data
    }

    // MARK: - Diagnostics (simulator and tests)

    /// Physical NVM write points so far (see ``NonVolatileMemory/physicalWriteCount``).
    @_spi(Testing) public var nvmWriteCount: Int { nvm.physicalWriteCount }

    /// Cuts power at the `n`-th NVM write point from now (1-based); the command in progress is
    /// then answered ``ChipResponse/mute``.
    @_spi(Testing) public func armPowerLoss(atNVMWrite n: Int) {
        nvm.armTear(atWrite: n)
    }

    /// Cancels a power loss armed with ``armPowerLoss(atNVMWrite:)`` that has not fired yet.
    @_spi(Testing) public func disarmPowerLoss() {
        nvm.disarmTear()
    }

    /// The committed lifecycle state; `nil` if the record is unreadable.
    @_spi(Testing) public var lifecycleForDiagnostics: LifecycleState? {
        try? applet.store.lifecycle()
    }

    private func clearVolatileState() {
        Self.clearVolatileState(&state, applet: applet)
    }

    /// What a power loss or a power cycle forgets: the front end's and the applet's volatile state
    /// (on the `inout` state, so that `process(_:state:nvm:applet:)` can call it too).
    private static func clearVolatileState(_ state: inout State, applet: SealAppletRuntime) {
        state.frontEnd.reset()
        applet.resetVolatileState()
    }
}
