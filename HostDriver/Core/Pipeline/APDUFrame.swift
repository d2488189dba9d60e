import SealProtocol

/// One command APDU the pipeline puts on the wire, with the reason it is sent.
package struct APDUFrame: Hashable, Sendable, CustomStringConvertible {
    /// Why the pipeline sends this frame.
    package enum Purpose: Hashable, Sendable {
        /// The caller's command in one APDU.
        case command
        /// Part `index` (1-based) of `count` of a command chain.
        case chainPart(index: Int, count: Int)
        /// GET RESPONSE number `round` (1-based) after a `61xx`.
        case getResponse(round: Int)
        /// The previous command re-sent with the exact Le a `6Cxx` asked for.
        case lengthCorrection(ne: Int)
    }

    /// The command as sent (chaining bit and length form included).
    package let command: CommandAPDU
    /// Its wire encoding.
    package let bytes: [UInt8]
    /// Why it is sent.
    package let purpose: Purpose

    /// Encodes `command`.
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidArgument`` when no encoding can carry it
    ///   (Nc > 65 535, Ne outside 1…65 536).
    package init(command: CommandAPDU, purpose: Purpose) throws(SealDriverError) {
        do {
            self.bytes = try command.encoded()
        } catch {
            throw SealDriverError(code: .invalidArgument, reason: "command cannot be encoded: \(error)")
        }
        self.command = command
        self.purpose = purpose
    }

    package var description: String {
        "\(APDUTraceDecoder.describe(command: command, purpose: purpose))"
    }
}
