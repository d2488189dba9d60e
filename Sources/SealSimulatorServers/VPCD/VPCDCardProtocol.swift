import SealSimulatedToken
import SealReaderWire
import SealFirmware

/// One decoded message from vpcd (the payload of one ``VPCDFrame``).
package enum VPCDMessage: Equatable, Sendable {
    /// Control byte `00`: the reader cuts power. Not answered.
    case powerOff
    /// Control byte `01`: the reader powers the card. Not answered.
    case powerOn
    /// Control byte `02`: the reader resets the card. Not answered.
    case reset
    /// Control byte `04`: vpcd asks for the ATR (it does so about every 400 ms per slot to check
    /// that the card is still present). Answered with the ATR as a normal frame.
    case atrRequest
    /// Any other 1-byte payload: not a control message, so a 1-byte command APDU that an
    /// application passed to `SCardTransmit`. Answered `67 00` (a command APDU has at least 4 bytes).
    case unknownControl(UInt8)
    /// A zero-length frame: an empty command APDU that an application passed to `SCardTransmit`.
    /// Answered `67 00`.
    case empty
    /// A payload of two or more bytes: a command APDU, answered with the response APDU (`67 00`
    /// without reaching the chip when it is shorter than a header, 2 or 3 bytes).
    case commandAPDU([UInt8])

    /// The control byte that vpcd sends for a power-off.
    package static let powerOffByte: UInt8 = 0x00
    /// The control byte that vpcd sends for a power-on.
    package static let powerOnByte: UInt8 = 0x01
    /// The control byte that vpcd sends for a reset.
    package static let resetByte: UInt8 = 0x02
    /// The control byte that vpcd sends to request the ATR.
    package static let atrRequestByte: UInt8 = 0x04

    /// Classifies a frame payload.
    package init(payload: [UInt8]) {
        switch payload.count {
        case 0:
            self = .empty
        case 1:
            switch payload[0] {
            case Self.powerOffByte: self = .powerOff
            case Self.powerOnByte: self = .powerOn
            case Self.resetByte: self = .reset
            case Self.atrRequestByte: self = .atrRequest
            default: self = .unknownControl(payload[0])
            }
        default:
            self = .commandAPDU(payload)
        }
    }

    /// The frame payload of this message (what vpcd would send).
    package var payload: [UInt8] {
        switch self {
        case .powerOff: return [Self.powerOffByte]
        case .powerOn: return [Self.powerOnByte]
        case .reset: return [Self.resetByte]
        case .atrRequest: return [Self.atrRequestByte]
        case .unknownControl(let byte): return [byte]
        case .empty: return []
        case .commandAPDU(let bytes): return bytes
        }
    }
}

/// What the card side must do in answer to a vpcd message; produced by ``VPCDCardProtocol``.
package enum VPCDAction: Equatable, Sendable {
    /// Write these bytes — one complete, already-framed message — to the socket in one `send`.
    case send([UInt8])
    /// Power the chip on (cold reset). Nothing is written back.
    case powerOn
    /// Power the chip off. Nothing is written back.
    case powerOff
    /// Reset the chip: a warm reset when it is powered, a power-on when it is not. Nothing is
    /// written back.
    case reset
    /// Give this command APDU to the chip, then pass the chip's answer to
    /// ``VPCDCardProtocol/handle(_:)-(ChipResponse)``, which turns it into the next action.
    case transmit([UInt8])
    /// The card went silent (it lost power in the middle of a command): close the connection, as
    /// a real card that stops answering looks to the reader.
    case disconnect
    /// Nothing to do.
    case none
}

/// The card side of the vpcd protocol as a pure state machine: decoded messages in, actions out.
///
/// It owns no socket and no chip, so every transition can be tested byte by byte. The socket
/// layer decodes frames, feeds each ``VPCDMessage`` to ``handle(_:)-(VPCDMessage)`` and performs
/// the returned ``VPCDAction``; for a command APDU it hands the bytes to the chip and feeds the
/// ``ChipResponse`` back through ``handle(_:)-(ChipResponse)``.
///
/// | message | action |
/// |---|---|
/// | `00` power off | ``VPCDAction/powerOff`` |
/// | `01` power on | ``VPCDAction/powerOn`` |
/// | `02` reset | ``VPCDAction/reset`` |
/// | `04` ATR request | ``VPCDAction/send(_:)`` of the framed ATR (whatever the power state) |
/// | other 1-byte, empty, 2 or 3 bytes | ``VPCDAction/send(_:)`` of the framed `67 00` |
/// | command APDU of 4 bytes or more | ``VPCDAction/transmit(_:)``, then ``VPCDAction/send(_:)`` of the framed response, or ``VPCDAction/disconnect`` when the chip is mute |
package struct VPCDCardProtocol: Sendable {
    /// The status word sent instead of a response too long for one vpcd frame (`6F 00`, no
    /// precise diagnosis). The seal chip never produces one; the guard keeps the wire well formed.
    package static let responseTooLongStatus: [UInt8] = [0x6F, 0x00]

    /// The status word answered to a payload that is neither a control message nor long enough
    /// to be a command APDU (0 to 3 bytes): `67 00`, wrong length, as the chip answers a short
    /// APDU (SPEC §5 step 1). vpcd forwards whatever an application passes to `SCardTransmit` and
    /// then waits for an answer; leaving such a payload unanswered would wedge the reader for
    /// every client.
    package static let wrongLengthStatus: [UInt8] = [0x67, 0x00]

    /// The shortest command APDU: CLA INS P1 P2.
    package static let minimumCommandLength = 4

    /// The ATR answered to every ATR request.
    package let answerToReset: [UInt8]

    /// Whether a command APDU was handed to the chip and its answer is still expected.
    package private(set) var isAwaitingChipResponse = false

    private let framedATR: [UInt8]
    private static let framedWrongLength: [UInt8] = [0x00, 0x02] + wrongLengthStatus

    /// A state machine answering ATR requests with `answerToReset` (default: the seal chip's ATR).
    package init(answerToReset: [UInt8] = SealChip.answerToReset) {
        self.answerToReset = answerToReset
        // An ATR is at most 33 bytes; the fallback only guards the type system.
        self.framedATR = (try? VPCDFrame.encode(answerToReset)) ?? [0x00, 0x00]
    }

    /// The action for one message from vpcd.
    ///
    /// vpcd never sends a message while it waits for a response; one that arrives while
    /// ``isAwaitingChipResponse`` is a protocol violation and yields ``VPCDAction/disconnect``.
    package mutating func handle(_ message: VPCDMessage) -> VPCDAction {
        guard !isAwaitingChipResponse else { return .disconnect }
        switch message {
        case .powerOff: return .powerOff
        case .powerOn: return .powerOn
        case .reset: return .reset
        case .atrRequest: return .send(framedATR)
        case .unknownControl, .empty:
            return .send(Self.framedWrongLength)
        case .commandAPDU(let command) where command.count < Self.minimumCommandLength:
            return .send(Self.framedWrongLength)
        case .commandAPDU(let command):
            isAwaitingChipResponse = true
            return .transmit(command)
        }
    }

    /// The action for the chip's answer to the command of the last ``VPCDAction/transmit(_:)``.
    package mutating func handle(_ response: ChipResponse) -> VPCDAction {
        var frame: [UInt8] = []
        switch handle(response, framingInto: &frame) {
        case .send: return .send(frame)
        case .disconnect: return .disconnect
        case .none: return .none
        }
    }

    /// What ``handle(_:)-(ChipResponse)`` decides, for a socket layer that reuses one buffer for
    /// its answers: the same transition, with the frame to send written into `frame` (its contents
    /// replaced, its capacity kept) instead of a new array per response.
    ///
    /// - Returns: ``VPCDResponseAction/send`` when `frame` holds the framed response to write,
    ///   ``VPCDResponseAction/disconnect`` for a mute chip, ``VPCDResponseAction/none`` for a
    ///   response nobody asked for (`frame` is then left as it was).
    package mutating func handle(_ response: ChipResponse, framingInto frame: inout [UInt8]) -> VPCDResponseAction {
        guard isAwaitingChipResponse else { return .none }
        isAwaitingChipResponse = false
        switch response {
        case .mute:
            return .disconnect
        case .response(let bytes):
            do {
                try VPCDFrame.encode(bytes, into: &frame)
            } catch {
                frame = Self.framedResponseTooLong
            }
            return .send
        }
    }

    private static let framedResponseTooLong: [UInt8] = [0x00, 0x02] + responseTooLongStatus
}

/// What the card side must do with the chip's answer, as
/// ``VPCDCardProtocol/handle(_:framingInto:)`` decides it.
package enum VPCDResponseAction: Equatable, Sendable {
    /// Write the frame the call wrote into its buffer, in one `send`.
    case send
    /// The chip went mute: close the connection (``VPCDAction/disconnect``).
    case disconnect
    /// Nothing to do: no command was waiting for an answer.
    case none
}
