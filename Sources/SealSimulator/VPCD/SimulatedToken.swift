import Dispatch
import Foundation
import SealFirmware

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The token in one simulator slot: an actor owning a ``SealChip`` over its state file.
///
/// The actor runs on a ``TokenExecutor`` rather than the default concurrent pool. That executor is
/// a lock, so the slot's socket thread — which blocks in `recv` and must answer vpcd within
/// microseconds — can enter the actor synchronously with ``synchronously(_:)`` (a lock
/// acquisition, ~0.2 µs) instead of hopping through a `Task` and a semaphore (~35 µs measured on
/// the 2-core CI box). Async callers use the actor normally; both kinds of access are serialized
/// by the same lock, so the chip still sees one command at a time, exactly as a real chip.
actor SimulatedToken {
    nonisolated let slot: Int
    nonisolated let stateFile: URL
    private nonisolated let executor: TokenExecutor
    private let chip: SealChip

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens the chip whose NVM lives in `stateFile`. The chip starts unpowered.
    init(slot: Int, stateFile: URL) throws {
        self.slot = slot
        self.stateFile = stateFile
        self.executor = TokenExecutor(label: "sealsim.slot\(slot)")
        let nvm = try NonVolatileMemory(backing: FileBackingStore(url: stateFile))
        self.chip = try SealChip(nvm: nvm, random: SystemChipRandom())
    }

    /// Runs `body` isolated to the token, from a plain (non-async) thread, blocking until the token
    /// is free. Never call it from code already running on the token.
    nonisolated func synchronously<T: Sendable>(_ body: (isolated SimulatedToken) throws -> T) rethrows -> T {
        try executor.runExclusively { try self.assumeIsolated(body) }
    }

    var isPowered: Bool { chip.isPowered }

    /// Cold reset. `nil` and an error description when NVM recovery failed (the chip stays off).
    func powerOn() -> (atr: [UInt8]?, failure: String?) {
        do {
            return (try chip.powerOn(), nil)
        } catch {
            return (nil, "\(error)")
        }
    }

    func powerOff() { chip.powerOff() }

    /// Warm reset when powered, cold reset otherwise (a reader activates an unpowered card).
    func reset() -> String? {
        if chip.isPowered {
            _ = chip.warmReset()
            return nil
        }
        return powerOn().failure
    }

    func process(_ command: [UInt8]) -> ChipResponse { chip.process(command) }

    func armPowerLoss(atNVMWrite n: Int) { chip.armPowerLoss(atNVMWrite: n) }
    func disarmPowerLoss() { chip.disarmPowerLoss() }
    var nvmWriteCount: Int { chip.nvmWriteCount }
}

/// A serial executor that is a lock: jobs enqueued by async callers run on a private dispatch
/// queue under the lock, and a blocking thread can run a closure under the same lock with
/// ``runExclusively(_:)``. ``checkIsolated()`` lets `assumeIsolated` verify, from that thread,
/// that it really holds the lock.
final class TokenExecutor: SerialExecutor, @unchecked Sendable {
    // `gate` serializes everything that runs on the token; `ownerLock` guards `owner`, read by
    // `checkIsolated()` while another thread may hold `gate`.
    private let gate = NSLock()
    private let ownerLock = NSLock()
    private var owner: pthread_t?
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async {
            self.runExclusively { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
        }
    }

    /// Runs `body` holding the executor, on the calling thread.
    func runExclusively<T>(_ body: () throws -> T) rethrows -> T {
        gate.lock()
        setOwner(pthread_self())
        defer {
            setOwner(nil)
            gate.unlock()
        }
        return try body()
    }

    func checkIsolated() {
        ownerLock.lock()
        let current = owner
        ownerLock.unlock()
        guard let current, pthread_equal(current, pthread_self()) != 0 else {
            preconditionFailure("SimulatedToken used outside its executor")
        }
    }

    private func setOwner(_ thread: pthread_t?) {
        ownerLock.lock()
        owner = thread
        ownerLock.unlock()
    }
}
