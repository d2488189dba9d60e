import SealSimulatedToken
import SealReaderWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The thin POSIX layer under the vpcd card server and the control socket. Everything here is
// blocking, meant for dedicated threads; interruption goes through `WakeSignal` (poll) or
// `shutdown(2)` (a blocked `recv` returns 0).

/// A failed socket call: the operation and its errno.
struct SocketFailure: Error, CustomStringConvertible {
    let operation: String
    let code: Int32

    init(_ operation: String, _ code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    var description: String { "\(operation): \(String(cString: strerror(code))) (errno \(code))" }
}

enum POSIXSocket {
    #if canImport(Glibc) || canImport(Musl)
    static let streamType = Int32(SOCK_STREAM.rawValue)
    static let noSignal = Int32(MSG_NOSIGNAL)
    #else
    static let streamType = SOCK_STREAM
    static let noSignal: Int32 = 0
    #endif

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var value = value
        return setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Close-on-exec, and no SIGPIPE where the platform needs a socket option for it.
    static func prepare(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        #if canImport(Darwin)
        _ = setOption(fd, SOL_SOCKET, SO_NOSIGPIPE, 1)
        #endif
    }

    static func setBlocking(_ fd: Int32, _ blocking: Bool) {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
    }

    /// TCP_NODELAY: the response frame leaves at once instead of waiting, under Nagle's
    /// algorithm, for the ACK of our previous segment.
    static func setNoDelay(_ fd: Int32) {
        _ = setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// Re-arms TCP_QUICKACK (Linux): ACK what arrives immediately instead of delaying the ACK up to
    /// 40 ms. The kernel clears the flag on its own, so it is set again around every read. A no-op
    /// elsewhere.
    @inline(__always)
    static func rearmQuickAck(_ fd: Int32) {
        #if os(Linux)
        _ = setOption(fd, Int32(IPPROTO_TCP), Int32(TCP_QUICKACK), 1)
        #endif
    }

    /// Writes all of `bytes` — in one `send` unless the kernel accepts only part of it.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(SocketFailure) {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return send(fd, base + sent, buffer.count - sent, noSignal)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw SocketFailure("send")
            }
            if result == 0 { throw SocketFailure("send", EPIPE) }
            sent += result
        }
    }

    /// `shutdown(SHUT_RDWR)`: wakes a thread blocked in `recv` on `fd` (it returns 0).
    static func shutdownBoth(_ fd: Int32) {
        #if canImport(Glibc) || canImport(Musl)
        _ = shutdown(fd, Int32(SHUT_RDWR))
        #else
        _ = shutdown(fd, SHUT_RDWR)
        #endif
    }

    static func closeDescriptor(_ fd: Int32) {
        guard fd >= 0 else { return }
        _ = close(fd)
    }

    // MARK: - TCP

    /// Resolves `host:port` (numeric or by name) and calls `body` for each candidate address until
    /// it returns a descriptor.
    private static func forEachAddress(
        host: String, port: UInt16, passive: Bool,
        _ body: (UnsafeMutablePointer<addrinfo>) throws(SocketFailure) -> Int32?
    ) throws(SocketFailure) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SocketFailure("resolve \(host): \(String(cString: gai_strerror(status)))", EINVAL)
        }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        var lastFailure = SocketFailure("connect \(host):\(port)", EADDRNOTAVAIL)
        while let info = cursor {
            cursor = info.pointee.ai_next
            do {
                if let fd = try body(info) { return fd }
                return nil
            } catch {
                lastFailure = error
            }
        }
        throw lastFailure
    }

    /// Connects to `host:port`, giving up after `timeoutMilliseconds`.
    ///
    /// - Returns: the connected, blocking descriptor; `nil` when `wake` fired first.
    static func connectTCP(host: String, port: UInt16, timeoutMilliseconds: Int32, wake: WakeSignal) throws(SocketFailure) -> Int32? {
        try forEachAddress(host: host, port: port, passive: false) { info throws(SocketFailure) -> Int32? in
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { throw SocketFailure("socket") }
            prepare(fd)
            setBlocking(fd, false)
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                let code = errno
                guard code == EINPROGRESS || code == EINTR else {
                    closeDescriptor(fd)
                    throw SocketFailure("connect \(host):\(port)", code)
                }
                switch wake.wait(for: fd, events: Int16(POLLOUT), timeoutMilliseconds: timeoutMilliseconds) {
                case .woken:
                    closeDescriptor(fd)
                    return nil
                case .timedOut:
                    closeDescriptor(fd)
                    throw SocketFailure("connect \(host):\(port)", ETIMEDOUT)
                case .ready:
                    var pending: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    if getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length) != 0 { pending = errno }
                    guard pending == 0 else {
                        closeDescriptor(fd)
                        throw SocketFailure("connect \(host):\(port)", pending)
                    }
                }
            }
            setBlocking(fd, true)
            return fd
        }
    }

    /// A listening TCP socket on `host:port` (SO_REUSEADDR). Port 0 picks a free port: ask
    /// ``boundPort(_:)`` which.
    static func listenTCP(host: String, port: UInt16, backlog: Int32 = 1) throws(SocketFailure) -> Int32 {
        let fd = try forEachAddress(host: host, port: port, passive: true) { info throws(SocketFailure) -> Int32? in
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { throw SocketFailure("socket") }
            prepare(fd)
            _ = setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                let failure = SocketFailure("bind \(host):\(port)")
                closeDescriptor(fd)
                throw failure
            }
            guard listen(fd, backlog) == 0 else {
                let failure = SocketFailure("listen \(host):\(port)")
                closeDescriptor(fd)
                throw failure
            }
            return fd
        }
        guard let fd else { throw SocketFailure("listen \(host):\(port)", EADDRNOTAVAIL) }
        return fd
    }

    /// The local port `fd` is bound to.
    static func boundPort(_ fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        return port(of: storage)
    }


    /// `address:port` of the peer of `fd`, for logs.
    static func peerName(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard result == 0 else { return "a client" }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        let address = named == 0 ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        return "\(address):\(port(of: storage) ?? 0)"
    }

    private static func port(of storage: sockaddr_storage) -> UInt16? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
        default:
            return nil
        }
    }

    /// Accepts one connection on `listener`, waiting as long as it takes.
    ///
    /// - Returns: the connected, blocking descriptor; `nil` when `wake` fired first.
    static func acceptConnection(_ listener: Int32, wake: WakeSignal) throws(SocketFailure) -> Int32? {
        while true {
            switch wake.wait(for: listener, events: Int16(POLLIN), timeoutMilliseconds: -1) {
            case .woken: return nil
            case .timedOut: continue
            case .ready: break
            }
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN || code == EWOULDBLOCK || code == ECONNABORTED { continue }
                throw SocketFailure("accept", code)
            }
            prepare(fd)
            setBlocking(fd, true)
            return fd
        }
    }

    // MARK: - Unix domain sockets

    /// The `sockaddr_un` for `path`, or `nil` when the path does not fit `sun_path`.
    static func unixAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// The longest Unix socket path the platform accepts.
    static var maximumUnixPathLength: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 }

    static func withSocketAddress<T>(_ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = address
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// A listening Unix stream socket at `path` (mode 0600), which must not exist.
    static func listenUnix(path: String) throws(SocketFailure) -> Int32 {
        guard let address = unixAddress(path) else {
            throw SocketFailure("control socket path \(path) is longer than \(maximumUnixPathLength) bytes", ENAMETOOLONG)
        }
        let fd = socket(AF_UNIX, streamType, 0)
        guard fd >= 0 else { throw SocketFailure("socket") }
        prepare(fd)
        guard withSocketAddress(address, { bind(fd, $0, $1) }) == 0 else {
            let failure = SocketFailure("bind \(path)")
            closeDescriptor(fd)
            throw failure
        }
        _ = chmod(path, 0o600)
        guard listen(fd, 8) == 0 else {
            let failure = SocketFailure("listen \(path)")
            closeDescriptor(fd)
            throw failure
        }
        return fd
    }

    /// Connects to the Unix stream socket at `path`.
    static func connectUnix(path: String) throws(SocketFailure) -> Int32 {
        guard let address = unixAddress(path) else {
            throw SocketFailure("control socket path \(path) is longer than \(maximumUnixPathLength) bytes", ENAMETOOLONG)
        }
        let fd = socket(AF_UNIX, streamType, 0)
        guard fd >= 0 else { throw SocketFailure("socket") }
        prepare(fd)
        while withSocketAddress(address, { connect(fd, $0, $1) }) != 0 {
            if errno == EINTR { continue }
            let failure = SocketFailure("connect \(path)")
            closeDescriptor(fd)
            throw failure
        }
        return fd
    }

    /// Sets SO_RCVTIMEO alone: a blocking `recv` then returns `EAGAIN` after `milliseconds`
    /// without data.
    static func setReceiveTimeout(_ fd: Int32, milliseconds: Int) {
        var time = timeval()
        time.tv_sec = .init(milliseconds / 1000)
        time.tv_usec = .init((milliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sets SO_RCVTIMEO and SO_SNDTIMEO.
    static func setTimeouts(_ fd: Int32, milliseconds: Int) {
        var time = timeval()
        time.tv_sec = .init(milliseconds / 1000)
        time.tv_usec = .init((milliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }
}

/// Reads newline-terminated lines from a blocking stream socket.
struct LineReader {
    /// The longest line accepted; a longer one ends the session.
    static let maximumLineLength = 4096

    let fd: Int32
    private var pending: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// The next line without its terminator (a trailing CR is dropped too); `nil` at end of
    /// stream, on error or timeout, or when a line is longer than ``maximumLineLength``.
    mutating func nextLine() -> String? {
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard pending.count <= Self.maximumLineLength else { return nil }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            pending += chunk[..<count]
        }
    }
}

/// A self-pipe that wakes a thread blocked in `poll`: the way other threads interrupt a slot
/// thread's connect, accept or back-off sleep.
final class WakeSignal: @unchecked Sendable {
    enum Outcome { case ready, woken, timedOut }

    // Written once in init, then only read; the descriptors are closed in deinit.
    private let readEnd: Int32
    private let writeEnd: Int32

    init() throws(SocketFailure) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SocketFailure("pipe") }
        readEnd = ends[0]
        writeEnd = ends[1]
        for fd in ends {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            POSIXSocket.setBlocking(fd, false)
        }
    }

    deinit {
        _ = close(readEnd)
        _ = close(writeEnd)
    }

    /// Wakes the waiter (now, or at its next wait if it is not waiting).
    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Waits until `fd` has `events`, the signal fires, or the timeout passes (`-1`: no timeout).
    /// `fd` may be `-1` to wait for the signal alone. A signal is consumed when it is reported.
    func wait(for fd: Int32 = -1, events: Int16 = 0, timeoutMilliseconds: Int32) -> Outcome {
        var descriptors = [
            pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: fd, events: events, revents: 0),
        ]
        while true {
            let result = poll(&descriptors, nfds_t(fd >= 0 ? 2 : 1), timeoutMilliseconds)
            if result < 0 {
                if errno == EINTR { continue }
                return .woken
            }
            if result == 0 { return .timedOut }
            if descriptors[0].revents != 0 {
                drain()
                return .woken
            }
            return .ready
        }
    }

    private func drain() {
        var scratch = [UInt8](repeating: 0, count: 64)
        while scratch.withUnsafeMutableBytes({ read(readEnd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
