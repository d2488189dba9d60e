import SealProtocol

/// Sends logical commands over a ``CardTransport``: formats them (short, extended or chained),
/// follows `61xx` with GET RESPONSE, corrects `6Cxx`, and returns the collected data with the final
/// status word.
///
/// The logic lives in the pure ``APDUExchange`` state machine; this type only moves bytes, maps
/// transport errors to ``SealDriverError`` and reports every APDU to the optional ``trace`` handler.
/// It is a value type: ``SealToken`` keeps one and updates its ``configuration`` after reading the
/// ATR and the token's capabilities.
package struct APDUPipeline: Sendable {
    /// The transport the bytes go through.
    package let transport: any CardTransport
    /// Formatting rules and loop bounds.
    package var configuration: APDUPipelineConfiguration
    /// Receives every APDU sent and received, in order (`sealctl --trace`).
    package var trace: APDUTraceHandler?

    /// Creates a pipeline.
    package init(transport: any CardTransport, configuration: APDUPipelineConfiguration = .init(),
                trace: APDUTraceHandler? = nil) {
        self.transport = transport
        self.configuration = configuration
        self.trace = trace
    }

    /// Sends `command` and returns the complete response, whatever its status word.
    ///
    /// - Throws: ``SealDriverError`` for transport failures, malformed answers and exceeded bounds;
    ///   `CancellationError` when the transport reports cancellation. A card refusal is not thrown:
    ///   it is the returned status word.
    ///
    /// `nonisolated(nonsending)`, like everything here that awaits: it runs on the caller's
    /// executor (``SealToken``'s), so that an APDU costs no switch to the global executor and back.
    package nonisolated(nonsending) func send(_ command: CommandAPDU) async throws -> ResponseAPDU {
        var exchange = try APDUExchange(command: command, configuration: configuration)
        var step = exchange.start()
        while true {
            switch step {
            case .complete(let response):
                return response
            case .transmit(let frame):
                let answer = try await roundTrip(frame)
                step = try exchange.receive(answer)
            }
        }
    }

    /// Sends `command` and returns its response data, or throws when the status word is not `9000`.
    ///
    /// - Throws: ``SealDriverError`` with code ``SealDriverError/Code-swift.struct/statusWord``
    ///   (carrying the status word and the command name) for any status other than `9000`, and
    ///   everything ``send(_:)`` throws.
    @discardableResult
    package nonisolated(nonsending) func sendExpectingSuccess(_ command: CommandAPDU) async throws -> [UInt8] {
        let response = try await send(command)
        guard response.statusWord == .success else {
            throw SealDriverError(statusWord: response.statusWord,
                                  command: APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins))
        }
        return response.data
    }

    /// Sends exactly one APDU, encoded as given, with no chaining, GET RESPONSE or 6Cxx handling.
    /// For the conformance suite, which checks those mechanisms itself.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidArgument`` when the command cannot be
    ///   encoded; `noResponse`/`malformedResponse` for answers shorter than a status word;
    ///   `responseTooLong` for an answer longer than any response APDU.
    package nonisolated(nonsending) func transmitRaw(_ command: CommandAPDU) async throws -> ResponseAPDU {
        let frame = try APDUFrame(command: command, purpose: .command)
        let answer = try await roundTrip(frame)
        let name = APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins)
        try APDUExchange.checkAnswerLength(answer.count, command: name)
        guard answer.count >= 2 else {
            throw SealDriverError(code: answer.isEmpty ? .noResponse : .malformedResponse,
                                  reason: "\(answer.count)-byte answer to \(name)", command: name)
        }
        do {
            return try ResponseAPDU(decoding: answer)
        } catch {
            throw SealDriverError(code: .malformedResponse, reason: "\(error)")
        }
    }

    /// Sends raw bytes, which need not be a well-formed APDU (malformed-APDU conformance tests), and
    /// returns the raw answer.
    package nonisolated(nonsending) func transmitRaw(bytes: [UInt8]) async throws -> [UInt8] {
        emit(.command, bytes, APDUTraceDecoder.describe(commandBytes: bytes), redacted: false)
        let answer = try await transmitMapped(bytes)
        emit(.response, answer, APDUTraceDecoder.describe(responseBytes: answer), redacted: false)
        return answer
    }

    // MARK: Internals

    private nonisolated(nonsending) func roundTrip(_ frame: APDUFrame) async throws -> [UInt8] {
        if trace != nil {
            let secret = configuration.redactSecretsInTrace && APDUTraceDecoder.carriesSecrets(frame.command)
            emit(.command, secret ? APDUTraceDecoder.redactedBytes(frame.command) : frame.bytes,
                 APDUTraceDecoder.describe(command: frame.command, purpose: frame.purpose), redacted: secret)
        }
        let answer = try await transmitMapped(frame.bytes)
        emit(.response, answer, APDUTraceDecoder.describe(responseBytes: answer), redacted: false)
        return answer
    }

    private nonisolated(nonsending) func transmitMapped(_ bytes: [UInt8]) async throws -> [UInt8] {
        do {
            return try await transport.transmit(bytes)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw SealDriverError.wrapping(error, context: transport.name)
        }
    }

    private func emit(_ direction: APDUTraceEvent.Direction, _ bytes: [UInt8], _ text: @autoclosure () -> String,
                      redacted: Bool) {
        guard let trace else { return }
        trace(APDUTraceEvent(direction: direction, bytes: bytes, decoded: text(), redacted: redacted))
    }
}
