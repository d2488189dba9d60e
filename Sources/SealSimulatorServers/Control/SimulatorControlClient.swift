import SealSimulatedToken
import SealProtocol
import SealReaderWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A client of a running `sealsim serve`'s control socket: what `sealctl sim insert|remove|reset`
/// uses to insert, remove or power-cycle a simulated token without restarting the simulator.
/// The vpcd server and the USB/IP server each have one, with the same commands.
///
/// Each call opens the socket, sends one command line, reads the one-line reply and closes.
/// Calls block (a `reset` takes about a second: the token stays out long enough for pcscd to
/// notice); call them from a thread that may block, or from an async context that can afford it.
///
/// ```swift
/// let client = SimulatorControlClient(stateDirectory: state)
/// try client.remove(slot: 0)       // pcscd: card removed from "Virtual PCD 00 00"
/// try client.insert(slot: 0)       // and inserted again
/// print(try client.status())       // mode=normal vpcd=127.0.0.1:35963 slot0=active,powered ...
/// ```
package struct SimulatorControlClient: Sendable {
    /// The name of the control socket in the simulator's state directory.
    package static let socketFileName = "sealsim.sock"

    /// The name of the USB/IP server's control socket in its state directory (`sealsim serve
    /// --usbip`). A name of its own: one `sealsim serve --vpcd … --usbip … --state DIR` runs both
    /// servers on one directory.
    package static let usbipSocketFileName = "usbip.sock"

    /// The socket of the simulator whose state directory is `stateDirectory`.
    package static func socketURL(stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent(socketFileName, isDirectory: false)
    }

    /// The control socket of the USB/IP server whose state directory is `stateDirectory`.
    package static func usbipSocketURL(stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent(usbipSocketFileName, isDirectory: false)
    }

    /// The control socket this client talks to.
    package let socketURL: URL
    /// How long to wait for a reply, in milliseconds.
    package var replyTimeoutMilliseconds: Int

    /// A client of the socket at `socketURL`.
    package init(socketURL: URL, replyTimeoutMilliseconds: Int = 15_000) {
        self.socketURL = socketURL
        self.replyTimeoutMilliseconds = replyTimeoutMilliseconds
    }

    /// A client of the simulator serving `stateDirectory`: socket `<stateDirectory>/sealsim.sock`
    /// (vpcd), or `<stateDirectory>/usbip.sock` when `usbip` is set.
    package init(stateDirectory: URL, usbip: Bool = false, replyTimeoutMilliseconds: Int = 15_000) {
        let socket = usbip ? Self.usbipSocketURL(stateDirectory: stateDirectory) : Self.socketURL(stateDirectory: stateDirectory)
        self.init(socketURL: socket, replyTimeoutMilliseconds: replyTimeoutMilliseconds)
    }

    /// Sends `command` and returns the text of the `ok` reply after `ok ` (possibly empty).
    ///
    /// - Throws: ``SimulatorError`` with code `controlSocket` when no simulator answers on the
    ///   socket, or `controlCommand` with the simulator's message when it replied `error …`.
    @discardableResult
    package func send(_ command: SimulatorControlCommand) throws(SimulatorError) -> String {
        let path = socketURL.path
        let fd: Int32
        do {
            fd = try POSIXSocket.connectUnix(path: path)
        } catch {
            let server = socketURL.lastPathComponent == Self.usbipSocketFileName ? "--usbip" : "--vpcd"
            let hint = error.code == ENOENT || error.code == ECONNREFUSED ? " (is `sealsim serve \(server)` running with this state directory?)" : ""
            throw SimulatorError(.controlSocket, "cannot reach the simulator's control socket: \(error)\(hint)")
        }
        defer { POSIXSocket.closeDescriptor(fd) }
        POSIXSocket.setTimeouts(fd, milliseconds: replyTimeoutMilliseconds)
        do {
            try POSIXSocket.sendAll(fd, Array("\(command)\n".utf8))
        } catch {
            throw SimulatorError(.controlSocket, "cannot send '\(command)' to \(path): \(error)")
        }
        var reader = LineReader(fd: fd)
        guard let reply = reader.nextLine() else {
            throw SimulatorError(.controlSocket, "no reply to '\(command)' from \(path)")
        }
        if reply == "ok" { return "" }
        if reply.hasPrefix("ok ") { return String(reply.dropFirst(3)) }
        if reply.hasPrefix("error") {
            throw SimulatorError(.controlCommand, String(reply.dropFirst(5)).trimmingCharacters(in: .whitespaces))
        }
        throw SimulatorError(.controlSocket, "unexpected reply to '\(command)': \(reply)")
    }

    /// Presents the token of `slot` to its reader again (after ``remove(slot:)``).
    package func insert(slot: Int) throws(SimulatorError) { try send(.insert(slot: slot)) }

    /// Takes the token of `slot` out: PC/SC reports the card removed until ``insert(slot:)``.
    package func remove(slot: Int) throws(SimulatorError) { try send(.remove(slot: slot)) }

    /// Power-cycles the token of `slot`: it is removed, its chip loses power, and it is presented
    /// again once pcscd has seen the removal. Returns when the token is back.
    package func reset(slot: Int) throws(SimulatorError) { try send(.reset(slot: slot)) }

    /// Arms a power loss at the `n`-th NVM write from now on the chip of `slot` (`nil` disarms).
    /// The command in progress then gets no answer and the token drops out and comes back, as a
    /// token pulled out mid-write.
    package func tear(slot: Int, atNVMWrite n: Int?) throws(SimulatorError) { try send(.tear(slot: slot, atNVMWrite: n)) }

    /// The number of NVM writes the chip of `slot` has made since it was opened (or put in the slot).
    package func nvmWriteCount(slot: Int) throws(SimulatorError) -> Int {
        let reply = try send(.writes(slot: slot))
        guard let last = reply.split(separator: " ").last, let count = Int(last), count >= 0 else {
            throw SimulatorError(.controlSocket, "unexpected reply to 'writes \(slot)': \(reply)")
        }
        return count
    }

    /// Replaces the token of `slot` with a new MANUFACTURED one (test vendor CA, test issuer key)
    /// and returns its chip ID. Returns when the new token is presented: the reader saw the old
    /// card leave (vpcd: about a second, as ``reset(slot:)``; USB/IP: the reader's slot reported
    /// the card out and in, at once).
    package func freshToken(slot: Int) throws(SimulatorError) -> [UInt8] {
        let reply = try send(.fresh(slot: slot))
        guard let last = reply.split(separator: " ").last, let chipID = bytesFromHex(String(last)), chipID.count == 16 else {
            throw SimulatorError(.controlSocket, "unexpected reply to 'fresh \(slot)': \(reply)")
        }
        return chipID
    }

    /// The state of every slot.
    package func status() throws(SimulatorError) -> SimulatorStatus {
        try SimulatorStatus(parsing: try send(.status))
    }
}
