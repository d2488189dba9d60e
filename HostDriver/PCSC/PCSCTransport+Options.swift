import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite
#endif

extension PCSCTransport {
    /// How ``PCSCTransport`` shares the reader with other applications (`SCardConnect`'s
    /// `dwShareMode`).
    public enum ShareMode: Hashable, Sendable {
        /// `SCARD_SHARE_SHARED`: other applications may connect too. Multi-APDU operations are still
        /// atomic thanks to ``PCSCTransport/withTransaction(_:)``. The default.
        case shared
        /// `SCARD_SHARE_EXCLUSIVE`: nobody else may connect while this transport is connected
        /// (fails with a sharing violation if someone already is).
        case exclusive
    }

    /// What ``PCSCTransport/disconnect()`` does to the card (`SCardDisconnect`'s `dwDisposition`).
    public enum DisconnectDisposition: Hashable, Sendable {
        /// `SCARD_LEAVE_CARD`: leave the card as it is (other applications keep their state). The default.
        case leave
        /// `SCARD_RESET_CARD`: warm-reset the card, clearing its volatile state (PIN verification…).
        case reset
        /// `SCARD_UNPOWER_CARD`: power the card off.
        case unpower
    }
}

#if canImport(CPCSCLite)
extension PCSCTransport.DisconnectDisposition {
    var pcscValue: DWORD {
        switch self {
        case .leave: return DWORD(SCARD_LEAVE_CARD)
        case .reset: return DWORD(SCARD_RESET_CARD)
        case .unpower: return DWORD(SCARD_UNPOWER_CARD)
        }
    }
}
#endif
