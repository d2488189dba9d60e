import SealHostDriver
import SealReaderWire
import Dispatch
import SealProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The URB phase of one imported USB/IP device: submits URBs, matches RET_SUBMIT / RET_UNLINK
/// to them by seqnum on a dedicated reader thread, and unlinks URBs that time out or are
/// cancelled.
///
/// A URB that times out is unlinked (CMD_UNLINK); if its RET_SUBMIT still arrives first (the
/// server completed it meanwhile), its data is delivered rather than lost. A server that answers
/// neither within ``unlinkGrace`` fails the URB anyway.
final class USBIPConnection: Sendable {
    let socket: USBIPSocket
    /// `busnum << 16 | devnum` of the imported device.
    let devid: UInt32
    /// How long to wait for RET_UNLINK after sending CMD_UNLINK.
    let unlinkGrace: Duration

    private let state = Mutex(State())
    private let writer: DispatchQueue
    /// Held around every send, so that a command sent from the caller's thread and a CMD_UNLINK
    /// sent from the writer queue never interleave their bytes.
    private let sending = Mutex(())

    private struct Pending: Sendable {
        var direction: USBIPDirection
        /// `nil` for a URB posted ahead (``submitPipelined(out:data:in:length:timeout:)``) that
        /// nobody awaits yet: its outcome waits in `State.arrived` for ``awaitPosted(_:timeout:)``.
        var continuation: CheckedContinuation<USBIPSubmitReturn, any Error>?
        /// Set when the URB is being unlinked: the error to throw unless data still arrives.
        var abortReason: AbortReason?
        /// When the watchdog unlinks it (URBs of a pipelined command; other URBs arm a timer each).
        var deadline: ContinuousClock.Instant?
        var timeout: Duration = .zero
    }

    private enum AbortReason: Sendable {
        case timeout(Duration)
        case cancelled
        case closing

        var error: any Error {
            switch self {
            case .timeout(let duration): USBError(code: .timeout, reason: "no answer within \(duration)")
            case .cancelled: CancellationError()
            case .closing: USBError(code: .connectionClosed, reason: "the pipe was closed")
            }
        }
    }

    private struct State: Sendable {
        var nextSeqnum: UInt32 = 1
        var pending: [UInt32: Pending] = [:]
        /// CMD_UNLINK seqnum → the seqnum it unlinks.
        var unlinks: [UInt32: UInt32] = [:]
        /// Outcomes of URBs posted ahead that completed before anyone awaited them.
        var arrived: [UInt32: Result<USBIPSubmitReturn, any Error>] = [:]
        /// Set once the connection is unusable; new URBs fail with it.
        var failure: USBError?
        var readerRunning = false
        var watchdogRunning = false

        mutating func takeSeqnum() -> UInt32 {
            defer {
                nextSeqnum &+= 1
                if nextSeqnum == 0 { nextSeqnum = 1 }
            }
            return nextSeqnum
        }
    }

    init(socket: USBIPSocket, devid: UInt32, unlinkGrace: Duration = .seconds(1)) {
        self.socket = socket
        self.devid = devid
        self.unlinkGrace = unlinkGrace
        self.writer = DispatchQueue(label: "SealKit.USBIP.writer(\(socket.peer))")
    }

    // MARK: Reader thread

    /// Starts the thread that reads RET_SUBMIT and RET_UNLINK.
    func start() throws(USBError) {
        let started = USBBlocking.startThread { [self] in readLoop() }
        guard started else {
            throw USBError(code: .connectionFailed, reason: "cannot start the USB/IP reader thread")
        }
        state.withLock { $0.readerRunning = true }
    }

    private func readLoop() {
        var buffer: [UInt8] = []
        var failure = USBError(code: .connectionClosed, reason: "\(socket.peer) closed the connection")
        reading: while true {
            let chunk: [UInt8]
            do {
                chunk = try socket.receive(maximum: 65_536)
            } catch {
                failure = error
                break
            }
            if chunk.isEmpty { break }
            buffer.append(contentsOf: chunk)
            while true {
                let decoded: (message: USBIPReturn, consumed: Int)?
                do {
                    decoded = try USBIPReturn.decode(from: buffer, directionOf: { seqnum in
                        self.state.withLock { $0.pending[seqnum]?.direction }
                    })
                } catch {
                    failure = USBError(code: .protocolError, reason: "\(socket.peer): \(error)")
                    break reading
                }
                guard let (message, consumed) = decoded else { break }
                buffer.removeFirst(consumed)
                dispatch(message)
            }
        }
        finish(failure)
        socket.close()
    }

    private func dispatch(_ message: USBIPReturn) {
        switch message {
        case .submit(let ret):
            let outcome: Result<USBIPSubmitReturn, any Error>
            guard let pending = state.withLock({ state -> Pending? in
                guard let pending = state.pending.removeValue(forKey: ret.seqnum) else { return nil }
                if pending.continuation == nil {
                    state.arrived[ret.seqnum] = Self.outcome(ret, pending)
                }
                return pending
            }) else { return }
            outcome = Self.outcome(ret, pending)
            pending.continuation?.resume(with: outcome)
        case .unlink(let ret):
            let pending = state.withLock { state -> Pending? in
                guard let target = state.unlinks.removeValue(forKey: ret.seqnum) else { return nil }
                return state.pending.removeValue(forKey: target)
            }
            guard let pending else { return }
            pending.continuation?.resume(throwing: (pending.abortReason ?? .timeout(.zero)).error)
        }
    }

    /// A RET_SUBMIT's outcome: its data, or the abort's error when the URB was being unlinked and
    /// did not complete.
    private static func outcome(_ ret: USBIPSubmitReturn, _ pending: Pending) -> Result<USBIPSubmitReturn, any Error> {
        if let reason = pending.abortReason, ret.status != 0 { return .failure(reason.error) }
        return .success(ret)
    }

    /// Fails every pending URB and refuses new ones.
    private func finish(_ failure: USBError) {
        let pending = state.withLock { state -> [Pending] in
            if state.failure == nil { state.failure = failure }
            state.readerRunning = false
            defer {
                state.pending = [:]
                state.unlinks = [:]
            }
            return Array(state.pending.values)
        }
        for entry in pending { entry.continuation?.resume(throwing: failure) }
    }

    // MARK: URBs

    /// Submits one URB and waits for its RET_SUBMIT.
    ///
    /// - Throws: ``USBError`` (`timeout`, `connectionClosed`, `protocolError`) or
    ///   `CancellationError`; the RET_SUBMIT status is not interpreted here.
    func submit(direction: USBIPDirection, endpoint: UInt8, length: Int, data: [UInt8] = [],
                setup: USBSetupPacket? = nil, interval: UInt32 = 0, timeout: Duration) async throws -> USBIPSubmitReturn {
        let seqnum = state.withLock { $0.takeSeqnum() }
        let bytes = USBIPCommand.submit(USBIPSubmit(
            seqnum: seqnum, devid: devid, direction: direction, endpoint: UInt32(endpoint & 0x0F),
            transferBufferLength: UInt32(clamping: length), interval: interval, setup: setup,
            data: direction == .out ? data : [])).encoded()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<USBIPSubmitReturn, any Error>) in
                let refused = state.withLock { state -> USBError? in
                    if let failure = state.failure { return failure }
                    state.pending[seqnum] = Pending(direction: direction, continuation: continuation)
                    return nil
                }
                if let refused {
                    continuation.resume(throwing: refused)
                    return
                }
                writer.async { [self] in
                    do { try sending.withLock { _ throws(USBError) in try socket.sendAll(bytes) } } catch { fail(error) }
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(milliseconds(timeout)))) { [weak self] in
                    self?.abort(seqnum, .timeout(timeout))
                }
                if Task.isCancelled { abort(seqnum, .cancelled) }
            }
        } onCancel: {
            abort(seqnum, .cancelled)
        }
    }

    /// Submits a bulk-OUT URB and, in the same write, an IN URB posted ahead for its answer, then
    /// waits for the OUT URB's RET_SUBMIT; returns it and the IN URB's seqnum, whose outcome
    /// ``awaitPosted(_:timeout:)`` gives. A device answers the IN URB as soon as the answer exists,
    /// so a command and its reply cost one round trip instead of two.
    ///
    /// The IN URB has no timeout of its own until it is awaited; ``close()`` unlinks it if nobody does.
    func submitPipelined(out endpoint: UInt8, data: [UInt8], in inEndpoint: UInt8, length: Int,
                         timeout: Duration) async throws -> (out: USBIPSubmitReturn, posted: UInt32) {
        startWatchdog()
        let (seqnum, inSeqnum) = state.withLock { ($0.takeSeqnum(), $0.takeSeqnum()) }
        let outBytes = USBIPCommand.submit(USBIPSubmit(
            seqnum: seqnum, devid: devid, direction: .out, endpoint: UInt32(endpoint & 0x0F),
            transferBufferLength: UInt32(clamping: data.count), interval: 0, setup: nil, data: data)).encoded()
        let bytes = outBytes + USBIPCommand.submit(USBIPSubmit(
            seqnum: inSeqnum, devid: devid, direction: .in, endpoint: UInt32(inEndpoint & 0x0F),
            transferBufferLength: UInt32(clamping: length), interval: 0, setup: nil, data: [])).encoded()
        let ret = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<USBIPSubmitReturn, any Error>) in
                let refused = state.withLock { state -> USBError? in
                    if let failure = state.failure { return failure }
                    state.pending[seqnum] = Pending(direction: .out, continuation: continuation,
                                                    deadline: .now + timeout, timeout: timeout)
                    state.pending[inSeqnum] = Pending(direction: .in, continuation: nil)
                    return nil
                }
                if let refused {
                    continuation.resume(throwing: refused)
                    return
                }
                // Sent from the caller's thread: a hop to the writer queue would be on the round
                // trip's critical path. The socket's buffer holds many commands, so this does not block.
                do { try sending.withLock { _ throws(USBError) in try socket.sendAll(bytes) } } catch { fail(error) }
                if Task.isCancelled { abort(seqnum, .cancelled) }
            }
        } onCancel: {
            abort(seqnum, .cancelled)
        }
        return (ret, inSeqnum)
    }

    /// Waits for the RET_SUBMIT of a URB posted ahead by ``submitPipelined(out:data:in:length:timeout:)``,
    /// at most `timeout` from now (then it is unlinked, as ``submit(direction:endpoint:length:data:setup:interval:timeout:)`` does).
    func awaitPosted(_ seqnum: UInt32, timeout: Duration) async throws -> USBIPSubmitReturn {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<USBIPSubmitReturn, any Error>) in
                enum Next { case done(Result<USBIPSubmitReturn, any Error>), wait }
                let next = state.withLock { state -> Next in
                    if let outcome = state.arrived.removeValue(forKey: seqnum) { return .done(outcome) }
                    if state.pending[seqnum] != nil {
                        state.pending[seqnum]?.continuation = continuation
                        state.pending[seqnum]?.deadline = .now + timeout
                        state.pending[seqnum]?.timeout = timeout
                        return .wait
                    }
                    return .done(.failure(state.failure ?? USBError(code: .connectionClosed, reason: "the posted URB \(seqnum) is gone")))
                }
                switch next {
                case .done(let outcome):
                    continuation.resume(with: outcome)
                case .wait:
                    if Task.isCancelled { abort(seqnum, .cancelled) }
                }
            }
        } onCancel: {
            abort(seqnum, .cancelled)
        }
    }

    /// Starts, once, the thread that unlinks URBs past their `deadline` (checked every 20 ms). The
    /// URBs of pipelined commands use it instead of a dispatch timer each: arming a timer per URB
    /// was work on every command's round trip. It ends when the connection fails or closes.
    private func startWatchdog() {
        let start = state.withLock { state -> Bool in
            guard !state.watchdogRunning, state.failure == nil else { return false }
            state.watchdogRunning = true
            return true
        }
        guard start else { return }
        let started = USBBlocking.startThread { [self] in
            while true {
                usleep(20_000)
                let expired = state.withLock { state -> [(UInt32, Duration)]? in
                    guard state.failure == nil else {
                        state.watchdogRunning = false
                        return nil
                    }
                    let now = ContinuousClock.now
                    var expired: [(UInt32, Duration)] = []
                    for (seqnum, pending) in state.pending where pending.abortReason == nil {
                        if let deadline = pending.deadline, deadline <= now { expired.append((seqnum, pending.timeout)) }
                    }
                    for (seqnum, _) in expired { state.pending[seqnum]?.deadline = nil }
                    return expired
                }
                guard let expired else { return }
                for (seqnum, timeout) in expired { abort(seqnum, .timeout(timeout)) }
            }
        }
        if !started { state.withLock { $0.watchdogRunning = false } }
    }

    /// Unlinks a pending URB: sends CMD_UNLINK and fails the URB on RET_UNLINK (or after the
    /// grace period), unless its RET_SUBMIT arrives first.
    private func abort(_ seqnum: UInt32, _ reason: AbortReason) {
        let unlink = state.withLock { state -> [UInt8]? in
            guard var pending = state.pending[seqnum], pending.abortReason == nil, state.failure == nil else { return nil }
            pending.abortReason = reason
            state.pending[seqnum] = pending
            let unlinkSeqnum = state.takeSeqnum()
            state.unlinks[unlinkSeqnum] = seqnum
            return USBIPCommand.unlink(USBIPUnlink(seqnum: unlinkSeqnum, devid: devid, direction: pending.direction,
                                                   unlinkSeqnum: seqnum)).encoded()
        }
        guard let unlink else { return }
        writer.async { [self] in
            do { try sending.withLock { _ throws(USBError) in try socket.sendAll(unlink) } } catch { fail(error) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(milliseconds(unlinkGrace)))) { [weak self] in
            self?.expire(seqnum)
        }
    }

    /// The server answered neither RET_SUBMIT nor RET_UNLINK in time: fail the URB.
    private func expire(_ seqnum: UInt32) {
        let pending = state.withLock { state -> Pending? in
            guard let pending = state.pending[seqnum], pending.abortReason != nil else { return nil }
            state.pending[seqnum] = nil
            state.unlinks = state.unlinks.filter { $0.value != seqnum }
            return pending
        }
        guard let pending else { return }
        pending.continuation?.resume(throwing: (pending.abortReason ?? .timeout(.zero)).error)
    }

    private func fail(_ error: any Error) {
        let usbError = error as? USBError ?? USBError(code: .connectionClosed, reason: "\(error)")
        state.withLock { if $0.failure == nil { $0.failure = usbError } }
        socket.shutdown()
    }

    // MARK: Closing

    /// Unlinks every pending URB, waits up to ``unlinkGrace`` for the server's answers, then
    /// closes the connection. Idempotent.
    func close() async {
        let seqnums = state.withLock { state -> [UInt32] in
            state.failure == nil ? Array(state.pending.keys) : []
        }
        for seqnum in seqnums { abort(seqnum, .closing) }
        let deadline = ContinuousClock.now + unlinkGrace
        while ContinuousClock.now < deadline, state.withLock({ !$0.pending.isEmpty && $0.failure == nil }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        state.withLock { if $0.failure == nil { $0.failure = USBError(code: .connectionClosed, reason: "the pipe was closed") } }
        socket.shutdown()
        let running = state.withLock { $0.readerRunning }
        if !running { socket.close() }
    }

    /// Shuts the connection down at once (no unlinks), e.g. from a `deinit`.
    func abortNow() {
        state.withLock { if $0.failure == nil { $0.failure = USBError(code: .connectionClosed, reason: "the pipe was released") } }
        socket.shutdown()
    }
}
