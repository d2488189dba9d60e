import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite

/// PC/SC return codes (`LONG`) and their mapping to ``PCSCError``.
///
/// On Linux x86-64 `LONG` is `Int` (C `long`) and the `SCARD_E_*` macros, written as
/// `((LONG)0x8010001D)`, import as positive `Int`s; the functions return the same positive values.
/// So codes are only ever compared with the imported constants, never with `Int32` literals.
enum PCSCReturnCode {
    /// Known return codes with their names and the ``PCSCError`` code they map to.
    static let table: [(value: LONG, name: String, code: PCSCError.Code)] = [
        (LONG(SCARD_E_NO_SERVICE), "SCARD_E_NO_SERVICE", .serviceUnavailable),
        (LONG(SCARD_E_SERVICE_STOPPED), "SCARD_E_SERVICE_STOPPED", .serviceUnavailable),
        (LONG(SCARD_E_UNKNOWN_READER), "SCARD_E_UNKNOWN_READER", .readerNotFound),
        (LONG(SCARD_E_NO_READERS_AVAILABLE), "SCARD_E_NO_READERS_AVAILABLE", .readerNotFound),
        (LONG(SCARD_E_READER_UNAVAILABLE), "SCARD_E_READER_UNAVAILABLE", .readerUnavailable),
        (LONG(SCARD_E_NO_SMARTCARD), "SCARD_E_NO_SMARTCARD", .noCard),
        (LONG(SCARD_W_REMOVED_CARD), "SCARD_W_REMOVED_CARD", .cardRemoved),
        (LONG(SCARD_W_RESET_CARD), "SCARD_W_RESET_CARD", .cardReset),
        (LONG(SCARD_W_UNRESPONSIVE_CARD), "SCARD_W_UNRESPONSIVE_CARD", .cardUnresponsive),
        (LONG(SCARD_W_UNPOWERED_CARD), "SCARD_W_UNPOWERED_CARD", .cardUnresponsive),
        (LONG(SCARD_E_PROTO_MISMATCH), "SCARD_E_PROTO_MISMATCH", .protocolNotSupported),
        (LONG(SCARD_W_UNSUPPORTED_CARD), "SCARD_W_UNSUPPORTED_CARD", .cardUnsupported),
        (LONG(SCARD_E_CARD_UNSUPPORTED), "SCARD_E_CARD_UNSUPPORTED", .cardUnsupported),
        (LONG(SCARD_E_SHARING_VIOLATION), "SCARD_E_SHARING_VIOLATION", .sharingViolation),
        (LONG(SCARD_E_TIMEOUT), "SCARD_E_TIMEOUT", .timeout),
        (LONG(SCARD_E_CANCELLED), "SCARD_E_CANCELLED", .cancelled),
        (LONG(SCARD_E_INVALID_HANDLE), "SCARD_E_INVALID_HANDLE", .failure),
        (LONG(SCARD_E_INVALID_PARAMETER), "SCARD_E_INVALID_PARAMETER", .failure),
        (LONG(SCARD_E_INVALID_VALUE), "SCARD_E_INVALID_VALUE", .failure),
        (LONG(SCARD_E_INSUFFICIENT_BUFFER), "SCARD_E_INSUFFICIENT_BUFFER", .failure),
        (LONG(SCARD_E_NOT_TRANSACTED), "SCARD_E_NOT_TRANSACTED", .cardUnresponsive),
        (LONG(SCARD_E_NOT_READY), "SCARD_E_NOT_READY", .failure),
        (LONG(SCARD_E_NO_MEMORY), "SCARD_E_NO_MEMORY", .failure),
        (LONG(SCARD_E_SERVER_TOO_BUSY), "SCARD_E_SERVER_TOO_BUSY", .failure),
        (LONG(SCARD_E_COMM_DATA_LOST), "SCARD_E_COMM_DATA_LOST", .failure),
        (LONG(SCARD_E_UNEXPECTED), "SCARD_E_UNEXPECTED", .failure),
        (LONG(SCARD_F_COMM_ERROR), "SCARD_F_COMM_ERROR", .serviceUnavailable),
        (LONG(SCARD_F_INTERNAL_ERROR), "SCARD_F_INTERNAL_ERROR", .failure),
        (LONG(SCARD_F_UNKNOWN_ERROR), "SCARD_F_UNKNOWN_ERROR", .failure),
        (LONG(SCARD_F_WAITED_TOO_LONG), "SCARD_F_WAITED_TOO_LONG", .failure),
    ]

    /// `SCARD_S_SUCCESS`.
    static let success = LONG(SCARD_S_SUCCESS)

    /// The 32-bit value of a return code, e.g. `0x8010001D`.
    static func value(_ rv: LONG) -> UInt32 { UInt32(truncatingIfNeeded: rv) }

    /// `"SCARD_E_NO_SERVICE (0x8010001D)"`, or just the hex value for unknown codes.
    static func describe(_ rv: LONG) -> String {
        let hex = "0x" + String(value(rv), radix: 16, uppercase: true)
        guard let entry = table.first(where: { $0.value == rv }) else {
            return rv == success ? "SCARD_S_SUCCESS (0x0)" : hex
        }
        return "\(entry.name) (\(hex))"
    }

    /// The ``PCSCError`` code a return code maps to (``PCSCError/Code-swift.struct/failure`` for
    /// unknown codes).
    static func errorCode(_ rv: LONG) -> PCSCError.Code {
        table.first(where: { $0.value == rv })?.code ?? .failure
    }

    /// The error for a failed PC/SC call, e.g.
    /// `SCardConnect("Virtual PCD 00 00"): SCARD_E_NO_SMARTCARD (0x8010000C)`.
    static func error(_ rv: LONG, _ function: String, reader: String? = nil, readers: [String] = []) -> PCSCError {
        let subject = reader.map { "(\"\($0)\")" } ?? ""
        return PCSCError(code: errorCode(rv), reason: "\(function)\(subject): \(describe(rv))",
                         reader: reader, returnCode: value(rv), readers: readers)
    }
}
#endif
