#if canImport(CPCSCLite)
internal import CPCSCLite
import SealHostDriver
import Synchronization

/// Cancellation shared between a ``PCSCReaderMonitor`` iteration (whose loop blocks in
/// `SCardGetStatusChange` on its own thread) and the consumer side (stream termination).
///
/// `SCardCancel` is the one PC/SC call made on a context from another thread, so the context is
/// attached and detached under the same lock that ``cancel()`` holds: `SCardCancel` never sees a
/// released context.
final class PCSCMonitorControl: Sendable {
    private struct State {
        var context: SCARDCONTEXT?
        var cancelled = false
    }

    private let state = Mutex(State())

    /// Whether ``cancel()`` was called.
    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Makes `context` the one ``cancel()`` interrupts. Returns `false` if already cancelled.
    func attach(_ context: SCARDCONTEXT) -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.context = context
            return true
        }
    }

    /// Forgets the context; call before releasing it.
    func detach() {
        state.withLock { $0.context = nil }
    }

    /// Marks the iteration cancelled and interrupts a blocked `SCardGetStatusChange`
    /// (`SCardCancel` on the monitor's own context; the loop then sees `SCARD_E_CANCELLED`).
    /// Idempotent.
    func cancel() {
        state.withLock { state in
            state.cancelled = true
            if let context = state.context { _ = SCardCancel(context) }
        }
    }
}
#endif
