import SealSimulatedToken
import SealReaderWire
import SealProtocol

/// One URB-phase reply of the server with the direction of the request it answers (USB/IP
/// servers write 0 in the header's direction field, so the encoder needs it separately).
package struct USBIPServerReply: Hashable, Sendable {
    /// RET_SUBMIT or RET_UNLINK.
    package var message: USBIPReturn
    /// The direction of the CMD_SUBMIT answered (`.out` for RET_UNLINK).
    package var direction: USBIPDirection

    package init(message: USBIPReturn, direction: USBIPDirection) {
        self.message = message
        self.direction = direction
    }

    /// The wire bytes.
    package func encoded() -> [UInt8] { message.encoded(direction: direction) }

    /// The RET_SUBMIT, when it is one.
    package var submitReturn: USBIPSubmitReturn? {
        if case .submit(let ret) = message { return ret }
        return nil
    }

    /// The RET_UNLINK, when it is one.
    package var unlinkReturn: USBIPUnlinkReturn? {
        if case .unlink(let ret) = message { return ret }
        return nil
    }
}

/// The URB phase of one imported simulated CCID token: USB/IP commands in, USB/IP returns out.
/// No sockets and no threads; the server feeds it from the connection's thread.
///
/// - Endpoint 0: the chapter 9 standard requests a host sends (GET_DESCRIPTOR device,
///   configuration and string; SET/GET_CONFIGURATION; SET/GET_INTERFACE; GET_STATUS;
///   SET/CLEAR_FEATURE(ENDPOINT_HALT); SET_ADDRESS) and the CCID class requests (ABORT,
///   GET_CLOCK_FREQUENCIES, GET_DATA_RATES). Anything else stalls (`-EPIPE`).
/// - Bulk OUT (ep 1): completes at once; its data goes through a ``CCIDBulkOutAssembler`` to the
///   ``CCIDDeviceRunner``.
/// - Bulk IN (ep 2): URBs wait in submission order until the device has a message. A message
///   longer than the URB's buffer continues in the next URB when the buffer is a whole number of
///   64-byte packets; otherwise the URB fails with `-EOVERFLOW` (babble) and the message is lost,
///   as on a real bus. A message ending exactly on a packet boundary would be followed by a
///   zero-length packet on the wire; over USB/IP the URB's completion carries that end.
///   `URB_SHORT_NOT_OK` is honoured (`-EREMOTEIO`), and the URBs that followed such a URB in the
///   same transfer are held for the host's unlink instead of being given the next message.
/// - Interrupt IN (ep 3): URBs wait until a slot changes; unread NotifySlotChange messages are
///   merged (presence from the latest, "changed" bits accumulated), as a reader does. A session
///   starts with the initial NotifySlotChange queued, and SET_CONFIGURATION queues it again.
/// - CMD_UNLINK: a waiting URB is dropped and answered `-ECONNRESET` (and never gets a
///   RET_SUBMIT); an unknown or completed one is answered 0.
package final class USBIPServerDeviceSession {
    /// Negative errno values carried in `status` (Linux numbering, as the kernel's vhci expects).
    package enum Status {
        package static let ok: Int32 = 0
        /// Stall.
        package static let brokenPipe: Int32 = -32
        /// Babble: the device sent more than the buffer holds.
        package static let overflow: Int32 = -75
        /// Unlinked.
        package static let connectionReset: Int32 = -104
        /// Short transfer with `URB_SHORT_NOT_OK`.
        package static let remoteIO: Int32 = -121
    }

    /// The device's descriptors.
    package let descriptors: CCIDUSBDescriptorSet
    /// `busnum << 16 | devnum` of the device, as the host addresses it.
    package let devid: UInt32
    /// The CCID device and its cards.
    package let runner: CCIDDeviceRunner

    private let note: (String) -> Void
    // The state below is touched by one thread (the connection's) and never by two overlapping
    // accesses, so the runtime's exclusivity checks on it only cost time: a dozen per command.
    @exclusivity(unchecked) private var assembler: CCIDBulkOutAssembler
    @exclusivity(unchecked) private var configurationValue: UInt8 = 1
    @exclusivity(unchecked) private var halted: Set<UInt8> = []

    @exclusivity(unchecked) private var bulkInMessages: [[UInt8]] = []
    @exclusivity(unchecked) private var bulkInOffset = 0
    @exclusivity(unchecked) private var pendingBulkIn: [USBIPSubmit] = []
    /// IN URBs of a transfer that already ended short under `URB_SHORT_NOT_OK`, held for unlink.
    @exclusivity(unchecked) private var abandonedBulkIn: [USBIPSubmit] = []
    @exclusivity(unchecked) private var abandoningTransfer = false

    @exclusivity(unchecked) private var interruptMessages: [[UInt8]] = []
    @exclusivity(unchecked) private var pendingInterrupt: [USBIPSubmit] = []
    /// What the runner produced for the command at hand; kept (empty) for the next one.
    @exclusivity(unchecked) private var outputScratch: [CCIDDeviceOutput] = []

    /// A session for the device `descriptors` describes, driving `runner`.
    ///
    /// - Parameter note: receives diagnostics (discarded transfers, unexpected requests).
    package init(descriptors: CCIDUSBDescriptorSet, runner: CCIDDeviceRunner, devid: UInt32,
                note: @escaping (String) -> Void = { _ in }) {
        self.descriptors = descriptors
        self.runner = runner
        self.devid = devid
        self.note = note
        self.assembler = CCIDBulkOutAssembler(maxPacketSize: CCIDUSBDescriptorSet.bulkMaxPacketSize,
                                              maxMessageLength: runner.device.configuration.maxMessageLength)
        interruptMessages.append(runner.device.initialSlotChangeNotification())
    }

    /// URBs waiting for data on bulk IN and interrupt IN (for inspection).
    package var pendingSeqnums: (bulkIn: [UInt32], interruptIn: [UInt32]) {
        (pendingBulkIn.map(\.seqnum) + abandonedBulkIn.map(\.seqnum), pendingInterrupt.map(\.seqnum))
    }

    // MARK: - Inputs

    /// Handles one CMD_SUBMIT or CMD_UNLINK.
    ///
    /// - Returns: the returns to send, in order: the answer to this command when it completes at
    ///   once, then any waiting URB the command let complete.
    package func handle(_ command: USBIPCommand) -> [USBIPServerReply] {
        var replies: [USBIPServerReply] = []
        handle(command, into: &replies)
        return replies
    }

    /// Handles one CMD_SUBMIT or CMD_UNLINK and appends the returns to send to `replies`, in the
    /// order ``handle(_:)`` returns them (a connection that answers every command of a read in
    /// one write reuses one array).
    package func handle(_ command: USBIPCommand, into replies: inout [USBIPServerReply]) {
        switch command {
        case .submit(let submit):
            self.submit(submit, into: &replies)
        case .unlink(let unlink):
            replies.append(self.unlink(unlink))
        }
    }

    /// Inserts or removes the card of `slot` (a NotifySlotChange for the host).
    package func setCardPresent(_ present: Bool, slot: Int) -> [USBIPServerReply] {
        absorb(runner.setCardPresent(present, slot: slot))
        return flush()
    }

    /// The host detached: powers the cards off. Waiting URBs are forgotten.
    package func detach() {
        runner.powerOffAll()
        pendingBulkIn = []
        abandonedBulkIn = []
        pendingInterrupt = []
    }

    // MARK: - CMD_SUBMIT

    private func submit(_ submit: USBIPSubmit, into replies: inout [USBIPServerReply]) {
        let number = UInt8(truncatingIfNeeded: submit.endpoint & 0x0F)
        if number == 0 {
            replies.append(control(submit))
            flush(into: &replies)
            return
        }
        let address = submit.direction == .in ? number | 0x80 : number
        guard configurationValue != 0, descriptors.hasEndpoint(address), halted.isEmpty || !halted.contains(address) else {
            replies.append(complete(submit, status: Status.brokenPipe))
            return
        }
        switch address {
        case CCIDUSBDescriptorSet.bulkOutEndpoint:
            let zlp = submit.transferFlags & USBIP.urbZeroPacket != 0
            if let message = assembler.take(submit.data, zeroLengthPacket: zlp) {
                var outputs = outputScratch
                outputScratch = []
                runner.receiveBulkOut(message, into: &outputs)
                absorb(outputs)
                outputs.removeAll(keepingCapacity: true)
                outputScratch = outputs
            }
            replies.append(complete(submit, status: Status.ok, actualLength: UInt32(clamping: submit.data.count)))
            flush(into: &replies)
        case CCIDUSBDescriptorSet.bulkInEndpoint:
            if submit.transferBufferLength == 0 {
                replies.append(complete(submit, status: Status.ok))
                return
            }
            if abandoningTransfer {
                abandonedBulkIn.append(submit)
                if submit.transferFlags & USBIP.urbShortNotOK == 0 { abandoningTransfer = false }
                flush(into: &replies)
                return
            }
            pendingBulkIn.append(submit)
            flush(into: &replies)
        case CCIDUSBDescriptorSet.interruptInEndpoint:
            pendingInterrupt.append(submit)
            flush(into: &replies)
        default:
            replies.append(complete(submit, status: Status.brokenPipe))
        }
    }

    /// A control transfer on endpoint 0: completes at once, with data or a stall.
    private func control(_ submit: USBIPSubmit) -> USBIPServerReply {
        guard let setup = submit.setupPacket else { return complete(submit, status: Status.brokenPipe) }
        let result: [UInt8]?
        switch setup.requestType & 0x60 {
        case 0x00: result = standardRequest(setup)
        case 0x20: result = classRequest(setup, data: submit.data)
        default: result = nil
        }
        guard let data = result else {
            note("stalled control request \(hexString(setup.bytes))")
            return complete(submit, status: Status.brokenPipe)
        }
        if setup.isDeviceToHost {
            let limit = min(Int(setup.length), Int(submit.transferBufferLength))
            return complete(submit, status: Status.ok, data: Array(data.prefix(limit)))
        }
        return complete(submit, status: Status.ok, actualLength: UInt32(clamping: submit.data.count))
    }

    /// USB 2.0 §9.4. `nil`: stall.
    private func standardRequest(_ setup: USBSetupPacket) -> [UInt8]? {
        let recipient = setup.requestType & 0x1F
        let endpoint = UInt8(truncatingIfNeeded: setup.index)
        switch (setup.request, setup.isDeviceToHost) {
        case (0x06, true):  // GET_DESCRIPTOR
            return descriptors.descriptor(type: UInt8(setup.value >> 8), index: UInt8(truncatingIfNeeded: setup.value))
        case (0x00, true):  // GET_STATUS
            switch recipient {
            case 0: return [0, 0]  // bus-powered, no remote wakeup
            case 1: return setup.index == UInt16(CCIDUSBDescriptorSet.interfaceNumber) ? [0, 0] : nil
            case 2: return descriptors.hasEndpoint(endpoint) ? [halted.contains(endpoint) ? 1 : 0, 0] : nil
            default: return nil
            }
        case (0x01, false), (0x03, false):  // CLEAR_FEATURE, SET_FEATURE
            let set = setup.request == 0x03
            guard recipient == 2, setup.value == 0, descriptors.hasEndpoint(endpoint) else { return nil }  // ENDPOINT_HALT only
            guard endpoint & 0x7F != 0 else { return set ? nil : [] }
            if set {
                halted.insert(endpoint)
            } else {
                halted.remove(endpoint)
                if endpoint == CCIDUSBDescriptorSet.bulkOutEndpoint { assembler.reset() }
            }
            return []
        case (0x05, false):  // SET_ADDRESS (the host side's vhci answers it itself; harmless here)
            return []
        case (0x08, true):  // GET_CONFIGURATION
            return [configurationValue]
        case (0x09, false):  // SET_CONFIGURATION
            guard setup.value <= 1 else { return nil }
            configurationValue = UInt8(setup.value)
            halted = []
            assembler.reset()
            // A (re)configured reader reports its slots again; merged with an unread report.
            if configurationValue != 0 { queueInterrupt(runner.device.initialSlotChangeNotification()) }
            return []
        case (0x0A, true):  // GET_INTERFACE
            return configurationValue != 0 && setup.index == UInt16(CCIDUSBDescriptorSet.interfaceNumber) ? [0] : nil
        case (0x0B, false):  // SET_INTERFACE
            guard configurationValue != 0, setup.index == UInt16(CCIDUSBDescriptorSet.interfaceNumber), setup.value == 0 else { return nil }
            halted = []
            return []
        default:
            return nil
        }
    }

    /// CCID class requests to interface 0. `nil`: stall.
    private func classRequest(_ setup: USBSetupPacket, data: [UInt8]) -> [UInt8]? {
        guard setup.requestType & 0x1F == 1, setup.index & 0xFF == UInt16(CCIDUSBDescriptorSet.interfaceNumber) else { return nil }
        guard let (reply, outputs) = runner.handleClassRequest(setup, data: data) else { return nil }
        absorb(outputs)
        return reply
    }

    // MARK: - CMD_UNLINK

    private func unlink(_ unlink: USBIPUnlink) -> USBIPServerReply {
        let target = unlink.unlinkSeqnum
        var found = false
        if let index = pendingBulkIn.firstIndex(where: { $0.seqnum == target }) {
            pendingBulkIn.remove(at: index)
            found = true
        } else if let index = abandonedBulkIn.firstIndex(where: { $0.seqnum == target }) {
            abandonedBulkIn.remove(at: index)
            found = true
        } else if let index = pendingInterrupt.firstIndex(where: { $0.seqnum == target }) {
            pendingInterrupt.remove(at: index)
            found = true
        }
        return USBIPServerReply(message: .unlink(USBIPUnlinkReturn(seqnum: unlink.seqnum, status: found ? Status.connectionReset : Status.ok)),
                                direction: .out)
    }

    // MARK: - IN delivery

    private func absorb(_ outputs: [CCIDDeviceOutput]) {
        for output in outputs {
            switch output {
            case .bulkIn(let bytes):
                bulkInMessages.append(bytes)
            case .interruptIn(let bytes):
                queueInterrupt(bytes)
            case .note(let text):
                note(text)
            }
        }
    }

    /// Queues an interrupt message, merging it into an unread NotifySlotChange.
    private func queueInterrupt(_ bytes: [UInt8]) {
        if let last = interruptMessages.last,
           case .notifySlotChange(let old)? = try? CCIDInterruptMessage(decoding: last),
           case .notifySlotChange(let new)? = try? CCIDInterruptMessage(decoding: bytes),
           old.bitmap.count == new.bitmap.count {
            // Presence (even bits) from the newer message, "changed" (odd bits) from both.
            let merged = zip(old.bitmap, new.bitmap).map { ($1 & 0x55) | (($0 | $1) & 0xAA) }
            interruptMessages[interruptMessages.count - 1] = CCIDInterruptMessage.notifySlotChange(CCIDSlotChange(bitmap: merged)).encoded()
            return
        }
        interruptMessages.append(bytes)
    }

    /// Completes every waiting IN URB that now has data.
    private func flush() -> [USBIPServerReply] {
        var replies: [USBIPServerReply] = []
        flush(into: &replies)
        return replies
    }

    /// Appends the completions of waiting IN URBs that now have data to `replies`.
    private func flush(into replies: inout [USBIPServerReply]) {
        while !pendingBulkIn.isEmpty, let message = bulkInMessages.first {
            let urb = Self.takeFirst(&pendingBulkIn)
            let capacity = Int(urb.transferBufferLength)
            let remaining = message.count - bulkInOffset
            let packet = CCIDUSBDescriptorSet.bulkMaxPacketSize
            if remaining <= capacity {
                let data = bulkInOffset == 0 ? message : Array(message[bulkInOffset...])
                _ = Self.takeFirst(&bulkInMessages)
                bulkInOffset = 0
                let short = data.count < capacity
                if short, urb.transferFlags & USBIP.urbShortNotOK != 0 {
                    replies.append(complete(urb, status: Status.remoteIO, data: data))
                    abandonPendingTransfer()
                } else {
                    replies.append(complete(urb, status: Status.ok, data: data))
                }
            } else if capacity % packet == 0 {
                replies.append(complete(urb, status: Status.ok, data: Array(message[bulkInOffset ..< bulkInOffset + capacity])))
                bulkInOffset += capacity
            } else {
                note("bulk-IN URB \(urb.seqnum) of \(capacity) bytes (not whole 64-byte packets) cannot take a \(remaining)-byte message: babble")
                replies.append(complete(urb, status: Status.overflow, data: Array(message[bulkInOffset ..< bulkInOffset + capacity])))
                _ = Self.takeFirst(&bulkInMessages)
                bulkInOffset = 0
            }
        }
        while !pendingInterrupt.isEmpty, !interruptMessages.isEmpty {
            let urb = pendingInterrupt.removeFirst()
            let message = interruptMessages.removeFirst()
            replies.append(complete(urb, status: Status.ok, data: Array(message.prefix(Int(urb.transferBufferLength)))))
        }
    }

    /// Removes and returns the first element of a non-empty queue; the usual queue here holds
    /// one element, and emptying it keeps its storage for the next command (`removeFirst` goes
    /// through a general range replacement).
    private static func takeFirst<Element>(_ queue: inout [Element]) -> Element {
        if queue.count == 1 {
            let first = queue[0]
            queue.removeAll(keepingCapacity: true)
            return first
        }
        return queue.removeFirst()
    }

    /// After a short completion under `URB_SHORT_NOT_OK`, the waiting URBs up to and including
    /// the first without the flag belong to the finished transfer: the host unlinks them.
    private func abandonPendingTransfer() {
        abandoningTransfer = true
        while abandoningTransfer, !pendingBulkIn.isEmpty {
            let urb = pendingBulkIn.removeFirst()
            abandonedBulkIn.append(urb)
            if urb.transferFlags & USBIP.urbShortNotOK == 0 { abandoningTransfer = false }
        }
    }

    private func complete(_ submit: USBIPSubmit, status: Int32, data: [UInt8] = [], actualLength: UInt32? = nil) -> USBIPServerReply {
        let ret = USBIPSubmitReturn(
            seqnum: submit.seqnum, devid: 0, direction: 0, endpoint: 0, status: status,
            actualLength: actualLength ?? UInt32(clamping: data.count), startFrame: 0,
            numberOfPackets: submit.numberOfPackets, errorCount: 0, data: submit.direction == .in ? data : [])
        return USBIPServerReply(message: .submit(ret), direction: submit.direction)
    }
}
