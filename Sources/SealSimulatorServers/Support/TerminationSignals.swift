import SealSimulatedToken
import SealReaderWire
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM as an async sequence, for the lifetime of a `serve` call: default handling is
/// suspended while it waits and restored afterwards. Several instances may coexist (`sealsim serve
/// --vpcd … --usbip …`): every dispatch source of a signal is told.
final class TerminationSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    private var continuation: AsyncStream<Int32>.Continuation?
    private let stream: AsyncStream<Int32>

    init() {
        var captured: AsyncStream<Int32>.Continuation?
        stream = AsyncStream(bufferingPolicy: .bufferingNewest(1)) { captured = $0 }
        continuation = captured
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.deliver(number) }
            source.resume()
            sources.append(source)
        }
    }

    private func deliver(_ number: Int32) {
        lock.lock()
        let continuation = continuation
        lock.unlock()
        continuation?.yield(number)
    }

    /// Waits for SIGINT or SIGTERM (or cancellation of the calling task) and logs which one came:
    /// the end of every `sealsim serve`.
    func waitForTermination(log: @Sendable (String) -> Void) async {
        if let signal = await next() {
            log("sealsim: \(signal == SIGTERM ? "SIGTERM" : "SIGINT") received, shutting down")
        }
    }

    /// The next signal; `nil` when the calling task is cancelled.
    func next() async -> Int32? {
        let stream = self.stream
        for await number in stream { return number }
        return nil
    }

    deinit {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        continuation?.finish()
    }
}
