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

/// An exclusive `flock` on a lock file in a server's state directory: two servers over the same
/// token files would corrupt each other's NVM. The kernel drops the lock when the process dies, so
/// a killed simulator never leaves a stale one. The vpcd and USB/IP servers use different lock
/// files (and token files), so both may share a state directory.
final class StateDirectoryLock: @unchecked Sendable {
    private let lock = NSLock()
    private var descriptor: Int32

    /// - Parameters:
    ///   - fileName: `sealsim.lock` (vpcd) or `usbip.lock` (USB/IP).
    ///   - serverKind: how the error names the other server, e.g. "USB/IP simulator".
    init(directory: URL, fileName: String, serverKind: String) throws {
        let path = directory.appendingPathComponent(fileName, isDirectory: false).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SimulatorError(.cardServer, "cannot open \(path): \(SocketFailure("open"))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = SocketFailure("flock")
            close(fd)
            if failure.code == EWOULDBLOCK {
                throw SimulatorError(.cardServer, "another \(serverKind) is serving \(directory.path) (\(path) is locked)")
            }
            throw SimulatorError(.cardServer, "cannot lock \(path): \(failure)")
        }
        descriptor = fd
    }

    func release() {
        lock.lock()
        defer { lock.unlock() }
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
