/// A connection to one seal token: a PC/SC reader slot, a USB CCID device, or the in-process simulator.
///
/// A transport moves raw APDU bytes and nothing else. ISO 7816 response handling (GET RESPONSE on
/// `61xx`, re-sending on `6Cxx`, command chaining, extended lengths) is the job of ``APDUPipeline``,
/// so every transport gets it for free and behaves identically.
///
/// Conforming types are classes or actors (`AnyObject`): a transport owns a physical or simulated
/// session, which has identity. They must be `Sendable` because a ``SealToken`` (an actor) holds one.
///
/// ## Errors
/// Implementations should throw ``SealDriverError`` with code
/// ``SealDriverError/Code-swift.struct/transportFailure``,
/// ``SealDriverError/Code-swift.struct/cardRemoved`` or ``SealDriverError/Code-swift.struct/noResponse``,
/// keeping their own error in ``SealDriverError/underlyingError`` (as `PCSCError/driverError` and
/// `USBError/driverError` do). ``SealToken`` and the pipeline wrap any other error (except
/// `CancellationError`) as `transportFailure`, so a token's callers meet one error type.
///
/// ## Closing
/// ``close()`` releases everything the transport holds; ``SealToken/close()`` calls it. The
/// backends implement it: `PCSCTransport` disconnects the card and releases its PC/SC context,
/// `CCIDTransport` powers the token off and closes its pipe (the libusb handle or the USB/IP
/// connection), `InProcessTransport` powers the simulated chip off.
///
/// ## Actors
/// An actor implements ``name`` as a `nonisolated let`. ``withTransaction(_:)`` is
/// `nonisolated(nonsending)`: the body runs on the caller's executor, so an actor implementation
/// brackets it with its own isolated begin/end calls, e.g.
///
/// ```swift
/// public nonisolated(nonsending) func withTransaction<T: Sendable>(
///     _ body: () async throws -> T
/// ) async throws -> T {
///     try await beginTransaction()            // isolated: SCardBeginTransaction
///     do {
///         let result = try await body()
///         await endTransaction()              // isolated: SCardEndTransaction
///         return result
///     } catch {
///         await endTransaction()
///         throw error
///     }
/// }
/// ```
public protocol CardTransport: AnyObject, Sendable {
    /// A human-readable name for logs and `sealctl`, e.g. the PC/SC reader name.
    var name: String { get }

    /// Powers the token on (or connects to it) and returns its Answer-to-Reset.
    ///
    /// Calling `connect()` on a connected transport should behave like ``reset()``.
    func connect() async throws -> [UInt8]

    /// Warm-resets the token and returns its Answer-to-Reset. All volatile state on the chip is lost
    /// (SPEC §2.3): selection, PIN verification, issuer authentication, pending responses.
    func reset() async throws -> [UInt8]

    /// Disconnects (powers the token off). Never fails; calling it twice is harmless. The transport
    /// stays usable: ``connect()`` powers the token on again.
    func disconnect() async

    /// Disconnects and releases what the transport holds (a PC/SC context, a USB device handle, a
    /// USB/IP connection). The transport is not used again. Never fails; calling it twice is
    /// harmless. ``SealToken/close()`` calls it.
    func close() async

    /// Sends one command APDU exactly as given and returns the complete response APDU (`data SW1 SW2`).
    ///
    /// The transport must not interpret status words. It throws when nothing comes back; an empty
    /// return value is treated by the pipeline as ``SealDriverError/Code-swift.struct/noResponse``.
    ///
    /// `nonisolated(nonsending)`: it runs on the caller's executor, so an in-process transport
    /// answers without a thread hop per APDU; transports that block (PC/SC, sockets) move the
    /// blocking call to their own thread themselves.
    nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8]

    /// Runs `body` with exclusive access to the token (PC/SC: `SCardBeginTransaction` /
    /// `SCardEndTransaction`), so that multi-APDU sequences such as GET CHALLENGE + EXTERNAL
    /// AUTHENTICATE are not interleaved with other applications' commands.
    ///
    /// The default implementation simply runs `body`: in-process transports have no other users.
    /// Transactions are not nested by ``SealToken``.
    nonisolated(nonsending) func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T
}

extension CardTransport {
    /// Disconnects: for transports that hold nothing beyond the connection.
    public func close() async {
        await disconnect()
    }

    /// Runs `body` without any locking; suitable for transports that have a single user.
    public nonisolated(nonsending) func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await body()
    }
}
