import Crypto
@_spi(Testing) import SealHostDriver
import SealProtocol
import X509

/// A token as the suite drives it: raw APDUs over a `CardTransport`, with a small host-side
/// 61xx/6Cxx follower of its own (so the suite tests the chip, not the driver's pipeline), and a
/// transcript of every response for the secret-material scans.
package actor ConformanceCard {
    package nonisolated let transport: any CardTransport
    /// "token under test", "fresh token 2", …
    package nonisolated let label: String
    private var responses: [[UInt8]] = []
    private var isConnected = false
    /// The host side of the open secure channel (SPEC §14): while it is open, a whole plain
    /// command is sent wrapped and its answer unwrapped, so the cases of SPEC §3–§8 check the
    /// same behaviour inside the channel.
    private var channel: SCP03SecureMessaging?
    /// Which channel is open.
    package private(set) var channelVariant: SCP11Variant?
    /// The issuer's key agreement, when the target has the issuer key: issuer commands then open
    /// the SCP11a channel they need.
    package var issuerKeyAgreement: (any IssuerKeyAgreement)?

    /// Whether ``send(_:)-([UInt8])`` opens the channel a command needs.
    private var opensChannels = true
    /// A plain chain part was sent last: no channel is opened before the chain's last part.
    private var plainChainOpen = false

    /// Sends `command` (completed like ``exchange(_:)``) without opening a channel for it first:
    /// the cases that check the chip's refusal outside the channel it requires.
    package func exchangeWithoutOpeningChannel(_ command: CommandAPDU) async throws -> CardExchange {
        opensChannels = false
        defer { opensChannels = true }
        return try await exchange(command)
    }

    /// Sets the issuer's key agreement (see ``issuerKeyAgreement``).
    package func setIssuerKeyAgreement(_ issuer: (any IssuerKeyAgreement)?) {
        issuerKeyAgreement = issuer
    }

    /// The channel SPEC §14.6 requires for `command`: `.a` for PERSONALIZE, SET LIFECYCLE and RESET TIME FLOOR, `.b`
    /// (any channel) for VERIFY with a PIN, CHANGE REFERENCE DATA, RESET RETRY COUNTER and STAMP.
    package static func requiredChannel(_ command: CommandAPDU) -> SCP11Variant? {
        switch (command.cla & ~SealClass.chainingBit, command.ins) {
        case (SealClass.proprietary, SealInstruction.personalize.rawValue), (SealClass.proprietary, SealInstruction.setLifecycle.rawValue),
             (SealClass.proprietary, SealInstruction.resetTimeFloor.rawValue):
            return .a
        case (SealClass.interindustry, SealInstruction.verify.rawValue):
            return command.data.isEmpty ? nil : .b
        case (SealClass.interindustry, SealInstruction.changeReferenceData.rawValue),
             (SealClass.interindustry, SealInstruction.resetRetryCounter.rawValue), (SealClass.proprietary, SealInstruction.stamp.rawValue):
            return .b
        default:
            return nil
        }
    }

    /// How the suite authenticates the chip before it opens a channel (SPEC §14.2): under the
    /// target's vendor roots, like the driver. A target that names no root asks for the chip's
    /// protocol to be tested, not its provenance: its key is then taken unauthenticated, and
    /// SEAL-SCP-012 (the chain to a vendor root) is skipped and says why.
    package nonisolated let chipTrust: SecureChannelSettings

    package init(_ transport: any CardTransport, label: String, vendorRoots: [Certificate] = []) {
        self.transport = transport
        self.label = label
        self.chipTrust = vendorRoots.isEmpty ? .unauthenticatedChip : SecureChannelSettings(trustedVendorRoots: vendorRoots)
    }

    // MARK: Power

    /// Powers the token on (cold) and returns its ATR.
    @discardableResult
    package func connect() async throws -> [UInt8] {
        closeChannel()
        let atr = try await transport.connect()
        isConnected = true
        return atr
    }

    /// Warm reset; returns the ATR.
    @discardableResult
    package func reset() async throws -> [UInt8] {
        closeChannel()
        return try await transport.reset()
    }

    package func disconnect() async {
        closeChannel()
        guard isConnected else { return }
        isConnected = false
        await transport.disconnect()
    }

    /// The transport's fault injection, when it has one (simulated tokens).
    package nonisolated var faultInjector: (any FaultInjectingTransport)? {
        transport as? any FaultInjectingTransport
    }

    // MARK: APDUs

    /// Sends raw bytes, which may be deliberately malformed. While a channel is open, the bytes of
    /// one whole plain command (CLA `00`/`80`, not GET RESPONSE, not SELECT) go wrapped, and the
    /// result is the unwrapped answer; any other plain command ends the channel (SPEC §14.5).
    package func send(_ bytes: [UInt8]) async throws -> CardExchange {
        // A v2 host opens the channel a command needs (SPEC §14.6) before sending it — not in the
        // middle of a plain chain, and not for data too long to wrap. A failed opening leaves the
        // command to go plain (the chip then answers what it answers, e.g. 6D00 before SELECT).
        if opensChannels, !plainChainOpen, bytes.count >= 4, bytes[0] == 0x00 || bytes[0] == 0x80,
           let command = try? CommandAPDU(decoding: bytes),
           SCP03SecureMessaging.wrappedLength(plainLength: command.data.count) <= maxCommandData {
            switch Self.requiredChannel(command) {
            case .a? where channelVariant != .a && issuerKeyAgreement != nil:
                try? await openChannel(.a, issuer: issuerKeyAgreement)
            case .b? where channel == nil:
                try? await openChannel(.b)
            default:
                break
            }
        }
        plainChainOpen = false
        if channel != nil, bytes.count >= 4, bytes[0] == 0x00 || bytes[0] == 0x80,
           !(bytes[0] == 0x00 && (bytes[1] == SealInstruction.getResponse.rawValue || bytes[1] == SealInstruction.select.rawValue)),
           let command = try? CommandAPDU(decoding: bytes) {
            return try await sendWrapped(command)
        }
        if bytes.count >= 4, bytes[0] & 0x04 == 0, !(bytes[0] & 0xEF == 0 && bytes[1] == SealInstruction.getResponse.rawValue) {
            closeChannel()
        }
        return try await transmitPlain(bytes)
    }

    private func transmitPlain(_ bytes: [UInt8]) async throws -> CardExchange {
        if bytes.count >= 4, bytes[0] & 0x14 == 0x10 { plainChainOpen = true }
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
    /// intermediate answers and the final exchange (completed with GET RESPONSE). Inside a channel
    /// the whole command is wrapped first and the wrapped data is what is chained (SPEC §14.4).
    package func sendChain(cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8], partSize: Int, ne: Int? = 256,
                          extended: Bool = false) async throws -> (intermediate: [CardExchange], final: CardExchange) {
        precondition(partSize > 0)
        if opensChannels, channel == nil,
           let variant = Self.requiredChannel(CommandAPDU(cla: cla, ins: ins, p1: p1, p2: p2, data: data)),
           SCP03SecureMessaging.wrappedLength(plainLength: data.count) <= maxCommandData {
            try? await openChannel(variant, issuer: issuerKeyAgreement)
        }
        if var open = channel {
            let wrapped = try wrap(CommandAPDU(cla: cla, ins: ins, p1: p1, p2: p2, data: data, ne: ne, forceExtended: extended), in: &open)
            channel = open
            var intermediate: [CardExchange] = []
            var rest = wrapped.data[...]
            while rest.count > partSize {
                let part = Array(rest.prefix(partSize))
                rest = rest.dropFirst(partSize)
                let answer = try await transmitPlain(try encode(CommandAPDU(cla: wrapped.cla | SealClass.chainingBit, ins: ins, p1: p1, p2: p2,
                                                                           data: part, ne: nil, forceExtended: extended)))
                intermediate.append(answer)
                guard answer.sw == .success else { closeChannel(); return (intermediate, answer) }
            }
            let last = try await completeWrapped(fitToChip: !extended, CommandAPDU(cla: wrapped.cla, ins: ins, p1: p1, p2: p2, data: Array(rest),
                                                             ne: wrapped.ne, forceExtended: extended || wrapped.forceExtended))
            return (intermediate, last)
        }
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

    // MARK: Secure channel (SPEC §14)

    /// Opens a channel: SCP11b (the holder), or SCP11a with the issuer's key agreement. The
    /// key-agreement key is taken from the certificate of GET DATA `0120`, checked as the driver
    /// checks it (``chipTrust``).
    package func openChannel(_ variant: SCP11Variant, issuer: (any IssuerKeyAgreement)? = nil) async throws {
        let certificateAnswer = try await exchange(SealCommand.getData(.keyAgreementCertificate))
        try expectSW(certificateAnswer, .success, "\(label): GET DATA 0120 (key-agreement certificate)")
        let cardKey: P256.KeyAgreement.PublicKey
        do {
            cardKey = try await SecureChannelCertificate.keyAgreementKey(certificateDER: certificateAnswer.data, settings: chipTrust)
        } catch let error as SealDriverError {
            throw ConformanceFailure("\(label): the key-agreement certificate is refused (\(error.code)): \(error.reason)")
        }
        var secret: [UInt8]?
        if variant == .a {
            guard let issuer else { throw ConformanceFailure("suite bug: SCP11a needs the issuer's key agreement") }
            secret = try issuer.sharedSecret(with: cardKey)
        }
        closeChannel()
        var handshake = try SCP11HostHandshake(variant: variant, cardStaticKey: cardKey, issuerStaticSharedSecret: secret)
        let answer = try await transmitPlain(try encode(handshake.command))
        do {
            channel = try handshake.complete(with: answer.response)
            channelVariant = variant
        } catch {
            throw ConformanceFailure("\(label): \(variant) key agreement: \(error) (\(answer.sw))")
        }
    }

    /// `command` wrapped in the open channel (an SCP11b one is opened when none is), for cases
    /// that chain the wrapped bytes themselves (SPEC §14.4); send its parts with
    /// ``send(_:)-([UInt8])`` and pass the last answer to ``unwrap(_:)``.
    package func wrappedForChain(_ command: CommandAPDU) async throws -> CommandAPDU {
        if channel == nil { try await openChannel(.b) }
        guard var open = channel else { throw ConformanceFailure("\(label): no secure channel") }
        let wrapped = try wrap(command, in: &open)
        channel = open
        return wrapped
    }

    /// Unwraps the answer to the last part of a command from ``wrappedForChain(_:)``.
    package func unwrap(_ exchange: CardExchange) throws -> CardExchange {
        guard var open = channel else { throw ConformanceFailure("\(label): no secure channel to unwrap \(exchange)") }
        do {
            let plain = try open.unwrapResponse(exchange.response)
            channel = open
            return CardExchange(command: exchange.command, response: plain)
        } catch {
            closeChannel()
            throw ConformanceFailure("\(label): the answer does not unwrap: \(error) — \(exchange)")
        }
    }

    /// Forgets the channel (the chip ends it at SELECT, reset, a plain command, a failure).
    package func closeChannel() {
        channel = nil
        channelVariant = nil
    }

    private func encode(_ command: CommandAPDU) throws -> [UInt8] {
        do { return try command.encoded() } catch {
            throw ConformanceFailure("suite bug: cannot encode \(command): \(error)")
        }
    }

    private func wrap(_ command: CommandAPDU, in open: inout SCP03SecureMessaging) throws -> CommandAPDU {
        do { return try open.wrapCommand(command) } catch {
            throw ConformanceFailure("suite bug: cannot wrap \(command): \(error)")
        }
    }

    /// Wraps one command, sends it and unwraps the completed answer.
    private func sendWrapped(_ command: CommandAPDU) async throws -> CardExchange {
        guard var open = channel else { return try await transmitPlain(try encode(command)) }
        let wrapped = try wrap(command, in: &open)
        channel = open
        // Extended form is deliberate only when the command did not need it (a case testing it).
        let deliberatelyExtended = command.forceExtended && command.data.count <= 255 && (command.ne ?? 0) <= 256
        return try await completeWrapped(fitToChip: !deliberatelyExtended, wrapped)
    }

    /// Sends the (last part of a) wrapped command, fetches `61xx` with plain GET RESPONSE and
    /// unwraps. A `6987`/`6988`/`6882` answer ends the channel and comes back as it is.
    ///
    /// To a chip without extended length (SPEC §3.5) a wrapped command longer than a short APDU
    /// goes as a chain of short parts (its wrapped bytes are what is chained, §14.4), and Le is `00`.
    private func completeWrapped(fitToChip: Bool, _ wrapped: CommandAPDU) async throws -> CardExchange {
        var last = wrapped
        // A command the case sends in extended form on purpose goes as it is (the chip refuses it).
        if fitToChip && !offersExtendedLength && !wrapped.isChained {
            last.forceExtended = false
            if let ne = last.ne, ne > 256 { last.ne = 256 }
            while last.data.count > 255 {
                let part = CommandAPDU(cla: wrapped.cla | SealClass.chainingBit, ins: wrapped.ins, p1: wrapped.p1, p2: wrapped.p2,
                                       data: Array(last.data.prefix(255)))
                let answer = try await transmitPlain(try encode(part))
                guard answer.sw == .success else {
                    if [StatusWord.secureMessagingDataIncorrect, .secureMessagingDataMissing, .secureMessagingNotSupported].contains(answer.sw) {
                        closeChannel()
                    }
                    return answer
                }
                last.data = Array(last.data.dropFirst(255))
            }
        }
        let first = try await transmitPlain(try encode(last))
        var data = first.data
        var sw = first.sw
        var rounds = 0
        while let remaining = sw.bytesRemaining {
            rounds += 1
            guard rounds <= 300 else { throw ConformanceFailure("\(wrapped): more than 300 GET RESPONSE rounds") }
            let next = try await transmitPlain(try encode(SealCommand.getResponse(ne: remaining)))
            data += next.data
            sw = next.sw
        }
        if [StatusWord.secureMessagingDataIncorrect, .secureMessagingDataMissing, .secureMessagingNotSupported].contains(sw) {
            closeChannel()
            return CardExchange(command: first.command, response: ResponseAPDU(data: data, statusWord: sw))
        }
        guard var open = channel else { throw ConformanceFailure("\(label): the channel ended during \(wrapped)") }
        do {
            let plain = try open.unwrapResponse(ResponseAPDU(data: data, statusWord: sw))
            channel = open
            responses.append(plain.data)
            return CardExchange(command: first.command, response: plain)
        } catch {
            closeChannel()
            throw ConformanceFailure("\(label): the answer to \(wrapped) does not unwrap: \(error)")
        }
    }

    // MARK: Common steps

    /// SELECT the applet (P2 `0C`), expecting `9000`.
    package func select() async throws {
        let answer = try await send(SealCommand.select(returnFCI: false))
        try expectSW(answer, .success, "\(label): SELECT of the seal applet")
        if capabilities == nil {
            // Once per card, right after SELECT (no channel is open): the sizes the suite then
            // keeps its own commands within (SPEC §3.5).
            let reported = try await transmitPlain(try encode(SealCommand.getData(.capabilities)))
            if reported.sw == .success { capabilities = try? SealCapabilities(decoding: reported.data) }
        }
    }

    /// The capabilities the chip reported at the first SELECT (GET DATA `0105`, SPEC §3.5); `nil`
    /// before it or when they did not decode.
    package private(set) var capabilities: SealCapabilities?

    /// The command data the chip reported it takes (wrapped bytes included); the reference
    /// chip's until it reports.
    private var maxCommandData: Int { capabilities.map { Int($0.maxCommandData) } ?? SealApplet.maxCommandData }

    /// Whether the chip reported extended Lc/Le; assumed until it reports otherwise.
    package var offersExtendedLength: Bool { capabilities?.features.contains(.extendedLength) ?? true }

    /// The capabilities the chip reports, read now if the first SELECT could not.
    package func reportedCapabilities() async throws -> SealCapabilities {
        if let capabilities { return capabilities }
        let bytes = try await getData(.capabilities)
        let decoded = try expectDecodes("\(label): capabilities") { try SealCapabilities(decoding: bytes) }
        capabilities = decoded
        return decoded
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

    /// VERIFY with `pin`, expecting `9000`, inside the open channel or a new SCP11b one.
    package func verifyPIN(_ pin: String) async throws {
        if channel == nil { try await openChannel(.b) }
        let answer = try await send(SealCommand.verify(pin: pin))
        try expectSW(answer, .success, "\(label): VERIFY with the correct PIN")
    }

    /// READ AUDIT LOG of `counter` (0 = newest), completed.
    package func readAudit(_ counter: UInt32) async throws -> CardExchange {
        try await exchange(SealCommand.readAuditLog(counter: counter))
    }
}
