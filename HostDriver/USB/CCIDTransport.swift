import SealHostDriver
import SealReaderWire
import SealProtocol

/// A `CardTransport` to a seal token behind a USB CCID interface: a local device through libusb-1.0
/// (``usb(_:configuration:)``) or a device imported from a USB/IP server
/// (``usbip(_:timeout:configuration:)``).
///
/// ```swift
/// let transport = try await CCIDTransport.usbip("127.0.0.1/1-1")
/// let token = SealToken(transport: transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [vendorRoot]))
/// ```
///
/// - ``connect()``: `PC_to_RDR_IccPowerOn` (automatic voltage); the ATR is the DataBlock's data.
/// - ``reset()``: `PC_to_RDR_IccPowerOff`, then `PC_to_RDR_IccPowerOn`.
/// - ``transmit(_:)``: one `PC_to_RDR_XfrBlock` with the whole APDU (short and extended APDU
///   exchange levels); responses chained with `bChainParameter` are reassembled, and an APDU
///   longer than `dwMaxCCIDMessageLength` is sent as an XfrBlock chain.
/// - ``disconnect()``: `PC_to_RDR_IccPowerOff`. ``close()`` also closes the pipe.
///
/// The reader's CCID class descriptor supplies `dwMaxCCIDMessageLength` and the exchange level;
/// readers at character or TPDU level are refused by ``connect()`` with
/// `SealDriverError.Code.notSupportedByToken`.
///
/// Calls are serialized: one CCID command is in flight at a time, as the protocol requires.
/// Errors are `SealDriverError`s mapped from ``USBError`` by ``USBError/driverError``, so a
/// `SealToken` over USB throws the driver's one error type.
public actor CCIDTransport: CardTransport {
    /// Timeouts and limits.
    public struct Configuration: Sendable, Hashable {
        /// `bSlot`, 0 for single-slot readers.
        public var slot: UInt8
        /// The base wait for each reply; a time extension multiplies it by the reader's factor.
        public var replyTimeout: Duration
        /// Time extensions accepted per command.
        public var maximumTimeExtensions: Int
        /// Bound on a reassembled response.
        public var maximumResponseLength: Int
        /// Bound on one whole command, from its first bulk OUT write to its complete reply: time
        /// extensions, chained parts and slow partial transfers all count against it. Without it a
        /// reader asking for `maximumTimeExtensions` extensions of ×255 would hold a command for
        /// `replyTimeout` × 255 × 64 (45 hours with the defaults). Bulk OUT writes get what is left
        /// of it too (capped by the pipe's own write timeout). When it runs out the command ends
        /// with `USBError.Code.timeout` (`SealDriverError` `noResponse`); over USB/IP a URB that
        /// times out is then unlinked, which may add the connection's 1 s unlink grace.
        public var commandTimeout: Duration

        /// Creates a configuration.
        public init(slot: UInt8 = 0, replyTimeout: Duration = .seconds(10), maximumTimeExtensions: Int = 64,
                    maximumResponseLength: Int = 65_538, commandTimeout: Duration = .seconds(60)) {
            self.slot = slot
            self.replyTimeout = replyTimeout
            self.maximumTimeExtensions = maximumTimeExtensions
            self.maximumResponseLength = maximumResponseLength
            self.commandTimeout = commandTimeout
        }
    }

    /// A human-readable name, e.g. `"CCID 1209:5ea1 at 127.0.0.1:3240/1-1"`.
    public nonisolated let name: String
    /// The reader, as its pipe describes it.
    public nonisolated let reader: CCIDReaderDescription?
    /// Timeouts and limits.
    public nonisolated let configuration: Configuration

    private let pipe: any CCIDBulkPipe
    private var session: CCIDHostSession
    private var powered = false
    private var closed = false
    /// The last command got no reply in time (or the pipe broke): ``close()`` then closes the pipe
    /// without sending IccPowerOff first, which would only wait out another timeout.
    private var unresponsive = false
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Creates a transport. Nothing is sent until ``connect()``.
    ///
    /// - Parameters:
    ///   - pipe: the reader's pipes; the transport uses it exclusively.
    ///   - description: the reader's descriptors; without a CCID class descriptor the transport
    ///     assumes an extended-APDU-level reader that accepts messages of
    ///     ``CCIDMessage/defaultMaximumLength`` bytes.
    ///   - name: defaults to the description.
    package init(pipe: any CCIDBulkPipe, description: CCIDReaderDescription? = nil, name: String? = nil,
                configuration: Configuration = Configuration()) {
        self.pipe = pipe
        self.reader = description
        self.name = name ?? description?.description ?? "CCID reader"
        self.configuration = configuration
        let maximum = description?.ccid.map { Int($0.maxCCIDMessageLength) } ?? CCIDMessage.defaultMaximumLength
        self.session = CCIDHostSession(slot: configuration.slot, maximumMessageLength: maximum,
                                       maximumTimeExtensions: configuration.maximumTimeExtensions,
                                       maximumResponseLength: configuration.maximumResponseLength)
    }

    /// Whether the token is powered (after ``connect()``, before ``disconnect()``).
    public var isPowered: Bool { powered }

    // MARK: CardTransport

    /// Powers the token on and returns its ATR; on a powered transport this is ``reset()``.
    ///
    /// - Throws: `SealDriverError`: `cardRemoved` without a token, `noResponse` for a mute
    ///   token or a reader that does not answer, `notSupportedByToken` for a character- or
    ///   TPDU-level reader, `transportFailure` for protocol and USB failures.
    public func connect() async throws -> [UInt8] {
        if powered { return try await reset() }
        return try await exclusively { () async throws(SealDriverError) -> [UInt8] in
            try checkReader()
            return try await powerOn()
        }
    }

    /// Powers the token off and on again and returns its ATR.
    ///
    /// - Throws: as ``connect()``.
    public func reset() async throws -> [UInt8] {
        try await exclusively { () async throws(SealDriverError) -> [UInt8] in
            try checkReader()
            if powered {
                _ = try await run(.iccPowerOff)
                powered = false
            }
            return try await powerOn()
        }
    }

    /// Powers the token off. Never fails; calling it twice is harmless.
    public func disconnect() async {
        await exclusively { () async -> Void in
            guard powered, !closed else { return }
            powered = false
            _ = try? await run(.iccPowerOff)
        }
    }

    /// Sends one APDU in a `PC_to_RDR_XfrBlock` and returns the whole response.
    ///
    /// - Throws: `SealDriverError`: `notConnected` before ``connect()``, `invalidArgument` for an
    ///   empty APDU, `cardRemoved`, `noResponse`, `commandTooLong`, `responseTooLong`,
    ///   `transportFailure`.
    public func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        try await exclusively { () async throws(SealDriverError) -> [UInt8] in
            guard powered, !closed else {
                throw SealDriverError(code: .notConnected, reason: "\(name): transmit before connect()")
            }
            guard !apdu.isEmpty else {
                throw SealDriverError(code: .invalidArgument, reason: "an empty APDU")
            }
            let reply = try await run(.xfrBlock(bwi: 0, levelParameter: 0, data: apdu))
            guard case .dataBlock(_, _, _, let data) = reply.kind else {
                throw USBError(code: .unexpectedMessage, reason: "\(reply.kind.name) to an XfrBlock").driverError
            }
            return data
        }
    }

    /// Powers the token off (if powered) and closes the pipe. The transport cannot be used again.
    public func close() async {
        await exclusively { () async -> Void in
            guard !closed else { return }
            if powered && !unresponsive { _ = try? await run(.iccPowerOff) }
            powered = false
            closed = true
            await pipe.close()
        }
    }

    /// Sends any PC_to_RDR command and returns the reader's reply, with the session's checks
    /// (sequence, slot, type, failures). For diagnostics and reader-specific commands
    /// (`GetSlotStatus`, `GetParameters`, `Escape`).
    ///
    /// - Throws: `SealDriverError` as ``transmit(_:)``.
    package func send(_ command: CCIDMessage.Kind) async throws -> CCIDMessage {
        try await exclusively { () async throws(SealDriverError) -> CCIDMessage in
            guard !closed else { throw Self.closedError }
            return try await run(command)
        }
    }

    /// Waits for one message on the interrupt endpoint (`RDR_to_PC_NotifySlotChange`,
    /// `RDR_to_PC_HardwareError`). Does not take the bulk lock, so it may run alongside commands.
    ///
    /// - Throws: `SealDriverError`: `noResponse` when nothing came in time, `transportFailure`
    ///   for pipes without an interrupt endpoint or a malformed message.
    package func waitForInterrupt(timeout: Duration) async throws -> CCIDInterruptMessage {
        do {
            let bytes = try await pipe.readInterrupt(maxLength: 64, timeout: timeout)
            return try CCIDInterruptMessage(decoding: bytes)
        } catch let error as ReaderWireError {
            throw USBError(code: .malformedMessage, reason: "interrupt IN: \(error)").driverError
        } catch {
            throw Self.driverError(error)
        }
    }

    // MARK: Internals

    private static var closedError: SealDriverError {
        USBError(code: .connectionClosed, reason: "the CCID transport was closed").driverError
    }

    private func checkReader() throws(SealDriverError) {
        guard !closed else { throw Self.closedError }
        guard let ccid = reader?.ccid else { return }
        let level = ccid.exchangeLevel
        let feature = CCIDClassDescriptor.Feature.self
        guard level == feature.shortAPDULevelExchange || level == feature.extendedAPDULevelExchange else {
            let what = level == feature.tpduLevelExchange ? "TPDU" : "character"
            throw USBError(code: .unsupportedReader,
                            reason: "the reader exchanges at \(what) level (dwFeatures \(hexString(bigEndianBytes(ccid.features))))").driverError
        }
    }

    private func powerOn() async throws(SealDriverError) -> [UInt8] {
        let reply = try await run(.iccPowerOn(.automatic))
        guard case .dataBlock(_, _, _, let atr) = reply.kind, !atr.isEmpty else {
            throw USBError(code: .malformedMessage, reason: "IccPowerOn answered without an ATR").driverError
        }
        powered = true
        return atr
    }

    /// Runs one command through the session over the pipe.
    private func run(_ command: CCIDMessage.Kind) async throws(SealDriverError) -> CCIDMessage {
        do {
            try Task.checkCancellation()
            let deadline = ContinuousClock.now + configuration.commandTimeout
            let first = try session.start(command)
            // The usual round trip runs on this thread, with no await (USB/IP: one write of both
            // URBs, one read of both returns); the pipe says when it needs the async path instead.
            var answer: [UInt8]?
            switch try pipe.exchangeDirectly(first, timeout: configuration.commandTimeout) {
            case .answer(let bytes): answer = bytes
            case .written: break
            case .unavailable: try await pipe.write(first, timeout: configuration.commandTimeout)
            }
            var timeout = configuration.replyTimeout
            while true {
                switch try session.next() {
                case .read:
                    if let bytes = answer {
                        answer = nil
                        try session.receive(bytes)
                        continue
                    }
                    let remaining = deadline - ContinuousClock.now
                    guard remaining > .zero else {
                        throw USBError(code: .timeout,
                                       reason: "\(command.name): no complete reply within the command timeout of \(configuration.commandTimeout)")
                    }
                    let chunk = try await pipe.read(maxLength: session.maximumMessageLength, timeout: min(timeout, remaining))
                    try session.receive(chunk)
                case .timeExtension(let multiplier):
                    timeout = configuration.replyTimeout * max(1, Int(multiplier))
                case .write(let bytes):
                    let remaining = deadline - ContinuousClock.now
                    guard remaining > .zero else {
                        throw USBError(code: .timeout,
                                       reason: "\(command.name): no complete reply within the command timeout of \(configuration.commandTimeout)")
                    }
                    try await pipe.write(bytes, timeout: remaining)
                    timeout = configuration.replyTimeout
                case .completed(let reply):
                    unresponsive = false
                    return reply
                }
            }
        } catch let error as USBError {
            session.abandon()
            if error.driverCode == .cardRemoved { powered = false }
            unresponsive = Self.isUnresponsive(error)
            throw error.driverError
        } catch {
            session.abandon()
            let mapped = Self.driverError(error)
            if mapped.code == .cardRemoved { powered = false }
            unresponsive = Self.isUnresponsive(error)
            throw mapped
        }
    }

    /// A reader that let a command time out, or a pipe that broke, is not asked to power off on close.
    private static func isUnresponsive(_ error: any Error) -> Bool {
        guard let error = error as? USBError else { return false }
        return [.timeout, .connectionClosed, .deviceGone].contains(error.code)
    }

    private static func driverError(_ error: any Error) -> SealDriverError {
        switch error {
        case let error as SealDriverError: error
        case let error as USBError: error.driverError
        case is CancellationError: SealDriverError(code: .transportFailure, reason: "cancelled", underlyingError: error)
        default: SealDriverError(code: .transportFailure, reason: "\(error)", underlyingError: error)
        }
    }

    /// Runs `body` when no other call is in flight (the actor is reentrant across the pipe's
    /// awaits; CCID allows one command at a time).
    private func exclusively<T: Sendable, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        while busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            busy = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}
