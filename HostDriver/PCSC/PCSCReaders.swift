import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite
#endif

/// Reader discovery through PC/SC.
///
/// ```swift
/// for reader in try await PCSCReaders.list() {
///     print(reader.name, reader.isCardPresent ? hexString(reader.atr ?? []) : "(no card)")
/// }
/// ```
public enum PCSCReaders {
    /// The readers pcscd knows, in its order, with their state and the ATR of any card present.
    ///
    /// The PC/SC calls run on a private serial queue with their own short-lived context
    /// (`SCardEstablishContext`, `SCardListReaders`, `SCardGetStatusChange` with
    /// `SCARD_STATE_UNAWARE` and timeout 0, `SCardReleaseContext`); they never block the caller's
    /// executor.
    ///
    /// - Returns: an empty array when no reader is connected (`SCARD_E_NO_READERS_AVAILABLE` is not
    ///   an error).
    /// - Throws: ``PCSCError/Code-swift.struct/serviceUnavailable`` when pcscd is not running;
    ///   ``PCSCError/Code-swift.struct/platformUnsupported`` on builds without libpcsclite.
    public static func list() async throws(PCSCError) -> [PCSCReaderInfo] {
        #if canImport(CPCSCLite)
        try await withContext(label: "SealKit.PCSC.list") { context throws(PCSCError) in
            try context.readerInfos(context.listReaders())
        }
        #else
        throw PCSCError(code: .platformUnsupported, reason: "built without libpcsclite")
        #endif
    }

    /// The reader names only (`SCardListReaders`); empty when no reader is connected.
    ///
    /// - Throws: as ``list()``.
    public static func names() async throws(PCSCError) -> [String] {
        #if canImport(CPCSCLite)
        try await withContext(label: "SealKit.PCSC.names") { context throws(PCSCError) in
            try context.listReaders()
        }
        #else
        throw PCSCError(code: .platformUnsupported, reason: "built without libpcsclite")
        #endif
    }

    #if canImport(CPCSCLite)
    /// Runs `body` with a fresh context on a thread of its own (PC/SC calls block).
    private static func withContext<T: Sendable>(
        label: String, _ body: @escaping @Sendable (PCSCContext) throws(PCSCError) -> T
    ) async throws(PCSCError) -> T {
        let result = await PCSCSerialExecutor.runBlocking(label: label) { () -> Result<T, PCSCError> in
            do throws(PCSCError) {
                return .success(try body(try PCSCContext.establish()))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
    #endif
}
