import SealHostDriver
import Dispatch

/// The executor of one ``PCSCTransport``: a private serial `DispatchQueue`.
///
/// PC/SC calls block (an `SCardTransmit` to a slow token, a pcscd that hangs). Running them on the
/// cooperative pool could starve Swift concurrency, so each transport actor runs on its own serial
/// queue instead; a serial queue without an explicit target gets an overcommit worker thread from
/// libdispatch, outside the pool, whenever it has work.
final class PCSCSerialExecutor: SerialExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    /// Runs `body` on a fresh serial queue and returns its result: for one-off blocking PC/SC work
    /// such as ``PCSCReaders/list()``.
    static func runBlocking<T: Sendable, E: Error>(label: String, _ body: @escaping @Sendable () -> Result<T, E>) async -> Result<T, E> {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: label).async { continuation.resume(returning: body()) }
        }
    }
}
