import Logging
import SealProtocol

/// The high-level API of a seal token over any ``CardTransport``.
///
/// ```swift
/// let vendorRoot = try Certificate(pemEncoded: vendorRootPEM)  // the chip vendor's CA
/// let token = SealToken(transport: transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [vendorRoot]))
/// try await token.connect()
/// try await token.verifyPIN("123456")
/// let record = try await token.stamp(documentAt: pdfURL, metadata: StampMetadata(time: now))
/// try record.jsonData().write(to: recordURL)
/// await token.close()
/// ```
///
/// ## Serialization
/// Operations are serialized: each public method runs alone, in call order, and multi-APDU
/// operations (issuer authentication, stamping) run inside one ``CardTransport/withTransaction(_:)``
/// so that no other command — from this process or, with PC/SC, another — can interleave. (Actor
/// isolation alone would not prevent that: an actor is re-entered at every `await`.) A waiting
/// operation is not cancellable while it waits for the previous one to finish.
///
/// ## Caching
/// The static parts of a stamp record — chip ID, personalization, seal public key and key ID, device
/// certificate — are read on the first ``stamp(documentDigest:metadata:grant:)`` and cached.
/// The cache is dropped when ``connect()`` or ``reset()`` finds a different chip ID and after
/// ``personalize(_:)``.
///
/// ## Closing
/// ``close()`` ends the session and releases what the transport holds (a PC/SC context and card
/// handle, a USB device handle, a USB/IP connection); call it when done with the token.
/// ``disconnect()`` only powers the token off and keeps the transport for a later ``connect()``.
///
/// ## Errors
/// Every method throws ``SealDriverError`` (or `CancellationError`), whatever the transport: a
/// transport's own error (a `PCSCError`, a `USBError`) arrives wrapped as `transportFailure`,
/// `cardRemoved` or `noResponse`, the original kept in ``SealDriverError/underlyingError``. Card refusals are
/// ``SealDriverError/Code-swift.struct/statusWord`` errors: see ``SealDriverError/isPINIncorrect``
/// and the other helpers.
public actor SealToken {
    /// The transport this token talks through.
    public nonisolated let transport: any CardTransport
    /// The Answer-to-Reset of the current session; `nil` before ``connect()``.
    public private(set) var answerToReset: AnswerToReset?
    /// The token's capabilities, read by ``connect()``.
    public private(set) var capabilities: SealCapabilities?

    var pipeline: APDUPipeline
    let baseConfiguration: APDUPipelineConfiguration
    let logger: Logger
    var isConnected = false
    /// Static record parts, see "Caching".
    var recordContextCache: RecordContext?
    /// The seal signature verifiers, P-256 built in (``addSignatureVerifier(_:)``).
    var signatureVerifiers = SealSignatureVerifiers()

    /// Records the seal key algorithm a successful PERSONALIZE chose, so that the capabilities
    /// read at connect (which had no `85` before personalization) stay true without a re-read.
    func notePersonalizedSealKeyAlgorithm(_ algorithm: SealKeyAlgorithm) {
        capabilities?.sealKeyAlgorithm = algorithm == .p256 ? nil : algorithm
    }
    /// How the secure channel is used (SPEC §14).
    let secureChannelSettings: SecureChannelSettings
    /// The open secure channel; every command goes wrapped through it. Ending it (setting nil)
    /// marks it lost, see ``channelLost``.
    var channel: OpenSecureChannel? {
        get { openChannel }
        set {
            if newValue == nil, openChannel != nil { channelLost = true }
            openChannel = newValue
        }
    }
    /// The storage of ``channel``, which `exchange` wraps and unwraps through in place: through
    /// `channel` every APDU would copy the session (its keys and buffers) out and back in.
    var openChannel: OpenSecureChannel?
    /// A channel of this session ended: commands are refused rather than sent plain until a new
    /// one is opened (connect, reset, SELECT).
    var channelLost = false
    /// The chip answered a wrapped read-only command (GET DATA, READ AUDIT LOG) `6882`: it has no
    /// channel, so another application on a shared reader selected the applet between two of our
    /// transactions (SPEC §14.5), and the command was not executed. ``session(_:)`` then opens a
    /// new holder channel and runs once more.
    var channelEndedByAnotherApplication = false

    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Creates a token over `transport`. Nothing is sent until ``connect()``.
    ///
    /// - Parameters:
    ///   - transport: The token's transport: ``close()`` closes it.
    ///   - configuration: Formatting rules and loop bounds. The extended-length, chaining and
    ///     maximum-command-data settings are replaced by what the token declares when connecting;
    ///     the rest (strategy, bounds, trace redaction) is kept.
    ///   - logger: Receives operation-level messages (debug) and warnings.
    ///   - trace: Receives every APDU (`sealctl --trace`); inside the secure channel, both the
    ///     wrapped APDUs on the wire and the unwrapped ones.
    ///   - secureChannel: Whether to open the holder's secure channel at connect (by default) and
    ///     the vendor roots the chip's key-agreement certificate must chain to. The default names
    ///     no root, so ``connect()`` refuses every chip with
    ///     ``SealDriverError/Code-swift.struct/chipNotAuthenticated``: pass the vendor's root (or,
    ///     in tests against chips with no vendor certificate, ``SecureChannelSettings/unauthenticatedChip``).
    public init(transport: any CardTransport, configuration: APDUPipelineConfiguration = .init(),
                logger: Logger = Logger(label: "sealkit.token"), trace: APDUTraceHandler? = nil,
                secureChannel: SecureChannelSettings = .init()) {
        self.secureChannelSettings = secureChannel
        self.transport = transport
        self.baseConfiguration = configuration
        self.pipeline = APDUPipeline(transport: transport, configuration: configuration, trace: trace)
        self.logger = logger
    }

    /// The pipeline configuration in effect (after ``connect()``, reflecting the token's ATR and capabilities).
    public var pipelineConfiguration: APDUPipelineConfiguration { pipeline.configuration }

    // MARK: Session

    /// Connects (powers on), parses the ATR, selects the seal applet and reads the capabilities.
    ///
    /// Calling it again reconnects. The pipeline is configured from the ATR's card-capabilities
    /// object and the capabilities object: extended length and chaining are used only when both
    /// declare them (or the ATR has no capabilities object).
    ///
    /// - Throws: ``SealDriverError`` — `malformedResponse` for an ATR or FCI that does not parse,
    ///   `statusWord` `6A82` when the seal applet is absent, transport errors.
    @discardableResult
    public func connect() async throws -> SealCapabilities {
        try await exclusively {
            isConnected = false
            let atr = try await transportCall("connect") { try await transport.connect() }
            // One transaction: another application's SELECT or key agreement between our SELECT,
            // key agreement and reads would end the channel being opened (SPEC §14.5).
            return try await transport.withTransaction { try await establishSession(atr: atr) }
        }
    }

    /// Warm-resets the token and selects the applet again. The chip forgets PIN verification and
    /// issuer authentication (SPEC §1.2).
    @discardableResult
    public func reset() async throws -> SealCapabilities {
        try await exclusively {
            isConnected = false
            let atr = try await transportCall("reset") { try await transport.reset() }
            return try await transport.withTransaction { try await establishSession(atr: atr) }
        }
    }

    /// Selects the seal applet again (clearing PIN verification and issuer authentication on the
    /// chip, SPEC §1.2) and re-reads the capabilities.
    @discardableResult
    public func select() async throws -> SealCapabilities {
        try await exclusively {
            try requireConnected()
            return try await transport.withTransaction { try await selectAndReadCapabilities() }
        }
    }

    /// Disconnects (powers the token off). The record cache is kept for a reconnect to the same chip,
    /// and the transport stays open: use ``close()`` when done with the token.
    public func disconnect() async {
        await acquire()
        isConnected = false
        answerToReset = nil
        await transport.disconnect()
        release()
    }

    /// Disconnects and closes the transport (``CardTransport/close()``): the PC/SC context, USB
    /// handle or USB/IP connection is released. The token is not used again.
    public func close() async {
        await acquire()
        isConnected = false
        answerToReset = nil
        await transport.close()
        release()
    }

    // MARK: Raw access (conformance suite)

    /// Sends one APDU exactly as given — no chaining, GET RESPONSE or 6Cxx handling — and returns
    /// the response. Works before ``connect()`` as long as the transport is connected.
    package func transmitRaw(_ command: CommandAPDU) async throws -> ResponseAPDU {
        try await exclusively { try await pipeline.transmitRaw(command) }
    }

    /// Sends arbitrary bytes (which need not form a valid APDU) and returns the raw answer.
    package func transmitRaw(bytes: [UInt8]) async throws -> [UInt8] {
        try await exclusively { try await pipeline.transmitRaw(bytes: bytes) }
    }

    /// Sends `command` through the pipeline (chaining, GET RESPONSE, 6Cxx) — wrapped in the secure
    /// channel when one is open — and returns the final (unwrapped) response whatever its status word.
    public func send(_ command: CommandAPDU) async throws -> ResponseAPDU {
        try await exclusively { try await exchange(command) }
    }

    // MARK: Internals shared by the extensions

    /// Runs `body` alone (FIFO) and inside one transport transaction.
    ///
    /// On a shared reader another application may select the applet between two of our
    /// transactions, which ends our holder channel on the chip. When the chip then refuses a
    /// wrapped read-only command with `6882` (it executed nothing), the applet is selected, a new
    /// holder channel opened and `body` run once more, in the same transaction. A state-changing
    /// command is never sent twice: its refusal is reported.
    func session<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await exclusively {
            try requireConnected()
            return try await transport.withTransaction {
                channelEndedByAnotherApplication = false
                let holderChannel = channel?.variant == .b && secureChannelSettings.opensHolderChannel
                do {
                    return try await body()
                } catch let error as SealDriverError where holderChannel && channelEndedByAnotherApplication
                    && error.code == .secureChannelFailure {
                    channelEndedByAnotherApplication = false
                    try await selectAppletInSession()
                    return try await body()
                }
            }
        }
    }

    /// Runs `body` alone, in call order. Whatever `body` throws leaves as a ``SealDriverError`` (or
    /// `CancellationError`): a transport's own error type is wrapped as `transportFailure`.
    func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            release()
            return result
        } catch is CancellationError {
            release()
            throw CancellationError()
        } catch {
            release()
            throw SealDriverError.wrapping(error, context: transport.name)
        }
    }

    func requireConnected() throws {
        guard isConnected else {
            throw SealDriverError(code: .notConnected, reason: "no session with the token")
        }
    }

    /// Sends a command that must succeed (through the secure channel when one is open) and
    /// returns its data.
    func run(_ command: CommandAPDU) async throws -> [UInt8] {
        let response = try await exchange(command)
        guard response.statusWord == .success else {
            throw SealDriverError(statusWord: response.statusWord,
                                  command: APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins))
        }
        return response.data
    }

    /// GET DATA; `nil` when the object is absent (`6A88`).
    func getData(_ object: SealDataObject) async throws -> [UInt8]? {
        let command = SealCommand.getData(object)
        let response = try await exchange(command)
        switch response.statusWord {
        case .success: return response.data
        case .referencedDataNotFound: return nil
        default: throw SealDriverError(statusWord: response.statusWord, command: "GET DATA \(object)")
        }
    }

    /// GET DATA of an object that must be present.
    func requiredData(_ object: SealDataObject) async throws -> [UInt8] {
        guard let data = try await getData(object) else {
            throw SealDriverError(statusWord: .referencedDataNotFound, command: "GET DATA \(object)")
        }
        return data
    }

    /// Decodes a protocol structure, reporting failures as malformed responses.
    func decode<T>(_ what: String, _ body: () throws(SealDataError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw SealDriverError(code: .malformedResponse, reason: "\(what): \(error.reason)")
        }
    }

    func readChipID() async throws -> [UInt8] {
        let chipID = try await requiredData(.chipID)
        guard chipID.count == 16 else {
            throw SealDriverError(code: .malformedResponse, reason: "chip ID has \(chipID.count) bytes, expected 16")
        }
        return chipID
    }

    // MARK: Private

    private func establishSession(atr bytes: [UInt8]) async throws -> SealCapabilities {
        channel = nil
        channelLost = false
        let atr: AnswerToReset
        do {
            atr = try AnswerToReset(bytes: bytes)
        } catch {
            throw SealDriverError(code: .malformedResponse, reason: "ATR \(hexString(bytes)): \(error)")
        }
        if !atr.protocols.contains(1) {
            logger.warning("ATR does not offer T=1 (SPEC §2.2)", metadata: ["atr": "\(hexString(bytes))"])
        }
        answerToReset = atr
        var configuration = baseConfiguration
        configuration.extendedLength = atr.supportsExtendedLength
        configuration.commandChaining = atr.supportsCommandChaining
        pipeline.configuration = configuration

        let capabilities = try await selectAndReadCapabilities()
        let chipID = try await readChipID()
        if let cached = recordContextCache, cached.chipID != chipID {
            recordContextCache = nil
        }
        isConnected = true
        logger.debug("connected", metadata: [
            "transport": "\(transport.name)", "chipID": "\(hexString(chipID))",
            "extendedLength": "\(pipeline.configuration.extendedLength)",
            "chaining": "\(pipeline.configuration.commandChaining)",
        ])
        return capabilities
    }

    /// SELECT of the seal applet (FCI checked) without re-reading the capabilities; runs inside
    /// ``session(_:)``.
    func selectAppletInSession() async throws {
        channel = nil  // SELECT ends the secure channel (SPEC §14.5)
        channelLost = false
        try Self.checkFCI(try await run(SealCommand.select()))
        if secureChannelSettings.opensHolderChannel {
            try await openChannel(.b, issuerKeyAgreement: nil)
        }
    }

    private func selectAndReadCapabilities() async throws -> SealCapabilities {
        channel = nil  // SELECT ends the secure channel (SPEC §14.5)
        channelLost = false
        let fci = try await run(SealCommand.select())
        try Self.checkFCI(fci)
        let capabilities = try await readCapabilities()
        if secureChannelSettings.opensHolderChannel {
            try await openChannel(.b, issuerKeyAgreement: nil)
        }
        return capabilities
    }

    private func readCapabilities() async throws -> SealCapabilities {
        let bytes = try await requiredData(.capabilities)
        let capabilities = try decode("capabilities") { () throws(SealDataError) in try SealCapabilities(decoding: bytes) }
        self.capabilities = capabilities
        var configuration = pipeline.configuration
        let atrDeclares = answerToReset?.cardCapabilities != nil
        let extended = capabilities.features.contains(.extendedLength)
        let chaining = capabilities.features.contains(.commandChaining)
        configuration.extendedLength = atrDeclares ? configuration.extendedLength && extended : extended
        configuration.commandChaining = atrDeclares ? configuration.commandChaining && chaining : chaining
        // SPEC §3.5: send within the chip's limits — command data (a whole chain, wrapped bytes
        // included) and the response length it can produce, which also bounds a promoted Le.
        configuration.maxCommandData = Int(capabilities.maxCommandData)
        configuration.maxExtendedCommandData = min(configuration.maxExtendedCommandData, Int(capabilities.maxCommandData))
        configuration.maxResponseLength = min(baseConfiguration.maxResponseLength, Int(capabilities.maxResponseData))
        pipeline.configuration = configuration
        return capabilities
    }

    /// Checks that the FCI is `6F { 84 <seal AID> … }`.
    private static func checkFCI(_ fci: [UInt8]) throws {
        do {
            let template = try TLV(decoding: fci, strict: false)
            guard template.tag == SealTag.fci,
                  try template.children(strict: false).first(SealTag.aid)?.value == SealApplet.aid else {
                throw SealDriverError(code: .malformedResponse, reason: "FCI does not name the seal applet AID")
            }
        } catch let error as SealDriverError {
            throw error
        } catch {
            throw SealDriverError(code: .malformedResponse, reason: "FCI: \(error)")
        }
    }

    private func transportCall<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw SealDriverError.wrapping(error, context: "\(transport.name) \(what)")
        }
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
        // Ownership was handed over by release(); busy stays true.
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
