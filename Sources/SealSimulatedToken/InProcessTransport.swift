import SealFirmware
@_spi(Testing) import SealHostDriver
import SealProtocol
import Synchronization

/// A `CardTransport` to a ``SimulatedChip`` in the same process: the embedded default of every
/// `sealctl` command, of the in-process conformance run, and of integrators' own tests.
///
/// ```swift
/// let transport = try InProcessTransport(backing: InMemoryBackingStore())
/// ```
///
/// For a token that is ready to stamp (manufactured, personalized, ACTIVE, with the test PIN) in
/// one call, use ``SimulatedTestToken/make(personalization:)``.
///
/// `transmit` runs on the caller's executor: no actor hop and no thread wake-up per APDU (those
/// cost a quarter of a STAMP's time when this was an actor, see docs/benchmarks.md).
public final class InProcessTransport: CardTransport {
    /// A name for logs, e.g. `"SealKit in-process simulator"`.
    public let name: String
    /// The chip this transport talks to.
    public let chip: SimulatedChip
    private let connected = Mutex(false)
    /// The lock of a file-based token (`TokenStore`): held until ``close()``.
    private let fileLock: TokenFileLock?

    /// Opens the chip whose NVM lives in `backing` (a state file or memory). Opening writes
    /// nothing (a state file on read-only media can be inspected).
    ///
    /// - Throws: ``SimulatorError/Code/stateFile`` when the chip refuses its persistent state
    ///   (the chip would answer every command `6581`), with the reason.
    ///
    /// `capabilities` are the chip's size limits: `SealCapabilities.constrained` runs it as a
    /// chip at the spec's minimums (512-byte chain buffer, 1024-byte responses, no extended length).
    public convenience init(name: String = "SealKit in-process simulator", backing: sending any NVMBackingStore,
                            random: sending any ChipRandomSource = SystemChipRandom(),
                            capabilities: SealCapabilities = .reference) throws {
        let chip = try SimulatedChip(backing: backing, random: random, capabilities: capabilities)
        try Self.refuseMemoryFault(of: chip, name: name)
        self.init(name: name, chip: chip)
    }

    /// A chip that refuses its persistent state would answer every command 6581: say why at
    /// opening, in one line, instead.
    private static func refuseMemoryFault(of chip: SimulatedChip, name: String) throws(SimulatorError) {
        if let fault = chip.memoryFault {
            throw SimulatorError(.stateFile, "\(name): the chip refuses its memory and answers every command 6581: \(fault)")
        }
    }

    /// A transport to `chip`.
    public init(name: String = "SealKit in-process simulator", chip: SimulatedChip) {
        self.name = name
        self.chip = chip
        self.fileLock = nil
    }

    /// A transport to the chip whose state file is locked by `fileLock`; ``close()`` releases it.
    package init(name: String, backing: sending any NVMBackingStore, fileLock: TokenFileLock,
                 capabilities: SealCapabilities = .reference) throws {
        let chip = try SimulatedChip(backing: backing, capabilities: capabilities)
        try Self.refuseMemoryFault(of: chip, name: name)
        self.name = name
        self.chip = chip
        self.fileLock = fileLock
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

    /// Powers the chip on and returns its ATR.
    ///
    /// - Throws: `SealDriverError` `transportFailure` when the chip's memory does not load.
    public func connect() async throws -> [UInt8] { try powerOn() }

    /// Warm-resets the chip (powers it on if it is off) and returns its ATR.
    public func reset() async throws -> [UInt8] {
        guard connected.withLock({ $0 }), chip.isPowered else { return try powerOn() }
        do {
            return try chip.reset()
        } catch {
            throw SealDriverError(code: .transportFailure, reason: "simulated chip failed to reset: \(error)")
        }
    }

    /// Powers the chip off. The chip keeps its non-volatile state; ``connect()`` powers it on again.
    public func disconnect() async {
        chip.powerOff()
        connected.withLock { $0 = false }
    }

    /// Powers the chip off and, for a file-based token, releases its lock so that another process
    /// may open it.
    public func close() async {
        await disconnect()
        fileLock?.release()
    }

    /// Runs one APDU through the chip, on the caller's executor.
    ///
    /// - Throws: `SealDriverError` `transportFailure` before ``connect()``, and when the chip
    ///   answered `6581` because its state could not be stored (a read-only state file: the reason
    ///   names it; the command changed nothing); `noResponse` when the chip lost power during the
    ///   command (a fault injected by a test).
    public nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        guard connected.withLock({ $0 }) else { throw SealDriverError(code: .transportFailure, reason: "transmit before connect") }
        switch chip.process(apdu) {
        case .response(let bytes):
            if bytes.suffix(2).elementsEqual([StatusWord.memoryFailure.sw1, StatusWord.memoryFailure.sw2]),
               let failure = chip.lastStorageFailure {
                throw SealDriverError(code: .transportFailure, reason: "the token's state could not be saved, so the command changed nothing: \(failure)",
                                      statusWord: .memoryFailure)
            }
            return bytes
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
