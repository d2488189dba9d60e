#if canImport(Glibc)
import SealHostDriver
import SealReaderWire
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SealProtocol
import Synchronization

// The blocking POSIX layer under the USB/IP client. Nothing here runs on the cooperative pool:
// one-shot work (connect, the operation phase) runs on a dispatch queue through
// `USBBlocking.run`, the URB reader loop on its own thread (`USBBlocking.startThread`). The one
// exception is bounded: the caller of a pipelined command (and of a direct exchange,
// `USBIPConnection.exchange`) reads its own reply for up to `USBIPConnection.directReadWindow`
// (5 ms) before it waits for the reader thread.

/// One TCP connection to a USB/IP server. Blocking; `shutdown()` wakes a blocked `receive`.
final class USBIPSocket: Sendable {
    let fd: Int32
    /// A description of the peer for messages, e.g. `127.0.0.1:3240`.
    let peer: String
    private let closed = Mutex(false)

    private init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
    }

    deinit { close() }

    #if canImport(Glibc) || canImport(Musl)
    private static let streamType = Int32(SOCK_STREAM.rawValue)
    private static let noSignal = Int32(MSG_NOSIGNAL)
    private static let shutdownBoth = Int32(SHUT_RDWR)
    #else
    private static let shutdownBoth = SHUT_RDWR
    private static let streamType = SOCK_STREAM
    private static let noSignal: Int32 = 0
    #endif

    /// Resolves `host` and connects to the first address that answers within `timeout`.
    static func connect(host: String, port: UInt16, timeout: Duration) throws(USBError) -> USBIPSocket {
        let peer = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let text = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw USBError(code: .connectionFailed, reason: "cannot resolve \(host): \(text)")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, streamType, info.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = "socket: \(errnoText())"
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            #if canImport(Darwin)
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = Glibc_connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result != 0 && errno == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&pfd, 1, milliseconds(timeout))
                if ready == 1 {
                    var soError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                    if soError == 0 { result = 0 } else { errno = soError }
                } else if ready == 0 {
                    errno = ETIMEDOUT
                }
            }
            guard result == 0 else {
                lastError = errnoText()
                _ = Glibc_close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return USBIPSocket(fd: fd, peer: peer)
        }
        throw USBError(code: .connectionFailed, reason: "\(peer): \(lastError)")
    }

    /// Sends all of `bytes`.
    func sendAll(_ bytes: [UInt8]) throws(USBError) {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return send(fd, base + sent, buffer.count - sent, Self.noSignal)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw USBError(code: .connectionClosed, reason: "send to \(peer): \(errnoText())")
            }
            sent += result
        }
    }

    /// Receives up to `maximum` bytes; `[]` at end of stream. With a `timeout`, waits at most
    /// that long for the first byte.
    func receive(maximum: Int, timeout: Duration? = nil) throws(USBError) -> [UInt8] {
        if let timeout {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            var ready: Int32
            repeat { ready = poll(&pfd, 1, milliseconds(timeout)) } while ready < 0 && errno == EINTR
            if ready == 0 {
                throw USBError(code: .timeout, reason: "\(peer) sent nothing for \(timeout)")
            }
        }
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, maximum, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw USBError(code: .connectionClosed, reason: "receive from \(peer): \(errnoText())")
            }
            return Array(buffer.prefix(count))
        }
    }

    /// Bounds every blocking `recv` on the socket (`SO_RCVTIMEO`): ``receive(into:)`` then waits
    /// in one system call, without a `poll` before it.
    func setReceiveTimeout(_ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Receives into `buffer` (up to its size), waiting at most the receive timeout set by
    /// ``setReceiveTimeout(_:)``: the count received, 0 at end of stream, `nil` when nothing came in
    /// time. Allocates nothing.
    func receive(into buffer: inout [UInt8]) throws(USBError) -> Int? {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                throw USBError(code: .connectionClosed, reason: "receive from \(peer): \(errnoText())")
            }
            return count
        }
    }

    /// Wakes a blocked `receive` (it returns end of stream) and stops further traffic.
    func shutdown() {
        closed.withLock { isClosed in
            if !isClosed { _ = Glibc_shutdown(fd, Self.shutdownBoth) }
        }
    }

    /// Closes the descriptor (once).
    func close() {
        closed.withLock { isClosed in
            guard !isClosed else { return }
            isClosed = true
            _ = Glibc_close(fd)
        }
    }
}

// Names that would otherwise be shadowed by methods of the same name.
private func Glibc_connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>!, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}

private func Glibc_close(_ fd: Int32) -> Int32 { close(fd) }

private func Glibc_shutdown(_ fd: Int32, _ how: Int32) -> Int32 { shutdown(fd, how) }

func errnoText(_ code: Int32 = errno) -> String {
    "\(String(cString: strerror(code))) (errno \(code))"
}

/// `duration` in whole milliseconds for `poll`, at least 0 and at most `Int32.max`.
func milliseconds(_ duration: Duration) -> Int32 {
    let (seconds, attoseconds) = duration.components
    let total = seconds.multipliedReportingOverflow(by: 1000)
    guard !total.overflow else { return seconds < 0 ? 0 : Int32.max }
    let value = total.partialValue + attoseconds / 1_000_000_000_000_000
    return Int32(clamping: max(0, value))
}

/// Runs blocking work off the cooperative pool.
enum USBBlocking {
    /// Runs `body` on a fresh serial dispatch queue and returns its result.
    static func run<T: Sendable, E: Error>(label: String, _ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            DispatchQueue(label: label).async {
                continuation.resume(returning: Result { () throws(E) -> T in try body() })
            }
        }
        return try result.get()
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached POSIX thread (for loops that block indefinitely).
    /// Returns `false` if no thread could be created; `body` then never runs.
    static func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let rc = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        #if canImport(Darwin)
        if let thread { pthread_detach(thread) }
        #else
        _ = pthread_detach(thread)
        #endif
        return true
    }
}
