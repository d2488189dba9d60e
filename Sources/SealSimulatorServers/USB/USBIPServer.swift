@_spi(Testing) import SealSimulatedToken
import SealReaderWire
import Crypto
import Dispatch
import Foundation
import SealFirmware
import SealProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Simulated SealKit tokens as USB CCID devices exported over USB/IP (TCP, default port 3240):
/// what `sealsim serve --usbip [HOST:]PORT` runs.
///
/// Token k is the USB device with bus ID `1-(k+1)` (`1-1`, `1-2`, …): a full-speed single-slot
/// CCID reader (see ``CCIDUSBDescriptorSet`` and docs/usb.md) holding a card whose chip keeps its
/// NVM in `<stateDirectory>/usb-slot-k.nvm` — made on first use like the default token (test
/// vendor CA, default personalization, PIN ``TestCredentials/defaultPIN``) and persisted, so a
/// killed server comes back in its last committed state. While the server runs it holds each
/// slot's token lock (``TokenFileLock``), so no other process writes over the served NVM.
///
/// The USB device is the reader, not the card: its serial number names the simulator slot
/// (``serialNumber(slot:)``, `SEALSIM-SLOT-k`), and the card in it can change while the device
/// stays attached. The control socket `<stateDirectory>/usbip.sock` (the commands of
/// ``SimulatorControlCommand``, as `sealsim serve --vpcd` offers them) takes the card out, puts it
/// back, power-cycles it, tears it at its n-th NVM write, or swaps in a fresh MANUFACTURED token
/// (in memory). Each change reaches the importing client as a CCID reader with a removable card
/// reports it: the slot's ICC status turns absent, then present and inactive, and an
/// `RDR_to_PC_NotifySlotChange` with the "changed" bit goes out on the interrupt endpoint. Read
/// the chip ID from the card (GET DATA), not from the USB descriptors.
///
/// A Linux host attaches a token with `usbip attach -r HOST -b 1-1` (vhci-hcd), after which
/// pcscd/libccid see a reader; `usbip list -r HOST` lists the tokens. SealKit's own USB/IP client
/// can talk to it directly, with no kernel involved.
///
/// Each client connection runs on its own thread with blocking sockets; the protocol itself is
/// the pure ``USBIPServerConnection`` / ``USBIPServerDeviceSession`` / ``CCIDDevice`` stack. A
/// device is imported by one client at a time (another gets `ST_DEV_BUSY`); when its client
/// disconnects, its chip is powered off and the device can be imported again.
package final class USBIPServer: Sendable {
    /// Everything that shapes a server.
    package struct Configuration: Sendable {
        /// The address to listen on. Default `127.0.0.1`.
        package var host: String
        /// The TCP port; 0 picks a free one (see ``USBIPServer/port``). Default 3240.
        package var port: UInt16
        /// Number of tokens (USB devices), 1…``USBIPServer/maximumDevices``.
        package var devices: Int
        /// Where the tokens' state files and the lock live.
        package var stateDirectory: URL
        /// The reader model of every device (message size, time extension); `slotCount` is
        /// always 1 (one token, one single-slot reader).
        package var device: CCIDDeviceConfiguration
        /// VID:PID, bcdDevice and strings; the serial number is replaced by each slot's
        /// (``USBIPServer/serialNumber(slot:)``).
        package var identity: CCIDUSBIdentity
        /// The control socket; default `<stateDirectory>/usbip.sock`.
        package var controlSocket: URL
        /// The size limits every token runs with (SPEC §3.5): `.reference` by default,
        /// `.constrained` for a chip with the spec's minimum buffers (issue 9, finding 10). The
        /// state files do not record it.
        package var capabilities: SealCapabilities = .reference

        package init(stateDirectory: URL, host: String = "127.0.0.1", port: UInt16 = USBIP.defaultPort, devices: Int = 1) {
            self.host = host
            self.port = port
            self.devices = devices
            self.stateDirectory = stateDirectory
            self.device = CCIDDeviceConfiguration()
            self.identity = CCIDUSBIdentity(serialNumber: "")
            self.controlSocket = SimulatorControlClient.usbipSocketURL(stateDirectory: stateDirectory)
        }
    }

    /// Most devices one server exports.
    package static let maximumDevices = 16

    /// The state file of token `slot`: `<stateDirectory>/usb-slot-<slot>.nvm`.
    package static func stateFile(slot: Int, stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent("usb-slot-\(slot).nvm", isDirectory: false)
    }

    /// The watermark key of token `slot`: `<stateDirectory>/usb-slot-<slot>.watermark-key` (hex).
    package static func watermarkKeyFile(slot: Int, stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent("usb-slot-\(slot).watermark-key", isDirectory: false)
    }

    /// A suggested state directory under a SealKit home: `<home>/usbip`.
    package static func defaultStateDirectory(home: URL) -> URL {
        home.appendingPathComponent("usbip", isDirectory: true)
    }

    /// The bus ID of token `slot`: `1-<slot + 1>`.
    package static func busID(slot: Int) -> String { "1-\(slot + 1)" }

    /// The USB serial number of token `slot`'s device: `SEALSIM-SLOT-<slot>`. It names the reader
    /// (the simulator slot), which keeps it whatever card is inserted; a serial derived from the
    /// chip would go stale at the first `fresh`.
    package static func serialNumber(slot: Int) -> String { "SEALSIM-SLOT-\(slot)" }

    package let configuration: Configuration
    /// The port actually listened on (the configured one, or the one the system picked for 0).
    package let port: UInt16
    /// The exported bus IDs, in slot order.
    package var busIDs: [String] { exports.map(\.busID) }

    private let exports: [ExportedDevice]
    private let listener: Int32
    private let wake: WakeSignal
    private let log: @Sendable (String) -> Void
    private let state = ServerState()
    private let stateLock: StateDirectoryLock
    /// Each slot's token lock, held while the server runs.
    private let tokenLocks: [TokenFileLock]
    private let control: SimulatorControlServer
    private let acceptFinished = DispatchSemaphore(value: 0)

    private init(configuration: Configuration, port: UInt16, exports: [ExportedDevice], listener: Int32, wake: WakeSignal,
                 stateLock: StateDirectoryLock, tokenLocks: [TokenFileLock], control: SimulatorControlServer,
                 log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.port = port
        self.exports = exports
        self.listener = listener
        self.wake = wake
        self.stateLock = stateLock
        self.tokenLocks = tokenLocks
        self.control = control
        self.log = log
    }

    /// Starts a server: locks the state directory and each slot's token, makes the tokens that do
    /// not exist yet, opens them and the control socket, listens and starts accepting connections.
    /// Returns once clients can connect.
    ///
    /// - Throws: ``SimulatorError``: `invalidArgument` for a bad configuration, `cardServer` when
    ///   the state directory is in use or the address cannot be listened on, and the errors of
    ///   making or opening a token.
    package static func start(configuration: Configuration, log: @escaping @Sendable (String) -> Void) async throws -> USBIPServer {
        guard (1...maximumDevices).contains(configuration.devices) else {
            throw SimulatorError(.invalidArgument, "devices must be 1…\(maximumDevices), got \(configuration.devices)")
        }
        guard !configuration.host.isEmpty else { throw SimulatorError(.invalidArgument, "the USB/IP listen address is empty") }
        let directory = configuration.stateDirectory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw SimulatorError(.stateFile, "cannot create the state directory \(directory.path): \(error)")
        }
        let stateLock = try StateDirectoryLock(directory: directory, fileName: "usbip.lock", serverKind: "USB/IP simulator")

        // One token, one single-slot reader.
        var deviceConfiguration = configuration.device.normalized
        deviceConfiguration.slotCount = 1
        var exports: [ExportedDevice] = []
        var tokenLocks: [TokenFileLock] = []
        for slot in 0..<configuration.devices {
            let stateFile = stateFile(slot: slot, stateDirectory: directory)
            tokenLocks.append(try TokenFileLock(stateFile: stateFile, waitSeconds: 0))
            if try await provisionToken(slot: slot, stateDirectory: directory) {
                log("usbip \(busID(slot: slot)): made a new token in \(stateFile.path) (PIN \(TestCredentials.defaultPIN))")
            }
            let token: SimulatedChip
            do {
                token = try SimulatedChip(backing: FileBackingStore(url: stateFile), capabilities: configuration.capabilities)
            } catch {
                throw SimulatorError(.stateFile, "cannot open the token of \(busID(slot: slot)) (\(stateFile.path)): \(error)")
            }
            if let fault = token.memoryFault {
                log("usbip \(busID(slot: slot)): the chip refuses its memory (\(stateFile.path)) and answers every command 6581: \(fault)")
            }
            var identity = configuration.identity
            identity.serialNumber = serialNumber(slot: slot)
            let descriptors = CCIDUSBDescriptorSet(identity: identity, configuration: deviceConfiguration)
            // devnum 1 is the root hub's; the tokens are 2, 3, … on bus 1.
            let record = descriptors.usbipRecord(path: stateFile.path, busID: busID(slot: slot), busNumber: 1, deviceNumber: UInt32(slot + 2))
            exports.append(ExportedDevice(slot: slot, record: record, descriptors: descriptors, device: deviceConfiguration, token: token))
        }

        let listener: Int32
        let port: UInt16
        let wake: WakeSignal
        do {
            listener = try POSIXSocket.listenTCP(host: configuration.host, port: configuration.port, backlog: 16)
            port = POSIXSocket.boundPort(listener) ?? configuration.port
            wake = try WakeSignal()
        } catch {
            throw SimulatorError(.cardServer, "cannot listen for USB/IP on \(configuration.host):\(configuration.port): \(error)")
        }
        let handler = ControlReplyHandler<USBIPServer> { server, line in server.reply(to: line) }
        let control: SimulatorControlServer
        do {
            control = try SimulatorControlServer(path: configuration.controlSocket.path, handler: { handler.reply(to: $0) }, log: log)
        } catch {
            POSIXSocket.closeDescriptor(listener)
            throw error
        }
        let server = USBIPServer(configuration: configuration, port: port, exports: exports, listener: listener, wake: wake,
                                 stateLock: stateLock, tokenLocks: tokenLocks, control: control, log: log)
        handler.attach(server)
        let thread = Thread { [server] in
            server.acceptLoop()
            server.acceptFinished.signal()
        }
        thread.name = "sealsim-usbip-accept"
        thread.start()
        control.start()
        log("sealsim: USB/IP on \(configuration.host):\(port), \(exports.count) device(s): "
            + exports.map { "\($0.busID) \(String(format: "%04x:%04x", $0.record.vendorID, $0.record.productID)) serial \($0.descriptors.identity.serialNumber)" }.joined(separator: ", ")
            + "; control socket \(configuration.controlSocket.path)")
        return server
    }

    /// Stops accepting, closes every connection (their devices are detached and powered off) and
    /// releases the state directory. Idempotent; blocks until the threads have finished.
    package func stop() {
        guard state.beginStopping() else { return }
        control.stop()
        wake.signal()
        _ = acceptFinished.wait(timeout: .now() + 5)
        POSIXSocket.closeDescriptor(listener)
        for connection in state.connections() {
            connection.interrupt()
        }
        for connection in state.connections() {
            connection.waitFinished()
        }
        stateLock.release()
        for lock in tokenLocks { lock.release() }
        log("sealsim: USB/IP stopped")
    }

    deinit {
        stop()
    }

    /// Inserts or removes the card of token `slot` (`RDR_to_PC_NotifySlotChange` to the client
    /// that imported it), as the control socket's `insert N` and `remove N` do. Returns once the
    /// importing client's device model has the change (at once when nobody imported it).
    ///
    /// - Returns: `false` when there is no such slot.
    @discardableResult
    package func setCardPresent(_ present: Bool, slot: Int) -> Bool {
        guard exports.indices.contains(slot) else { return false }
        exports[slot].changeCard(present: present)
        return true
    }

    /// The state of every slot, as the control socket's `status` reports it.
    package func status() -> SimulatorStatus {
        SimulatorStatus(reversed: false, usbip: true, host: configuration.host, basePort: port, slots: exports.map { device in
            let state: SimulatorSlotStatus.State = !device.isPresent ? .absent : device.isAttached ? .active : .waiting
            return SimulatorSlotStatus(slot: device.slot, state: state, powered: device.token.isPowered)
        })
    }

    /// Executes one control command and returns the reply line (`ok …` or `error …`), as the
    /// control socket does. A command that changes the card returns once the importing client's
    /// device model has the change.
    package func reply(to line: String) -> String {
        let command: SimulatorControlCommand
        do {
            command = try SimulatorControlCommand(parsing: line)
        } catch {
            return "error \(error.reason)"
        }
        let index: Int
        switch command {
        case .status: return "ok \(status())"
        case .insert(let slot), .remove(let slot), .reset(let slot), .tear(let slot, _), .writes(let slot), .fresh(let slot): index = slot
        }
        guard exports.indices.contains(index) else {
            return "error no slot \(index): this simulator has slot\(exports.count == 1 ? " 0" : "s 0-\(exports.count - 1)")"
        }
        let device = exports[index]
        let name = "usbip \(device.busID)"
        switch command {
        case .insert:
            let wasPresent = device.isPresent
            if !wasPresent {
                device.changeCard(present: true)
                log("\(name): card inserted (control socket)")
            }
            return wasPresent ? "ok slot \(index) already inserted" : "ok slot \(index) inserted"
        case .remove:
            let wasPresent = device.isPresent
            if wasPresent {
                device.changeCard(present: false)
                log("\(name): card removed (control socket)")
            }
            return wasPresent ? "ok slot \(index) removed" : "ok slot \(index) already removed"
        case .reset:
            // Out and in again: the chip loses power, the client sees the slot change.
            let wasPresent = device.isPresent
            device.changeCard(present: wasPresent, powerCycle: true)
            guard wasPresent else { return "ok slot \(index) power-cycled (it stays removed)" }
            log("\(name): card power-cycled (control socket)")
            return "ok slot \(index) power-cycled"
        case .tear(_, let write):
            if let write {
                device.token.armPowerLoss(atNVMWrite: write)
                log("\(name): power loss armed at NVM write \(write) from now (control socket)")
                return "ok slot \(index) loses power at NVM write \(write) from now"
            }
            device.token.disarmPowerLoss()
            return "ok slot \(index) power loss disarmed"
        case .writes:
            return "ok slot \(index) writes \(device.token.nvmWriteCount)"
        case .fresh:
            let chip: SimulatedChip
            let chipID: [UInt8]
            do {
                (chip, chipID) = try manufactureFreshToken(capabilities: configuration.capabilities)
            } catch {
                return "error slot \(index): cannot make a fresh token: \(error)"
            }
            device.changeCard(present: true, replacingChipWith: chip)
            log("\(name): fresh MANUFACTURED token \(hexString(chipID)) (control socket)")
            return "ok slot \(index) fresh chip \(hexString(chipID))"
        case .status:
            return "ok \(status())"
        }
    }

    /// The bus IDs currently imported by a client.
    package func importedBusIDs() -> [String] {
        exports.filter(\.isAttached).map(\.busID)
    }

    // MARK: - sealsim serve --usbip

    /// Runs the USB/IP server until SIGINT or SIGTERM, or until the calling task is cancelled:
    /// the body of `sealsim serve --usbip [HOST:]PORT`.
    ///
    /// - Parameters:
    ///   - host: the address to listen on (`127.0.0.1` keeps it local; `0.0.0.0` or `::` exports
    ///     to the network — USB/IP has no authentication).
    ///   - port: the TCP port (3240 is USB/IP's; 0 picks a free one, logged at start).
    ///   - slots: how many tokens to export, one USB device each (`1-1`, `1-2`, …).
    ///   - stateDirectory: the tokens' state files (`usb-slot-k.nvm`) and the lock.
    ///   - timeExtensionThreshold: send a CCID time extension before answers the chip took at
    ///     least this long to compute (STAMP and PERSONALIZE sign with ECDSA); `.zero`, the
    ///     default, never does.
    ///   - capabilities: the tokens' size limits (SPEC §3.5), `.reference` or `.constrained`.
    ///   - log: receives one line per event (imports, detaches, errors), from any thread.
    package static func serveUSBIP(host: String, port: UInt16, slots: Int, stateDirectory: URL,
                                  timeExtensionThreshold: Duration = .zero, capabilities: SealCapabilities = .reference,
                                  log: @escaping @Sendable (String) -> Void) async throws {
        let termination = TerminationSignals()
        var configuration = Configuration(stateDirectory: stateDirectory, host: host, port: port, devices: slots)
        configuration.capabilities = capabilities
        configuration.device = CCIDDeviceConfiguration(timeExtensionThreshold: timeExtensionThreshold)
        let server = try await start(configuration: configuration, log: log)
        await termination.waitForTermination(log: log)
        server.stop()
    }

    // MARK: - Tokens

    /// Makes token `slot`'s state file when it does not exist: manufactured under the test vendor
    /// CA, personalized like the default token and activated; its watermark key is written to
    /// ``watermarkKeyFile(slot:stateDirectory:)``. Built in a staging file and renamed, so an
    /// interrupted run never leaves a half-made token.
    ///
    /// - Returns: `true` when a token was made, `false` when one already existed.
    @discardableResult
    package static func provisionToken(slot: Int, stateDirectory: URL) async throws -> Bool {
        try await TokenFactory.provisionTestToken(
            at: stateFile(slot: slot, stateDirectory: stateDirectory),
            watermarkKeyFile: watermarkKeyFile(slot: slot, stateDirectory: stateDirectory), label: "USB device \(busID(slot: slot))")
    }

    // MARK: - Threads

    private func acceptLoop() {
        while !state.isStopping {
            let descriptor: Int32?
            do {
                descriptor = try POSIXSocket.acceptConnection(listener, wake: wake)
            } catch {
                log("usbip: accept failed (\(error)); retrying")
                Thread.sleep(forTimeInterval: 0.1)
                continue
            }
            guard let fd = descriptor else { continue }  // woken: re-check stopping
            POSIXSocket.setNoDelay(fd)
            let peer = POSIXSocket.peerName(fd)
            let connection: ConnectionHandle
            do {
                connection = try ConnectionHandle(fd: fd, peer: peer)
            } catch {
                log("usbip: cannot serve \(peer): \(error)")
                POSIXSocket.closeDescriptor(fd)
                continue
            }
            guard state.add(connection) else {
                POSIXSocket.closeDescriptor(fd)
                break
            }
            let thread = Thread { [self] in
                serve(connection)
                state.remove(connection)
                connection.markFinished()
            }
            thread.name = "sealsim-usbip-\(peer)"
            thread.start()
        }
    }

    /// Serves one client until it disconnects or the server stops.
    private func serve(_ connection: ConnectionHandle) {
        let fd = connection.fd
        var attached: ExportedDevice?
        // The card as this connection's client last learned of it.
        var known = ExportedDevice.CardState(present: true, changes: 0)
        let machine = USBIPServerConnection(
            listDevices: { [exports] in exports.map(\.record) },
            importDevice: { [exports, log] busID in
                guard let device = exports.first(where: { $0.busID == busID }) else {
                    log("usbip: \(connection.peer) asked for unknown bus ID \(busID)")
                    return .refused(status: USBIPServerConnection.statusUnavailable)
                }
                guard let card = device.attach(connection) else {
                    log("usbip: \(connection.peer) asked for \(busID), already imported by another client")
                    return .refused(status: USBIPServerConnection.statusBusy)
                }
                attached = device
                known = card
                log("usbip: \(busID) imported by \(connection.peer)")
                return .attached(device.record, device.makeSession(present: card.present, log: log))
            })
        defer {
            machine.close(reason: "connection ended")
            if let device = attached {
                device.detach(connection)
                log("usbip: \(device.busID) detached (\(connection.peer))")
            }
            POSIXSocket.closeDescriptor(fd)
        }

        /// Passes a card change the client has not seen to its device model and the client.
        /// `false` when the connection broke.
        func reportCardChange() -> Bool {
            guard let device = attached else { return true }
            // Read on every command: an atomic load, the lock only when there is a change to pass on.
            guard device.changeCount != known.changes, let session = machine.session else { return true }
            let card = device.cardState
            // Out (if it was in), then in (if it is now): a swap or power cycle the client
            // did not watch still shows as a change of card, as CCID's "changed" bit says.
            var output: [UInt8] = []
            if known.present {
                for reply in session.setCardPresent(false, slot: 0) { output += reply.encoded() }
            }
            if card.present {
                for reply in session.setCardPresent(true, slot: 0) { output += reply.encoded() }
            }
            known = card
            device.reported(card.changes)
            return send(output, on: fd)
        }

        // While commands keep coming the thread waits in `recv` on the socket alone (bounded by
        // `busyReceiveWindowMilliseconds`), as a plain TCP server does: a `poll` of the socket and the wake
        // pipe before every read was a second system call on each command's round trip. Once
        // the client has been quiet for the window, the thread waits in `poll` again, where a
        // card change or the server stopping wakes it. A change made meanwhile is passed on at
        // the latest when the window ends, and always before the next command is handled, so
        // the client's next command meets the new card (`stop()` shuts the socket down, which
        // ends a `recv` at once).
        POSIXSocket.setReceiveTimeout(fd, milliseconds: Self.busyReceiveWindowMilliseconds)
        var busy = false
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // The answer to each read, written into one buffer kept for the connection's life.
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        while !state.isStopping {
            if !busy {
                switch connection.wake.wait(for: fd, events: Int16(POLLIN), timeoutMilliseconds: -1) {
                case .timedOut:
                    continue
                case .woken:
                    // A card change for the attached device, or the server stopping.
                    guard reportCardChange() else { return }
                    continue
                case .ready:
                    break
                }
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // Quiet for the whole window: back to `poll`, after any change made meanwhile.
                    busy = false
                    guard reportCardChange() else { return }
                    continue
                }
                return
            }
            guard count > 0 else { return }
            busy = true
            guard reportCardChange() else { return }
            output.removeAll(keepingCapacity: true)
            machine.receive(buffer[..<count], into: &output)
            guard send(output, on: fd) else { return }
            if machine.isClosed, case .closed(let reason) = machine.phase {
                log("usbip: closing the connection of \(connection.peer): \(reason)")
                return
            }
        }
    }

    /// How long a connection's thread waits in `recv` alone after a command before it goes back
    /// to `poll` (see `serve(_:)`): the longest a card change waits while the client is busy.
    private static let busyReceiveWindowMilliseconds = 5

    private func send(_ bytes: [UInt8], on fd: Int32) -> Bool {
        guard !bytes.isEmpty else { return true }
        do {
            try POSIXSocket.sendAll(fd, bytes)
            return true
        } catch {
            return false
        }
    }
}

// MARK: - Supporting types

/// A token exported as a USB device: its record and descriptors, the card in its slot (which the
/// control socket takes out, puts back, power-cycles or swaps), and which connection (if any) has
/// imported it.
///
/// Card changes are counted. The control thread makes a change and wakes the importing
/// connection's thread, which passes it to its device model (``USBIPServerDeviceSession``, not
/// thread-safe, touched by that thread only) and reports it done; the control thread waits for
/// that, so a `fresh N` answered `ok` means the client's next command meets the new card.
private final class ExportedDevice: @unchecked Sendable {
    /// The card as a connection knows it: present or not, and how many changes it has seen.
    struct CardState {
        var present: Bool
        var changes: Int
    }

    /// How long a card change waits for the importing connection to take it.
    static let changeTimeout: TimeInterval = 5

    let slot: Int
    let record: USBIPDevice
    let descriptors: CCIDUSBDescriptorSet
    let deviceConfiguration: CCIDDeviceConfiguration
    var busID: String { record.busID }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var owner: ConnectionHandle?
    private var chip: SimulatedChip
    private var present = true
    private var changes = 0 {
        didSet { changesSeen.store(changes, ordering: .releasing) }
    }
    private var reportedChanges = 0
    /// `changes`, readable without the lock: the importing connection compares it with what its
    /// client has seen before every command (``cardState`` then gives the change under the lock).
    private let changesSeen = Atomic<Int>(0)

    init(slot: Int, record: USBIPDevice, descriptors: CCIDUSBDescriptorSet, device: CCIDDeviceConfiguration, token: SimulatedChip) {
        self.slot = slot
        self.record = record
        self.descriptors = descriptors
        self.deviceConfiguration = device
        self.chip = token
    }

    /// The chip of the card in the slot (the last one, when the slot is empty).
    var token: SimulatedChip { locked { chip } }
    var isPresent: Bool { locked { present } }
    var isAttached: Bool { locked { owner != nil } }
    var cardState: CardState { locked { CardState(present: present, changes: changes) } }
    /// How many card changes there were (the `changes` of ``cardState``), without taking the lock.
    var changeCount: Int { changesSeen.load(ordering: .acquiring) }

    /// Makes `connection` the importer; `nil` when another connection has the device. Returns
    /// the card as the new client finds it.
    func attach(_ connection: ConnectionHandle) -> CardState? {
        locked {
            guard owner == nil else { return nil }
            owner = connection
            reportedChanges = changes
            return CardState(present: present, changes: changes)
        }
    }

    func detach(_ connection: ConnectionHandle) {
        let chip = locked { () -> SimulatedChip in
            if owner === connection {
                owner = nil
                condition.broadcast()
            }
            return self.chip
        }
        chip.powerOff()
    }

    /// The importing connection has passed every change up to `changes` to its client.
    func reported(_ changes: Int) {
        locked {
            reportedChanges = max(reportedChanges, changes)
            condition.broadcast()
        }
    }

    /// Changes the card: `present` says whether a card is in the slot afterwards; a card that
    /// leaves (removed, power-cycled or replaced) loses power; `replacingChipWith` puts another
    /// chip in. Returns when the importing connection has the change, at once when the device is
    /// not imported, or after ``changeTimeout``.
    func changeCard(present newPresence: Bool, powerCycle: Bool = false, replacingChipWith newChip: SimulatedChip? = nil) {
        condition.lock()
        let leaving = present && (!newPresence || powerCycle || newChip != nil) ? chip : nil
        present = newPresence
        if let newChip { chip = newChip }
        changes += 1
        let target = changes
        let importer = owner
        condition.unlock()

        leaving?.powerOff()
        guard let importer else { return }
        importer.wake.signal()
        let deadline = Date().addingTimeInterval(Self.changeTimeout)
        condition.lock()
        defer { condition.unlock() }
        while reportedChanges < target, owner === importer {
            if !condition.wait(until: deadline) { break }
        }
    }

    /// A fresh USB device model over the slot (the card starts unpowered, as on plug-in).
    func makeSession(present: Bool, log: @escaping @Sendable (String) -> Void) -> USBIPServerDeviceSession {
        token.powerOff()
        let runner = CCIDDeviceRunner(configuration: deviceConfiguration, cards: [SlotCard(device: self)], cardPresent: [present])
        let busID = self.busID
        return USBIPServerDeviceSession(descriptors: descriptors, runner: runner, devid: record.busNumber << 16 | record.deviceNumber,
                                        note: { log("usbip \(busID): \($0)") })
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }
}

/// The card in an exported device's slot, as its connection's ``CCIDDeviceRunner`` drives it:
/// power-on takes whatever chip is in the slot then, and the commands that follow go to that chip
/// until it is powered off, so a card swapped in between never receives half of a session.
private final class SlotCard: CCIDCard {
    private let device: ExportedDevice
    private var chip: SimulatedChip?

    init(device: ExportedDevice) {
        self.device = device
    }

    func powerOn() -> [UInt8]? {
        let chip = device.token
        self.chip = chip
        return try? chip.powerOn()
    }

    func powerOff() {
        (chip ?? device.token).powerOff()
        chip = nil
    }

    func transmit(_ apdu: [UInt8]) -> ChipResponse {
        guard let chip else { return .mute }
        return chip.process(apdu)
    }
}

/// One client connection: its socket, the signal that interrupts its thread, and completion.
private final class ConnectionHandle: @unchecked Sendable {
    let fd: Int32
    let peer: String
    let wake: WakeSignal
    private let finished = DispatchSemaphore(value: 0)

    init(fd: Int32, peer: String) throws(SocketFailure) {
        self.fd = fd
        self.peer = peer
        self.wake = try WakeSignal()
    }

    /// Wakes the thread (it sees the server stopping) and unblocks any `send` in progress.
    func interrupt() {
        POSIXSocket.shutdownBoth(fd)
        wake.signal()
    }

    func markFinished() { finished.signal() }

    func waitFinished() { _ = finished.wait(timeout: .now() + 5) }
}

/// The server's mutable bookkeeping: stopping, and the live connections.
private final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private var stopping = false
    private var live: [ObjectIdentifier: ConnectionHandle] = [:]

    var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Claims the stop; `false` when already stopping.
    func beginStopping() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if stopping { return false }
        stopping = true
        return true
    }

    /// Registers a connection; `false` when the server is stopping.
    func add(_ connection: ConnectionHandle) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { return false }
        live[ObjectIdentifier(connection)] = connection
        return true
    }

    func remove(_ connection: ConnectionHandle) {
        lock.lock()
        live[ObjectIdentifier(connection)] = nil
        lock.unlock()
    }

    func connections() -> [ConnectionHandle] {
        lock.lock()
        defer { lock.unlock() }
        return Array(live.values)
    }
}
