/// What the chip puts on the wire in answer to a command.
public enum ChipResponse: Equatable, Sendable {
    /// Response APDU bytes: data then SW1 SW2.
    case response([UInt8])
    /// No answer: the chip is unpowered, or lost power during the command.
    case mute
}
