@_spi(Testing) import SealHostDriver
import SealProtocol

/// A token as the suite drives it: raw APDUs over a `CardTransport`, with a small host-side
/// 61xx/6Cxx follower of its own (so the suite tests the chip, not the driver's pipeline), and a
/// transcript of every response for the secret-material scans.
package actor ConformanceCard {
    package nonisolated let transport: any CardTransport
    /// "token under test", "fresh token 2", …
    package nonisolated let label: String
    private var responses: [[UInt8]] = []
    private var isConnected = false

    package init(_ transport: any CardTransport, label: String) {
        self.transport = transport
        self.label = label
    }

    // MARK: Power

    /// Powers the token on (cold) and returns its ATR.
    @discardableResult
    package func connect() async throws -> [UInt8] {
        let atr = try await transport.connect()
        isConnected = true
        return atr
    }

    /// Warm reset; returns the ATR.
    @discardableResult
    package func reset() async throws -> [UInt8] {
        try await transport.reset()
    }

    package func disconnect() async {
        guard isConnected else { return }
        isConnected = false
        await transport.disconnect()
    }

    /// The transport's fault injection, when it has one (simulated tokens).
    package nonisolated var faultInjector: (any FaultInjectingTransport)? {
        transport as? any FaultInjectingTransport
    }

    // MARK: APDUs

    /// Sends raw bytes, which may be deliberately malformed.
    package func send(_ bytes: [UInt8]) async throws -> CardExchange {
        let raw = try await transport.transmit(bytes)
        if raw.isEmpty {
            throw SealDriverError(code: .noResponse, reason: "the token returned nothing for \(spacedHex(bytes, limit: 8))")
        }
        let response: ResponseAPDU
        do {
            response = try ResponseAPDU(decoding: raw)
        } catch {
            throw ConformanceFailure("command \(spacedHex(bytes, limit: 24)): the token answered \(raw.count) byte(s), not a response APDU")
        }
        responses.append(response.data)
        return CardExchange(command: bytes, response: response)
    }

    /// Sends one command, exactly as encoded (no 61xx/6Cxx handling).
    package func send(_ command: CommandAPDU) async throws -> CardExchange {
        let bytes: [UInt8]
        do { bytes = try command.encoded() } catch {
            throw ConformanceFailure("suite bug: cannot encode \(command): \(error)")
        }
        return try await send(bytes)
    }

    /// Sends a command and completes it: re-sends with the exact Le on `6Cxx` and fetches `61xx`
    /// with GET RESPONSE. The result carries the original command, all data and the final SW.
    package func exchange(_ command: CommandAPDU) async throws -> CardExchange {
        var first = try await send(command)
        if let exact = first.sw.exactLength {
            var again = command
            again.ne = exact
            again.forceExtended = false
            first = try await send(again)
        }
        var data = first.data
        var sw = first.sw
        var rounds = 0
        while let remaining = sw.bytesRemaining {
            rounds += 1
            guard rounds <= 300 else { throw ConformanceFailure("\(command): more than 300 GET RESPONSE rounds") }
            let next = try await send(SealCommand.getResponse(ne: remaining))
            data += next.data
            sw = next.sw
        }
        return CardExchange(command: first.command, response: ResponseAPDU(data: data, statusWord: sw))
    }

    /// Sends `data` as a command chain (SPEC §3.4) in parts of `partSize` bytes; returns the
    /// intermediate answers and the final exchange (completed with GET RESPONSE).
    package func sendChain(cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8], partSize: Int, ne: Int? = 256,
                          extended: Bool = false) async throws -> (intermediate: [CardExchange], final: CardExchange) {
        precondition(partSize > 0)
        var parts: [[UInt8]] = []
        var index = 0
        while index < data.count {
            parts.append(Array(data[index..<min(index + partSize, data.count)]))
            index += partSize
        }
        var intermediate: [CardExchange] = []
        for part in parts.dropLast() {
            let answer = try await send(CommandAPDU(cla: cla | SealClass.chainingBit, ins: ins, p1: p1, p2: p2, data: part, ne: nil, forceExtended: extended))
            intermediate.append(answer)
            guard answer.sw == .success else { return (intermediate, answer) }
        }
        let last = try await exchange(CommandAPDU(cla: cla, ins: ins, p1: p1, p2: p2, data: parts.last ?? [], ne: ne, forceExtended: extended))
        return (intermediate, last)
    }

    /// Every response data field this card returned so far.
    package func transcript() -> [[UInt8]] { responses }

    // MARK: Common steps

    /// SELECT the applet (P2 `0C`), expecting `9000`.
    package func select() async throws {
        let answer = try await send(SealCommand.select(returnFCI: false))
        try expectSW(answer, .success, "\(label): SELECT of the seal applet")
    }

    /// Power-on and SELECT; returns the ATR.
    @discardableResult
    package func connectAndSelect() async throws -> [UInt8] {
        let atr = try await connect()
        try await select()
        return atr
    }

    /// GET DATA of `object`, completed, expecting `9000`.
    package func getData(_ object: SealDataObject) async throws -> [UInt8] {
        let answer = try await exchange(SealCommand.getData(object))
        try expectSW(answer, .success, "\(label): GET DATA \(hex16(object.rawValue)) (\(object))")
        return answer.data
    }

    /// GET DATA `0103` as an integer.
    package func counter() async throws -> UInt32 {
        let bytes = try await getData(.counter)
        try expect(bytes.count == 4, "\(label): GET DATA 0103 (counter) must be 4 bytes, got \(bytes.count)")
        return readBigEndian(bytes, as: UInt32.self)
    }

    package func chipID() async throws -> [UInt8] {
        let bytes = try await getData(.chipID)
        try expect(bytes.count == 16, "\(label): GET DATA 0101 (chip ID) must be 16 bytes, got \(bytes.count)")
        return bytes
    }

    package func lifecycle() async throws -> UInt8 {
        let bytes = try await getData(.lifecycle)
        try expect(bytes.count == 1, "\(label): GET DATA 0102 (lifecycle) must be 1 byte, got \(bytes.count)")
        return bytes[0]
    }

    package func pinStatus() async throws -> PINStatus {
        let bytes = try await getData(.pinStatus)
        return try expectDecodes("\(label): GET DATA 0104 (PIN status)") { try PINStatus(decoding: bytes) }
    }

    package func auditStatus() async throws -> AuditStatus {
        let bytes = try await getData(.auditStatus)
        return try expectDecodes("\(label): GET DATA 0109 (audit status)") { try AuditStatus(decoding: bytes) }
    }

    /// VERIFY with `pin`, expecting `9000`.
    package func verifyPIN(_ pin: String) async throws {
        let answer = try await send(SealCommand.verify(pin: pin))
        try expectSW(answer, .success, "\(label): VERIFY with the correct PIN")
    }

    /// READ AUDIT LOG of `counter` (0 = newest), completed.
    package func readAudit(_ counter: UInt32) async throws -> CardExchange {
        try await exchange(SealCommand.readAuditLog(counter: counter))
    }
}
