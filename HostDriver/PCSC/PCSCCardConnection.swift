import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite

/// An `SCARDHANDLE` to the card in one reader, connected with T=1, plus the context it belongs to.
///
/// Confined to one ``PCSCTransport`` (its worker thread); not thread-safe. `deinit` disconnects
/// with `SCARD_LEAVE_CARD` if ``disconnect(_:)`` was not called, then the context is released.
final class PCSCCardConnection {
    let context: PCSCContext
    let reader: String
    private let shareMode: DWORD
    private var handle: SCARDHANDLE
    private var connected = true
    private var receiveBuffer = [UInt8](repeating: 0, count: pcscMaxBufferSizeExtended)
    /// How often a `SCARD_W_RESET_CARD` (another application reset the card) was recovered from by
    /// reconnecting with `SCARD_LEAVE_CARD`.
    private(set) var recoveredResets = 0

    private init(context: PCSCContext, reader: String, shareMode: DWORD, handle: SCARDHANDLE) {
        self.context = context
        self.reader = reader
        self.shareMode = shareMode
        self.handle = handle
    }

    deinit {
        if connected { _ = SCardDisconnect(handle, DWORD(SCARD_LEAVE_CARD)) }
    }

    /// `SCardConnect(reader, share, SCARD_PROTOCOL_T1)`. T=0-only cards are refused.
    static func connect(context: PCSCContext, reader: String, exclusive: Bool) throws(PCSCError) -> PCSCCardConnection {
        let share = DWORD(exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED)
        var handle = SCARDHANDLE()
        var active = DWORD(0)
        let rv = SCardConnect(context.handle, reader, share, DWORD(SCARD_PROTOCOL_T1), &handle, &active)
        guard rv == PCSCReturnCode.success else {
            if rv == LONG(SCARD_E_UNKNOWN_READER) {
                let readers = (try? context.listReaders()) ?? []
                throw PCSCError(code: .readerNotFound, reason: "no reader is named \"\(reader)\"", reader: reader,
                                returnCode: PCSCReturnCode.value(rv), readers: readers)
            }
            var error = PCSCReturnCode.error(rv, "SCardConnect", reader: reader)
            if error.code == .protocolNotSupported {
                error = PCSCError(code: .protocolNotSupported,
                                  reason: "\(error.reason): the card does not offer T=1 (a T=0-only card?)",
                                  reader: reader, returnCode: error.returnCode)
            }
            throw error
        }
        let connection = PCSCCardConnection(context: context, reader: reader, shareMode: share, handle: handle)
        guard active == DWORD(SCARD_PROTOCOL_T1) else {
            connection.disconnect(DWORD(SCARD_LEAVE_CARD))
            throw PCSCError(code: .protocolNotSupported,
                            reason: "SCardConnect(\"\(reader)\") negotiated protocol \(active), not T=1", reader: reader)
        }
        return connection
    }

    /// `SCardStatus`: the card's current ATR.
    func atr() throws(PCSCError) -> [UInt8] {
        var nameBuffer = [CChar](repeating: 0, count: 512)
        var nameLength = DWORD(nameBuffer.count)
        var state = DWORD(0)
        var activeProtocol = DWORD(0)
        var atr = [UInt8](repeating: 0, count: 64)
        var atrLength = DWORD(atr.count)
        let rv = nameBuffer.withUnsafeMutableBufferPointer { names in
            atr.withUnsafeMutableBufferPointer { atrBytes in
                SCardStatus(handle, names.baseAddress, &nameLength, &state, &activeProtocol,
                            atrBytes.baseAddress, &atrLength)
            }
        }
        guard rv == PCSCReturnCode.success else { throw failure(rv, "SCardStatus") }
        return Array(atr.prefix(min(Int(atrLength), atr.count)))
    }

    /// `SCardReconnect(share, T=1, initialization)`: `SCARD_RESET_CARD` for a warm reset,
    /// `SCARD_LEAVE_CARD` to resynchronise after another application reset the card.
    func reconnect(_ initialization: DWORD) throws(PCSCError) {
        var active = DWORD(0)
        let rv = SCardReconnect(handle, shareMode, DWORD(SCARD_PROTOCOL_T1), initialization, &active)
        guard rv == PCSCReturnCode.success else { throw failure(rv, "SCardReconnect") }
        guard active == DWORD(SCARD_PROTOCOL_T1) else {
            throw PCSCError(code: .protocolNotSupported,
                            reason: "SCardReconnect(\"\(reader)\") negotiated protocol \(active), not T=1", reader: reader)
        }
    }

    /// `SCardTransmit` with the T=1 PCI and a 65 548-byte receive buffer. Retries once after
    /// reconnecting with `SCARD_LEAVE_CARD` when the card was reset by another application.
    func transmit(_ apdu: [UInt8]) throws(PCSCError) -> [UInt8] {
        var rv = transmitOnce(apdu)
        if rv.code == LONG(SCARD_W_RESET_CARD) {
            try recoverFromReset()
            rv = transmitOnce(apdu)
        }
        guard rv.code == PCSCReturnCode.success else {
            if rv.code == LONG(SCARD_E_NOT_TRANSACTED) {
                throw noAnswer("SCardTransmit(\"\(reader)\"): \(PCSCReturnCode.describe(rv.code))", returnCode: rv.code)
            }
            throw failure(rv.code, "SCardTransmit")
        }
        guard rv.length > 0 else {
            throw noAnswer("SCardTransmit(\"\(reader)\") succeeded with a 0-byte response", returnCode: nil)
        }
        return Array(receiveBuffer.prefix(min(rv.length, receiveBuffer.count)))
    }

    /// The card did not answer a command: `SCARD_E_NOT_TRANSACTED`, or success with no bytes at all.
    /// With vpcd both happen when the virtual card's socket closes (idle, or in the middle of a
    /// command) before pcscd's presence poll notices the removal. The command may or may not have
    /// run on the card. If `SCardStatus` already says the card is gone, report a removal;
    /// otherwise an unresponsive card (``PCSCError/Code-swift.struct/cardUnresponsive``).
    private func noAnswer(_ what: String, returnCode: LONG?) -> PCSCError {
        do throws(PCSCError) {
            _ = try atr()
        } catch where error.code == .cardRemoved || error.code == .noCard || error.code == .readerUnavailable {
            return PCSCError(code: error.code, reason: "\(what), then \(error.reason)", reader: reader,
                             returnCode: error.returnCode)
        } catch {}
        return PCSCError(code: .cardUnresponsive, reason: "\(what): the card did not answer", reader: reader,
                         returnCode: returnCode.map(PCSCReturnCode.value))
    }

    private func transmitOnce(_ apdu: [UInt8]) -> (code: LONG, length: Int) {
        // SCARD_PCI_T1 is `&g_rgSCardT1Pci`, a macro Swift does not import; the global itself is.
        var sendPCI = g_rgSCardT1Pci
        var length = DWORD(receiveBuffer.count)
        let rv = apdu.withUnsafeBufferPointer { send in
            receiveBuffer.withUnsafeMutableBufferPointer { receive in
                SCardTransmit(handle, &sendPCI, send.baseAddress, DWORD(send.count), nil, receive.baseAddress, &length)
            }
        }
        return (rv, Int(length))
    }

    /// `SCardBeginTransaction`, retried once after a reset by another application.
    func beginTransaction() throws(PCSCError) {
        var rv = SCardBeginTransaction(handle)
        if rv == LONG(SCARD_W_RESET_CARD) {
            try recoverFromReset()
            rv = SCardBeginTransaction(handle)
        }
        guard rv == PCSCReturnCode.success else { throw failure(rv, "SCardBeginTransaction") }
    }

    /// `SCardEndTransaction(SCARD_LEAVE_CARD)`. Returns the raw code; failures (card removed, reset)
    /// leave nothing to undo.
    @discardableResult
    func endTransaction() -> LONG {
        SCardEndTransaction(handle, DWORD(SCARD_LEAVE_CARD))
    }

    /// `SCardDisconnect(disposition)`; harmless when already disconnected.
    func disconnect(_ disposition: DWORD) {
        guard connected else { return }
        connected = false
        _ = SCardDisconnect(handle, disposition)
    }

    private func recoverFromReset() throws(PCSCError) {
        try reconnect(DWORD(SCARD_LEAVE_CARD))
        recoveredResets += 1
    }

    private func failure(_ rv: LONG, _ function: String) -> PCSCError {
        PCSCReturnCode.error(rv, function, reader: reader)
    }
}
#endif
