import SealProtocol
// USB CCID 1.1 (Integrated Circuit(s) Cards Interface Devices, rev 1.1, April 2005) messages:
// the 10-byte-header bulk messages in both directions (§6.1 PC_to_RDR, §6.2 RDR_to_PC) and the
// interrupt-IN messages (§6.3). Pure: no I/O, `[UInt8]` in and out, typed errors in the
// swift-asn1 style (a stable `Code` plus a reason; equality on the code only).
//
// Both sides of the bus use these types: the host driver (`CCIDHostSession`) encodes commands and
// decodes replies; the simulated reader decodes commands and encodes replies. Unknown message
// types decode to `.unknown` rather than failing, so that a device can answer them with
// "command not supported" (bError 00) and a host can report what it saw.

// MARK: - Status, error, chaining

/// `bStatus` of an RDR_to_PC message (CCID §6.2.6): ICC status in bits 0–1, command status in
/// bits 6–7. Bits 2–5 are RFU and kept as received.
package struct CCIDSlotStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw `bStatus` byte.
    package var rawValue: UInt8

    /// Wraps a raw `bStatus` byte.
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Builds `bStatus` from its two fields.
    package init(icc: ICCStatus, command: CommandStatus) {
        rawValue = command.rawValue << 6 | icc.rawValue
    }

    /// bmICCStatus (bits 0–1).
    package var iccStatus: ICCStatus { ICCStatus(rawValue: rawValue & 0x03) ?? .rfu }
    /// bmCommandStatus (bits 6–7).
    package var commandStatus: CommandStatus { CommandStatus(rawValue: rawValue >> 6) ?? .rfu }

    /// Processed without error, ICC present and active.
    package static let active = CCIDSlotStatus(icc: .active, command: .processed)
    /// Processed without error, ICC present but powered off.
    package static let inactive = CCIDSlotStatus(icc: .presentInactive, command: .processed)
    /// Processed without error, no ICC.
    package static let absent = CCIDSlotStatus(icc: .absent, command: .processed)
    /// Time extension requested (`0x80`), ICC active.
    package static let timeExtension = CCIDSlotStatus(icc: .active, command: .timeExtension)

    /// The ICC status field.
    package enum ICCStatus: UInt8, Sendable, Hashable {
        /// 0: an ICC is present and active (powered on and in operation).
        case active = 0
        /// 1: an ICC is present and inactive (not activated or shut down by hardware error).
        case presentInactive = 1
        /// 2: no ICC is present.
        case absent = 2
        /// 3: reserved.
        case rfu = 3
    }

    /// The command status field.
    package enum CommandStatus: UInt8, Sendable, Hashable {
        /// 0: processed without error.
        case processed = 0
        /// 1: failed; `bError` holds the error code.
        case failed = 1
        /// 2: time extension requested; `bError` holds the BWT multiplier.
        case timeExtension = 2
        /// 3: reserved.
        case rfu = 3
    }

    package var description: String {
        "bStatus \(CodecHex.byte(rawValue)) (ICC \(iccStatus), \(commandStatus))"
    }
}

/// `bError` of a failed RDR_to_PC message (CCID §6.2.6, table 6.2-2).
///
/// Values `01`…`7F` are the offset of the offending field in the command (`badFieldOffset`);
/// `00` means the command is not supported.
public struct CCIDSlotError: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw `bError` byte.
    public var rawValue: UInt8

    /// Wraps a raw `bError` byte.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `01`…`7F`: the field at this offset of the command was rejected.
    public static func badField(offset: UInt8) -> CCIDSlotError { CCIDSlotError(rawValue: offset & 0x7F) }

    /// `FF` CMD_ABORTED: host aborted the current activity.
    public static let aborted = CCIDSlotError(rawValue: 0xFF)
    /// `FE` ICC_MUTE: the CCID timed out while talking to the ICC.
    public static let iccMute = CCIDSlotError(rawValue: 0xFE)
    /// `FD` XFR_PARITY_ERROR.
    public static let xfrParityError = CCIDSlotError(rawValue: 0xFD)
    /// `FC` XFR_OVERRUN.
    public static let xfrOverrun = CCIDSlotError(rawValue: 0xFC)
    /// `FB` HW_ERROR: an all-inclusive hardware error.
    public static let hardwareError = CCIDSlotError(rawValue: 0xFB)
    /// `F8` BAD_ATR_TS.
    public static let badATRTS = CCIDSlotError(rawValue: 0xF8)
    /// `F7` BAD_ATR_TCK.
    public static let badATRTCK = CCIDSlotError(rawValue: 0xF7)
    /// `F6` ICC_PROTOCOL_NOT_SUPPORTED.
    public static let iccProtocolNotSupported = CCIDSlotError(rawValue: 0xF6)
    /// `F5` ICC_CLASS_NOT_SUPPORTED.
    public static let iccClassNotSupported = CCIDSlotError(rawValue: 0xF5)
    /// `F4` PROCEDURE_BYTE_CONFLICT.
    public static let procedureByteConflict = CCIDSlotError(rawValue: 0xF4)
    /// `F3` DEACTIVATED_PROTOCOL.
    public static let deactivatedProtocol = CCIDSlotError(rawValue: 0xF3)
    /// `F2` BUSY_WITH_AUTO_SEQUENCE: the CCID is busy activating the ICC automatically.
    public static let busyWithAutoSequence = CCIDSlotError(rawValue: 0xF2)
    /// `F0` PIN_TIMEOUT.
    public static let pinTimeout = CCIDSlotError(rawValue: 0xF0)
    /// `EF` PIN_CANCELLED.
    public static let pinCancelled = CCIDSlotError(rawValue: 0xEF)
    /// `E0` CMD_SLOT_BUSY: a second command was sent to a slot that is busy.
    public static let slotBusy = CCIDSlotError(rawValue: 0xE0)
    /// `00`: command not supported.
    public static let commandNotSupported = CCIDSlotError(rawValue: 0x00)

    /// For `01`…`7F`, the offset of the rejected command field; otherwise `nil`.
    public var badFieldOffset: Int? { (0x01...0x7F).contains(rawValue) ? Int(rawValue) : nil }

    /// The CCID specification's name, e.g. `"ICC_MUTE"`, or `"BAD_FIELD_AT_OFFSET_7"`.
    public var name: String {
        switch rawValue {
        case 0xFF: "CMD_ABORTED"
        case 0xFE: "ICC_MUTE"
        case 0xFD: "XFR_PARITY_ERROR"
        case 0xFC: "XFR_OVERRUN"
        case 0xFB: "HW_ERROR"
        case 0xF8: "BAD_ATR_TS"
        case 0xF7: "BAD_ATR_TCK"
        case 0xF6: "ICC_PROTOCOL_NOT_SUPPORTED"
        case 0xF5: "ICC_CLASS_NOT_SUPPORTED"
        case 0xF4: "PROCEDURE_BYTE_CONFLICT"
        case 0xF3: "DEACTIVATED_PROTOCOL"
        case 0xF2: "BUSY_WITH_AUTO_SEQUENCE"
        case 0xF0: "PIN_TIMEOUT"
        case 0xEF: "PIN_CANCELLED"
        case 0xE0: "CMD_SLOT_BUSY"
        case 0x00: "CMD_NOT_SUPPORTED"
        case 0x01...0x7F: "BAD_FIELD_AT_OFFSET_\(rawValue)"
        default: "USER_DEFINED_\(CodecHex.byte(rawValue))"
        }
    }

    public var description: String { "\(name) (\(CodecHex.byte(rawValue)))" }
}

/// `bChainParameter` of `RDR_to_PC_DataBlock` (CCID §6.2.1) and `wLevelParameter` of
/// `PC_to_RDR_XfrBlock` at APDU exchange level (§6.1.4).
package struct CCIDChainParameter: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The raw value.
    package var rawValue: UInt16

    /// Wraps a raw value.
    package init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `00`: the response (or command) begins and ends in this message.
    package static let complete = CCIDChainParameter(rawValue: 0x00)
    /// `01`: begins, and continues in the next message.
    package static let begins = CCIDChainParameter(rawValue: 0x01)
    /// `02`: continues the previous message and ends here.
    package static let ends = CCIDChainParameter(rawValue: 0x02)
    /// `03`: continues the previous message and continues in the next.
    package static let continues = CCIDChainParameter(rawValue: 0x03)
    /// `10`: empty message; the other side asks for the next part of a chain.
    package static let continueRequest = CCIDChainParameter(rawValue: 0x10)

    /// Whether more parts follow this one (`01` or `03`).
    package var hasMore: Bool { self == .begins || self == .continues }

    package var description: String {
        switch self {
        case .complete: "complete"
        case .begins: "begins"
        case .ends: "ends"
        case .continues: "continues"
        case .continueRequest: "continueRequest"
        default: "chain \(CodecHex.word(rawValue))"
        }
    }
}

/// `bPowerSelect` of `PC_to_RDR_IccPowerOn` (CCID §6.1.1).
package struct CCIDPowerSelect: RawRepresentable, Hashable, Sendable {
    /// The raw value.
    package var rawValue: UInt8
    /// Wraps a raw value.
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `00`: automatic voltage selection.
    package static let automatic = CCIDPowerSelect(rawValue: 0)
    /// `01`: 5.0 V.
    package static let volts5 = CCIDPowerSelect(rawValue: 1)
    /// `02`: 3.0 V.
    package static let volts3 = CCIDPowerSelect(rawValue: 2)
    /// `03`: 1.8 V.
    package static let volts1_8 = CCIDPowerSelect(rawValue: 3)
}

/// `bClockStatus` of `RDR_to_PC_SlotStatus` (CCID §6.2.2).
package struct CCIDClockStatus: RawRepresentable, Hashable, Sendable {
    /// The raw value.
    package var rawValue: UInt8
    /// Wraps a raw value.
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `00`: clock running.
    package static let running = CCIDClockStatus(rawValue: 0)
    /// `01`: clock stopped in state L.
    package static let stoppedLow = CCIDClockStatus(rawValue: 1)
    /// `02`: clock stopped in state H.
    package static let stoppedHigh = CCIDClockStatus(rawValue: 2)
    /// `03`: clock stopped in an unknown state.
    package static let stoppedUnknown = CCIDClockStatus(rawValue: 3)
}

// MARK: - Header

/// The 10-byte header shared by all bulk CCID messages:
/// `bMessageType, dwLength (LE u32), bSlot, bSeq, 3 message-specific bytes`.
package struct CCIDHeader: Hashable, Sendable {
    /// The header size in bytes.
    package static let size = 10

    /// `bMessageType`.
    package var messageType: UInt8
    /// `dwLength`: the number of data bytes after the header.
    package var length: UInt32
    /// `bSlot`.
    package var slot: UInt8
    /// `bSeq`.
    package var sequence: UInt8
    /// The three message-specific bytes (offsets 7, 8, 9).
    package var specific: (UInt8, UInt8, UInt8) {
        get { (specific0, specific1, specific2) }
        set { (specific0, specific1, specific2) = newValue }
    }

    private var specific0: UInt8
    private var specific1: UInt8
    private var specific2: UInt8

    /// Creates a header.
    package init(messageType: UInt8, length: UInt32, slot: UInt8, sequence: UInt8,
                specific: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        self.messageType = messageType
        self.length = length
        self.slot = slot
        self.sequence = sequence
        (specific0, specific1, specific2) = specific
    }

    /// Reads the header at the start of `buffer`, or `nil` when fewer than 10 bytes are there.
    ///
    /// Lets a reader answer a message that fails to decode (``ReaderWireError/Code-swift.struct/invalidLength``)
    /// with the right `bSlot`/`bSeq`, and skip `10 + dwLength` bytes.
    package static func peek(_ buffer: some Collection<UInt8>) -> CCIDHeader? {
        guard buffer.count >= size else { return nil }
        // Read in place (no array per header: every message of every transfer is peeked).
        var iterator = buffer.makeIterator()
        func next() -> UInt8 { iterator.next() ?? 0 }
        let messageType = next()
        var length: UInt32 = 0
        for shift in stride(from: 0, to: 32, by: 8) { length |= UInt32(next()) << UInt32(shift) }
        let slot = next(), sequence = next()
        let specific = (next(), next(), next())
        return CCIDHeader(messageType: messageType, length: length, slot: slot, sequence: sequence, specific: specific)
    }

    /// Reads the header at the start of `buffer`, as the generic `peek(_:)` does, for the
    /// usual argument: an array read by index, not through a generic iterator (this module's
    /// generic code is not specialized for callers in other modules, and hosts and devices peek
    /// every message).
    package static func peek(_ buffer: [UInt8]) -> CCIDHeader? {
        guard buffer.count >= size else { return nil }
        let length = UInt32(buffer[1]) | UInt32(buffer[2]) << 8 | UInt32(buffer[3]) << 16 | UInt32(buffer[4]) << 24
        return CCIDHeader(messageType: buffer[0], length: length, slot: buffer[5], sequence: buffer[6],
                          specific: (buffer[7], buffer[8], buffer[9]))
    }

    /// The 10 header bytes.
    package var encoded: [UInt8] {
        var out: [UInt8] = []
        append(to: &out)
        return out
    }

    /// Appends the 10 header bytes to `out`.
    package func append(to out: inout [UInt8]) {
        out.append(messageType)
        // Byte by byte (`appendLittleEndian` appends through a raw buffer, a slower path for a
        // header every message has).
        out.append(UInt8(truncatingIfNeeded: length))
        out.append(UInt8(truncatingIfNeeded: length >> 8))
        out.append(UInt8(truncatingIfNeeded: length >> 16))
        out.append(UInt8(truncatingIfNeeded: length >> 24))
        out.append(slot)
        out.append(sequence)
        out.append(specific0)
        out.append(specific1)
        out.append(specific2)
    }

    /// The whole message size, `10 + dwLength`.
    package var messageSize: Int { Self.size + Int(length) }

    /// Whether `available` bytes hold the whole message this header starts.
    ///
    /// - Throws: ``ReaderWireError`` `.lengthTooLarge` when the message would exceed
    ///   `maximumLength` (known from the header alone, before its data arrives).
    func isComplete(available: Int, maximumLength: Int) throws(ReaderWireError) -> Bool {
        guard messageSize <= maximumLength else {
            throw ReaderWireError(
                code: .lengthTooLarge,
                reason: "dwLength \(length) makes a \(messageSize)-byte message, over the maximum of \(maximumLength)"
            )
        }
        return available >= messageSize
    }
}

// MARK: - Message type bytes

/// The `bMessageType` values of CCID 1.1.
package enum CCIDMessageType {
    /// `62` PC_to_RDR_IccPowerOn.
    package static let iccPowerOn: UInt8 = 0x62
    /// `63` PC_to_RDR_IccPowerOff.
    package static let iccPowerOff: UInt8 = 0x63
    /// `65` PC_to_RDR_GetSlotStatus.
    package static let getSlotStatus: UInt8 = 0x65
    /// `6F` PC_to_RDR_XfrBlock.
    package static let xfrBlock: UInt8 = 0x6F
    /// `6C` PC_to_RDR_GetParameters.
    package static let getParameters: UInt8 = 0x6C
    /// `6D` PC_to_RDR_ResetParameters.
    package static let resetParameters: UInt8 = 0x6D
    /// `61` PC_to_RDR_SetParameters.
    package static let setParameters: UInt8 = 0x61
    /// `6B` PC_to_RDR_Escape.
    package static let escape: UInt8 = 0x6B
    /// `6E` PC_to_RDR_IccClock.
    package static let iccClock: UInt8 = 0x6E
    /// `6A` PC_to_RDR_T0APDU.
    package static let t0APDU: UInt8 = 0x6A
    /// `69` PC_to_RDR_Secure.
    package static let secure: UInt8 = 0x69
    /// `71` PC_to_RDR_Mechanical.
    package static let mechanical: UInt8 = 0x71
    /// `72` PC_to_RDR_Abort.
    package static let abort: UInt8 = 0x72
    /// `73` PC_to_RDR_SetDataRateAndClockFrequency.
    package static let setDataRateAndClockFrequency: UInt8 = 0x73

    /// `80` RDR_to_PC_DataBlock.
    package static let dataBlock: UInt8 = 0x80
    /// `81` RDR_to_PC_SlotStatus.
    package static let slotStatus: UInt8 = 0x81
    /// `82` RDR_to_PC_Parameters.
    package static let parameters: UInt8 = 0x82
    /// `83` RDR_to_PC_Escape.
    package static let escapeResponse: UInt8 = 0x83
    /// `84` RDR_to_PC_DataRateAndClockFrequency.
    package static let dataRateAndClockFrequency: UInt8 = 0x84

    /// `50` RDR_to_PC_NotifySlotChange (interrupt IN).
    package static let notifySlotChange: UInt8 = 0x50
    /// `51` RDR_to_PC_HardwareError (interrupt IN).
    package static let hardwareError: UInt8 = 0x51
}

// MARK: - Bulk messages

/// One bulk CCID message, either direction: `bSlot`, `bSeq` and a typed ``Kind``.
///
/// ```swift
/// let powerOn = CCIDMessage(slot: 0, sequence: 7, kind: .iccPowerOn(.automatic))
/// powerOn.encoded()   // 62 00 00 00 00 00 07 00 00 00
///
/// var buffer: [UInt8] = …   // bytes read so far from bulk IN
/// while let (message, consumed) = try CCIDMessage.decode(from: buffer, maximumLength: 271) {
///     buffer.removeFirst(consumed)
///     …
/// }
/// ```
///
/// Reserved (RFU) header bytes are written as zero and ignored when decoding.
package struct CCIDMessage: Hashable, Sendable, CustomStringConvertible {
    /// `bSlot`.
    package var slot: UInt8
    /// `bSeq`.
    package var sequence: UInt8
    /// The message type and its fields.
    package var kind: Kind

    /// The default bound on `10 + dwLength` when decoding: an extended APDU (65 544 bytes) plus
    /// the header, rounded up — generous for any reader; pass the reader's
    /// `dwMaxCCIDMessageLength` to be strict.
    package static let defaultMaximumLength = 65_546 + CCIDHeader.size

    /// Creates a message.
    package init(slot: UInt8 = 0, sequence: UInt8, kind: Kind) {
        self.slot = slot
        self.sequence = sequence
        self.kind = kind
    }

    /// The message type and its type-specific fields.
    package enum Kind: Hashable, Sendable {
        // PC_to_RDR (bulk OUT)

        /// `62` PC_to_RDR_IccPowerOn.
        case iccPowerOn(CCIDPowerSelect)
        /// `63` PC_to_RDR_IccPowerOff.
        case iccPowerOff
        /// `65` PC_to_RDR_GetSlotStatus.
        case getSlotStatus
        /// `6F` PC_to_RDR_XfrBlock: `bBWI`, `wLevelParameter` (chaining at APDU level, or the
        /// expected length at character level) and the data block.
        case xfrBlock(bwi: UInt8, levelParameter: UInt16, data: [UInt8])
        /// `6C` PC_to_RDR_GetParameters.
        case getParameters
        /// `6D` PC_to_RDR_ResetParameters.
        case resetParameters
        /// `61` PC_to_RDR_SetParameters: `bProtocolNum` and `abProtocolDataStructure`.
        case setParameters(protocolNumber: UInt8, data: [UInt8])
        /// `6B` PC_to_RDR_Escape.
        case escape(data: [UInt8])
        /// `6E` PC_to_RDR_IccClock: `bClockCommand` (0 restart, 1 stop).
        case iccClock(clockCommand: UInt8)
        /// `6A` PC_to_RDR_T0APDU: `bmChanges`, `bClassGetResponse`, `bClassEnvelope`.
        case t0APDU(changes: UInt8, classGetResponse: UInt8, classEnvelope: UInt8)
        /// `69` PC_to_RDR_Secure: `bBWI`, `wLevelParameter` and the PIN operation data structure.
        case secure(bwi: UInt8, levelParameter: UInt16, data: [UInt8])
        /// `71` PC_to_RDR_Mechanical: `bFunction`.
        case mechanical(function: UInt8)
        /// `72` PC_to_RDR_Abort.
        case abort
        /// `73` PC_to_RDR_SetDataRateAndClockFrequency (8 data bytes: `dwClockFrequency`,
        /// `dwDataRate`, little-endian kHz and bps).
        case setDataRateAndClockFrequency(clockFrequency: UInt32, dataRate: UInt32)

        // RDR_to_PC (bulk IN)

        /// `80` RDR_to_PC_DataBlock: `bStatus`, `bError`, `bChainParameter` and the data
        /// (an ATR after IccPowerOn, a response after XfrBlock).
        case dataBlock(status: CCIDSlotStatus, error: CCIDSlotError, chain: UInt8, data: [UInt8])
        /// `81` RDR_to_PC_SlotStatus: `bStatus`, `bError`, `bClockStatus`.
        case slotStatus(status: CCIDSlotStatus, error: CCIDSlotError, clock: CCIDClockStatus)
        /// `82` RDR_to_PC_Parameters: `bStatus`, `bError`, `bProtocolNum` and the protocol data.
        case parameters(status: CCIDSlotStatus, error: CCIDSlotError, protocolNumber: UInt8, data: [UInt8])
        /// `83` RDR_to_PC_Escape.
        case escapeResponse(status: CCIDSlotStatus, error: CCIDSlotError, data: [UInt8])
        /// `84` RDR_to_PC_DataRateAndClockFrequency.
        case dataRateAndClockFrequency(status: CCIDSlotStatus, error: CCIDSlotError,
                                       clockFrequency: UInt32, dataRate: UInt32)

        /// Any other `bMessageType`, kept whole so that a reader can answer
        /// "command not supported" and a host can report what came.
        /// `specific` holds header bytes 7–9 (encoding pads or cuts it to 3 bytes).
        case unknown(type: UInt8, specific: [UInt8], data: [UInt8])

        /// The `bMessageType` byte.
        package var messageType: UInt8 {
            switch self {
            case .iccPowerOn: CCIDMessageType.iccPowerOn
            case .iccPowerOff: CCIDMessageType.iccPowerOff
            case .getSlotStatus: CCIDMessageType.getSlotStatus
            case .xfrBlock: CCIDMessageType.xfrBlock
            case .getParameters: CCIDMessageType.getParameters
            case .resetParameters: CCIDMessageType.resetParameters
            case .setParameters: CCIDMessageType.setParameters
            case .escape: CCIDMessageType.escape
            case .iccClock: CCIDMessageType.iccClock
            case .t0APDU: CCIDMessageType.t0APDU
            case .secure: CCIDMessageType.secure
            case .mechanical: CCIDMessageType.mechanical
            case .abort: CCIDMessageType.abort
            case .setDataRateAndClockFrequency: CCIDMessageType.setDataRateAndClockFrequency
            case .dataBlock: CCIDMessageType.dataBlock
            case .slotStatus: CCIDMessageType.slotStatus
            case .parameters: CCIDMessageType.parameters
            case .escapeResponse: CCIDMessageType.escapeResponse
            case .dataRateAndClockFrequency: CCIDMessageType.dataRateAndClockFrequency
            case .unknown(let type, _, _): type
            }
        }

        /// The CCID name, e.g. `"PC_to_RDR_XfrBlock"`.
        package var name: String {
            switch self {
            case .iccPowerOn: "PC_to_RDR_IccPowerOn"
            case .iccPowerOff: "PC_to_RDR_IccPowerOff"
            case .getSlotStatus: "PC_to_RDR_GetSlotStatus"
            case .xfrBlock: "PC_to_RDR_XfrBlock"
            case .getParameters: "PC_to_RDR_GetParameters"
            case .resetParameters: "PC_to_RDR_ResetParameters"
            case .setParameters: "PC_to_RDR_SetParameters"
            case .escape: "PC_to_RDR_Escape"
            case .iccClock: "PC_to_RDR_IccClock"
            case .t0APDU: "PC_to_RDR_T0APDU"
            case .secure: "PC_to_RDR_Secure"
            case .mechanical: "PC_to_RDR_Mechanical"
            case .abort: "PC_to_RDR_Abort"
            case .setDataRateAndClockFrequency: "PC_to_RDR_SetDataRateAndClockFrequency"
            case .dataBlock: "RDR_to_PC_DataBlock"
            case .slotStatus: "RDR_to_PC_SlotStatus"
            case .parameters: "RDR_to_PC_Parameters"
            case .escapeResponse: "RDR_to_PC_Escape"
            case .dataRateAndClockFrequency: "RDR_to_PC_DataRateAndClockFrequency"
            case .unknown(let type, _, _): "message type \(CodecHex.byte(type))"
            }
        }

        /// Whether this is a PC_to_RDR command (`bMessageType` below `80`).
        package var isCommand: Bool { messageType < 0x80 }

        /// For an RDR_to_PC reply, its `bStatus` and `bError`; `nil` for commands and unknown types.
        package var replyStatus: (status: CCIDSlotStatus, error: CCIDSlotError)? {
            switch self {
            case .dataBlock(let status, let error, _, _),
                 .slotStatus(let status, let error, _),
                 .parameters(let status, let error, _, _),
                 .escapeResponse(let status, let error, _),
                 .dataRateAndClockFrequency(let status, let error, _, _):
                (status, error)
            default:
                nil
            }
        }
    }

    // MARK: Encoding

    /// The header this message encodes to.
    package var header: CCIDHeader {
        let (specific, data) = Self.fields(of: kind)
        return CCIDHeader(messageType: kind.messageType, length: UInt32(clamping: data.count),
                          slot: slot, sequence: sequence, specific: specific)
    }

    /// The wire bytes: the 10-byte header and the data. Data must be shorter than 4 GiB.
    package func encoded() -> [UInt8] {
        let (specific, data) = Self.fields(of: kind)
        let header = CCIDHeader(messageType: kind.messageType, length: UInt32(clamping: data.count),
                                slot: slot, sequence: sequence, specific: specific)
        var out: [UInt8] = []
        out.reserveCapacity(CCIDHeader.size + data.count)
        header.append(to: &out)
        out.append(contentsOf: data)
        return out
    }

    private static func fields(of kind: Kind) -> (specific: (UInt8, UInt8, UInt8), data: [UInt8]) {
        switch kind {
        case .iccPowerOn(let select):
            return ((select.rawValue, 0, 0), [])
        case .iccPowerOff, .getSlotStatus, .getParameters, .resetParameters, .abort:
            return ((0, 0, 0), [])
        case .xfrBlock(let bwi, let level, let data), .secure(let bwi, let level, let data):
            return ((bwi, UInt8(truncatingIfNeeded: level), UInt8(truncatingIfNeeded: level >> 8)), data)
        case .setParameters(let protocolNumber, let data):
            return ((protocolNumber, 0, 0), data)
        case .escape(let data):
            return ((0, 0, 0), data)
        case .iccClock(let command):
            return ((command, 0, 0), [])
        case .t0APDU(let changes, let getResponse, let envelope):
            return ((changes, getResponse, envelope), [])
        case .mechanical(let function):
            return ((function, 0, 0), [])
        case .setDataRateAndClockFrequency(let clock, let rate):
            return ((0, 0, 0), littleEndianBytes(clock) + littleEndianBytes(rate))
        case .dataBlock(let status, let error, let chain, let data):
            return ((status.rawValue, error.rawValue, chain), data)
        case .slotStatus(let status, let error, let clock):
            return ((status.rawValue, error.rawValue, clock.rawValue), [])
        case .parameters(let status, let error, let protocolNumber, let data):
            return ((status.rawValue, error.rawValue, protocolNumber), data)
        case .escapeResponse(let status, let error, let data):
            return ((status.rawValue, error.rawValue, 0), data)
        case .dataRateAndClockFrequency(let status, let error, let clock, let rate):
            return ((status.rawValue, error.rawValue, 0), littleEndianBytes(clock) + littleEndianBytes(rate))
        case .unknown(_, let specific, let data):
            let padded = Array(specific.prefix(3)) + [UInt8](repeating: 0, count: max(0, 3 - specific.count))
            return ((padded[0], padded[1], padded[2]), data)
        }
    }

    // MARK: Decoding

    /// Decodes the message at the start of `buffer`, incrementally.
    ///
    /// - Returns: the message and the number of bytes it occupies, or `nil` when `buffer` does not
    ///   yet hold the whole message (read more and call again).
    /// - Throws: ``ReaderWireError``: `.lengthTooLarge` when `10 + dwLength` exceeds
    ///   `maximumLength` (checked as soon as the header is there, before waiting for the data);
    ///   `.invalidLength` when `dwLength` does not fit the message type (the message is framed
    ///   nonetheless: ``CCIDHeader/peek(_:)`` tells how many bytes to skip).
    ///   Unknown message types are not errors: they decode to ``Kind/unknown(type:specific:data:)``.
    package static func decode(
        from buffer: some Collection<UInt8>, maximumLength: Int = defaultMaximumLength
    ) throws(ReaderWireError) -> (message: CCIDMessage, consumed: Int)? {
        guard let header = CCIDHeader.peek(buffer),
              try header.isComplete(available: buffer.count, maximumLength: maximumLength) else { return nil }
        let data = Array(buffer.dropFirst(CCIDHeader.size).prefix(Int(header.length)))
        return (try message(header: header, data: data), header.messageSize)
    }

    /// Decodes the message at the start of `buffer`, as the generic `decode(from:maximumLength:)`
    /// does, for the usual argument, an array: no generic code on a host's or device's every
    /// message (this module's generic code is not specialized for callers in other modules).
    package static func decode(
        from buffer: [UInt8], maximumLength: Int = defaultMaximumLength
    ) throws(ReaderWireError) -> (message: CCIDMessage, consumed: Int)? {
        guard let header = CCIDHeader.peek(buffer),
              try header.isComplete(available: buffer.count, maximumLength: maximumLength) else { return nil }
        let data = Array(buffer[CCIDHeader.size ..< header.messageSize])
        return (try message(header: header, data: data), header.messageSize)
    }

    /// Decodes a transfer that holds exactly one message.
    ///
    /// - Throws: ``ReaderWireError``: `.truncated` when the transfer ends before the header or
    ///   the data, `.trailingBytes` when bytes follow the message, and the errors of
    ///   ``decode(from:maximumLength:)``.
    package init(decoding bytes: [UInt8], maximumLength: Int = defaultMaximumLength) throws(ReaderWireError) {
        guard let (message, consumed) = try Self.decode(from: bytes, maximumLength: maximumLength) else {
            if let header = CCIDHeader.peek(bytes) {
                throw ReaderWireError(
                    code: .truncated,
                    reason: "dwLength \(header.length) announces \(header.messageSize) bytes, the transfer has \(bytes.count)"
                )
            }
            throw ReaderWireError(code: .truncated, reason: "\(bytes.count) byte(s) cannot hold the 10-byte CCID header")
        }
        guard consumed == bytes.count else {
            throw ReaderWireError(code: .trailingBytes,
                                   reason: "\(bytes.count - consumed) byte(s) after a \(consumed)-byte message")
        }
        self = message
    }

    private static func message(header: CCIDHeader, data: [UInt8]) throws(ReaderWireError) -> CCIDMessage {
        let (s0, s1, s2) = header.specific
        let level = UInt16(s1) | UInt16(s2) << 8
        let type = header.messageType

        func noData(_ kind: Kind) throws(ReaderWireError) -> Kind {
            guard data.isEmpty else {
                throw ReaderWireError(code: .invalidLength,
                                       reason: "\(kind.name) carries no data, dwLength is \(header.length)")
            }
            return kind
        }
        func rateAndClock(_ name: String) throws(ReaderWireError) -> (UInt32, UInt32) {
            guard data.count == 8 else {
                throw ReaderWireError(code: .invalidLength,
                                       reason: "\(name) carries 8 data bytes, dwLength is \(header.length)")
            }
            return (readLittleEndian(data, at: 0, as: UInt32.self), readLittleEndian(data, at: 4, as: UInt32.self))
        }

        let kind: Kind
        switch type {
        case CCIDMessageType.iccPowerOn: kind = try noData(.iccPowerOn(CCIDPowerSelect(rawValue: s0)))
        case CCIDMessageType.iccPowerOff: kind = try noData(.iccPowerOff)
        case CCIDMessageType.getSlotStatus: kind = try noData(.getSlotStatus)
        case CCIDMessageType.xfrBlock: kind = .xfrBlock(bwi: s0, levelParameter: level, data: data)
        case CCIDMessageType.getParameters: kind = try noData(.getParameters)
        case CCIDMessageType.resetParameters: kind = try noData(.resetParameters)
        case CCIDMessageType.setParameters: kind = .setParameters(protocolNumber: s0, data: data)
        case CCIDMessageType.escape: kind = .escape(data: data)
        case CCIDMessageType.iccClock: kind = try noData(.iccClock(clockCommand: s0))
        case CCIDMessageType.t0APDU: kind = try noData(.t0APDU(changes: s0, classGetResponse: s1, classEnvelope: s2))
        case CCIDMessageType.secure: kind = .secure(bwi: s0, levelParameter: level, data: data)
        case CCIDMessageType.mechanical: kind = try noData(.mechanical(function: s0))
        case CCIDMessageType.abort: kind = try noData(.abort)
        case CCIDMessageType.setDataRateAndClockFrequency:
            let (clock, rate) = try rateAndClock("PC_to_RDR_SetDataRateAndClockFrequency")
            kind = .setDataRateAndClockFrequency(clockFrequency: clock, dataRate: rate)
        case CCIDMessageType.dataBlock:
            kind = .dataBlock(status: CCIDSlotStatus(rawValue: s0), error: CCIDSlotError(rawValue: s1), chain: s2, data: data)
        case CCIDMessageType.slotStatus:
            kind = try noData(.slotStatus(status: CCIDSlotStatus(rawValue: s0), error: CCIDSlotError(rawValue: s1),
                                          clock: CCIDClockStatus(rawValue: s2)))
        case CCIDMessageType.parameters:
            kind = .parameters(status: CCIDSlotStatus(rawValue: s0), error: CCIDSlotError(rawValue: s1),
                               protocolNumber: s2, data: data)
        case CCIDMessageType.escapeResponse:
            kind = .escapeResponse(status: CCIDSlotStatus(rawValue: s0), error: CCIDSlotError(rawValue: s1), data: data)
        case CCIDMessageType.dataRateAndClockFrequency:
            // A failed reply may come without the 8 bytes; libccid tolerates that, so do we.
            if data.isEmpty && CCIDSlotStatus(rawValue: s0).commandStatus == .failed {
                kind = .dataRateAndClockFrequency(status: CCIDSlotStatus(rawValue: s0), error: CCIDSlotError(rawValue: s1),
                                                  clockFrequency: 0, dataRate: 0)
            } else {
                let (clock, rate) = try rateAndClock("RDR_to_PC_DataRateAndClockFrequency")
                kind = .dataRateAndClockFrequency(status: CCIDSlotStatus(rawValue: s0), error: CCIDSlotError(rawValue: s1),
                                                  clockFrequency: clock, dataRate: rate)
            }
        default:
            kind = .unknown(type: type, specific: [s0, s1, s2], data: data)
        }
        return CCIDMessage(slot: header.slot, sequence: header.sequence, kind: kind)
    }

    package var description: String {
        var text = "\(kind.name) slot \(slot) seq \(sequence)"
        if let (status, error) = kind.replyStatus {
            text += ", \(status)"
            if status.commandStatus == .failed { text += ", \(error)" }
        }
        return text
    }
}

// MARK: - Interrupt messages

/// `bmSlotICCState` of `RDR_to_PC_NotifySlotChange`: two bits per slot, slot 0 in the low bits of
/// the first byte — bit 2n "ICC present", bit 2n+1 "changed since the last message".
package struct CCIDSlotChange: Hashable, Sendable {
    /// The raw bitmap bytes.
    package var bitmap: [UInt8]

    /// Wraps raw bitmap bytes.
    package init(bitmap: [UInt8]) { self.bitmap = bitmap }

    /// Builds the bitmap for slots 0, 1, … in order; `ceil(2·count / 8)` bytes (at least one).
    package init(slots: [(present: Bool, changed: Bool)]) {
        var bitmap = [UInt8](repeating: 0, count: max(1, (slots.count * 2 + 7) / 8))
        for (index, slot) in slots.enumerated() {
            let shift = (index % 4) * 2
            if slot.present { bitmap[index / 4] |= 1 << shift }
            if slot.changed { bitmap[index / 4] |= 2 << shift }
        }
        self.bitmap = bitmap
    }

    /// The number of slots the bitmap describes (4 per byte).
    package var slotCount: Int { bitmap.count * 4 }

    /// Whether an ICC is present in `slot`; `false` beyond the bitmap.
    package func isPresent(slot: Int) -> Bool { bit(slot * 2) }

    /// Whether `slot` changed since the last NotifySlotChange; `false` beyond the bitmap.
    package func hasChanged(slot: Int) -> Bool { bit(slot * 2 + 1) }

    private func bit(_ index: Int) -> Bool {
        guard index >= 0, index / 8 < bitmap.count else { return false }
        return bitmap[index / 8] >> (index % 8) & 1 == 1
    }
}

/// A message on the CCID interrupt-IN endpoint (CCID §6.3).
package enum CCIDInterruptMessage: Hashable, Sendable {
    /// `50` RDR_to_PC_NotifySlotChange.
    case notifySlotChange(CCIDSlotChange)
    /// `51` RDR_to_PC_HardwareError: `bSlot`, `bSeq`, `bHardwareErrorCode` (`01` overcurrent).
    case hardwareError(slot: UInt8, sequence: UInt8, code: UInt8)
    /// Any other first byte, with the rest of the transfer.
    case unknown(type: UInt8, data: [UInt8])

    /// The wire bytes.
    package func encoded() -> [UInt8] {
        switch self {
        case .notifySlotChange(let change): [CCIDMessageType.notifySlotChange] + change.bitmap
        case .hardwareError(let slot, let sequence, let code): [CCIDMessageType.hardwareError, slot, sequence, code]
        case .unknown(let type, let data): [type] + data
        }
    }

    /// Decodes one interrupt transfer, which holds exactly one message: everything after `50`
    /// is the slot bitmap; a hardware error is exactly 4 bytes.
    ///
    /// - Throws: ``ReaderWireError``: `.empty` for no bytes, `.truncated` for a NotifySlotChange
    ///   without a bitmap byte or a HardwareError shorter than 4 bytes, `.trailingBytes` for a
    ///   longer HardwareError.
    package init(decoding bytes: [UInt8]) throws(ReaderWireError) {
        guard let type = bytes.first else {
            throw ReaderWireError(code: .empty, reason: "an interrupt transfer without data")
        }
        switch type {
        case CCIDMessageType.notifySlotChange:
            guard bytes.count >= 2 else {
                throw ReaderWireError(code: .truncated, reason: "RDR_to_PC_NotifySlotChange without bmSlotICCState")
            }
            self = .notifySlotChange(CCIDSlotChange(bitmap: Array(bytes.dropFirst())))
        case CCIDMessageType.hardwareError:
            guard bytes.count >= 4 else {
                throw ReaderWireError(code: .truncated, reason: "RDR_to_PC_HardwareError is 4 bytes, got \(bytes.count)")
            }
            guard bytes.count == 4 else {
                throw ReaderWireError(code: .trailingBytes, reason: "RDR_to_PC_HardwareError is 4 bytes, got \(bytes.count)")
            }
            self = .hardwareError(slot: bytes[1], sequence: bytes[2], code: bytes[3])
        default:
            self = .unknown(type: type, data: Array(bytes.dropFirst()))
        }
    }

    /// Decodes the interrupt message at the start of `buffer` when messages arrive as a stream
    /// (e.g. several interrupt transfers concatenated): a NotifySlotChange is
    /// `1 + ceil(2·slotCount / 8)` bytes, a HardwareError 4.
    ///
    /// - Returns: the message and its size, or `nil` when more bytes are needed.
    ///   An unknown type consumes the whole buffer (its length is unknowable).
    package static func decode(from buffer: [UInt8], slotCount: Int = 1) -> (message: CCIDInterruptMessage, consumed: Int)? {
        guard let type = buffer.first else { return nil }
        switch type {
        case CCIDMessageType.notifySlotChange:
            let size = 1 + max(1, (max(1, slotCount) * 2 + 7) / 8)
            guard buffer.count >= size else { return nil }
            return (.notifySlotChange(CCIDSlotChange(bitmap: Array(buffer[1..<size]))), size)
        case CCIDMessageType.hardwareError:
            guard buffer.count >= 4 else { return nil }
            return (.hardwareError(slot: buffer[1], sequence: buffer[2], code: buffer[3]), 4)
        default:
            return (.unknown(type: type, data: Array(buffer.dropFirst())), buffer.count)
        }
    }
}
