import SealFirmware
import SealHostDriver
import SealProtocol

/// A `CardTransport` to a simulated seal chip in the same process: the embedded default of every
/// `sealctl` command and of the in-process conformance run.
///
/// The actor owns the chip, so the chip's firmware model needs no locking of its own, exactly as a
/// real chip serializes APDUs. It also implements fault injection (power loss at the n-th NVM
/// write) for the conformance suite's tearing cases.
public actor InProcessTransport: CardTransport, FaultInjectingTransport {
    public nonisolated let name: String
    private let chip: SealChip
    private var connected = false

    /// Opens the chip whose NVM lives in `backing` (a state file or memory).
    public init(name: String = "SealKit in-process simulator", backing: any NVMBackingStore, random: any ChipRandomSource = SystemChipRandom()) throws {
        self.name = name
        let nvm = try NonVolatileMemory(backing: backing)
        self.chip = try SealChip(nvm: nvm, random: random)
    }

    public func connect() async throws -> [UInt8] {
        do {
            let atr = try chip.powerOn()
            connected = true
            return atr
        } catch {
            throw SealDriverError(code: .transportFailure, reason: "simulated chip failed to power on: \(error)")
        }
    }

    public func reset() async throws -> [UInt8] {
        guard connected else { return try await connect() }
        guard chip.isPowered else { return try await connect() }
        return chip.warmReset()
    }

    public func disconnect() async {
        chip.powerOff()
        connected = false
    }

    public func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        guard connected else { throw SealDriverError(code: .transportFailure, reason: "transmit before connect") }
        switch chip.process(apdu) {
        case .response(let bytes): return bytes
        case .mute: throw SealDriverError(code: .noResponse, reason: "the simulated chip did not answer (power lost during the command)")
        }
    }

    public func armPowerLoss(atNVMWrite n: Int) async throws { chip.armPowerLoss(atNVMWrite: n) }
    public func disarmPowerLoss() async throws { chip.disarmPowerLoss() }
    public func nvmWriteCount() async throws -> Int { chip.nvmWriteCount }

    public func powerCycle() async throws -> [UInt8] {
        chip.powerOff()
        connected = false
        return try await connect()
    }
}
