import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite

/// `MAX_BUFFER_SIZE_EXTENDED` from `<pcsclite.h>` (4 + 3 + 2^16 + 3 + 2), which Swift does not import
/// because the macro is an expression. Receive buffers of this size hold any extended-length
/// response (65 536 data bytes + SW1 SW2 = 65 538).
let pcscMaxBufferSizeExtended = PCSCTransport.maxAPDULength

/// An `SCARDCONTEXT`: one connection of this process to pcscd.
///
/// Not `Sendable` and not thread-safe: pcsc-lite serialises calls per context, so every thread or
/// actor that talks to PC/SC owns its own context (the transport one per connection, the monitor
/// one per iteration, ``PCSCReaders/list()`` one per call). The only call made on a context from
/// another thread is `SCardCancel`, through ``PCSCMonitorControl``. Released on `deinit`.
final class PCSCContext {
    let handle: SCARDCONTEXT

    private init(handle: SCARDCONTEXT) { self.handle = handle }

    deinit { _ = SCardReleaseContext(handle) }

    /// `SCardEstablishContext(SCARD_SCOPE_SYSTEM)`.
    ///
    /// - Throws: ``PCSCError/Code-swift.struct/serviceUnavailable`` when pcscd is not running.
    static func establish() throws(PCSCError) -> PCSCContext {
        var handle = SCARDCONTEXT()
        let rv = SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &handle)
        guard rv == PCSCReturnCode.success else { throw PCSCReturnCode.error(rv, "SCardEstablishContext") }
        return PCSCContext(handle: handle)
    }

    /// The reader names, in pcscd's order; empty when no reader is connected.
    func listReaders() throws(PCSCError) -> [String] {
        // The list can grow between the size query and the read: retry on SCARD_E_INSUFFICIENT_BUFFER.
        for _ in 0..<4 {
            var length = DWORD(0)
            var rv = SCardListReaders(handle, nil, nil, &length)
            if rv == LONG(SCARD_E_NO_READERS_AVAILABLE) { return [] }
            guard rv == PCSCReturnCode.success else { throw PCSCReturnCode.error(rv, "SCardListReaders") }
            var buffer = [CChar](repeating: 0, count: max(Int(length), 2))
            length = DWORD(buffer.count)
            rv = buffer.withUnsafeMutableBufferPointer { SCardListReaders(handle, nil, $0.baseAddress, &length) }
            if rv == LONG(SCARD_E_NO_READERS_AVAILABLE) { return [] }
            if rv == LONG(SCARD_E_INSUFFICIENT_BUFFER) { continue }
            guard rv == PCSCReturnCode.success else { throw PCSCReturnCode.error(rv, "SCardListReaders") }
            let used = min(Int(length), buffer.count)
            return PCSCMultiString.parse(buffer[..<used].map { UInt8(bitPattern: $0) })
        }
        throw PCSCError(code: .failure, reason: "SCardListReaders: the reader list kept changing while it was read")
    }

    /// One reader slot of an `SCardGetStatusChange` call.
    struct StatusQuery {
        var reader: String
        /// `dwCurrentState`: what the caller believes (`SCARD_STATE_UNAWARE` = 0 to just ask).
        var currentState: DWORD
        /// `dwEventState` after the call.
        var eventState: DWORD = 0
        /// The ATR after the call (empty without a card).
        var atr: [UInt8] = []
    }

    /// `SCardGetStatusChange(timeout, queries)`; fills ``StatusQuery/eventState`` and
    /// ``StatusQuery/atr`` and returns the raw return code (callers decide what `SCARD_E_TIMEOUT`
    /// and `SCARD_E_CANCELLED` mean). Blocks up to `timeoutMilliseconds`.
    func getStatusChange(_ queries: inout [StatusQuery], timeoutMilliseconds: DWORD) -> LONG {
        // The C strings must outlive the call: copy them into buffers we free afterwards.
        let names: [UnsafeMutablePointer<CChar>] = queries.map { query in
            let utf8 = query.reader.utf8CString
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
            utf8.withUnsafeBufferPointer { source in
                for index in 0..<source.count { pointer[index] = source[index] }
            }
            return pointer
        }
        defer { names.forEach { $0.deallocate() } }

        var states = [SCARD_READERSTATE](repeating: SCARD_READERSTATE(), count: queries.count)
        for index in states.indices {
            states[index].szReader = UnsafePointer(names[index])
            states[index].dwCurrentState = queries[index].currentState
        }
        let rv = states.withUnsafeMutableBufferPointer { buffer in
            SCardGetStatusChange(handle, timeoutMilliseconds, buffer.baseAddress, DWORD(buffer.count))
        }
        for index in states.indices {
            var state = states[index]
            queries[index].eventState = state.dwEventState
            let count = min(Int(state.cbAtr), MemoryLayout.size(ofValue: state.rgbAtr))
            queries[index].atr = withUnsafeBytes(of: &state.rgbAtr) { Array($0.prefix(count)) }
        }
        return rv
    }

    /// The current state of each reader (`SCardGetStatusChange` with `SCARD_STATE_UNAWARE` and
    /// timeout 0). Readers that vanished meanwhile are left out.
    func readerInfos(_ names: [String]) throws(PCSCError) -> [PCSCReaderInfo] {
        var infos: [PCSCReaderInfo] = []
        for name in names {
            // One reader per call: one unknown (just unplugged) reader must not hide the others.
            var queries = [StatusQuery(reader: name, currentState: DWORD(SCARD_STATE_UNAWARE))]
            let rv = getStatusChange(&queries, timeoutMilliseconds: 0)
            if rv == LONG(SCARD_E_UNKNOWN_READER) || rv == LONG(SCARD_E_READER_UNAVAILABLE) { continue }
            // With UNAWARE every reader reports a change, so success is the normal answer; the states
            // are filled on SCARD_E_TIMEOUT too.
            guard rv == PCSCReturnCode.success || rv == LONG(SCARD_E_TIMEOUT) else {
                throw PCSCReturnCode.error(rv, "SCardGetStatusChange", reader: name)
            }
            let word = queries[0].eventState
            let state = PCSCReaderState(pcscStateWord: word).subtracting(.changed)
            if state.contains(.unknown) || state.contains(.ignore) { continue }
            infos.append(PCSCReaderInfo(name: name, state: state,
                                        atr: state.contains(.present) ? queries[0].atr : nil,
                                        eventCount: PCSCReaderState.eventCount(ofStateWord: word)))
        }
        return infos
    }
}
#endif
