import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite
#endif

/// A `CardTransport` to a seal token in a PC/SC reader (pcsc-lite on Linux).
///
/// ```swift
/// let reader = try await PCSCTransport.resolve(readerQuery: "00 00")   // "Virtual PCD 00 00"
/// let token = SealToken(transport: PCSCTransport(readerName: reader), secureChannel: SecureChannelSettings(trustedVendorRoots: [vendorRoot]))
/// ```
///
/// - **Protocol**: T=1 only. ``connect()`` asks for `SCARD_PROTOCOL_T1` and refuses cards that only
///   offer T=0 with `SealDriverError.Code.notSupportedByToken`.
/// - **Threads**: the actor runs on its own serial dispatch queue, so the blocking PC/SC calls never
///   occupy the cooperative pool; it owns its own `SCARDCONTEXT`, established by ``connect()`` and
///   released by ``disconnect()`` and ``close()`` (or, failing that, when the transport is
///   deallocated — call `SealToken.close()` rather than relying on it, so the card and the
///   context are released at a known point).
/// - **Resets by others**: when another application resets the card (`SCARD_W_RESET_CARD`), the
///   transport reconnects with `SCARD_LEAVE_CARD` and retries the call once (see
///   ``recoveredResets``). The token's volatile state (PIN verification, issuer authentication) is
///   lost then, so a following command may be refused with a status word.
/// - **Errors**: the `CardTransport` methods throw `SealDriverError`, mapped from ``PCSCError``
///   by ``PCSCError/driverError``: a removed or missing card is `cardRemoved`; a mute card is
///   `noResponse`; pcscd not running, an unplugged reader or a sharing violation is
///   `transportFailure` whose message says what to do; an unknown reader name is `invalidArgument`.
///   Calling ``transmit(_:)`` before ``connect()`` is `notConnected`.
public actor PCSCTransport: CardTransport {
    /// The PC/SC reader name; also the transport's `CardTransport.name`.
    public nonisolated let name: String
    /// How the reader is shared with other applications.
    public nonisolated let shareMode: ShareMode
    /// What ``disconnect()`` does to the card.
    public nonisolated let disconnectDisposition: DisconnectDisposition

    private let executor: PCSCSerialExecutor
    #if canImport(CPCSCLite)
    private var connection: PCSCCardConnection?
    private var resetsBeforeCurrentConnection = 0
    #endif

    /// The actor's executor: its private serial queue.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    /// Creates a transport for the reader named exactly `readerName` (see
    /// ``resolve(readerQuery:)`` to find it from part of the name). Nothing is contacted until
    /// ``connect()``.
    ///
    /// - Parameters:
    ///   - readerName: the PC/SC reader name, e.g. `"Virtual PCD 00 00"`.
    ///   - shareMode: ``ShareMode/shared`` (default) or ``ShareMode/exclusive``.
    ///   - disconnectDisposition: what ``disconnect()`` does to the card; ``DisconnectDisposition/leave``
    ///     by default, ``DisconnectDisposition/unpower`` to power it off.
    public init(readerName: String, shareMode: ShareMode = .shared,
                disconnectDisposition: DisconnectDisposition = .leave) {
        self.name = readerName
        self.shareMode = shareMode
        self.disconnectDisposition = disconnectDisposition
        self.executor = PCSCSerialExecutor(label: "SealKit.PCSC.transport(\(readerName))")
    }

    // MARK: Reader resolution

    /// Resolves a reader query against the readers pcscd knows right now.
    ///
    /// An exact name wins; otherwise a name equal ignoring case; otherwise the one reader whose name
    /// contains `readerQuery` ignoring case (so `"00 01"` finds `"Virtual PCD 00 01"`).
    ///
    /// - Throws: ``PCSCError/Code-swift.struct/readerNotFound`` (its ``PCSCError/readers`` and
    ///   message list the readers), ``PCSCError/Code-swift.struct/readerAmbiguous`` (listing the
    ///   matches), ``PCSCError/Code-swift.struct/invalidArgument`` for an empty query,
    ///   ``PCSCError/Code-swift.struct/serviceUnavailable`` when pcscd is not running.
    public static func resolve(readerQuery: String) async throws(PCSCError) -> String {
        try resolve(readerQuery: readerQuery, among: try await PCSCReaders.names())
    }

    /// Resolves a reader query against the given reader names; the rules and errors are those of
    /// ``resolve(readerQuery:)``.
    package static func resolve(readerQuery: String, among readers: [String]) throws(PCSCError) -> String {
        try PCSCReaderQuery.resolve(readerQuery, among: readers)
    }

    // MARK: State

    /// Whether the transport holds a connection to the card.
    public var isConnected: Bool {
        #if canImport(CPCSCLite)
        return connection != nil
        #else
        return false
        #endif
    }

    /// How often a reset of the card by another application (`SCARD_W_RESET_CARD`) was recovered
    /// from by reconnecting and retrying, over the transport's life.
    public var recoveredResets: Int {
        #if canImport(CPCSCLite)
        return resetsBeforeCurrentConnection + (connection?.recoveredResets ?? 0)
        #else
        return 0
        #endif
    }

    // MARK: CardTransport

    /// Connects to the card with T=1 (`SCardConnect`) and returns its ATR (`SCardStatus`). On a
    /// connected transport this is ``reset()``.
    ///
    /// - Throws: `SealDriverError`: `cardRemoved` when the reader is empty, `notSupportedByToken`
    ///   for a card without T=1, `noResponse` for a mute card, `invalidArgument` for an unknown
    ///   reader (the reason lists the readers), `transportFailure` when pcscd is not running, the
    ///   reader is unavailable or held exclusively by someone else.
    public func connect() async throws -> [UInt8] {
        #if canImport(CPCSCLite)
        if connection != nil { return try await reset() }
        do throws(PCSCError) {
            let context = try PCSCContext.establish()
            let connection = try PCSCCardConnection.connect(context: context, reader: name,
                                                            exclusive: shareMode == .exclusive)
            self.connection = connection
            return try connection.atr()
        } catch {
            drop()
            throw error.driverError
        }
        #else
        throw Self.unsupported
        #endif
    }

    /// Warm-resets the card (`SCardReconnect` with `SCARD_RESET_CARD`) and returns its ATR. On a
    /// transport that is not connected this is ``connect()``.
    ///
    /// - Throws: as ``connect()``; a removed card also disconnects the transport.
    public func reset() async throws -> [UInt8] {
        #if canImport(CPCSCLite)
        guard let connection else { return try await connect() }
        do throws(PCSCError) {
            try connection.reconnect(DWORD(SCARD_RESET_CARD))
            return try connection.atr()
        } catch {
            dropIfGone(error)
            throw error.driverError
        }
        #else
        throw Self.unsupported
        #endif
    }

    /// Disconnects (`SCardDisconnect` with ``disconnectDisposition``) and releases the PC/SC
    /// context. Never fails; calling it twice is harmless.
    public func disconnect() async {
        #if canImport(CPCSCLite)
        connection?.disconnect(disconnectDisposition.pcscValue)
        drop()
        #endif
    }

    /// Disconnects the card (`SCardDisconnect` with ``disconnectDisposition``) and releases the
    /// PC/SC context (`SCardReleaseContext`): the transport then holds nothing of pcscd's.
    /// `SealToken.close()` calls it. Never fails; calling it twice is harmless.
    public func close() async {
        await disconnect()
    }

    /// Sends one APDU (`SCardTransmit` with the T=1 PCI, 65 548-byte receive buffer, so extended
    /// APDUs work) and returns the complete response. Retries once after a reset by another
    /// application.
    ///
    /// - Throws: `SealDriverError`: `notConnected` before ``connect()``; `invalidArgument` for an
    ///   empty APDU, one longer than 65 548 bytes, or a 1-byte APDU to a vpcd reader
    ///   (`Virtual PCD …`, whose protocol cannot carry it); `noResponse` when the card did not
    ///   answer (the command may or may not have run); `cardRemoved` when the card was pulled (the
    ///   transport is then disconnected); `transportFailure` for an
    ///   unplugged reader, pcscd gone, or other PC/SC failures.
    public func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        try validate(apdu)
        #if canImport(CPCSCLite)
        guard let connection else { throw notConnected("transmit") }
        do throws(PCSCError) {
            return try connection.transmit(apdu)
        } catch {
            dropIfGone(error)
            throw error.driverError
        }
        #else
        throw notConnected("transmit")
        #endif
    }

    /// Runs `body` inside a PC/SC transaction (`SCardBeginTransaction` …
    /// `SCardEndTransaction(SCARD_LEAVE_CARD)`), so that other applications sharing the reader cannot
    /// interleave their commands with a multi-APDU operation. The transaction always ends, also when
    /// `body` throws or the task is cancelled.
    ///
    /// - Throws: `SealDriverError.Code.notConnected` before ``connect()``; the mapped
    ///   PC/SC error when the transaction cannot begin (after one retry following a reset by
    ///   another application); whatever `body` throws.
    public nonisolated(nonsending) func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await beginTransaction()
        do {
            let result = try await body()
            await endTransaction()
            return result
        } catch {
            await endTransaction()
            throw error
        }
    }

    // MARK: Internals

    /// Whether the reader belongs to vsmartcard's vpcd driver (its readers are named
    /// `Virtual PCD <n> <slot>` by the `FRIENDLYNAME` of its reader.conf entry).
    private nonisolated var isVirtualPCD: Bool { name.hasPrefix("Virtual PCD") }

    private func beginTransaction() throws {
        #if canImport(CPCSCLite)
        guard let connection else { throw notConnected("withTransaction") }
        do throws(PCSCError) {
            try connection.beginTransaction()
        } catch {
            dropIfGone(error)
            throw error.driverError
        }
        #else
        throw notConnected("withTransaction")
        #endif
    }

    private nonisolated func notConnected(_ call: String) -> SealDriverError {
        SealDriverError(code: .notConnected, reason: "\(name): \(call) before connect()")
    }

    /// Refuses, before anything is sent, APDUs that PC/SC cannot carry.
    private nonisolated func validate(_ apdu: [UInt8]) throws {
        guard !apdu.isEmpty, apdu.count <= Self.maxAPDULength else {
            throw SealDriverError(code: .invalidArgument,
                                  reason: "an APDU of \(apdu.count) bytes (PC/SC accepts 1 to \(Self.maxAPDULength))")
        }
        guard apdu.count > 1 || !isVirtualPCD else {
            // vpcd frames a 1-byte payload as a control message (00 off, 01 on, 02 reset, 04 ATR), so
            // the virtual card never answers, SCardTransmit never returns, and pcscd blocks the
            // reader for every client until the virtual card disconnects (measured with pcsc-lite
            // 1.9.9 + vsmartcard-vpcd 3.3).
            throw SealDriverError(code: .invalidArgument,
                                  reason: "a 1-byte command cannot go through vpcd (\(name)): vpcd reads 1-byte frames as control messages, so the virtual card would never answer and pcscd would block the reader")
        }
    }

    /// `MAX_BUFFER_SIZE_EXTENDED`, the longest APDU (and response) PC/SC carries.
    static let maxAPDULength = 65_548

    private func endTransaction() {
        #if canImport(CPCSCLite)
        connection?.endTransaction()
        #endif
    }

    #if canImport(CPCSCLite)
    /// Forgets the connection (its `deinit` disconnects if still needed, then releases the context).
    private func drop() {
        if let connection { resetsBeforeCurrentConnection += connection.recoveredResets }
        connection = nil
    }

    /// After a failure that makes the handle useless (card removed, reader gone, pcscd gone), drops
    /// the connection so that the next ``connect()`` starts afresh.
    private func dropIfGone(_ error: PCSCError) {
        switch error.code {
        case .cardRemoved, .noCard, .readerUnavailable, .readerNotFound, .serviceUnavailable:
            connection?.disconnect(DWORD(SCARD_LEAVE_CARD))
            drop()
        default:
            break
        }
    }
    #else
    private static var unsupported: SealDriverError {
        PCSCError(code: .platformUnsupported, reason: "built without libpcsclite").driverError
    }
    #endif
}
