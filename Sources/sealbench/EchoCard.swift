// A minimal virtual card for vpcd: the floor of the PC/SC stack that the simulator is compared to.
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The smallest card vpcd can talk to: it connects to vpcd's port (slot 1: 127.0.0.1:35964),
/// answers the ATR request (control `04`) with the seal chip's T=1 ATR, ignores power on / off /
/// reset, and answers every APDU with `90 00` — no chip, no parsing. Frames are vpcd's: a 2-byte
/// big-endian length, then the payload; a 1-byte payload is a control message.
///
/// It does on the socket exactly what the simulator's slot thread does (docs/simulator.md,
/// "Latency design"): one blocking thread, `TCP_NODELAY`, `TCP_QUICKACK` re-armed before every
/// read, each answer in one `send`. What the simulator costs beyond this card is its own.
final class EchoCard: Sendable {
    /// The seal chip's ATR (T=1, historical bytes "TSEAL").
    static let atr: [UInt8] = [0x3B, 0x8A, 0x81, 0x01, 0x80, 0x73, 0x80, 0x00, 0xC0, 0x54, 0x53, 0x45, 0x41, 0x4C, 0xF6]

    private struct State {
        var descriptor: Int32 = -1
        var stopping = false
        var connected = false
        /// Messages received from vpcd on the current connection (ATR polls, power, APDUs).
        var messages = 0
        var apdus = 0
        var lastFailure: String?
        var finished = false
    }

    let host: String
    let port: UInt16
    private let state = Mutex(State())

    init(host: String = "127.0.0.1", port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Starts the card's thread; it keeps (re)connecting to vpcd until ``stop()``.
    func start() {
        let thread = Thread { [self] in
            Thread.current.name = "sealbench-echo"  // set from the thread itself, or Linux never sees it (top, perf)
            run()
            state.withLock { $0.finished = true }
        }
        thread.start()
    }

    /// Closes the connection (vpcd sees the card removed) and ends the thread.
    func stop() {
        state.withLock { state in
            state.stopping = true
            if state.descriptor >= 0 { _ = shutdown(state.descriptor, Int32(SHUT_RDWR)) }
        }
        let deadline = now() + 2
        while !state.withLock({ $0.finished }), now() < deadline { usleep(1_000) }
    }

    /// Whether vpcd has spoken to the card on the current connection (it polls the ATR about every
    /// 400 ms once the card is connected): the card is in the reader.
    var isActive: Bool { state.withLock { $0.connected && $0.messages > 0 } }
    var isConnected: Bool { state.withLock { $0.connected } }
    var apduCount: Int { state.withLock { $0.apdus } }
    var lastFailure: String? { state.withLock { $0.lastFailure } }

    // MARK: - The card thread

    private func run() {
        while !state.withLock({ $0.stopping }) {
            guard let fd = connectOnce() else {
                usleep(100_000)
                continue
            }
            let registered = state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.descriptor = fd
                state.connected = true
                state.messages = 0
                return true
            }
            if registered { serve(fd) }
            state.withLock {
                $0.descriptor = -1
                $0.connected = false
            }
            _ = close(fd)
        }
    }

    private func connectOnce() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            state.withLock { $0.lastFailure = "socket: \(String(cString: strerror(errno)))" }
            return nil
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            state.withLock { $0.lastFailure = "not an IPv4 address: \(host)" }
            _ = close(fd)
            return nil
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            state.withLock { $0.lastFailure = "connect \(host):\(port): \(String(cString: strerror(errno)))" }
            _ = close(fd)
            return nil
        }
        setOption(fd, TCP_NODELAY)
        return fd
    }

    private func setOption(_ fd: Int32, _ name: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), name, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Serves one connection until vpcd closes it or ``stop()`` shuts it down.
    private func serve(_ fd: Int32) {
        let okFrame: [UInt8] = [0x00, 0x02, 0x90, 0x00]
        let atrFrame: [UInt8] = [0x00, UInt8(Self.atr.count)] + Self.atr
        var buffer = [UInt8](repeating: 0, count: 65_537 + 2)
        var pending: [UInt8] = []
        pending.reserveCapacity(buffer.count)
        while true {
            setOption(fd, Int32(TCP_QUICKACK))
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                if count < 0 { state.withLock { $0.lastFailure = "recv: \(String(cString: strerror(errno)))" } }
                return
            }
            pending += buffer[..<count]
            var start = 0
            var answers = 0, messages = 0
            while pending.count - start >= 2 {
                let length = Int(pending[start]) << 8 | Int(pending[start + 1])
                guard pending.count - start - 2 >= length else { break }
                let payloadStart = start + 2
                start = payloadStart + length
                guard length > 0 else { continue }
                messages += 1
                let reply: [UInt8]?
                if length == 1 {
                    reply = pending[payloadStart] == 0x04 ? atrFrame : nil  // 00/01/02: power off/on/reset
                } else {
                    reply = okFrame
                    answers += 1
                }
                if let reply, !send(fd, reply) { return }
            }
            pending.removeFirst(start)
            state.withLock {
                $0.messages += messages
                $0.apdus += answers
            }
        }
    }

    /// One `send` per frame (frames are a few bytes; the kernel takes them whole).
    private func send(_ fd: Int32, _ frame: [UInt8]) -> Bool {
        var sent = 0
        while sent < frame.count {
            let result = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else {
                state.withLock { $0.lastFailure = "send: \(String(cString: strerror(errno)))" }
                return false
            }
            sent += result
        }
        return true
    }
}
