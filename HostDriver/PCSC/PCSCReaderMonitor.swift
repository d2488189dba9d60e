import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite
#endif

/// Reader and card events from PC/SC as an `AsyncSequence`.
///
/// ```swift
/// for try await event in PCSCReaderMonitor() {
///     switch event {
///     case .cardInserted(let reader, let atr): print("token in \(reader): \(hexString(atr))")
///     case .cardRemoved(let reader): print("token out of \(reader)")
///     case .readerAdded(let name), .readerRemoved(let name): print("reader \(name)")
///     }
/// }
/// ```
///
/// Each iteration (each `makeAsyncIterator()`) starts its own thread with its own PC/SC context
/// that waits in `SCardGetStatusChange` on the PnP notification pseudo-reader
/// (`\\?PnP?\Notification`) and on every reader. Events are buffered until consumed.
///
/// By default the sequence first reports the current situation: ``PCSCReaderEvent/readerAdded(name:)``
/// for every reader and ``PCSCReaderEvent/cardInserted(reader:atr:)`` for every card already
/// inserted, then changes as they happen.
///
/// The sequence ends (`next()` returns `nil`) when the consuming task is cancelled or the iterator
/// is dropped: the monitor calls `SCardCancel` on its context, the thread leaves its wait at once
/// and releases the context. It throws ``PCSCError`` (``PCSCError/Code-swift.struct/serviceUnavailable``)
/// when pcscd is not running or stops, and ``PCSCError/Code-swift.struct/platformUnsupported`` on
/// builds without libpcsclite.
public struct PCSCReaderMonitor: AsyncSequence, Sendable {
    public typealias Element = PCSCReaderEvent

    /// Whether the sequence starts by reporting the readers and cards already present.
    public let reportsExistingReaders: Bool
    /// The longest single wait in `SCardGetStatusChange`; on each timeout the reader list is
    /// re-read (for pcsc-lite builds without hot-plug notification).
    public let pollInterval: Duration

    /// Creates a monitor.
    ///
    /// - Parameters:
    ///   - reportsExistingReaders: report the present readers and cards first (default `true`).
    ///   - pollInterval: the longest single wait, clamped to 10 ms … 60 s (default 1 s).
    public init(reportsExistingReaders: Bool = true, pollInterval: Duration = .seconds(1)) {
        self.reportsExistingReaders = reportsExistingReaders
        self.pollInterval = Swift.min(Swift.max(pollInterval, .milliseconds(10)), .seconds(60))
    }

    /// Starts monitoring: a new thread and PC/SC context for this iteration.
    public func makeAsyncIterator() -> AsyncIterator {
        let (stream, continuation) = AsyncThrowingStream<PCSCReaderEvent, any Error>.makeStream()
        #if canImport(CPCSCLite)
        let control = PCSCMonitorControl()
        continuation.onTermination = { _ in control.cancel() }
        let (seconds, attoseconds) = pollInterval.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let loop = PCSCMonitorLoop(reportExisting: reportsExistingReaders,
                                   pollMilliseconds: DWORD(milliseconds),
                                   control: control, continuation: continuation)
        if !PCSCThread.start({ loop.run() }) {
            continuation.finish(throwing: PCSCError(code: .failure, reason: "could not start the monitor thread"))
        }
        return AsyncIterator(base: stream.makeAsyncIterator(), lifetime: Lifetime(control: control))
        #else
        continuation.finish(throwing: PCSCError(code: .platformUnsupported, reason: "built without libpcsclite"))
        return AsyncIterator(base: stream.makeAsyncIterator(), lifetime: Lifetime())
        #endif
    }

    /// The iterator of a ``PCSCReaderMonitor``; dropping it stops the monitor.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<PCSCReaderEvent, any Error>.Iterator
        let lifetime: Lifetime

        /// The next event; `nil` when the consuming task is cancelled.
        ///
        /// - Throws: ``PCSCError``.
        public mutating func next() async throws -> PCSCReaderEvent? {
            try await base.next()
        }
    }

    /// Stops the monitor when the iterator goes away.
    final class Lifetime: Sendable {
        #if canImport(CPCSCLite)
        private let control: PCSCMonitorControl
        init(control: PCSCMonitorControl) { self.control = control }
        deinit { control.cancel() }
        #else
        init() {}
        #endif
    }
}
