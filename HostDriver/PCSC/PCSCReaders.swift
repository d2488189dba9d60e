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
        let result = await PCSCSerialExecutor.runBlocking(label: "SealKit.PCSC.list") { () -> Result<[PCSCReaderInfo], PCSCError> in
            do throws(PCSCError) {
                let context = try PCSCContext.establish()
                return .success(try context.readerInfos(context.listReaders()))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
        #else
        throw PCSCError(code: .platformUnsupported, reason: "built without libpcsclite")
        #endif
    }

    /// The reader names only (`SCardListReaders`); empty when no reader is connected.
    ///
    /// - Throws: as ``list()``.
    public static func names() async throws(PCSCError) -> [String] {
        #if canImport(CPCSCLite)
        let result = await PCSCSerialExecutor.runBlocking(label: "SealKit.PCSC.names") { () -> Result<[String], PCSCError> in
            do throws(PCSCError) {
                return .success(try PCSCContext.establish().listReaders())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
        #else
        throw PCSCError(code: .platformUnsupported, reason: "built without libpcsclite")
        #endif
    }
}
