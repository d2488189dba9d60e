import SealSimulatedToken
import SealReaderWire
import SealProtocol

/// Work the device hands to whoever drives the card in a slot (see ``CCIDDeviceRunner``).
package enum CCIDCardOperation: Hashable, Sendable {
    /// Activate the card (cold reset) and return its ATR: answer with
    /// ``CCIDDevice/complete(slot:with:)`` and ``CCIDCardOutcome/answerToReset(_:)`` or
    /// ``CCIDCardOutcome/powerOnFailed``.
    case powerOn
    /// Deactivate the card. Needs no answer.
    case powerOff
    /// Send this command APDU to the card: answer with ``CCIDDevice/complete(slot:with:)`` and
    /// ``CCIDCardOutcome/response(_:)`` or ``CCIDCardOutcome/mute``.
    case transmit([UInt8])
}

/// What a card did with a ``CCIDCardOperation``.
package enum CCIDCardOutcome: Hashable, Sendable {
    /// The card powered on with this ATR.
    case answerToReset([UInt8])
    /// The card did not come up (no ATR).
    case powerOnFailed
    /// The response APDU (data and SW1 SW2).
    case response([UInt8])
    /// No answer: the card lost power during the command and is now inactive.
    case mute
}

/// One thing the device wants done after an input.
package enum CCIDDeviceAction: Hashable, Sendable {
    /// A complete RDR_to_PC message to queue on the bulk-IN endpoint, in order.
    case bulkIn([UInt8])
    /// A message for the interrupt-IN endpoint (`RDR_to_PC_NotifySlotChange`).
    case interruptIn([UInt8])
    /// Card work for `slot`; `powerOn` and `transmit` must be answered with
    /// ``CCIDDevice/complete(slot:with:)`` before the slot answers anything else.
    case card(slot: Int, CCIDCardOperation)
    /// A bulk-OUT transfer the device cannot answer at all (fewer than 7 bytes: no `bSlot` and
    /// `bSeq` to answer with). For logs.
    case discarded(String)
}

/// The outcome of a CCID class-specific control request (CCID 1.1 §5.3).
package enum CCIDControlResult: Hashable, Sendable {
    /// Accepted: the IN data stage (empty for OUT requests) and the actions it caused.
    case completed(data: [UInt8], actions: [CCIDDeviceAction])
    /// Not supported or invalid: the control endpoint stalls the request.
    case stall
}

/// A CCID 1.1 reader at the extended APDU exchange level, as a pure state machine.
///
/// Inputs are complete bulk-OUT messages (``receiveBulkOut(_:)``), class requests on the
/// control endpoint (``handleClassRequest(_:data:)``), the outcome of card work
/// (``complete(slot:with:)``), card insertion and removal (``setCardPresent(_:slot:)``) and the
/// time-extension clock (``requestTimeExtension(slot:)``). Outputs are ``CCIDDeviceAction``s:
/// messages to queue on bulk IN and interrupt IN, and card work. No I/O, no clock, no card: the
/// same machine runs under the USB/IP server, in tests and behind any other transport.
///
/// Behaviour, per CCID 1.1 §6:
/// - every reply carries the `bSlot` and `bSeq` of its command (the host detects out-of-sequence
///   replies by comparing `bSeq`; the device never reorders);
/// - a message whose `dwLength` exceeds `dwMaxCCIDMessageLength − 10`, disagrees with the bytes
///   received or does not fit the message type fails with `bError` 01 (the offset of
///   `dwLength`); an unknown slot with 05; other bad fields with their offset (7 for
///   `bPowerSelect` and `bProtocolNum`, 8 for `wLevelParameter`, 10 + n for byte n of
///   `abProtocolDataStructure`);
/// - with no card, commands that need one fail with `bStatus` 0x42 (absent, failed) and `bError`
///   FE (ICC_MUTE); with an unpowered card, 0x41 and FE;
/// - commands the reader does not implement (Escape, IccClock, T0APDU, Secure, Mechanical, any
///   unknown type) fail with `bError` 00;
/// - a second command to a slot whose card is still working fails with E0 (CMD_SLOT_BUSY);
/// - ABORT: the class request and `PC_to_RDR_Abort` with the same `bSeq` may come in either
///   order; the `RDR_to_PC_SlotStatus` answering the Abort is sent when both have arrived.
///   Between the request and the message, other commands to the slot fail with FF
///   (CMD_ABORTED), and so does the command that was in progress.
package struct CCIDDevice: Sendable {
    /// The reader's shape (``CCIDDeviceConfiguration/normalized``).
    package let configuration: CCIDDeviceConfiguration

    private var slots: [Slot]

    private struct Slot: Sendable {
        var present: Bool
        var powered = false
        var parameters = CCIDDeviceConfiguration.defaultT1Parameters
        var pending: Pending?
        var abort: AbortState = .idle
        /// The command APDU received so far through `wLevelParameter` 01/03.
        var commandChain: [UInt8]?
        /// The part of a response APDU not yet sent (`bChainParameter` 01/03).
        var responseRemainder: [UInt8]?

        init(present: Bool) { self.present = present }

        var iccStatus: CCIDSlotStatus.ICCStatus {
            present ? (powered ? .active : .presentInactive) : .absent
        }

        mutating func clearChains() {
            commandChain = nil
            responseRemainder = nil
        }
    }

    private struct Pending: Sendable {
        enum Kind: Sendable { case powerOn, transmit }
        var kind: Kind
        var sequence: UInt8
        var aborted = false
    }

    private enum AbortState: Sendable, Equatable {
        case idle
        /// The ABORT class request arrived; `PC_to_RDR_Abort` with this `bSeq` is awaited.
        case requested(sequence: UInt8)
        /// `PC_to_RDR_Abort` arrived first; its answer waits for the class request.
        case messageWaiting(sequence: UInt8)
    }

    /// A reader with the given shape; `cardPresent[k]` says whether slot k holds a card
    /// (missing entries: present). Every card starts unpowered.
    package init(configuration: CCIDDeviceConfiguration = CCIDDeviceConfiguration(), cardPresent: [Bool] = []) {
        let configuration = configuration.normalized
        self.configuration = configuration
        self.slots = (0..<configuration.slotCount).map { index in
            Slot(present: index < cardPresent.count ? cardPresent[index] : true)
        }
    }

    // MARK: - Inspection

    /// The ICC status of `slot` (`.absent` for a slot that does not exist).
    package func iccStatus(slot: Int) -> CCIDSlotStatus.ICCStatus {
        slots.indices.contains(slot) ? slots[slot].iccStatus : .absent
    }

    /// Whether `slot` has card work outstanding (a power-on or an APDU not yet completed).
    package func isBusy(slot: Int) -> Bool {
        slots.indices.contains(slot) && slots[slot].pending != nil
    }

    /// The current T=1 `abProtocolDataStructure` of `slot`.
    package func t1Parameters(slot: Int) -> [UInt8] {
        slots.indices.contains(slot) ? slots[slot].parameters : []
    }

    // MARK: - Bulk OUT

    /// Handles one complete bulk-OUT message (as delimited by ``CCIDBulkOutAssembler``).
    ///
    /// - Returns: the replies to queue on bulk IN and the card work to do, in order. A command
    ///   that needs the card yields a ``CCIDDeviceAction/card(slot:_:)`` and its reply comes from
    ///   ``complete(slot:with:)``.
    package mutating func receiveBulkOut(_ bytes: [UInt8]) -> [CCIDDeviceAction] {
        guard let header = CCIDHeader.peek(bytes) else {
            // No complete header. With bSlot and bSeq (offsets 5 and 6) the command can still be
            // answered, with dwLength (offset 1) as the bad field; otherwise nobody can be told.
            guard bytes.count >= 7 else {
                return [.discarded("a \(bytes.count)-byte bulk-OUT transfer is too short for a CCID header")]
            }
            return [failure(type: bytes[0], slot: bytes[5], sequence: bytes[6], error: .badField(offset: 1))]
        }
        let slotIndex = Int(header.slot)
        let maximumData = configuration.maxMessageLength - CCIDHeader.size
        guard Int(header.length) <= maximumData, bytes.count == header.messageSize else {
            return [failure(header, error: .badField(offset: 1))]
        }
        guard slots.indices.contains(slotIndex) else {
            return [failure(header, error: .badField(offset: 5))]
        }
        let message: CCIDMessage
        do {
            message = try CCIDMessage(decoding: bytes, maximumLength: configuration.maxMessageLength)
        } catch {
            // `.invalidLength`: data on a message that carries none (or not 8 bytes for
            // SetDataRateAndClockFrequency). Framing errors were caught above.
            return [failure(header, error: .badField(offset: 1))]
        }

        if case .abort = message.kind {
            return abortMessage(slot: slotIndex, sequence: header.sequence)
        }
        if case .requested = slots[slotIndex].abort {
            return [failure(header, error: .aborted)]
        }
        if slots[slotIndex].pending != nil {
            return [failure(header, error: .slotBusy)]
        }

        let sequence = header.sequence
        switch message.kind {
        case .iccPowerOn(let select):
            guard select.rawValue <= CCIDPowerSelect.volts1_8.rawValue else {
                return [failure(header, error: .badField(offset: 7))]
            }
            guard slots[slotIndex].present else { return [failure(header, error: .iccMute)] }
            slots[slotIndex].clearChains()
            slots[slotIndex].pending = Pending(kind: .powerOn, sequence: sequence)
            return [.card(slot: slotIndex, .powerOn)]

        case .iccPowerOff:
            var actions: [CCIDDeviceAction] = []
            if slots[slotIndex].powered { actions.append(.card(slot: slotIndex, .powerOff)) }
            slots[slotIndex].powered = false
            slots[slotIndex].clearChains()
            actions.append(slotStatusReply(slot: slotIndex, sequence: sequence))
            return actions

        case .getSlotStatus:
            return [slotStatusReply(slot: slotIndex, sequence: sequence)]

        case .xfrBlock(_, let level, let data):
            return transfer(header, level: level, data: data)

        case .getParameters:
            guard slots[slotIndex].present else { return [failure(header, error: .iccMute)] }
            return [parametersReply(slot: slotIndex, sequence: sequence)]

        case .resetParameters:
            guard slots[slotIndex].present else { return [failure(header, error: .iccMute)] }
            slots[slotIndex].parameters = CCIDDeviceConfiguration.defaultT1Parameters
            return [parametersReply(slot: slotIndex, sequence: sequence)]

        case .setParameters(let protocolNumber, let data):
            guard slots[slotIndex].present else { return [failure(header, error: .iccMute)] }
            // The reader offers T=1 only (dwProtocols 2): T=0 or anything else is a bad
            // bProtocolNum (offset 7).
            guard protocolNumber == 1 else { return [failure(header, error: .badField(offset: 7))] }
            if let offset = Self.invalidT1ParameterOffset(data) {
                return [failure(header, error: .badField(offset: offset))]
            }
            slots[slotIndex].parameters = data
            return [parametersReply(slot: slotIndex, sequence: sequence)]

        case .setDataRateAndClockFrequency:
            // One fixed clock and rate: the reply reports the values actually in use (§6.1.14).
            let reply = CCIDMessage(slot: header.slot, sequence: sequence, kind: .dataRateAndClockFrequency(
                status: CCIDSlotStatus(icc: slots[slotIndex].iccStatus, command: .processed), error: Self.noError,
                clockFrequency: configuration.clockKHz, dataRate: configuration.dataRate))
            return [.bulkIn(reply.encoded())]

        case .escape, .iccClock, .t0APDU, .secure, .mechanical, .abort, .unknown,
             .dataBlock, .slotStatus, .parameters, .escapeResponse, .dataRateAndClockFrequency:
            return [failure(header, error: .commandNotSupported)]
        }
    }

    /// `PC_to_RDR_XfrBlock` at the extended APDU level: `wLevelParameter` 0000 (whole APDU),
    /// 0001/0003/0002 (command chaining) or 0010 (next part of a chained response).
    private mutating func transfer(_ header: CCIDHeader, level: UInt16, data: [UInt8]) -> [CCIDDeviceAction] {
        let index = Int(header.slot)
        guard slots[index].present, slots[index].powered else {
            slots[index].clearChains()
            return [failure(header, error: .iccMute)]
        }
        let command: [UInt8]
        switch CCIDChainParameter(rawValue: level) {
        case .complete:
            slots[index].clearChains()
            command = data
        case .begins:
            slots[index].clearChains()
            slots[index].commandChain = data
            return [continueCommandReply(header)]
        case .continues:
            guard let chain = slots[index].commandChain else { return [failure(header, error: .badField(offset: 8))] }
            guard chain.count + data.count <= configuration.maximumChainedCommandLength else {
                slots[index].clearChains()
                return [failure(header, error: .badField(offset: 1))]
            }
            slots[index].commandChain = chain + data
            return [continueCommandReply(header)]
        case .ends:
            guard let chain = slots[index].commandChain else { return [failure(header, error: .badField(offset: 8))] }
            slots[index].commandChain = nil
            guard chain.count + data.count <= configuration.maximumChainedCommandLength else {
                return [failure(header, error: .badField(offset: 1))]
            }
            command = chain + data
        case .continueRequest:
            guard data.isEmpty, let remainder = slots[index].responseRemainder else {
                return [failure(header, error: .badField(offset: 8))]
            }
            return [dataBlockPart(slot: index, sequence: header.sequence, bytes: remainder, first: false)]
        default:
            return [failure(header, error: .badField(offset: 8))]
        }
        guard !command.isEmpty else { return [failure(header, error: .badField(offset: 1))] }
        slots[index].pending = Pending(kind: .transmit, sequence: header.sequence)
        return [.card(slot: index, .transmit(command))]
    }

    /// The offset (in the message) of the first invalid byte of a T=1 protocol data structure,
    /// or `nil` when all 7 are acceptable. A wrong length is a bad `dwLength` (offset 1).
    private static func invalidT1ParameterOffset(_ data: [UInt8]) -> UInt8? {
        guard data.count == 7 else { return 1 }
        // bmTCCKST1: 0b000100xx (bit 0 CRC/LRC, bit 1 inverse/direct convention).
        guard data[1] & 0xFC == 0x10 else { return 11 }
        // bClockStop 0…3.
        guard data[4] <= 3 else { return 14 }
        // bIFSC 1…254.
        guard (1...254).contains(data[5]) else { return 15 }
        // bNadValue: dwFeatures does not offer NADs other than 0.
        guard data[6] == 0 else { return 16 }
        return nil
    }

    // MARK: - Card outcomes

    /// Reports the outcome of the card work requested for `slot` and returns the reply.
    ///
    /// An outcome that does not match the outstanding work (an ATR for an APDU, say) is answered
    /// as a hardware error (`bError` FB); an outcome for a slot with nothing outstanding is
    /// discarded.
    package mutating func complete(slot index: Int, with outcome: CCIDCardOutcome) -> [CCIDDeviceAction] {
        guard slots.indices.contains(index), let pending = slots[index].pending else {
            return [.discarded("card outcome for slot \(index), which has no work outstanding")]
        }
        slots[index].pending = nil
        let slotByte = UInt8(index)
        let sequence = pending.sequence

        // Card state first: what the card did happened whatever the host is told.
        var mismatched = false
        switch (pending.kind, outcome) {
        case (.powerOn, .answerToReset):
            slots[index].powered = slots[index].present
            slots[index].parameters = CCIDDeviceConfiguration.defaultT1Parameters
        case (.powerOn, .powerOnFailed), (.powerOn, .mute), (.transmit, .mute), (.transmit, .powerOnFailed):
            slots[index].powered = false
            slots[index].clearChains()
        case (.transmit, .response):
            break
        case (.powerOn, .response), (.transmit, .answerToReset):
            mismatched = true
        }

        func failed(_ error: CCIDSlotError) -> [CCIDDeviceAction] {
            let status = CCIDSlotStatus(icc: slots[index].iccStatus, command: .failed)
            return [.bulkIn(CCIDMessage(slot: slotByte, sequence: sequence,
                                        kind: .dataBlock(status: status, error: error, chain: 0, data: [])).encoded())]
        }
        if pending.aborted { return failed(.aborted) }
        if !slots[index].present { return failed(.iccMute) }
        if mismatched { return failed(.hardwareError) }

        switch outcome {
        case .answerToReset(let atr):
            return [.bulkIn(CCIDMessage(slot: slotByte, sequence: sequence,
                                        kind: .dataBlock(status: .active, error: Self.noError, chain: 0, data: atr)).encoded())]
        case .response(let response):
            slots[index].responseRemainder = nil
            return [dataBlockPart(slot: index, sequence: sequence, bytes: response, first: true)]
        case .powerOnFailed, .mute:
            return failed(.iccMute)
        }
    }

    /// A time-extension `RDR_to_PC_DataBlock` (`bStatus` 0x80, `bError` = the BWT multiplier)
    /// for the work outstanding on `slot`; nothing when the slot is idle. The driver calls this
    /// each time the card has worked longer than ``CCIDDeviceConfiguration/timeExtensionThreshold``.
    package func requestTimeExtension(slot index: Int) -> [CCIDDeviceAction] {
        guard slots.indices.contains(index), let pending = slots[index].pending else { return [] }
        let status = CCIDSlotStatus(icc: slots[index].iccStatus, command: .timeExtension)
        let message = CCIDMessage(slot: UInt8(index), sequence: pending.sequence, kind: .dataBlock(
            status: status, error: CCIDSlotError(rawValue: configuration.timeExtensionMultiplier), chain: 0, data: []))
        return [.bulkIn(message.encoded())]
    }

    // MARK: - Slot changes

    /// Inserts or removes the card of `slot`. A change yields an `RDR_to_PC_NotifySlotChange`
    /// (with the slot's "changed" bit set) for the interrupt endpoint; removing a powered card
    /// also powers it off. No change, no action.
    package mutating func setCardPresent(_ present: Bool, slot index: Int) -> [CCIDDeviceAction] {
        guard slots.indices.contains(index), slots[index].present != present else { return [] }
        var actions: [CCIDDeviceAction] = []
        slots[index].present = present
        if !present {
            if slots[index].powered { actions.append(.card(slot: index, .powerOff)) }
            slots[index].powered = false
            slots[index].clearChains()
        }
        actions.append(.interruptIn(slotChangeNotification(changed: [index])))
        return actions
    }

    /// The `RDR_to_PC_NotifySlotChange` a reader sends when it starts: every slot's presence,
    /// with the "changed" bit set for the slots that hold a card.
    package func initialSlotChangeNotification() -> [UInt8] {
        slotChangeNotification(changed: Set(slots.indices.filter { slots[$0].present }))
    }

    private func slotChangeNotification(changed: Set<Int>) -> [UInt8] {
        let bits = slots.indices.map { (present: slots[$0].present, changed: changed.contains($0)) }
        return CCIDInterruptMessage.notifySlotChange(CCIDSlotChange(slots: bits)).encoded()
    }

    // MARK: - Class requests (control endpoint)

    /// `bRequest` of the CCID class requests (CCID 1.1 §5.3).
    package enum ClassRequest {
        /// `01` ABORT: `wValue` = `bSeq << 8 | bSlot`.
        package static let abort: UInt8 = 0x01
        /// `02` GET_CLOCK_FREQUENCIES: the supported clocks, LE u32 kHz each.
        package static let getClockFrequencies: UInt8 = 0x02
        /// `03` GET_DATA_RATES: the supported data rates, LE u32 bps each.
        package static let getDataRates: UInt8 = 0x03
    }

    /// Handles a class-specific request addressed to the CCID interface. The caller has checked
    /// that `wIndex` names this interface.
    package mutating func handleClassRequest(_ setup: USBSetupPacket, data: [UInt8] = []) -> CCIDControlResult {
        // Class request (type bits 01) to an interface (recipient 00001).
        guard setup.requestType & 0x7F == 0x21 else { return .stall }
        switch (setup.request, setup.isDeviceToHost) {
        case (ClassRequest.abort, false):
            let slot = Int(setup.value & 0xFF)
            guard slots.indices.contains(slot) else { return .stall }
            return .completed(data: [], actions: abortRequest(slot: slot, sequence: UInt8(setup.value >> 8)))
        case (ClassRequest.getClockFrequencies, true):
            return .completed(data: Array(littleEndianBytes(configuration.clockKHz).prefix(Int(setup.length))), actions: [])
        case (ClassRequest.getDataRates, true):
            return .completed(data: Array(littleEndianBytes(configuration.dataRate).prefix(Int(setup.length))), actions: [])
        default:
            return .stall
        }
    }

    private mutating func abortRequest(slot index: Int, sequence: UInt8) -> [CCIDDeviceAction] {
        slots[index].pending?.aborted = true
        slots[index].clearChains()
        if slots[index].abort == .messageWaiting(sequence: sequence) {
            slots[index].abort = .idle
            return [slotStatusReply(slot: index, sequence: sequence)]
        }
        slots[index].abort = .requested(sequence: sequence)
        return []
    }

    private mutating func abortMessage(slot index: Int, sequence: UInt8) -> [CCIDDeviceAction] {
        if slots[index].abort == .requested(sequence: sequence) {
            slots[index].abort = .idle
            return [slotStatusReply(slot: index, sequence: sequence)]
        }
        slots[index].abort = .messageWaiting(sequence: sequence)
        return []
    }

    // MARK: - Replies

    /// `bError` of a successful reply (the same byte as CMD_NOT_SUPPORTED, meaningful only when
    /// `bStatus` says "failed").
    private static let noError = CCIDSlotError(rawValue: 0)

    private func slotStatusReply(slot index: Int, sequence: UInt8) -> CCIDDeviceAction {
        let status = CCIDSlotStatus(icc: slots[index].iccStatus, command: .processed)
        return .bulkIn(CCIDMessage(slot: UInt8(index), sequence: sequence,
                                   kind: .slotStatus(status: status, error: Self.noError, clock: .running)).encoded())
    }

    private func parametersReply(slot index: Int, sequence: UInt8) -> CCIDDeviceAction {
        let status = CCIDSlotStatus(icc: slots[index].iccStatus, command: .processed)
        return .bulkIn(CCIDMessage(slot: UInt8(index), sequence: sequence, kind: .parameters(
            status: status, error: Self.noError, protocolNumber: 1, data: slots[index].parameters)).encoded())
    }

    /// The empty `RDR_to_PC_DataBlock` with `bChainParameter` 10 that asks for the next part of
    /// a chained command.
    private func continueCommandReply(_ header: CCIDHeader) -> CCIDDeviceAction {
        let status = CCIDSlotStatus(icc: slots[Int(header.slot)].iccStatus, command: .processed)
        return .bulkIn(CCIDMessage(slot: header.slot, sequence: header.sequence, kind: .dataBlock(
            status: status, error: Self.noError, chain: UInt8(CCIDChainParameter.continueRequest.rawValue), data: [])).encoded())
    }

    /// The next `RDR_to_PC_DataBlock` of a response: whole when it fits
    /// `dwMaxCCIDMessageLength`, else a part with `bChainParameter` 01 (first), 03 (middle) or
    /// 02 (last), the rest kept for the host's `wLevelParameter` 0010 requests.
    private mutating func dataBlockPart(slot index: Int, sequence: UInt8, bytes: [UInt8], first: Bool) -> CCIDDeviceAction {
        let room = configuration.maxMessageLength - CCIDHeader.size
        // The usual response fits one message: it goes out as it is, with no copy.
        let fits = bytes.count <= room
        let part = fits ? bytes : Array(bytes.prefix(room))
        let rest = fits ? [] : Array(bytes.dropFirst(room))
        let chain: CCIDChainParameter
        switch (first, rest.isEmpty) {
        case (true, true): chain = .complete
        case (true, false): chain = .begins
        case (false, false): chain = .continues
        case (false, true): chain = .ends
        }
        slots[index].responseRemainder = rest.isEmpty ? nil : rest
        let status = CCIDSlotStatus(icc: slots[index].iccStatus, command: .processed)
        return .bulkIn(CCIDMessage(slot: UInt8(index), sequence: sequence, kind: .dataBlock(
            status: status, error: Self.noError, chain: UInt8(chain.rawValue), data: part)).encoded())
    }

    /// A failed reply of the type that answers `header`'s message.
    private func failure(_ header: CCIDHeader, error: CCIDSlotError) -> CCIDDeviceAction {
        failure(type: header.messageType, slot: header.slot, sequence: header.sequence, error: error)
    }

    private func failure(type: UInt8, slot: UInt8, sequence: UInt8, error: CCIDSlotError) -> CCIDDeviceAction {
        let status = CCIDSlotStatus(icc: iccStatus(slot: Int(slot)), command: .failed)
        let kind: CCIDMessage.Kind
        switch type {
        case CCIDMessageType.iccPowerOn, CCIDMessageType.xfrBlock, CCIDMessageType.secure:
            kind = .dataBlock(status: status, error: error, chain: 0, data: [])
        case CCIDMessageType.getParameters, CCIDMessageType.resetParameters, CCIDMessageType.setParameters:
            kind = .parameters(status: status, error: error, protocolNumber: 0, data: [])
        case CCIDMessageType.escape:
            kind = .escapeResponse(status: status, error: error, data: [])
        case CCIDMessageType.setDataRateAndClockFrequency:
            kind = .dataRateAndClockFrequency(status: status, error: error, clockFrequency: 0, dataRate: 0)
        default:
            // IccPowerOff, GetSlotStatus, IccClock, T0APDU, Mechanical, Abort and any unknown
            // type are answered with RDR_to_PC_SlotStatus (§6.2.6).
            kind = .slotStatus(status: status, error: error, clock: .running)
        }
        return .bulkIn(CCIDMessage(slot: slot, sequence: sequence, kind: kind).encoded())
    }
}
