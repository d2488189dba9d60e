import SealSimulatedToken
import SealReaderWire
import SealFirmware
import SealProtocol

/// A card in a CCID slot: what ``CCIDDeviceRunner`` drives synchronously.
///
/// Implementations are used from one thread at a time (the runner's); they need not be
/// `Sendable`.
package protocol CCIDCard: AnyObject {
    /// Cold reset. Returns the ATR, or `nil` when the card did not come up.
    func powerOn() -> [UInt8]?
    /// Removes power; volatile state is lost.
    func powerOff()
    /// Processes one command APDU.
    func transmit(_ apdu: [UInt8]) -> ChipResponse
}

/// A ``SimulatedChip`` in a CCID slot.
package final class SimulatedChipCard: CCIDCard {
    /// The chip.
    package let chip: SimulatedChip

    /// Puts `chip` in the slot.
    package init(chip: SimulatedChip) {
        self.chip = chip
    }

    package func powerOn() -> [UInt8]? { try? chip.powerOn() }
    package func powerOff() { chip.powerOff() }
    package func transmit(_ apdu: [UInt8]) -> ChipResponse { chip.process(apdu) }
}

/// An output of ``CCIDDeviceRunner``: a message for one of the device's IN endpoints, or a note
/// for the log.
package enum CCIDDeviceOutput: Hashable, Sendable {
    /// A complete RDR_to_PC message for the bulk-IN endpoint.
    case bulkIn([UInt8])
    /// A message for the interrupt-IN endpoint.
    case interruptIn([UInt8])
    /// Something worth logging (a discarded transfer, an outcome nobody waited for).
    case note(String)
}

/// Drives a ``CCIDDevice`` with real cards, synchronously: each card operation the device asks
/// for is carried out at once on the calling thread and its outcome fed back, so one input
/// yields every message it causes.
///
/// Time extension: when ``CCIDDeviceConfiguration/timeExtensionThreshold`` is above zero and an
/// operation takes at least that long, one time-extension `RDR_to_PC_DataBlock` (`bStatus` 0x80)
/// is queued just before the real answer. The host reads it, extends its
/// timeout and reads again, exactly as if it had arrived while the chip was working (the runner
/// is synchronous, so it cannot send it earlier; ``CCIDDevice`` itself supports an asynchronous
/// driver that calls ``CCIDDevice/requestTimeExtension(slot:)`` from a timer).
///
/// Not thread-safe: confine a runner to one thread (the USB/IP server gives each connection one).
package final class CCIDDeviceRunner {
    /// The state machine (read it for inspection; inputs go through the runner).
    ///
    /// A runner is confined to one thread and never accesses its device twice at once, so the
    /// runtime's exclusivity checks (two per card operation) are left out.
    @exclusivity(unchecked) package private(set) var device: CCIDDevice
    private let cards: [any CCIDCard]
    private let clock: any Clock<Duration>
    /// Whether card operations are timed (a time-extension threshold above zero), decided once.
    private let measuresOperations: Bool

    /// A runner over `cards` (one per slot; the device has `cards.count` slots unless the
    /// configuration says fewer). `cardPresent[k]` says whether slot k's card is inserted.
    ///
    /// - Parameter clock: measures card operations for time extensions (default: the
    ///   continuous clock).
    package init(configuration: CCIDDeviceConfiguration = CCIDDeviceConfiguration(), cards: [any CCIDCard],
                cardPresent: [Bool] = [], clock: any Clock<Duration> = ContinuousClock()) {
        var configuration = configuration
        configuration.slotCount = min(max(configuration.slotCount, 1), max(cards.count, 1))
        self.device = CCIDDevice(configuration: configuration,
                                 cardPresent: (0..<configuration.slotCount).map { $0 < cards.count && ($0 >= cardPresent.count || cardPresent[$0]) })
        self.cards = cards
        self.clock = clock
        self.measuresOperations = configuration.timeExtensionThreshold > .zero
    }

    /// Handles one complete bulk-OUT message; see ``CCIDDevice/receiveBulkOut(_:)``.
    package func receiveBulkOut(_ message: [UInt8]) -> [CCIDDeviceOutput] {
        var outputs: [CCIDDeviceOutput] = []
        receiveBulkOut(message, into: &outputs)
        return outputs
    }

    /// Handles one complete bulk-OUT message and appends what it causes to `outputs`, as
    /// ``receiveBulkOut(_:)`` returns it (a device model that handles a command per URB reuses
    /// one array).
    package func receiveBulkOut(_ message: [UInt8], into outputs: inout [CCIDDeviceOutput]) {
        perform(device.receiveBulkOut(message), into: &outputs)
    }

    /// Handles a CCID class request; see ``CCIDDevice/handleClassRequest(_:data:)``.
    ///
    /// - Returns: `nil` to stall, else the IN data and the messages the request caused.
    package func handleClassRequest(_ setup: USBSetupPacket, data: [UInt8] = []) -> (data: [UInt8], outputs: [CCIDDeviceOutput])? {
        switch device.handleClassRequest(setup, data: data) {
        case .stall:
            return nil
        case .completed(let data, let actions):
            var outputs: [CCIDDeviceOutput] = []
            perform(actions, into: &outputs)
            return (data, outputs)
        }
    }

    /// Inserts or removes slot `slot`'s card; see ``CCIDDevice/setCardPresent(_:slot:)``.
    package func setCardPresent(_ present: Bool, slot: Int) -> [CCIDDeviceOutput] {
        var outputs: [CCIDDeviceOutput] = []
        perform(device.setCardPresent(present, slot: slot), into: &outputs)
        return outputs
    }

    /// Powers every card off (the device is being unplugged or reset).
    package func powerOffAll() {
        for card in cards { card.powerOff() }
    }

    /// Carries out `actions` in order. The actions a card operation's outcome yields
    /// (``CCIDDevice/complete(slot:with:)``: messages, never more card work) are carried out at once,
    /// before the actions after that operation.
    private func perform(_ actions: [CCIDDeviceAction], into outputs: inout [CCIDDeviceOutput]) {
        for action in actions {
            switch action {
            case .bulkIn(let bytes):
                outputs.append(.bulkIn(bytes))
            case .interruptIn(let bytes):
                outputs.append(.interruptIn(bytes))
            case .discarded(let reason):
                outputs.append(.note(reason))
            case .card(let slot, let operation):
                guard cards.indices.contains(slot) else {
                    outputs.append(.note("card operation for slot \(slot), which has no card"))
                    continue
                }
                let card = cards[slot]
                if case .powerOff = operation {
                    card.powerOff()
                    continue
                }
                let outcome: CCIDCardOutcome
                if measuresOperations {
                    let (measured, elapsed) = Self.measure(clock) { Self.run(operation, on: card) }
                    outcome = measured
                    outputs += timeExtensions(slot: slot, elapsed: elapsed)
                } else {
                    // No time extensions configured (the default): no clock reads on the command's path.
                    outcome = Self.run(operation, on: card)
                }
                perform(device.complete(slot: slot, with: outcome), into: &outputs)
            }
        }
    }

    /// Has `card` carry out `operation` (power-on or an APDU; power-off needs no outcome).
    private static func run(_ operation: CCIDCardOperation, on card: any CCIDCard) -> CCIDCardOutcome {
        switch operation {
        case .powerOff:
            return .powerOnFailed  // not reached: the caller powers the card off itself
        case .powerOn:
            return card.powerOn().map { .answerToReset($0) } ?? .powerOnFailed
        case .transmit(let apdu):
            switch card.transmit(apdu) {
            case .response(let bytes): return .response(bytes)
            case .mute: return .mute
            }
        }
    }

    private static func measure<C: Clock, T>(_ clock: C, _ body: () -> T) -> (T, Duration) where C.Duration == Duration {
        let start = clock.now
        let value = body()
        return (value, start.duration(to: clock.now))
    }

    /// The time-extension message owed for an operation that took `elapsed`: one when it reached
    /// the threshold, none otherwise.
    private func timeExtensions(slot: Int, elapsed: Duration) -> [CCIDDeviceOutput] {
        let threshold = device.configuration.timeExtensionThreshold
        guard threshold > .zero, elapsed >= threshold else { return [] }
        return device.requestTimeExtension(slot: slot).compactMap { action -> CCIDDeviceOutput? in
            if case .bulkIn(let bytes) = action { return .bulkIn(bytes) }
            return nil
        }
    }
}
