import SealSimulatedToken
import SealReaderWire
import Foundation

// The control socket protocol of `sealsim serve` (docs/simulator.md, "Control socket"):
// one command per line, each answered by one line that starts with `ok` or `error`.
//
//   insert N          re-present the token of slot N            -> ok slot N inserted
//   remove N          take it out (vpcd sees the card removed)  -> ok slot N removed
//   reset N           power-cycle it: out, chip unpowered, back -> ok slot N power-cycled
//   tear N K | off    cut power at the K-th NVM write from now  -> ok slot N loses power at NVM write K
//   writes N          NVM writes of slot N's chip so far        -> ok slot N writes 1234
//   fresh N           a new MANUFACTURED token in slot N        -> ok slot N fresh chip 00112233445566778899AABBCCDDEEFF
//   status            every slot                                -> ok mode=normal vpcd=127.0.0.1:35963 slot0=active,powered ...
//                                                                   (USB/IP: ok mode=usbip usbip=127.0.0.1:3240 slot0=active,powered ...)
//
// The vpcd server (`<state>/sealsim.sock`) and the USB/IP server (`<state>/usbip.sock`) answer the
// same commands. Over vpcd a card leaves the reader by closing its vpcd connection; over USB/IP
// the device stays attached and its CCID slot reports the card absent and present again
// (RDR_to_PC_NotifySlotChange), as a reader with a removable card does.


/// A command of the simulator's control socket; ``description`` is its line on the wire.
package enum SimulatorControlCommand: Equatable, Sendable, CustomStringConvertible {
    /// `insert N`: present the token of slot N to its reader again.
    case insert(slot: Int)
    /// `remove N`: take the token out; the reader reports the card removed until `insert N`.
    case remove(slot: Int)
    /// `reset N`: power-cycle the token: it leaves the reader, its chip loses power (all volatile
    /// state: selection, PIN verification, issuer authentication), and it comes back.
    case reset(slot: Int)
    /// `tear N K`: cut the chip's power at its K-th NVM write from now (K ≥ 1), the way a token
    /// pulled out mid-command is torn; `tear N off` (`atNVMWrite` nil) disarms it.
    case tear(slot: Int, atNVMWrite: Int?)
    /// `writes N`: the number of NVM writes the chip of slot N has made since it was opened, so a
    /// client learns how many writes a command makes before tearing each of them.
    case writes(slot: Int)
    /// `fresh N`: take the token of slot N out, put a new MANUFACTURED token in its place (test
    /// vendor CA, the test issuer key of Fixtures/test-issuer, a random chip ID) and present it.
    /// The new token lives in memory: the slot's state file is left alone and comes back when the
    /// simulator restarts. The reply ends with the new chip ID in hex.
    case fresh(slot: Int)
    /// `status`: the state of every slot.
    case status

    /// Parses one command line (surrounding blanks ignored, keywords case-insensitive).
    ///
    /// - Throws: ``SimulatorError`` with code `controlCommand` for anything else.
    package init(parsing line: String) throws(SimulatorError) {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let keyword = words.first?.lowercased() else {
            throw SimulatorError(.controlCommand, "empty command (try: status, insert N, remove N, reset N, tear N K, writes N, fresh N)")
        }
        func slot() throws(SimulatorError) -> Int {
            guard words.count >= 2, let slot = Int(words[1]), slot >= 0 else {
                throw SimulatorError(.controlCommand, "usage: \(keyword) SLOT (a slot number, 0 or more)")
            }
            return slot
        }
        func expectArguments(_ count: Int, usage: String) throws(SimulatorError) {
            guard words.count == count + 1 else { throw SimulatorError(.controlCommand, "usage: \(usage)") }
        }
        switch keyword {
        case "insert":
            try expectArguments(1, usage: "insert SLOT")
            self = .insert(slot: try slot())
        case "remove":
            try expectArguments(1, usage: "remove SLOT")
            self = .remove(slot: try slot())
        case "reset":
            try expectArguments(1, usage: "reset SLOT")
            self = .reset(slot: try slot())
        case "tear":
            try expectArguments(2, usage: "tear SLOT WRITE|off")
            let slot = try slot()
            if words[2].lowercased() == "off" {
                self = .tear(slot: slot, atNVMWrite: nil)
            } else if let write = Int(words[2]), write >= 1 {
                self = .tear(slot: slot, atNVMWrite: write)
            } else {
                throw SimulatorError(.controlCommand, "usage: tear SLOT WRITE|off (WRITE counts NVM writes from now, 1 or more)")
            }
        case "status":
            try expectArguments(0, usage: "status")
            self = .status
        case "writes":
            try expectArguments(1, usage: "writes SLOT")
            self = .writes(slot: try slot())
        case "fresh":
            try expectArguments(1, usage: "fresh SLOT")
            self = .fresh(slot: try slot())
        default:
            throw SimulatorError(.controlCommand, "unknown command '\(keyword)' (try: status, insert N, remove N, reset N, tear N K, writes N, fresh N)")
        }
    }

    /// The command line, without its newline.
    package var description: String {
        switch self {
        case .insert(let slot): return "insert \(slot)"
        case .remove(let slot): return "remove \(slot)"
        case .reset(let slot): return "reset \(slot)"
        case .tear(let slot, let write): return "tear \(slot) \(write.map(String.init) ?? "off")"
        case .writes(let slot): return "writes \(slot)"
        case .fresh(let slot): return "fresh \(slot)"
        case .status: return "status"
        }
    }
}

/// One slot in a ``SimulatorStatus``.
package struct SimulatorSlotStatus: Equatable, Sendable, CustomStringConvertible {
    /// Where the slot's token stands with respect to vpcd (or, over USB/IP, to the client).
    package enum State: String, Equatable, Sendable {
        /// Removed with `remove N`: not connected, not trying to (USB/IP: the device's slot
        /// reports no card).
        case absent
        /// Present, but no connection yet (vpcd not up, or reversed: vpcd has not connected;
        /// USB/IP: the device is not imported).
        case waiting
        /// TCP connection established; vpcd has not sent anything yet.
        case connected
        /// vpcd has talked to the token on this connection (USB/IP: a client imported the device).
        case active
    }

    /// The slot number (reader `Virtual PCD 00 0N`; USB/IP bus ID `1-(N+1)`).
    package var slot: Int
    /// The connection state.
    package var state: State
    /// Whether the chip is powered (pcscd powers a card when it is inserted and when an
    /// application connects; it may power it down when idle).
    package var powered: Bool

    /// A slot's status.
    package init(slot: Int, state: State, powered: Bool) {
        self.slot = slot
        self.state = state
        self.powered = powered
    }

    /// `slotN=STATE,powered|unpowered`, as in the `status` reply.
    package var description: String { "slot\(slot)=\(state.rawValue),\(powered ? "powered" : "unpowered")" }

    init?(field: Substring) {
        guard field.hasPrefix("slot"), let equals = field.firstIndex(of: "="),
              let slot = Int(field[field.index(field.startIndex, offsetBy: 4) ..< equals]) else { return nil }
        let parts = field[field.index(after: equals)...].split(separator: ",")
        guard parts.count == 2, let state = State(rawValue: String(parts[0])),
              parts[1] == "powered" || parts[1] == "unpowered" else { return nil }
        self.init(slot: slot, state: state, powered: parts[1] == "powered")
    }
}

/// The answer to `status`: mode, endpoint and every slot.
///
/// On the wire (after `ok `): `mode=normal vpcd=127.0.0.1:35963 slot0=active,powered slot1=absent,unpowered`;
/// slot N uses port `basePort + N`. A USB/IP server answers `mode=usbip usbip=127.0.0.1:3240 slot0=…`:
/// one port for every slot, slot N being bus ID `1-(N+1)`.
package struct SimulatorStatus: Equatable, Sendable, CustomStringConvertible {
    /// `true` in reversed mode (the simulator listens, vpcd connects).
    package var reversed: Bool
    /// `true` for a USB/IP server (then `reversed` is `false`).
    package var usbip: Bool
    /// vpcd's host (normal mode) or the address listened on (reversed, USB/IP).
    package var host: String
    /// The port of slot 0 (USB/IP: of every slot).
    package var basePort: UInt16
    /// Every slot, from slot 0.
    package var slots: [SimulatorSlotStatus]

    /// A status.
    package init(reversed: Bool, usbip: Bool = false, host: String, basePort: UInt16, slots: [SimulatorSlotStatus]) {
        self.reversed = reversed
        self.usbip = usbip
        self.host = host
        self.basePort = basePort
        self.slots = slots
    }

    /// The reply text: `mode=… vpcd=host:port slot0=… …` (USB/IP: `mode=usbip usbip=host:port …`).
    package var description: String {
        let head = usbip
            ? ["mode=usbip", "usbip=\(host):\(basePort)"]
            : ["mode=\(reversed ? "reversed" : "normal")", "vpcd=\(host):\(basePort)"]
        return (head + slots.map(\.description)).joined(separator: " ")
    }

    /// Parses the text of a `status` reply after `ok `.
    ///
    /// - Throws: ``SimulatorError`` with code `controlSocket` when the text is malformed.
    package init(parsing text: String) throws(SimulatorError) {
        var reversed: Bool?
        var usbip = false
        var endpoint: (String, UInt16)?
        var slots: [SimulatorSlotStatus] = []
        for field in text.split(separator: " ") {
            if field.hasPrefix("mode=") {
                reversed = field == "mode=reversed"
                usbip = field == "mode=usbip"
            } else if let equals = field.firstIndex(of: "="), ["vpcd", "usbip"].contains(field[..<equals]),
                      let colon = field.lastIndex(of: ":"), colon > equals,
                      let port = UInt16(field[field.index(after: colon)...]) {
                endpoint = (String(field[field.index(after: equals) ..< colon]), port)
            } else if let slot = SimulatorSlotStatus(field: field) {
                slots.append(slot)
            } else {
                throw SimulatorError(.controlSocket, "unexpected field '\(field)' in status reply '\(text)'")
            }
        }
        guard let reversed, let endpoint else {
            throw SimulatorError(.controlSocket, "malformed status reply '\(text)'")
        }
        self.init(reversed: reversed, usbip: usbip, host: endpoint.0, basePort: endpoint.1, slots: slots)
    }
}
