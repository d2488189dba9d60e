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
/// to them by seqnum, and unlinks URBs that time out or are cancelled.
///
/// ## Who reads the socket
/// One receiver at a time holds the ``Inbox`` (the bytes read and not yet decoded) and reads the
/// socket; it decodes every message and hands each to its URB, whoever waits for it. The caller of a
/// pipelined command (``submitPipelined(out:data:in:length:timeout:)``, ``awaitPosted(_:timeout:)``)
/// is its own receiver: it sends and then reads its reply on its own thread for up to
/// ``directReadWindow``, so a quick reply wakes the caller straight from `recv`, with no thread
/// hand-off (one wake-up per round trip, as a blocking TCP client has). A reply that takes longer,
/// a receiver already busy, and every other URB (control, interrupt, unposted bulk) wait as a
/// continuation for the connection's reader thread, which reads only while such waiters exist.
///
/// A CCID command's usual round trip does not touch the URB table at all:
/// ``exchange(out:data:in:length:)`` sends both URBs and reads both returns on the caller's thread
/// while it holds the inbox, and hands the URBs to the table only when they do not finish within
/// the window.
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
    /// How long the caller of a pipelined command reads the socket itself before it waits for the
    /// reader thread instead. It blocks the caller's thread (a thread of Swift's cooperative pool)
    /// that long, counted from its first read that does not bring the outcome (so at most this plus
    /// two ``receiveSlice``s in all), so a slow or silent device never holds a pool thread for a
    /// command's timeout.
    static let directReadWindow: Duration = .milliseconds(5)
    /// How long one `recv` waits (the socket's receive timeout): a receiver looks at the clock and
    /// at its waiters this often when nothing comes.
    static let receiveSlice: Duration = .milliseconds(5)

    private let state = Mutex(State())
    private let writer: DispatchQueue
    /// Held around every send, so that a command sent from the caller's thread and a CMD_UNLINK
    /// sent from the writer queue never interleave their bytes.
    private let sending = Mutex(())
    /// Wakes the reader thread: a continuation waits while nobody receives, or the connection failed.
    private let readerWake = DispatchSemaphore(value: 0)

    /// The receiving side of the socket: whoever holds it reads. Moved out of `State` while held.
    private struct Inbox: Sendable {
        /// Bytes read and not decoded yet (the start of a message).
        var bytes: [UInt8] = []
        /// Where `recv` writes; allocated once.
        var scratch = [UInt8](repeating: 0, count: 65_536)
        /// Where the holder encodes the URBs it sends (``exchange(out:data:in:length:)``); reused.
        var outgoing: [UInt8] = []
    }

    private struct Pending: Sendable {
        var direction: USBIPDirection
        /// `nil` while nobody waits through a continuation: a URB posted ahead that nobody awaits
        /// yet, or one whose caller reads its own reply; its outcome then goes to `State.arrived`.
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
        /// Outcomes of URBs without a continuation (see `Pending.continuation`).
        var arrived: [UInt32: Result<USBIPSubmitReturn, any Error>] = [:]
        /// `nil` while a receiver holds it.
        var inbox: Inbox? = Inbox()
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

        /// Whether the reader thread has to receive: a URB waits through a continuation, or is
        /// being unlinked (its RET_UNLINK must be read even if nobody awaits it, e.g. in ``close()``).
        var hasWaiters: Bool {
            // Checked each time a caller gives the socket back: the usual table is empty.
            !pending.isEmpty && pending.values.contains { $0.continuation != nil || $0.abortReason != nil }
        }
    }

    init(socket: USBIPSocket, devid: UInt32, unlinkGrace: Duration = .seconds(1)) {
        self.socket = socket
        self.devid = devid
        self.unlinkGrace = unlinkGrace
        self.writer = DispatchQueue(label: "SealKit.USBIP.writer(\(socket.peer))")
    }

    // MARK: Receiving

    /// Starts the reader thread. It sleeps until a continuation waits and nobody receives.
    func start() throws(USBError) {
        socket.setReceiveTimeout(Self.receiveSlice)
        state.withLock { $0.readerRunning = true }
        let started = USBBlocking.startThread { [self] in readLoop() }
        guard started else {
            state.withLock { $0.readerRunning = false }
            throw USBError(code: .connectionFailed, reason: "cannot start the USB/IP reader thread")
        }
    }

    private func readLoop() {
        while true {
            readerWake.wait()
            receiving: while true {
                enum Step { case exit, idle, receive(Inbox) }
                let step = state.withLock { state -> Step in
                    // Someone else receives: they wake this thread when they let go.
                    guard let inbox = state.inbox else { return .idle }
                    if state.failure != nil {
                        state.inbox = nil
                        state.readerRunning = false
                        return .exit
                    }
                    guard state.hasWaiters else { return .idle }
                    state.inbox = nil
                    return .receive(inbox)
                }
                switch step {
                case .exit:
                    finish(state.withLock { $0.failure } ?? USBError(code: .connectionClosed, reason: "the pipe was closed"))
                    socket.close()
                    return
                case .idle:
                    break receiving
                case .receive(var inbox):
                    // One `receiveSlice` at a time, so that the thread lets go of the socket soon
                    // after its waiters are gone (a caller can then read its own reply again).
                    if case .ended(let failure) = receiveOnce(&inbox) { finish(failure) }
                    state.withLock { $0.inbox = inbox }
                }
            }
        }
    }

    private enum Received { case data, timedOut, ended(USBError) }

    /// Reads the socket once (waiting at most ``receiveSlice`` for data), then decodes and
    /// dispatches every complete message. The caller holds `inbox`.
    private func receiveOnce(_ inbox: inout Inbox) -> Received {
        let count: Int?
        do {
            count = try socket.receive(into: &inbox.scratch)
        } catch {
            return .ended(error)
        }
        guard let count else { return .timedOut }
        guard count > 0 else { return .ended(USBError(code: .connectionClosed, reason: "\(socket.peer) closed the connection")) }
        inbox.bytes.append(contentsOf: inbox.scratch[0..<count])
        if let failure = decodeReceived(&inbox, own: nil, { _ in }) { return .ended(failure) }
        return .data
    }

    /// Decodes every complete return in `inbox` and hands each to its URB; the returns of `own`
    /// (URBs the caller exchanges itself and registered nowhere) go to `deliver` instead. `nil`, or
    /// the protocol error that ends the connection.
    private func decodeReceived(_ inbox: inout Inbox, own: OwnURBs?, _ deliver: (USBIPSubmitReturn) -> Void) -> USBError? {
        // The returns of one read (usually two: bulk OUT and the bulk IN posted with it) are
        // decoded where they lie; the consumed bytes are dropped once, not after each return.
        var consumedTotal = 0
        defer {
            if consumedTotal == inbox.bytes.count {
                inbox.bytes.removeAll(keepingCapacity: true)
            } else if consumedTotal > 0 {
                inbox.bytes.removeFirst(consumedTotal)
            }
        }
        while true {
            let decoded: (message: USBIPReturn, consumed: Int)?
            do {
                decoded = try USBIPReturn.decode(from: inbox.bytes, at: consumedTotal, directionOf: { seqnum in
                    if let own, let direction = own.direction(of: seqnum) { return direction }
                    return self.state.withLock { $0.pending[seqnum]?.direction }
                })
            } catch {
                return USBError(code: .protocolError, reason: "\(socket.peer): \(error)")
            }
            guard let (message, consumed) = decoded else { return nil }
            consumedTotal += consumed
            if case .submit(let ret) = message, let own, own.direction(of: ret.seqnum) != nil {
                deliver(ret)
            } else {
                dispatch(message)
            }
        }
    }

    /// The two URBs of a command that the caller exchanges on its own thread
    /// (``exchange(out:data:in:length:)``): not in `State.pending` while the caller holds the inbox.
    private struct OwnURBs {
        var out: UInt32
        var input: UInt32

        func direction(of seqnum: UInt32) -> USBIPDirection? {
            seqnum == out ? .out : seqnum == input ? .in : nil
        }
    }

    private func dispatch(_ message: USBIPReturn) {
        switch message {
        case .submit(let ret):
            guard let pending = state.withLock({ state -> Pending? in
                guard let pending = state.pending.removeValue(forKey: ret.seqnum) else { return nil }
                if pending.continuation == nil {
                    state.arrived[ret.seqnum] = Self.outcome(ret, pending)
                }
                return pending
            }) else { return }
            pending.continuation?.resume(with: Self.outcome(ret, pending))
        case .unlink(let ret):
            let pending = state.withLock { state -> Pending? in
                guard let target = state.unlinks.removeValue(forKey: ret.seqnum),
                      let pending = state.pending.removeValue(forKey: target) else { return nil }
                if pending.continuation == nil {
                    state.arrived[target] = .failure((pending.abortReason ?? .timeout(.zero)).error)
                }
                return pending
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
            defer {
                state.pending = [:]
                state.unlinks = [:]
            }
            return Array(state.pending.values)
        }
        for entry in pending { entry.continuation?.resume(throwing: failure) }
    }

    /// Gives the inbox back and wakes the reader thread if it has work (waiters, or the connection failed).
    private func release(_ inbox: Inbox) {
        let wake = state.withLock { state -> Bool in
            state.inbox = inbox
            return state.failure != nil || state.hasWaiters
        }
        if wake { readerWake.signal() }
    }

    /// The outcome of a URB without a continuation, if it is known: arrived, or gone with the connection.
    private static func settled(_ seqnum: UInt32, _ state: inout State) -> Result<USBIPSubmitReturn, any Error>? {
        if let outcome = state.arrived.removeValue(forKey: seqnum) { return outcome }
        guard state.pending[seqnum] == nil else { return nil }
        return .failure(state.failure ?? USBError(code: .connectionClosed, reason: "the URB \(seqnum) is gone"))
    }

    /// Reads the socket on the calling thread until the outcome of `seqnum` (a URB without a
    /// continuation) arrives or `limit` passes. `nil` when it did not arrive in time, or another
    /// receiver holds the socket.
    private func receiveDirectly(_ seqnum: UInt32, within window: Duration) -> Result<USBIPSubmitReturn, any Error>? {
        enum Start { case settled(Result<USBIPSubmitReturn, any Error>), busy, receive(Inbox) }
        let start = state.withLock { state -> Start in
            if let outcome = Self.settled(seqnum, &state) { return .settled(outcome) }
            guard state.failure == nil, let inbox = state.inbox else { return .busy }
            state.inbox = nil
            return .receive(inbox)
        }
        var inbox: Inbox
        switch start {
        case .settled(let outcome): return outcome
        case .busy: return nil
        case .receive(let taken): inbox = taken
        }
        var outcome: Result<USBIPSubmitReturn, any Error>?
        // The first `recv` follows the send at once: the reply is not there yet, and the caller
        // sleeps in that call until it is (or the receive slice passes). The window is counted
        // from the first read that did not bring the outcome, so the usual round trip (one read
        // brings it) reads no clock.
        var limit: ContinuousClock.Instant?
        while outcome == nil {
            let received = receiveOnce(&inbox)
            if case .ended(let failure) = received { finish(failure) }
            outcome = state.withLock { Self.settled(seqnum, &$0) }
            if outcome != nil { break }
            if case .timedOut = received { break }
            let now = ContinuousClock.now
            if let limit, now >= limit { break }
            if limit == nil { limit = now + window }
        }
        release(inbox)
        return outcome
    }

    /// Waits for the outcome of a URB registered without a continuation: read on the caller's
    /// thread for up to ``directReadWindow``, then as a continuation that the reader thread (or
    /// another receiver) resumes.
    private func awaitOutcome(_ seqnum: UInt32) async throws -> USBIPSubmitReturn {
        if !Task.isCancelled, let outcome = receiveDirectly(seqnum, within: Self.directReadWindow) {
            return try outcome.get()
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<USBIPSubmitReturn, any Error>) in
                enum Next { case done(Result<USBIPSubmitReturn, any Error>), wait(wakeReader: Bool) }
                let next = state.withLock { state -> Next in
                    if let outcome = Self.settled(seqnum, &state) { return .done(outcome) }
                    state.pending[seqnum]?.continuation = continuation
                    return .wait(wakeReader: state.inbox != nil)
                }
                switch next {
                case .done(let outcome):
                    continuation.resume(with: outcome)
                case .wait(let wakeReader):
                    if wakeReader { readerWake.signal() }
                    if Task.isCancelled { abort(seqnum, .cancelled) }
                }
            }
        } onCancel: {
            abort(seqnum, .cancelled)
        }
    }

    // MARK: URBs

    /// Submits one URB and waits for its RET_SUBMIT (through the reader thread).
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
                enum Next { case refused(USBError), wait(wakeReader: Bool) }
                let next = state.withLock { state -> Next in
                    if let failure = state.failure { return .refused(failure) }
                    state.pending[seqnum] = Pending(direction: direction, continuation: continuation)
                    return .wait(wakeReader: state.inbox != nil)
                }
                let wakeReader: Bool
                switch next {
                case .refused(let failure):
                    continuation.resume(throwing: failure)
                    return
                case .wait(let wake):
                    wakeReader = wake
                }
                if wakeReader { readerWake.signal() }
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
    /// so a command and its reply cost one round trip instead of two. The caller reads the reply
    /// itself (see "Who reads the socket").
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
        let refused = state.withLock { state -> USBError? in
            if let failure = state.failure { return failure }
            state.pending[seqnum] = Pending(direction: .out, continuation: nil, deadline: .now + timeout, timeout: timeout)
            state.pending[inSeqnum] = Pending(direction: .in, continuation: nil)
            return nil
        }
        if let refused { throw refused }
        // Sent from the caller's thread: a hop to the writer queue would be on the round trip's
        // critical path. The socket's buffer holds many commands, so this does not block.
        do { try sending.withLock { _ throws(USBError) in try socket.sendAll(bytes) } } catch { fail(error) }
        return (try await awaitOutcome(seqnum), inSeqnum)
    }

    /// What ``exchange(out:data:in:length:)`` did.
    enum Exchange {
        /// Both URBs completed within the direct-read window and the bulk OUT succeeded.
        case completed(out: USBIPSubmitReturn, in: USBIPSubmitReturn)
        /// Sent, but not both answered in the window (or another receiver holds the socket, or
        /// the bulk OUT failed): both URBs are now the connection's like pipelined ones, and
        /// ``awaitPosted(_:timeout:)`` gives each one's outcome (at once for an outcome that came).
        case pending(out: UInt32, in: UInt32)
    }

    /// A CCID command's round trip on the calling thread, with no task and no bookkeeping on its
    /// usual path: sends the bulk-OUT CMD_SUBMIT with `data` and a bulk-IN CMD_SUBMIT of `length`
    /// in one write, then reads the socket until both RET_SUBMITs are there, for up to
    /// ``directReadWindow`` (counted, as in ``awaitPosted(_:timeout:)``, from the first read that
    /// does not finish it). While it holds the socket's receiving side its two URBs are known only
    /// to it; returns of other URBs that arrive meanwhile go to their URBs as usual. Whatever is
    /// not finished in the window becomes pending (``Exchange/pending(out:in:)``).
    ///
    /// Blocks the calling thread (at most the window plus two ``receiveSlice``s).
    ///
    /// - Throws: the connection's failure when it is closed or broken before anything is sent;
    ///   a failure after that shows in the URBs' outcomes.
    func exchange(out endpoint: UInt8, data: [UInt8], in inEndpoint: UInt8, length: Int) throws(USBError) -> Exchange {
        enum Start { case refused(USBError), shared(OwnURBs), owned(OwnURBs, Inbox) }
        let start = state.withLock { state -> Start in
            if let failure = state.failure { return .refused(failure) }
            let own = OwnURBs(out: state.takeSeqnum(), input: state.takeSeqnum())
            guard let inbox = state.inbox else {
                // Another receiver (the reader thread) holds the socket and hands the returns on.
                state.pending[own.out] = Pending(direction: .out, continuation: nil)
                state.pending[own.input] = Pending(direction: .in, continuation: nil)
                return .shared(own)
            }
            state.inbox = nil
            return .owned(own, inbox)
        }
        var own: OwnURBs
        var inbox: Inbox
        switch start {
        case .refused(let failure):
            throw failure
        case .shared(let urbs):
            var bytes: [UInt8] = []
            encode(urbs, out: endpoint, data: data, in: inEndpoint, length: length, into: &bytes)
            do { try sending.withLock { _ throws(USBError) in try socket.sendAll(bytes) } } catch { fail(error) }
            return .pending(out: urbs.out, in: urbs.input)
        case .owned(let urbs, let taken):
            own = urbs
            inbox = taken
        }

        encode(own, out: endpoint, data: data, in: inEndpoint, length: length, into: &inbox.outgoing)
        var sent = true
        do { try sending.withLock { _ throws(USBError) in try socket.sendAll(inbox.outgoing) } } catch {
            fail(error)
            sent = false
        }
        var outReturn: USBIPSubmitReturn?
        var inReturn: USBIPSubmitReturn?
        var limit: ContinuousClock.Instant?
        receiving: while sent, outReturn == nil || inReturn == nil {
            let count: Int?
            do {
                count = try socket.receive(into: &inbox.scratch)
            } catch {
                finish(error)
                break receiving
            }
            guard let count else { break receiving }   // a whole receive slice without a byte
            guard count > 0 else {
                finish(USBError(code: .connectionClosed, reason: "\(socket.peer) closed the connection"))
                break receiving
            }
            inbox.bytes.append(contentsOf: inbox.scratch[0..<count])
            if let failure = decodeReceived(&inbox, own: own, { ret in
                if ret.seqnum == own.out { outReturn = ret } else { inReturn = ret }
            }) {
                finish(failure)
                break receiving
            }
            // A failed bulk OUT gives the device no command, so the IN URB has nothing to wait for.
            if let outReturn, outReturn.status != 0 { break receiving }
            if outReturn != nil && inReturn != nil { break receiving }
            let now = ContinuousClock.now
            if let limit, now >= limit { break receiving }
            if limit == nil { limit = now + Self.directReadWindow }
        }
        if let outReturn, let inReturn, outReturn.status == 0 {
            release(inbox)
            return .completed(out: outReturn, in: inReturn)
        }
        // Hand what is left to the connection: outcomes that came wait in `arrived`, URBs still
        // open become pending (unless the connection is gone: their outcome is then its failure).
        state.withLock { state in
            for (seqnum, direction, ret) in [(own.out, USBIPDirection.out, outReturn), (own.input, .in, inReturn)] {
                if let ret {
                    state.arrived[seqnum] = .success(ret)
                } else if state.failure == nil {
                    state.pending[seqnum] = Pending(direction: direction, continuation: nil)
                }
            }
        }
        release(inbox)
        return .pending(out: own.out, in: own.input)
    }

    private func encode(_ own: OwnURBs, out endpoint: UInt8, data: [UInt8], in inEndpoint: UInt8, length: Int,
                        into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        USBIPSubmit.appendBulk(seqnum: own.out, devid: devid, direction: .out, endpoint: UInt32(endpoint & 0x0F),
                               transferBufferLength: UInt32(clamping: data.count), data: data, to: &bytes)
        USBIPSubmit.appendBulk(seqnum: own.input, devid: devid, direction: .in, endpoint: UInt32(inEndpoint & 0x0F),
                               transferBufferLength: UInt32(clamping: length), to: &bytes)
    }

    /// Waits for the RET_SUBMIT of a URB posted ahead by ``submitPipelined(out:data:in:length:timeout:)``,
    /// at most `timeout` from now (then it is unlinked, as ``submit(direction:endpoint:length:data:setup:interval:timeout:)`` does).
    func awaitPosted(_ seqnum: UInt32, timeout: Duration) async throws -> USBIPSubmitReturn {
        startWatchdog()
        state.withLock { state in
            guard state.pending[seqnum] != nil else { return }
            state.pending[seqnum]?.deadline = .now + timeout
            state.pending[seqnum]?.timeout = timeout
        }
        return try await awaitOutcome(seqnum)
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
        readerWake.signal()
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
            if pending.continuation == nil { state.arrived[seqnum] = .failure((pending.abortReason ?? .timeout(.zero)).error) }
            return pending
        }
        guard let pending else { return }
        pending.continuation?.resume(throwing: (pending.abortReason ?? .timeout(.zero)).error)
    }

    private func fail(_ error: any Error) {
        let usbError = error as? USBError ?? USBError(code: .connectionClosed, reason: "\(error)")
        state.withLock { if $0.failure == nil { $0.failure = usbError } }
        socket.shutdown()
        readerWake.signal()
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
        readerWake.signal()
        let running = state.withLock { $0.readerRunning }
        if !running { socket.close() }
    }

    /// Shuts the connection down at once (no unlinks), e.g. from a `deinit`.
    func abortNow() {
        state.withLock { if $0.failure == nil { $0.failure = USBError(code: .connectionClosed, reason: "the pipe was released") } }
        socket.shutdown()
        readerWake.signal()
    }
}
