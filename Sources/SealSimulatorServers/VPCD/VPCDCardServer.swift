@_spi(Testing) import SealSimulatedToken
import SealReaderWire
import Crypto
import Dispatch
import Foundation
import SealFirmware
import SealProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Simulated seal tokens behind pcscd's virtual readers (vsmartcard vpcd), so that any PC/SC
/// application — `opensc-tool`, `pcsc_scan`, the SealKit PC/SC transport — talks to them as to
/// real tokens. This is what `sealsim serve --vpcd` runs.
///
/// Slot *k* is reader `Virtual PCD 00 0k` and port `basePort + k`. Normally vpcd listens and the
/// server connects, retrying with bounded back-off until vpcd is up and again after it restarts;
/// in reversed mode the server listens and vpcd (configured with `DEVICENAME host:port`)
/// connects. Each slot has its own thread (blocking socket I/O) and its own token: an actor owning
/// a ``SealChip`` whose NVM persists in `<stateDirectory>/slot-k.nvm`, so a killed simulator comes
/// back in its last committed state. A control socket, `<stateDirectory>/sealsim.sock`, inserts,
/// removes and power-cycles tokens at run time (see ``SimulatorControlClient``).
///
/// See docs/simulator.md for the protocol, the socket options and measured latencies.
package final class VPCDCardServer: Sendable {
    /// Everything that shapes a card server.
    package struct Configuration: Sendable {
        /// vpcd's host (normal mode) or the address to listen on (reversed). Default `127.0.0.1`.
        package var host: String
        /// The port of slot 0; slot k uses `basePort + k`. vpcd's default is 35963 (0x8C7B).
        package var basePort: UInt16
        /// Number of slots (vpcd's default configuration has 2 readers).
        package var slots: Int
        /// Where the tokens' state files, the lock and the control socket live.
        package var stateDirectory: URL
        /// Listen for vpcd instead of connecting to it.
        package var reversed: Bool
        /// The control socket; default `<stateDirectory>/sealsim.sock`.
        package var controlSocket: URL
        /// How long a token stays out when it goes mute or is power-cycled, so that vpcd's
        /// presence poll (every ~400 ms) sees the removal. Default 1 000 ms.
        package var reinsertDelayMilliseconds: Int
        /// First delay between attempts to reach vpcd; it doubles after each failure. Default 100 ms.
        package var initialRetryMilliseconds: Int
        /// Largest delay between attempts to reach vpcd. Default 2 000 ms.
        package var maximumRetryMilliseconds: Int
        /// Set TCP_NODELAY on vpcd connections (default on; off only to measure its effect).
        package var tcpNoDelay: Bool
        /// Re-arm TCP_QUICKACK around every read (Linux; default on; off only to measure).
        package var tcpQuickAck: Bool
        /// Reversed mode only: allow `remove`, `reset` and `tear`, which drop vpcd's connection.
        /// Off by default because the vpcd of Debian 12 / Ubuntu 24.04 (vsmartcard-vpcd
        /// 3.3+dfsg) aborts the whole pcscd ("bit out of range 0 - FD_SETSIZE on fd_set") at its
        /// next presence poll after a reversed connection drops. Turn it on only with a vpcd that
        /// reconnects.
        package var reversedDisconnectsAllowed: Bool
        /// The size limits every token of the server runs with (SPEC §3.5): `.reference` by
        /// default, `.constrained` for a chip with the spec's minimum buffers (issue 9, finding 10).
        /// The state files do not record it, so one token can be served either way.
        package var capabilities: SealCapabilities

        /// The default configuration for `slots` slots on vpcd's standard ports.
        package init(stateDirectory: URL, host: String = "127.0.0.1", basePort: UInt16 = 35963, slots: Int = 2, reversed: Bool = false) {
            self.host = host
            self.basePort = basePort
            self.slots = slots
            self.stateDirectory = stateDirectory
            self.reversed = reversed
            self.controlSocket = SimulatorControlClient.socketURL(stateDirectory: stateDirectory)
            self.reinsertDelayMilliseconds = 1_000
            self.initialRetryMilliseconds = 100
            self.maximumRetryMilliseconds = 2_000
            self.tcpNoDelay = true
            self.tcpQuickAck = true
            self.reversedDisconnectsAllowed = false
            self.capabilities = .reference
        }
    }

    /// Most slots one server runs.
    package static let maximumSlots = 16

    /// The state file of slot `slot`: `<stateDirectory>/slot-<slot>.nvm`.
    package static func stateFile(slot: Int, stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent("slot-\(slot).nvm", isDirectory: false)
    }

    /// The watermark key of slot `slot`'s token: `<stateDirectory>/slot-<slot>.watermark-key`
    /// (hex), written when the token is made, standing in for the issuer's validation service.
    package static func watermarkKeyFile(slot: Int, stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent("slot-\(slot).watermark-key", isDirectory: false)
    }

    /// A suggested state directory under a SealKit home: `<home>/vpcd`.
    package static func defaultStateDirectory(home: URL) -> URL {
        home.appendingPathComponent("vpcd", isDirectory: true)
    }

    /// The configuration the server was started with.
    package let configuration: Configuration
    private let slots: [VPCDSlot]
    private let control: SimulatorControlServer
    private let stateLock: StateDirectoryLock
    /// Each slot's token lock (`slot-N.nvm.lock`, ``TokenFileLock``): `sealctl --token-state` on a
    /// served file is refused instead of writing over the server's NVM.
    private let tokenLocks: [TokenFileLock]
    private let log: @Sendable (String) -> Void
    private let stopOnce = OnceFlag()

    private init(configuration: Configuration, slots: [VPCDSlot], control: SimulatorControlServer,
                 stateLock: StateDirectoryLock, tokenLocks: [TokenFileLock], log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.slots = slots
        self.control = control
        self.stateLock = stateLock
        self.tokenLocks = tokenLocks
        self.log = log
    }

    /// Starts a server: locks the state directory, makes the tokens that do not exist yet, opens
    /// the control socket and starts one thread per slot. Returns once everything runs; vpcd
    /// need not be up yet.
    ///
    /// - Throws: ``SimulatorError`` (`invalidArgument` for a bad configuration, `cardServer` when
    ///   the state directory is in use by another server or a socket cannot be opened, or the
    ///   errors of making a token).
    package static func start(configuration: Configuration, log: @escaping @Sendable (String) -> Void) async throws -> VPCDCardServer {
        guard (1...maximumSlots).contains(configuration.slots) else {
            throw SimulatorError(.invalidArgument, "slots must be 1…\(maximumSlots), got \(configuration.slots)")
        }
        guard Int(configuration.basePort) + configuration.slots - 1 <= Int(UInt16.max), configuration.basePort > 0 else {
            throw SimulatorError(.invalidArgument, "ports \(configuration.basePort)… for \(configuration.slots) slots do not fit")
        }
        guard !configuration.host.isEmpty else { throw SimulatorError(.invalidArgument, "the vpcd host is empty") }
        let directory = configuration.stateDirectory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw SimulatorError(.stateFile, "cannot create the state directory \(directory.path): \(error)")
        }
        let stateLock = try StateDirectoryLock(directory: directory, fileName: "sealsim.lock", serverKind: "simulator")

        var slots: [VPCDSlot] = []
        var tokenLocks: [TokenFileLock] = []
        for index in 0..<configuration.slots {
            let stateFile = stateFile(slot: index, stateDirectory: directory)
            tokenLocks.append(try TokenFileLock(stateFile: stateFile, waitSeconds: 0))
            if try await provisionToken(slot: index, stateDirectory: directory) {
                log("slot \(index): made a new token in \(stateFile.path) (PIN \(TestCredentials.defaultPIN))")
            }
            let token: SimulatedChip
            do {
                token = try SimulatedChip(backing: FileBackingStore(url: stateFile), capabilities: configuration.capabilities)
            } catch {
                throw SimulatorError(.stateFile, "cannot open the token of slot \(index) (\(stateFile.path)): \(error)")
            }
            if let fault = token.memoryFault {
                log("slot \(index): the chip refuses its memory (\(stateFile.path)) and answers every command 6581: \(fault)")
            }
            let settings = VPCDSlot.Settings(
                host: configuration.host, port: configuration.basePort + UInt16(index), reversed: configuration.reversed,
                tcpNoDelay: configuration.tcpNoDelay, tcpQuickAck: configuration.tcpQuickAck,
                connectTimeoutMilliseconds: 2_000,
                initialRetryMilliseconds: max(configuration.initialRetryMilliseconds, 1),
                maximumRetryMilliseconds: max(configuration.maximumRetryMilliseconds, configuration.initialRetryMilliseconds, 1),
                reinsertDelayMilliseconds: max(configuration.reinsertDelayMilliseconds, 0))
            do {
                slots.append(try VPCDSlot(index: index, token: token, settings: settings, log: log))
            } catch {
                throw SimulatorError(.cardServer, "slot \(index): \(error)")
            }
        }

        let handler = ControlReplyHandler<VPCDCardServer> { server, line in server.reply(to: line) }
        let control = try SimulatorControlServer(path: configuration.controlSocket.path, handler: { handler.reply(to: $0) }, log: log)
        let server = VPCDCardServer(configuration: configuration, slots: slots, control: control, stateLock: stateLock,
                                   tokenLocks: tokenLocks, log: log)
        handler.attach(server)
        let mode = configuration.reversed ? "listening on" : "connecting to vpcd at"
        log("sealsim: \(configuration.slots) slot(s), \(mode) \(configuration.host):\(configuration.basePort)…\(Int(configuration.basePort) + configuration.slots - 1); control socket \(configuration.controlSocket.path)")
        for slot in slots { slot.start() }
        control.start()
        return server
    }

    /// Stops every slot (vpcd sees the cards removed), closes the control socket and releases the
    /// state directory. Idempotent; blocks until the threads have finished (a few ms).
    package func stop() {
        guard stopOnce.claim() else { return }
        control.stop()
        for slot in slots { slot.stop() }
        stateLock.release()
        for lock in tokenLocks { lock.release() }
        log("sealsim: stopped")
    }

    deinit {
        stop()
    }

    /// The state of every slot.
    package func status() -> SimulatorStatus {
        SimulatorStatus(reversed: configuration.reversed, host: configuration.host, basePort: configuration.basePort,
                        slots: slots.map { $0.status() })
    }

    /// Executes one control command and returns the reply line (`ok …` or `error …`), as the
    /// control socket does. Blocks: `reset` takes ``Configuration/reinsertDelayMilliseconds``.
    package func reply(to line: String) -> String {
        let command: SimulatorControlCommand
        do {
            command = try SimulatorControlCommand(parsing: line)
        } catch {
            return "error \(error.reason)"
        }
        if case .status = command { return "ok \(status())" }
        let index: Int
        switch command {
        case .insert(let slot), .remove(let slot), .reset(let slot), .tear(let slot, _), .writes(let slot), .fresh(let slot): index = slot
        case .status: index = 0
        }
        guard slots.indices.contains(index) else {
            return "error no slot \(index): this simulator has slot\(slots.count == 1 ? " 0" : "s 0-\(slots.count - 1)")"
        }
        let slot = slots[index]
        if configuration.reversed, !configuration.reversedDisconnectsAllowed {
            switch command {
            case .remove, .reset, .tear, .fresh:
                return "error '\(command)' is refused in reversed mode: it drops vpcd's connection, and the vpcd of Debian 12 / Ubuntu 24.04 then aborts pcscd; use normal mode (vpcd listens) to remove or power-cycle tokens"
            case .insert, .writes, .status:
                break
            }
        }
        switch command {
        case .insert:
            let wasPresent = slot.isPresent
            slot.insert()
            if !wasPresent { log("slot \(index): inserted (control socket)") }
            return wasPresent ? "ok slot \(index) already inserted" : "ok slot \(index) inserted"
        case .remove:
            let wasPresent = slot.isPresent
            slot.remove()
            if wasPresent { log("slot \(index): removed (control socket)") }
            return wasPresent ? "ok slot \(index) removed" : "ok slot \(index) already removed"
        case .reset:
            let wasPresent = slot.isPresent
            slot.remove()
            slot.token.powerOff()
            guard wasPresent else { return "ok slot \(index) power-cycled (it stays removed)" }
            Thread.sleep(forTimeInterval: Double(configuration.reinsertDelayMilliseconds) / 1000)
            slot.insert()
            log("slot \(index): power-cycled (control socket)")
            return "ok slot \(index) power-cycled"
        case .tear(_, let write):
            if let write {
                slot.token.armPowerLoss(atNVMWrite: write)
                log("slot \(index): power loss armed at NVM write \(write) from now (control socket)")
                return "ok slot \(index) loses power at NVM write \(write) from now"
            }
            slot.token.disarmPowerLoss()
            return "ok slot \(index) power loss disarmed"
        case .writes:
            return "ok slot \(index) writes \(slot.token.nvmWriteCount)"
        case .fresh:
            let chip: SimulatedChip
            let chipID: [UInt8]
            do {
                (chip, chipID) = try manufactureFreshToken(capabilities: configuration.capabilities)
            } catch {
                return "error slot \(index): cannot make a fresh token: \(error)"
            }
            let wasPresent = slot.isPresent
            slot.remove()
            slot.token.powerOff()
            // The reader must see the old card leave, or pcscd would take the new one for it.
            if wasPresent { Thread.sleep(forTimeInterval: Double(configuration.reinsertDelayMilliseconds) / 1000) }
            slot.replaceToken(chip)
            slot.insert()
            log("slot \(index): fresh MANUFACTURED token \(hexString(chipID)) (control socket)")
            return "ok slot \(index) fresh chip \(hexString(chipID))"
        case .status:
            return "ok \(status())"
        }
    }

    // MARK: - The sealsim serve entry point

    /// Runs the card server until SIGINT or SIGTERM, or until the calling task is cancelled: the
    /// body of `sealsim serve --vpcd`.
    ///
    /// Slot k keeps its token in `<stateDirectory>/slot-k.nvm`, made on first use like the default
    /// token (test vendor CA, default personalization, PIN ``TestCredentials/defaultPIN``) with its
    /// watermark key beside it in `slot-k.watermark-key`.
    ///
    /// - Parameters:
    ///   - vpcd: vpcd's host and the port of slot 0 (`("127.0.0.1", 35963)` by default in vpcd);
    ///     in reversed mode, the address and first port to listen on.
    ///   - slots: how many slots (readers) to serve, from slot 0.
    ///   - stateDirectory: the tokens' state files, the lock and the control socket.
    ///   - reversed: listen for vpcd (`DEVICENAME host:port` in its reader.conf) instead of
    ///     connecting to it.
    ///   - capabilities: the tokens' size limits (SPEC §3.5), `.reference` or `.constrained`.
    ///   - log: receives one line per event (connections, removals, errors); called from the
    ///     slot threads.
    package static func serve(vpcd: (host: String, port: UInt16), slots: Int, stateDirectory: URL, reversed: Bool,
                             capabilities: SealCapabilities = .reference,
                             log: @escaping @Sendable (String) -> Void) async throws {
        var configuration = Configuration(stateDirectory: stateDirectory, host: vpcd.host, basePort: vpcd.port, slots: slots, reversed: reversed)
        configuration.capabilities = capabilities
        configuration.controlSocket = SimulatorControlClient.socketURL(stateDirectory: stateDirectory)
        let termination = TerminationSignals()
        let server = try await start(configuration: configuration, log: log)
        await termination.waitForTermination(log: log)
        server.stop()
    }

    // MARK: - Tokens

    /// Makes slot `slot`'s token when its state file does not exist: manufactured under the test
    /// vendor CA, personalized like the default token and activated; its watermark key is written
    /// to ``watermarkKeyFile(slot:stateDirectory:)``. The token is built in a staging file and
    /// renamed into place, so an interrupted run never leaves a half-made token.
    ///
    /// - Returns: `true` when a token was made, `false` when one already existed.
    @discardableResult
    package static func provisionToken(slot: Int, stateDirectory: URL) async throws -> Bool {
        try await TokenFactory.provisionTestToken(
            at: stateFile(slot: slot, stateDirectory: stateDirectory),
            watermarkKeyFile: watermarkKeyFile(slot: slot, stateDirectory: stateDirectory), label: "vpcd slot \(slot)")
    }
}

/// A flag that is claimed once.
private final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false

    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if claimed { return false }
        claimed = true
        return true
    }
}
