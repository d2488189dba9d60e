import SealProtocol

/// Turns seal APDUs into human-readable text: instruction names from ``SealInstruction``, GET DATA
/// object names from ``SealDataObject``, status word meanings from `StatusWord.description`.
package enum APDUTraceDecoder {
    /// `"SELECT"`, `"GET DATA"`, … or `"INS 12 (CLA 00)"` for an instruction the seal applet lacks.
    package static func instructionName(cla: UInt8, ins: UInt8) -> String {
        if let instruction = SealInstruction(cla: cla, ins: ins) { return instruction.description }
        // SPEC §14: CLA | 04 is the same command wrapped in the secure channel; 80 88 / 80 82 open one.
        if cla & 0xEF == 0x84 || cla & 0xEF == 0x04,
           let instruction = SealInstruction(cla: cla & ~SCP03SecureMessaging.secureMessagingBit, ins: ins) {
            return "wrapped \(instruction.description)"
        }
        if cla & ~SealClass.chainingBit == SealClass.proprietary, ins == SCP11Variant.b.instruction { return "SCP11b key agreement" }
        if cla & ~SealClass.chainingBit == SealClass.proprietary, ins == SCP11Variant.a.instruction { return "SCP11a key agreement" }
        return "INS \(hexString([ins])) (CLA \(hexString([cla])))"
    }

    /// Describes a command, e.g. `"GET DATA chip ID (0101), Ne=256"` or
    /// `"STAMP, Nc=300, Ne=65536, extended"`.
    package static func describe(command: CommandAPDU, purpose: APDUFrame.Purpose? = nil) -> String {
        var text = instructionName(cla: command.cla, ins: command.ins)
        if let detail = parameterDetail(command) { text += " " + detail }
        var fields: [String] = []
        if !command.data.isEmpty { fields.append("Nc=\(command.data.count)") }
        if let ne = command.ne { fields.append("Ne=\(ne)") }
        if command.encodingForm == .extended { fields.append("extended") }
        if command.isChained { fields.append("more parts follow") }
        if !fields.isEmpty { text += ", " + fields.joined(separator: ", ") }
        switch purpose {
        case .chainPart(let index, let count)?: text += " [chain part \(index)/\(count)]"
        case .getResponse(let round)?: text += " [round \(round)]"
        case .lengthCorrection(let ne)?: text += " [re-sent with Le=\(ne) after 6Cxx]"
        case .command?, nil: break
        }
        return text
    }

    /// Describes raw command bytes; malformed input is reported, never trapped on.
    package static func describe(commandBytes bytes: [UInt8]) -> String {
        do {
            return describe(command: try CommandAPDU(decoding: bytes))
        } catch {
            return "malformed command (\(error.reason))"
        }
    }

    /// Describes a response, e.g. `"9000 (success), 16 data bytes"`.
    package static func describe(responseBytes bytes: [UInt8]) -> String {
        guard bytes.count >= 2 else {
            return bytes.isEmpty ? "no response" : "malformed response (\(bytes.count) byte, no status word)"
        }
        let sw = StatusWord(sw1: bytes[bytes.count - 2], sw2: bytes[bytes.count - 1])
        let dataCount = bytes.count - 2
        return dataCount == 0 ? sw.description : "\(sw.description), \(dataCount) data byte\(dataCount == 1 ? "" : "s")"
    }

    /// `"00 A4 04 00"`.
    package static func hexDump(_ bytes: [UInt8]) -> String {
        bytes.map { hexString([$0]) }.joined(separator: " ")
    }

    /// Whether the data field of `command` is secret (PIN, PUK, personalization with PIN, PUK and
    /// watermark key) and must not appear in traces.
    package static func carriesSecrets(_ command: CommandAPDU) -> Bool {
        guard !command.data.isEmpty, let instruction = SealInstruction(cla: command.cla, ins: command.ins) else {
            return false
        }
        switch instruction {
        case .verify, .changeReferenceData, .resetRetryCounter, .personalize: return true
        default: return false
        }
    }

    /// The wire bytes of `command` with the data field replaced by `2A` bytes (lengths unchanged).
    package static func redactedBytes(_ command: CommandAPDU) -> [UInt8] {
        var masked = command
        masked.data = [UInt8](repeating: 0x2A, count: command.data.count)
        return (try? masked.encoded()) ?? [command.cla, command.ins, command.p1, command.p2]
    }

    private static func parameterDetail(_ command: CommandAPDU) -> String? {
        guard let instruction = SealInstruction(cla: command.cla, ins: command.ins) else { return nil }
        switch instruction {
        case .select:
            return command.data == SealApplet.aid ? "seal applet" : "AID \(hexString(command.data))"
        case .getData:
            let tag = UInt16(command.p1) << 8 | UInt16(command.p2)
            let name = SealDataObject(rawValue: tag)?.description ?? "unknown object"
            return "\(name) (\(tag.hexWord))"
        case .verify:
            if command.p1 == 0xFF { return "(log out)" }
            return command.data.isEmpty ? "(status)" : nil
        case .setLifecycle:
            return "→ " + (LifecycleState(rawValue: command.p1)?.description ?? "state \(hexString([command.p1]))")
        case .readAuditLog where command.data.count == 4:
            let counter = readBigEndian(command.data, as: UInt32.self)
            return counter == 0 ? "newest entry" : "entry \(counter)"
        default:
            return nil
        }
    }
}
