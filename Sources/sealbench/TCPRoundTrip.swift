// The floor of a USB/IP no-op APDU: one loopback TCP round trip carrying the same bytes.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A loopback TCP echo of fixed sizes: a thread of sealbench accepts one connection, reads
/// `requestSize` bytes, answers `responseSize` bytes in one `send`, and repeats; the client writes
/// its request in one `send` and reads the whole answer with blocking calls on the caller's thread.
/// Both ends set `TCP_NODELAY`, as the USB/IP client and server do. The sizes are those of a
/// CCID no-op over USB/IP: two `CMD_SUBMIT`s (bulk-OUT of a 10-byte CCID header with the 5-byte APDU,
/// bulk-IN) = 111 bytes, and two `RET_SUBMIT`s (bulk-OUT, bulk-IN carrying 10 + 3 bytes) = 109 bytes.
final class TCPRoundTripFloor: @unchecked Sendable {
    static let requestSize = 48 + 10 + 5 + 48
    static let responseSize = 48 + 48 + 10 + 3

    private let client: Int32
    private var request = [UInt8](repeating: 0x11, count: requestSize)
    private var response = [UInt8](repeating: 0, count: responseSize)

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchError("TCP floor: socket failed (errno \(errno))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 1) == 0 else { throw BenchError("TCP floor: bind/listen failed (errno \(errno))") }

        let thread = Thread {
            Thread.current.name = "sealbench-tcp"
            let connection = accept(listener, nil, nil)
            Glibc.close(listener)
            guard connection >= 0 else { return }
            TCPRoundTripFloor.noDelay(connection)
            var inbound = [UInt8](repeating: 0, count: TCPRoundTripFloor.requestSize)
            let outbound = [UInt8](repeating: 0x22, count: TCPRoundTripFloor.responseSize)
            while TCPRoundTripFloor.readFully(connection, &inbound), send(connection, outbound, outbound.count, Int32(MSG_NOSIGNAL)) == outbound.count {}
            Glibc.close(connection)
        }
        thread.start()

        client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard client >= 0 else { throw BenchError("TCP floor: socket failed (errno \(errno))") }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw BenchError("TCP floor: connect failed (errno \(errno))") }
        Self.noDelay(client)
    }

    /// One round trip: `requestSize` bytes out, `responseSize` bytes back.
    func roundTrip() throws {
        guard send(client, request, request.count, Int32(MSG_NOSIGNAL)) == request.count, Self.readFully(client, &response) else {
            throw BenchError("TCP floor: round trip failed (errno \(errno))")
        }
    }

    /// `count` timed round trips.
    func roundTrips(count: Int) throws -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = now()
            try roundTrip()
            samples.append(now() - start)
        }
        return samples
    }

    /// Closes the client end; the server thread sees end of file and ends.
    func close() { _ = Glibc.close(client) }

    private static func noDelay(_ descriptor: Int32) {
        var one: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func readFully(_ descriptor: Int32, _ buffer: inout [UInt8]) -> Bool {
        var received = 0
        let total = buffer.count
        while received < total {
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return recv(descriptor, base + received, total - received, 0)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            received += count
        }
        return true
    }
}
