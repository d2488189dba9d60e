import SealSimulatedToken
import SealReaderWire
import Crypto
import SealFirmware
import SealProtocol
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The listening side of the control socket: a Unix stream socket served by one dedicated
/// thread, one client at a time, one reply line per command line.
final class SimulatorControlServer: @unchecked Sendable {
    /// Idle time after which a client connection is closed.
    static let clientTimeoutMilliseconds = 30_000

    let path: String
    private let handler: @Sendable (String) -> String
    private let log: @Sendable (String) -> Void
    private let listener: Int32
    private let wake: WakeSignal
    private let finished = DispatchSemaphore(value: 0)

    // Guarded by `lock`.
    private let lock = NSLock()
    private var client: Int32 = -1
    private var stopping = false
    private var started = false

    /// Binds `path`. An existing socket file there is replaced: the caller holds the state
    /// directory's lock, so no live simulator can own it. Any other kind of file is an error.
    init(path: String, handler: @escaping @Sendable (String) -> String, log: @escaping @Sendable (String) -> Void) throws {
        self.path = path
        self.handler = handler
        self.log = log
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw SimulatorError(.cardServer, "\(path) exists and is not a socket; refusing to replace it")
            }
            unlink(path)
        }
        do {
            self.wake = try WakeSignal()
            self.listener = try POSIXSocket.listenUnix(path: path)
        } catch {
            throw SimulatorError(.cardServer, "cannot open the control socket: \(error)")
        }
    }

    deinit {
        POSIXSocket.closeDescriptor(listener)
    }

    func start() {
        let alreadyStarted = locked { () -> Bool in
            defer { started = true }
            return started
        }
        guard !alreadyStarted else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "sealsim-control"
        thread.start()
    }

    /// Stops serving, removes the socket file and waits for the thread.
    func stop() {
        let wasStarted = locked { () -> Bool in
            stopping = true
            if client >= 0 { POSIXSocket.shutdownBoth(client) }
            return started
        }
        wake.signal()
        if wasStarted { _ = finished.wait(timeout: .now() + 5) }
        unlink(path)
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private func run() {
        while !locked({ stopping }) {
            let accepted: Int32?
            do {
                accepted = try POSIXSocket.acceptConnection(listener, wake: wake)
            } catch {
                log("control socket: \(error)")
                _ = wake.wait(timeoutMilliseconds: 200)
                continue
            }
            guard let fd = accepted else { continue }
            let registered = locked { () -> Bool in
                guard !stopping else { return false }
                client = fd
                return true
            }
            if registered { serve(fd) }
            locked { client = -1 }
            POSIXSocket.closeDescriptor(fd)
        }
    }

    private func serve(_ fd: Int32) {
        POSIXSocket.setTimeouts(fd, milliseconds: Self.clientTimeoutMilliseconds)
        var reader = LineReader(fd: fd)
        while let line = reader.nextLine() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let reply = handler(line)
            do {
                try POSIXSocket.sendAll(fd, Array((reply + "\n").utf8))
            } catch {
                return
            }
        }
    }
}

/// What `fresh N` puts in a slot, over vpcd and USB/IP alike: a new MANUFACTURED chip in memory,
/// under the test vendor CA and the test issuer key, and its chip ID; it runs with the server's
/// size limits (`capabilities`, SPEC §3.5).
func manufactureFreshToken(capabilities: SealCapabilities) throws -> (SimulatedChip, [UInt8]) {
    let backing = InMemoryBackingStore()
    let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
    let chipID = try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
    return (try SimulatedChip(backing: backing, capabilities: capabilities), chipID)
}

/// Breaks the cycle server → control server → handler → server: the handler holds the server's
/// reply function through a weak reference, set once after both exist.
final class ControlReplyHandler<Server: AnyObject & Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private weak var server: Server?
    private let reply: @Sendable (Server, String) -> String

    init(reply: @escaping @Sendable (Server, String) -> String) {
        self.reply = reply
    }

    func attach(_ server: Server) {
        lock.lock()
        self.server = server
        lock.unlock()
    }

    func reply(to line: String) -> String {
        lock.lock()
        let server = self.server
        lock.unlock()
        guard let server else { return "error the simulator is shutting down" }
        return reply(server, line)
    }
}
