import SealFirmware
@_spi(Testing) import SealHostDriver
import SealProtocol
import Synchronization

/// A ``CardTransport`` to a ``SimulatedChip`` in the same process: the embedded default of every
/// `sealctl` command, of the in-process conformance run, and of integrators' own tests.
///
/// ```swift
/// let transport = try InProcessTransport(backing: InMemoryBackingStore())
/// ```
///
/// `transmit` runs on the caller's executor: no actor hop and no thread wake-up per APDU (those
/// cost a quarter of a STAMP's time when this was an actor, see docs/benchmarks.md).
public final class InProcessTransport: CardTransport {
    public let name: String
    /// The chip this transport talks to.
    public let chip: SimulatedChip
    private let connected = Mutex(false)

    /// Opens the chip whose NVM lives in `backing` (a state file or memory).
    public convenience init(name: String = "SealKit in-process simulator", backing: sending any NVMBackingStore,
                            random: sending any ChipRandomSource = SystemChipRandom()) throws {
        try self.init(name: name, chip: SimulatedChip(backing: backing, random: random))
    }

    /// A transport to `chip`.
    public init(name: String = "SealKit in-process simulator", chip: SimulatedChip) {
        self.name = name
        self.chip = chip
    }

    private func powerOn() throws(SealDriverError) -> [UInt8] {
        do {
            let atr = try chip.powerOn()
            connected.withLock { $0 = true }
            return atr
        } catch {
            throw SealDriverError(code: .transportFailure, reason: "simulated chip failed to power on: \(error)")
        }
    }

    public func connect() async throws -> [UInt8] { try powerOn() }

    public func reset() async throws -> [UInt8] {
        guard connected.withLock({ $0 }), chip.isPowered else { return try powerOn() }
        do {
            return try chip.reset()
        } catch {
            throw SealDriverError(code: .transportFailure, reason: "simulated chip failed to reset: \(error)")
        }
    }

    public func disconnect() async {
        chip.powerOff()
        connected.withLock { $0 = false }
    }

    public func close() async { await disconnect() }

    public nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        guard connected.withLock({ $0 }) else { throw SealDriverError(code: .transportFailure, reason: "transmit before connect") }
        switch chip.process(apdu) {
        case .response(let bytes): return bytes
        case .mute: throw SealDriverError(code: .noResponse, reason: "the simulated chip did not answer (power lost during the command)")
        }
    }
}

@_spi(Testing)
extension InProcessTransport: FaultInjectingTransport {
    public func armPowerLoss(atNVMWrite n: Int) async throws { chip.armPowerLoss(atNVMWrite: n) }
    public func disarmPowerLoss() async throws { chip.disarmPowerLoss() }
    public func nvmWriteCount() async throws -> Int { chip.nvmWriteCount }

    public func powerCycle() async throws -> [UInt8] {
        await disconnect()
        return try powerOn()
    }
}
