import SealProtocol

/// Splits one logical command into the APDUs that carry it: a single short or extended APDU, or a
/// chain. Pure and deterministic; see ``APDUPipelineConfiguration`` for the rules.
package enum CommandFormatter {
    /// The commands to send, in order, for `command`.
    ///
    /// - A command whose CLA already has the chaining bit set is a part the caller manages: it is
    ///   sent unchanged.
    /// - Ne is promoted from 256 to 65 536 — or the smaller ``APDUPipelineConfiguration/maxResponseLength`` — when the configuration allows (``APDUPipelineConfiguration/promoteExpectedLength``)
    ///   and `promoteExpectedLength` is `true`, and capped at 256 when extended length is unavailable
    ///   (unless the caller set `forceExtended`).
    /// - Intermediate chain parts carry no Le; the last part carries Ne.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/commandTooLong`` when the data exceeds
    ///   ``APDUPipelineConfiguration/maxCommandData``;
    ///   ``SealDriverError/Code-swift.struct/notSupportedByToken`` when the data exceeds 255 bytes and
    ///   neither extended length nor chaining is available.
    package static func commands(
        for command: CommandAPDU,
        configuration: APDUPipelineConfiguration,
        promoteExpectedLength: Bool = true
    ) throws(SealDriverError) -> [CommandAPDU] {
        let count = command.data.count
        if let limit = configuration.maxCommandData, count > limit {
            throw SealDriverError(
                code: .commandTooLong,
                reason: "\(count) data bytes, the token accepts at most \(limit)",
                command: APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins))
        }
        if command.isChained { return [command] }

        var ne = command.ne
        if let value = ne {
            if configuration.extendedLength {
                // Never more than the token can produce (its reported maximum response, SPEC §3.5):
                // a Java Card applet cannot express an Ne above 32767.
                if promoteExpectedLength, configuration.promoteExpectedLength, value == 256 {
                    ne = max(256, min(65_536, configuration.maxResponseLength))
                }
            } else if !command.forceExtended, value > 256 {
                ne = 256
            }
        }

        // A reader with a small buffer may lower the chunk size; it is then also the largest data
        // field sent in one short APDU.
        let chunk = min(max(configuration.chainingChunkSize, 1), 255)
        if count <= chunk {
            return [CommandAPDU(cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2,
                                data: command.data, ne: ne, forceExtended: command.forceExtended)]
        }

        let extendedFits = count <= min(configuration.maxExtendedCommandData, 65_535)
        let preferExtended = configuration.longCommandStrategy == .extendedLength || !configuration.commandChaining
        if command.forceExtended || (configuration.extendedLength && preferExtended && extendedFits) {
            guard count <= 65_535 else {
                throw SealDriverError(code: .commandTooLong, reason: "\(count) data bytes exceed the extended Lc limit of 65535")
            }
            return [CommandAPDU(cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2,
                                data: command.data, ne: ne, forceExtended: true)]
        }

        guard configuration.commandChaining else {
            throw SealDriverError(
                code: .notSupportedByToken,
                reason: "\(count) data bytes need command chaining or extended length, and neither is available",
                command: APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins))
        }
        var parts: [CommandAPDU] = []
        parts.reserveCapacity((count + chunk - 1) / chunk)
        var start = 0
        while start < count {
            let end = min(start + chunk, count)
            let isLast = end == count
            parts.append(CommandAPDU(
                cla: isLast ? command.cla : command.cla | SealClass.chainingBit,
                ins: command.ins, p1: command.p1, p2: command.p2,
                data: Array(command.data[start..<end]),
                ne: isLast ? ne : nil))
            start = end
        }
        return parts
    }
}
