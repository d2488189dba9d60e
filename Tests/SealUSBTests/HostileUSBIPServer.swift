#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A tiny TCP server on 127.0.0.1 for the hostile USB/IP tests: it accepts connections and either
/// never answers, trickles bytes, or relays to a real USB/IP server until ``freeze()`` — after which
/// it keeps the connections open and forwards nothing (a server that stops answering mid-URB).
final class HostileUSBIPServer: Sendable {
    enum Behaviour: Sendable {
        /// Reads and discards everything, answers nothing.
        case silent
        /// Sends `bytes` one at a time, `interval` apart, then stays silent.
        case trickle(bytes: [UInt8], interval: Duration)
        /// Relays to the server on `upstreamPort` until frozen.
        case relay(upstreamPort: UInt16)
    }

    let port: UInt16
    private let listener: Int32
    private let behaviour: Behaviour
    private struct State {
        /// Client-to-server sends that follow something the server sent (or open the connection):
        /// the round trips the client waited for (relay only).
        var turns = 0
        var lastWasToServer = false
        var frozen = false
        var stopped = false
        var sockets: [Int32] = []
        /// Server-to-client bytes go out in pieces of this size, `pause` apart (relay only).
        var pieces: (size: Int, pause: Duration)?
        /// Server-to-client bytes still forwarded before the relay closes every connection (relay only).
        var bytesBeforeDying: Int?
    }
    private let state = Mutex(State())

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        self.listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops forwarding in both directions; connections stay open.
    func freeze() { state.withLock { $0.frozen = true } }

    /// From now on sends what the server sends in pieces of `size` bytes, `pause` apart (`nil`:
    /// as it comes): a reply the client reads in several `recv`s.
    func split(into size: Int?, pause: Duration = .zero) {
        state.withLock { $0.pieces = size.map { (max(1, $0), pause) } }
    }

    /// Forwards `count` more bytes from the server, then closes every connection: a server that
    /// dies in the middle of a reply.
    func die(afterForwarding count: Int) { state.withLock { $0.bytesBeforeDying = count } }

    /// Closes the listener and every connection.
    func stop() {
        let sockets = state.withLock { state -> [Int32] in
            guard !state.stopped else { return [] }
            state.stopped = true
            return state.sockets + [listener]
        }
        for fd in sockets {
            _ = shutdown(fd, Int32(SHUT_RDWR))
            _ = close(fd)
        }
    }

    private var isFrozen: Bool { state.withLock { $0.frozen } }

    /// How many times the client sent after hearing from the server: its round trips (relay only).
    var turns: Int { state.withLock { $0.turns } }

    private func track(_ fd: Int32) -> Bool {
        state.withLock { state in
            guard !state.stopped else { return false }
            state.sockets.append(fd)
            return true
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0, track(client) else { return }
            switch behaviour {
            case .silent:
                Thread.detachNewThread { [self] in drain(client) }
            case .trickle(let bytes, let interval):
                Thread.detachNewThread { [self] in
                    for byte in bytes {
                        Thread.sleep(forTimeInterval: Double(interval.components.seconds)
                                     + Double(interval.components.attoseconds) / 1e18)
                        if state.withLock({ $0.stopped }) { return }
                        var value = byte
                        guard send(client, &value, 1, Int32(MSG_NOSIGNAL)) == 1 else { return }
                    }
                }
                Thread.detachNewThread { [self] in drain(client) }
            case .relay(let upstreamPort):
                let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.sin_port = upstreamPort.bigEndian
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0, track(upstream) else { return }
                Thread.detachNewThread { [self] in pump(from: client, to: upstream, toServer: true) }
                Thread.detachNewThread { [self] in pump(from: upstream, to: client, toServer: false) }
            }
        }
    }

    private func drain(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, 4096, 0) }) > 0 {}
    }

    /// Forwards until either side closes; once frozen, whatever arrives is swallowed.
    private func pump(from source: Int32, to target: Int32, toServer: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, 65_536, 0) }
            guard count > 0 else { return }
            if isFrozen { continue }
            let (pieces, budget) = state.withLock { state -> ((size: Int, pause: Duration)?, Int?) in
                if toServer, !state.lastWasToServer { state.turns += 1 }
                state.lastWasToServer = toServer
                return toServer ? (nil, nil) : (state.pieces, state.bytesBeforeDying)
            }
            var total = count
            if let budget {
                total = min(count, budget)
                state.withLock { $0.bytesBeforeDying = budget - total }
            }
            var sent = 0
            while sent < total {
                if sent > 0, let pause = pieces?.pause, pause > .zero {
                    Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
                }
                let length = min(total - sent, pieces?.size ?? total)
                let result = buffer.withUnsafeBytes { bytes -> Int in
                    guard let base = bytes.baseAddress else { return -1 }
                    return send(target, base + sent, length, Int32(MSG_NOSIGNAL))
                }
                guard result > 0 else { return }
                sent += result
            }
            if let budget, budget - total <= 0 {
                stop()
                return
            }
        }
    }
}
