import Foundation
@_spi(Testing) import SealFirmware
import SealProtocol
import Synchronization

/// A simulated seal chip and the power it runs on: the one place a `SealChip` is hosted, whether
/// it answers an ``InProcessTransport`` in the caller's process, a vpcd slot or a USB CCID slot of
/// `sealsim serve`.
///
/// The chip sits behind a mutex, which serializes commands exactly as a real chip does. Every
/// method is synchronous: a socket thread that must answer vpcd within microseconds enters the
/// chip with a lock acquisition (~0.2 µs), not a task hop (~35 µs measured on the 2-core CI box),
/// and async callers call the same methods without an executor hop.
public final class SimulatedChip: Sendable {
    private let chip: Mutex<SealChip>

    /// Opens the chip whose NVM lives in `backing` (a state file or memory). The chip starts unpowered.
    ///
    /// - Parameters:
    ///   - backing: where the chip's NVM lives.
    ///   - random: the chip's randomness.
    ///   - capabilities: the chip's size limits (SPEC §3.5): `SealCapabilities.reference` by
    ///     default; `SealCapabilities.constrained` runs it as a chip at the spec's minimums.
    public init(backing: sending any NVMBackingStore, random: sending any ChipRandomSource = SystemChipRandom(),
                capabilities: SealCapabilities = .reference) throws {
        let nvm = try NonVolatileMemory(backing: backing)
        chip = Mutex(try SealChip(nvm: nvm, random: random, capabilities: capabilities))
    }

    /// Opens the chip whose NVM lives in the state file `url`.
    public convenience init(stateFile url: URL) throws {
        try self.init(backing: FileBackingStore(url: url))
    }

    /// Whether the chip has power.
    public var isPowered: Bool { chip.withLock { $0.isPowered } }

    /// Why the chip refuses its persistent state (it then answers every command `6581`), or `nil`.
    package var memoryFault: String? { chip.withLock { $0.memoryFault } }

    /// Why the last command's commit could not be stored (a read-only state file), or `nil`.
    package var lastStorageFailure: String? { chip.withLock { $0.lastStorageFailure } }

    /// Cold reset: powers the chip on, recovering its NVM, and returns the ATR.
    public func powerOn() throws -> [UInt8] { try chip.withLock { try $0.powerOn() } }

    /// Warm reset when powered, cold reset otherwise (a reader activates an unpowered card).
    public func reset() throws -> [UInt8] {
        try chip.withLock { chip in chip.isPowered ? chip.warmReset() : try chip.powerOn() }
    }

    /// Removes power; volatile state (selection, PIN verification, pending responses) is lost.
    public func powerOff() { chip.withLock { $0.powerOff() } }

    /// Processes one command APDU.
    public func process(_ command: [UInt8]) -> ChipResponse { chip.withLock { $0.process(command) } }

    /// Cuts power at the `n`-th NVM write from now (tearing tests).
    @_spi(Testing) public func armPowerLoss(atNVMWrite n: Int) { chip.withLock { $0.armPowerLoss(atNVMWrite: n) } }

    /// Cancels an armed power loss.
    @_spi(Testing) public func disarmPowerLoss() { chip.withLock { $0.disarmPowerLoss() } }

    /// Physical NVM writes so far.
    @_spi(Testing) public var nvmWriteCount: Int { chip.withLock { $0.nvmWriteCount } }
}
