import SealFirmware
import SealHostDriver
import SealProtocol
import Synchronization

/// A `CardTransport` to a simulated seal chip in the same process: the embedded default of every
/// `sealctl` command and of the in-process conformance run.
///
/// The chip sits behind a mutex, which serializes APDUs exactly as a real chip does, and
/// `transmit` runs on the caller's executor: no actor hop and no thread wake-up per APDU (those
/// cost a quarter of a STAMP's time when this was an actor, see docs/benchmarks.md). It also
/// implements fault injection (power loss at the n-th NVM write) for the conformance suite's
/// tearing cases.
public final class InProcessTransport: CardTransport, FaultInjectingTransport {
    public let name: String
    private struct State: ~Copyable {
        let chip: SealChip
        var connected = false
    }
    private let state: Mutex<State>

    /// Opens the chip whose NVM lives in `backing` (a state file or memory).
    public init(name: String = "SealKit in-process simulator", backing: sending any NVMBackingStore,
                random: sending any ChipRandomSource = SystemChipRandom()) throws {
        self.name = name
        let nvm = try NonVolatileMemory(backing: backing)
        let chip = try SealChip(nvm: nvm, random: random)
        state = Mutex(State(chip: chip))
    }

    private func powerOn(_ state: inout State) throws -> [UInt8] {
        do {
            let atr = try state.chip.powerOn()
            state.connected = true
            return atr
        } catch {
            throw SealDriverError(code: .transportFailure, reason: "simulated chip failed to power on: \(error)")
        }
    }

    public func connect() async throws -> [UInt8] {
        try state.withLock { try powerOn(&$0) }
    }

    public func reset() async throws -> [UInt8] {
        try state.withLock { state in
            guard state.connected, state.chip.isPowered else { return try powerOn(&state) }
            return state.chip.warmReset()
        }
    }

    public func disconnect() async {
        state.withLock { state in
            state.chip.powerOff()
            state.connected = false
        }
    }

    public nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        try state.withLock { state in
            guard state.connected else { throw SealDriverError(code: .transportFailure, reason: "transmit before connect") }
            switch state.chip.process(apdu) {
            case .response(let bytes): return bytes
            case .mute: throw SealDriverError(code: .noResponse, reason: "the simulated chip did not answer (power lost during the command)")
            }
        }
    }

    public func armPowerLoss(atNVMWrite n: Int) async throws { state.withLock { $0.chip.armPowerLoss(atNVMWrite: n) } }
    public func disarmPowerLoss() async throws { state.withLock { $0.chip.disarmPowerLoss() } }
    public func nvmWriteCount() async throws -> Int { state.withLock { $0.chip.nvmWriteCount } }

    public func powerCycle() async throws -> [UInt8] {
        try state.withLock { state in
            state.chip.powerOff()
            state.connected = false
            return try powerOn(&state)
        }
    }
}
