import SealSimulatedToken
import SealReaderWire
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

/// One simulator slot: its token and the dedicated thread that keeps it connected to vpcd.
///
/// The thread owns the sockets and blocks in `recv`; protocol decisions are delegated to
/// ``VPCDCardProtocol`` and chip work to ``SimulatedChip``. Other threads (the control socket,
/// shutdown) change the slot only through ``insert()``, ``remove()`` and ``stop()``, which set
/// flags under `lock` and interrupt the thread with `shutdown(2)` or the wake pipe.
final class VPCDSlot: @unchecked Sendable {
    struct Settings: Sendable {
        var host: String
        var port: UInt16
        var reversed: Bool
        var tcpNoDelay: Bool
        var tcpQuickAck: Bool
        var connectTimeoutMilliseconds: Int32
        var initialRetryMilliseconds: Int
        var maximumRetryMilliseconds: Int
        var reinsertDelayMilliseconds: Int
    }

    /// How a connection ended.
    private enum ConnectionEnd {
        case closedByPeer
        case removed
        case cardSilent
        case failed(String)
    }

    let index: Int
    /// The chip in the slot; ``replaceToken(_:)`` swaps it while the card is out.
    var token: SimulatedChip { locked { currentToken } }
    let settings: Settings
    private let log: @Sendable (String) -> Void
    private let wake: WakeSignal
    private let finished = DispatchSemaphore(value: 0)

    // Guarded by `lock`.
    private let lock = NSLock()
    private var present = true
    private var stopping = false
    private var started = false
    private var connection: Int32 = -1
    private var phase: SimulatorSlotStatus.State = .waiting
    private var currentToken: SimulatedChip

    init(index: Int, token: SimulatedChip, settings: Settings, log: @escaping @Sendable (String) -> Void) throws(SocketFailure) {
        self.index = index
        self.currentToken = token
        self.settings = settings
        self.log = log
        self.wake = try WakeSignal()
    }

    private var endpoint: String { "\(settings.host):\(settings.port)" }

    // MARK: - Control (any thread)

    func start() {
        let alreadyStarted = locked { () -> Bool in
            defer { started = true }
            return started
        }
        guard !alreadyStarted else { return }
        // At most 15 characters (slots 0-15): Linux refuses a longer thread name outright, and
        // the thread then keeps its creator's ("oot.default-qos" in top and perf).
        let name = "sealsim-vpcd-\(index)"
        let thread = Thread { [self] in
            // Set from inside: on Linux a name set before start() never reaches the OS thread,
            // and top/perf would show "oot.default-qos".
            Thread.current.name = name
            run()
            finished.signal()
        }
        thread.start()
    }

    /// Stops the thread, closing its sockets (vpcd sees the card removed), and waits up to
    /// `timeout` for it to finish.
    func stop(timeout: DispatchTime = .now() + 5) {
        let wasStarted = locked { () -> Bool in
            stopping = true
            if connection >= 0 { POSIXSocket.shutdownBoth(connection) }
            return started
        }
        wake.signal()
        if wasStarted { _ = finished.wait(timeout: timeout) }
    }

    /// Re-presents the card: connect (or listen, reversed) again.
    func insert() {
        locked { present = true }
        wake.signal()
    }

    /// Removes the card: close the vpcd connection (and, reversed, the listening socket) and stay
    /// away until ``insert()``.
    func remove() {
        locked {
            present = false
            if connection >= 0 { POSIXSocket.shutdownBoth(connection) }
        }
        wake.signal()
    }

    var isPresent: Bool { locked { present } }

    /// Puts `chip` in the slot in place of its token. Call it while the card is removed, so the
    /// reader sees a card leave and a new one arrive; the slot thread picks the new chip up at its
    /// next connection.
    func replaceToken(_ chip: SimulatedChip) {
        locked { currentToken = chip }
    }

    /// The slot's state and whether its chip is powered.
    func status() -> SimulatorSlotStatus {
        let state = locked { present ? phase : .absent }
        let powered = token.isPowered
        return SimulatorSlotStatus(slot: index, state: state, powered: powered)
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    // MARK: - The slot thread

    private func run() {
        var listener: Int32 = -1
        var retryMilliseconds = settings.initialRetryMilliseconds
        var announcedOutage = false
        var readBuffer = [UInt8](repeating: 0, count: VPCDFrame.maximumPayloadLength + VPCDFrame.headerLength)
        defer { POSIXSocket.closeDescriptor(listener) }

        while true {
            let (isPresent, isStopping) = locked { (present, stopping) }
            if isStopping { break }
            if !isPresent {
                POSIXSocket.closeDescriptor(listener)
                listener = -1
                _ = wake.wait(timeoutMilliseconds: -1)
                continue
            }
            locked { phase = .waiting }

            // Get a connection: connect to vpcd, or (reversed) let vpcd connect to us.
            let descriptor: Int32?
            do throws(SocketFailure) {
                if settings.reversed {
                    if listener < 0 {
                        listener = try POSIXSocket.listenTCP(host: settings.host, port: settings.port)
                        log("slot \(index): listening on \(endpoint) for vpcd (reversed mode)")
                    }
                    descriptor = try POSIXSocket.acceptConnection(listener, wake: wake)
                } else {
                    descriptor = try POSIXSocket.connectTCP(
                        host: settings.host, port: settings.port,
                        timeoutMilliseconds: settings.connectTimeoutMilliseconds, wake: wake)
                }
            } catch {
                if !announcedOutage {
                    announcedOutage = true
                    let what = settings.reversed ? "cannot listen on \(endpoint)" : "vpcd is not reachable at \(endpoint)"
                    log("slot \(index): \(what) (\(error)); retrying quietly until it is")
                }
                POSIXSocket.closeDescriptor(listener)
                listener = -1
                sleep(milliseconds: retryMilliseconds)
                retryMilliseconds = min(retryMilliseconds * 2, settings.maximumRetryMilliseconds)
                continue
            }
            guard let descriptor else { continue }  // woken: re-check present/stopping
            retryMilliseconds = settings.initialRetryMilliseconds

            let registered = locked { () -> Bool in
                guard present, !stopping else { return false }
                connection = descriptor
                phase = .connected
                return true
            }
            guard registered else {
                POSIXSocket.closeDescriptor(descriptor)
                continue
            }
            announcedOutage = false
            log("slot \(index): \(settings.reversed ? "vpcd connected on" : "connected to vpcd at") \(endpoint)")

            let end = serve(descriptor, buffer: &readBuffer)
            locked { connection = -1 }
            POSIXSocket.closeDescriptor(descriptor)

            switch end {
            case .removed:
                log("slot \(index): \(locked({ stopping }) ? "disconnected (shutting down)" : "card removed")")
            case .closedByPeer:
                log("slot \(index): vpcd closed the connection; \(settings.reversed ? "waiting for it to reconnect" : "reconnecting")")
                // Do not hammer a vpcd that is going down: give it the first back-off step.
                sleep(milliseconds: settings.initialRetryMilliseconds)
            case .failed(let reason):
                log("slot \(index): connection failed (\(reason)); reconnecting")
                sleep(milliseconds: settings.initialRetryMilliseconds)
            case .cardSilent:
                // A card that stops answering: the reader sees it disappear. Stay away long enough
                // for vpcd's presence poll (~400 ms) to notice, then come back unpowered. Reversed,
                // the listening socket is closed too, or vpcd's reconnect would be accepted by the
                // kernel and the removal would go unnoticed.
                log("slot \(index): the chip went mute (power lost during a command); card re-presented in \(settings.reinsertDelayMilliseconds) ms")
                if settings.reversed {
                    log("slot \(index): warning: reversed mode: a vpcd that does not reconnect (Debian 12's) aborts pcscd now")
                }
                POSIXSocket.closeDescriptor(listener)
                listener = -1
                locked { phase = .waiting }
                sleep(milliseconds: settings.reinsertDelayMilliseconds)
            }
        }
        locked { phase = .waiting }
    }

    /// Sleeps `milliseconds`, returning early only when the slot is stopping.
    private func sleep(milliseconds: Int) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(milliseconds, 0)) * 1_000_000
        while !locked({ stopping }) {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return }
            let remaining = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            _ = wake.wait(timeoutMilliseconds: remaining)
        }
    }

    /// Serves one vpcd connection until it ends.
    private func serve(_ fd: Int32, buffer: inout [UInt8]) -> ConnectionEnd {
        if settings.tcpNoDelay { POSIXSocket.setNoDelay(fd) }
        // One chip per connection: a token replaced while the card is out arrives with the next one.
        let token = self.token
        // A newly presented card is unpowered; vpcd powers it when pcscd asks.
        token.powerOff()
        var machine = VPCDCardProtocol()
        var decoder = VPCDFrameDecoder()
        var active = false
        // Reused for every frame of the connection: after the first APDUs, receiving a command and
        // framing its answer allocate nothing here.
        var payload: [UInt8] = []
        var answer: [UInt8] = []

        while true {
            // Re-armed before each read only, as the echo card does: the next read's re-arm
            // covers what a re-arm after `recv` did, and one after it sat between the command's
            // arrival and its answer (a system call on every APDU's critical path).
            if settings.tcpQuickAck { POSIXSocket.rearmQuickAck(fd) }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 {
                if count < 0, errno == EINTR { continue }
                let failure = count < 0 ? SocketFailure("recv") : nil
                let (isPresent, isStopping) = locked { (present, stopping) }
                if !isPresent || isStopping { return .removed }
                if let failure { return .failed("\(failure)") }
                return .closedByPeer
            }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }

            while true {
                do {
                    guard try decoder.nextPayload(into: &payload) else { break }
                } catch {
                    return .failed("\(error)")
                }
                if !active {
                    active = true
                    locked { phase = .active }
                }
                var action = machine.handle(VPCDMessage(payload: payload))
                if case .transmit(let command) = action {
                    let response = token.process(command)
                    switch machine.handle(response, framingInto: &answer) {
                    case .send:
                        do {
                            try POSIXSocket.sendAll(fd, answer)
                        } catch {
                            return locked({ present && !stopping }) ? .failed("\(error)") : .removed
                        }
                        continue
                    case .disconnect:
                        return .cardSilent
                    case .none:
                        action = .none
                    }
                }
                switch action {
                case .send(let frame):
                    do {
                        try POSIXSocket.sendAll(fd, frame)
                    } catch {
                        return locked({ present && !stopping }) ? .failed("\(error)") : .removed
                    }
                case .powerOn:
                    do { _ = try token.powerOn() } catch {
                        log("slot \(index): the chip failed to power on: \(error)")
                    }
                case .powerOff:
                    token.powerOff()
                case .reset:
                    do { _ = try token.reset() } catch {
                        log("slot \(index): the chip failed to power on at reset: \(error)")
                    }
                case .disconnect:
                    return .cardSilent
                case .transmit, .none:
                    break
                }
            }
        }
    }
}
