import SealProtocol

/// The ISO 7816-4 exchange of one logical command, as a pure state machine.
///
/// It performs no I/O: it tells its driver which APDU to send next and consumes the raw answers,
/// in the style of async-http-client's connection state machines. That makes every path — chaining,
/// `61xx`, `6Cxx`, the bounds — testable without a transport. `APDUPipeline` is the thin async
/// driver over a ``CardTransport``.
///
/// ```swift
/// var exchange = try APDUExchange(command: command, configuration: configuration)
/// var step = exchange.start()
/// while case .transmit(let frame) = step {
///     step = try exchange.receive(try await transport.transmit(frame.bytes))
/// }
/// // step is .complete(response)
/// ```
///
/// Rules:
/// - **Chaining**: each part but the last must be answered `9000`; any other answer to an
///   intermediate part ends the exchange and is returned (the card discarded the chain).
/// - **`61xx`**: the data is kept and GET RESPONSE is sent with Le = xx (`6100` → 256) until a
///   non-`61xx` status; data of all rounds is concatenated and returned with that final status.
/// - **`6Cxx`**: the command (every part of a chain) is re-sent once with Le = xx; during GET RESPONSE
///   the GET RESPONSE is re-sent. A second consecutive `6Cxx` throws
///   ``SealDriverError/Code-swift.struct/wrongLengthLoop``.
/// - **Bounds**: more than ``APDUPipelineConfiguration/maxGetResponseRounds`` GET RESPONSE rounds
///   throws ``SealDriverError/Code-swift.struct/getResponseLoopExceeded``; more than
///   ``APDUPipelineConfiguration/maxResponseLength`` bytes throws
///   ``SealDriverError/Code-swift.struct/responseTooLong``, and so does any single answer longer than
///   ``maximumAnswerLength`` (no R-APDU can be), before its bytes are copied.
package struct APDUExchange: Sendable {
    /// The longest answer any R-APDU can be: 65 536 data bytes (extended Ne `0000`) and SW1 SW2.
    package static let maximumAnswerLength = 65_536 + 2

    /// What the driver must do next.
    package enum Step: Hashable, Sendable {
        /// Send this frame and pass the answer to ``APDUExchange/receive(_:)``.
        case transmit(APDUFrame)
        /// The exchange is over: the collected data with the final status word.
        case complete(ResponseAPDU)
    }

    private enum State: Sendable {
        /// Waiting for the answer to part `index` of `frames`.
        case sendingCommand(index: Int)
        /// Waiting for the answer to GET RESPONSE round `round`.
        case fetching(round: Int)
        case finished(ResponseAPDU)
    }

    /// The command as the caller gave it.
    package let command: CommandAPDU
    private let configuration: APDUPipelineConfiguration
    /// The encoded parts of the first attempt (one unless chained).
    private let initialFrames: [APDUFrame]
    /// The encoded parts of the current attempt (differs after a 6Cxx correction).
    private var frames: [APDUFrame]
    private var state: State = .sendingCommand(index: 0)
    private var collected: [UInt8] = []
    private var getResponseRounds = 0
    /// The last frame sent was a 6Cxx correction; another 6Cxx is a loop.
    private var correcting = false

    /// Plans the exchange.
    /// - Throws: what ``CommandFormatter/commands(for:configuration:promoteExpectedLength:)`` throws,
    ///   and ``SealDriverError/Code-swift.struct/invalidArgument`` when the command cannot be encoded.
    package init(command: CommandAPDU, configuration: APDUPipelineConfiguration) throws(SealDriverError) {
        self.command = command
        self.configuration = configuration
        // Encode everything now so that start() and receive() only fail on what the card sends.
        self.initialFrames = try Self.plan(command, configuration: configuration, correction: nil)
        self.frames = initialFrames
    }

    /// The commands the exchange sends for the caller's command before any `61xx`/`6Cxx` handling.
    package var plannedCommands: [CommandAPDU] { initialFrames.map(\.command) }

    /// `true` once ``Step/complete(_:)`` has been returned.
    package var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// The first frame to send. Calling it again restarts the exchange from the first part.
    package mutating func start() -> Step {
        state = .sendingCommand(index: 0)
        frames = initialFrames
        collected = []
        getResponseRounds = 0
        correcting = false
        return .transmit(frames[0])
    }

    /// Consumes the raw answer to the last frame and returns the next step.
    ///
    /// - Throws: ``SealDriverError`` — `noResponse` for an empty answer, `malformedResponse` for a
    ///   one-byte answer, `responseTooLong` for an answer longer than ``maximumAnswerLength``,
    ///   `getResponseLoopExceeded`, `responseTooLong`, `wrongLengthLoop`.
    package mutating func receive(_ bytes: [UInt8]) throws(SealDriverError) -> Step {
        try Self.checkAnswerLength(bytes.count, command: commandName)
        guard bytes.count >= 2 else {
            if bytes.isEmpty {
                throw SealDriverError(code: .noResponse, reason: "empty answer to \(commandName)", command: commandName)
            }
            throw SealDriverError(code: .malformedResponse, reason: "\(bytes.count)-byte answer to \(commandName) has no status word",
                                  command: commandName)
        }
        let response: ResponseAPDU
        do {
            response = try ResponseAPDU(decoding: bytes)
        } catch {
            throw SealDriverError(code: .malformedResponse, reason: "\(error)", command: commandName)
        }
        let sw = response.statusWord

        switch state {
        case .finished(let final):
            return .complete(final)

        case .sendingCommand(let index) where index < frames.count - 1:
            // Intermediate chain part: only 9000 lets the chain continue.
            guard sw == .success else { return finish(ResponseAPDU(data: response.data, statusWord: sw)) }
            state = .sendingCommand(index: index + 1)
            return .transmit(frames[index + 1])

        case .sendingCommand:
            if let exact = sw.exactLength {
                guard !correcting else { throw lengthLoop(exact) }
                correcting = true
                var corrected = command
                corrected.ne = exact
                frames = try Self.plan(corrected, configuration: configuration, correction: exact)
                state = .sendingCommand(index: 0)
                return .transmit(frames[0])
            }
            return try collect(response)

        case .fetching(let round):
            if let exact = sw.exactLength {
                guard !correcting else { throw lengthLoop(exact) }
                correcting = true
                state = .fetching(round: round)
                return .transmit(try getResponseFrame(round: round, ne: exact, correction: true))
            }
            return try collect(response)
        }
    }

    /// Refuses an answer no card may give: longer than ``maximumAnswerLength``. A hostile card (or
    /// transport) could otherwise have a multi-megabyte answer decoded and copied before the
    /// collected-length bound sees it.
    package static func checkAnswerLength(_ count: Int, command: String) throws(SealDriverError) {
        guard count <= maximumAnswerLength else {
            throw SealDriverError(code: .responseTooLong,
                                  reason: "\(command): a \(count)-byte answer, longer than any response APDU (\(maximumAnswerLength))",
                                  command: command)
        }
    }

    // MARK: Internals

    private var commandName: String { APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins) }

    private mutating func collect(_ response: ResponseAPDU) throws(SealDriverError) -> Step {
        correcting = false
        try append(response.data)
        guard let remaining = response.statusWord.bytesRemaining else {
            return finish(ResponseAPDU(data: collected, statusWord: response.statusWord))
        }
        getResponseRounds += 1
        guard getResponseRounds <= configuration.maxGetResponseRounds else {
            throw SealDriverError(
                code: .getResponseLoopExceeded,
                reason: "\(commandName): still \(response.statusWord) after \(configuration.maxGetResponseRounds) GET RESPONSE rounds, \(collected.count) bytes collected",
                statusWord: response.statusWord, command: commandName)
        }
        state = .fetching(round: getResponseRounds)
        return .transmit(try getResponseFrame(round: getResponseRounds, ne: remaining, correction: false))
    }

    private mutating func append(_ data: [UInt8]) throws(SealDriverError) {
        guard collected.count + data.count <= configuration.maxResponseLength else {
            throw SealDriverError(
                code: .responseTooLong,
                reason: "\(commandName): more than \(configuration.maxResponseLength) response bytes",
                command: commandName)
        }
        collected += data
    }

    private mutating func finish(_ response: ResponseAPDU) -> Step {
        state = .finished(response)
        return .complete(response)
    }

    private func lengthLoop(_ exact: Int) -> SealDriverError {
        SealDriverError(code: .wrongLengthLoop,
                        reason: "\(commandName): 6Cxx again after re-sending with Le = \(exact)",
                        statusWord: .wrongLe(exact: exact), command: commandName)
    }

    /// Formats and encodes the parts of one attempt. The 6Cxx correction uses the exact Le the card
    /// asked for, so Ne is not promoted then.
    private static func plan(
        _ command: CommandAPDU, configuration: APDUPipelineConfiguration, correction: Int?
    ) throws(SealDriverError) -> [APDUFrame] {
        let parts = try CommandFormatter.commands(
            for: command, configuration: configuration, promoteExpectedLength: correction == nil)
        var frames: [APDUFrame] = []
        frames.reserveCapacity(parts.count)
        for (offset, part) in parts.enumerated() {
            let purpose: APDUFrame.Purpose
            if parts.count > 1 {
                purpose = .chainPart(index: offset + 1, count: parts.count)
            } else if let correction {
                purpose = .lengthCorrection(ne: correction)
            } else {
                purpose = .command
            }
            frames.append(try APDUFrame(command: part, purpose: purpose))
        }
        guard !frames.isEmpty else {
            throw SealDriverError(code: .invalidArgument, reason: "command produced no APDU")
        }
        return frames
    }

    private func getResponseFrame(round: Int, ne: Int, correction: Bool) throws(SealDriverError) -> APDUFrame {
        try APDUFrame(command: SealCommand.getResponse(ne: min(max(ne, 1), 256)),
                      purpose: correction ? .lengthCorrection(ne: ne) : .getResponse(round: round))
    }
}
