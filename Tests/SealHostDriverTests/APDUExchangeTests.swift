import SealHostDriver
import SealProtocol
import Testing

/// The pure state machine: every path without a transport.
@Suite("APDUExchange state machine")
struct APDUExchangeTests {
    static let short = APDUPipelineConfiguration(extendedLength: false, commandChaining: true)
    static let extended = APDUPipelineConfiguration(extendedLength: true, commandChaining: true)

    /// Runs an exchange against a scripted list of answers; returns the frames sent and the final step.
    func drive(_ command: CommandAPDU, _ configuration: APDUPipelineConfiguration,
               answers: [[UInt8]]) throws -> (sent: [[UInt8]], response: ResponseAPDU?) {
        var exchange = try APDUExchange(command: command, configuration: configuration)
        var sent: [[UInt8]] = []
        var step = exchange.start()
        var remaining = answers[...]
        while case .transmit(let frame) = step {
            sent.append(frame.bytes)
            guard let next = remaining.popFirst() else { return (sent, nil) }
            step = try exchange.receive(next)
        }
        guard case .complete(let response) = step else { return (sent, nil) }
        #expect(exchange.isFinished)
        return (sent, response)
    }

    @Test func plainSuccessReturnsDataAndStatus() throws {
        let result = try drive(SealCommand.getData(.chipID), Self.short, answers: [answer([1, 2, 3], 0x9000)])
        #expect(result.sent == [[0x00, 0xCA, 0x01, 0x01, 0x00]])
        #expect(result.response == ResponseAPDU(data: [1, 2, 3], statusWord: .success))
    }

    @Test func errorStatusIsReturnedNotThrown() throws {
        let result = try drive(SealCommand.verify(pin: "1234"), Self.short, answers: [answer([], 0x63C2)])
        #expect(result.response?.statusWord == .verificationFailed(triesRemaining: 2))
    }

    @Test func bytesRemainingIsFetchedWithGetResponse() throws {
        let result = try drive(SealCommand.getData(.deviceCertificate), Self.short, answers: [
            answer([0xAA, 0xBB], 0x6110),
            answer([UInt8](repeating: 0xCC, count: 16), 0x9000),
        ])
        #expect(result.sent == [[0x00, 0xCA, 0x01, 0x06, 0x00], [0x00, 0xC0, 0x00, 0x00, 0x10]])
        #expect(result.response?.data == [0xAA, 0xBB] + [UInt8](repeating: 0xCC, count: 16))
        #expect(result.response?.statusWord == .success)
    }

    @Test func sw6100MeansTwoHundredFiftySixAndRoundsConcatenate() throws {
        let first = [UInt8](repeating: 1, count: 256)
        let second = [UInt8](repeating: 2, count: 256)
        let third = [UInt8](repeating: 3, count: 7)
        let result = try drive(SealCommand.getData(.deviceCertificate), Self.short, answers: [
            answer(first, 0x6100),
            answer(second, 0x6107),
            answer(third, 0x9000),
        ])
        #expect(result.sent == [
            [0x00, 0xCA, 0x01, 0x06, 0x00],
            [0x00, 0xC0, 0x00, 0x00, 0x00],  // Le 00 = 256 for 6100
            [0x00, 0xC0, 0x00, 0x00, 0x07],
        ])
        #expect(result.response?.data == first + second + third)
        #expect(result.response?.statusWord == .success)
    }

    @Test func finalStatusAfterGetResponseIsReturned() throws {
        let result = try drive(SealCommand.getData(.deviceCertificate), Self.short, answers: [
            answer([9], 0x6101), answer([8], 0x6282),
        ])
        #expect(result.response == ResponseAPDU(data: [9, 8], statusWord: .endOfFileBeforeLe))
    }

    @Test func wrongLeIsCorrectedOnceWithTheSameCommand() throws {
        let command = SealCommand.getData(.personalization, ne: 10)
        let result = try drive(command, Self.short, answers: [
            answer([], 0x6C2A),
            answer([UInt8](repeating: 5, count: 42), 0x9000),
        ])
        #expect(result.sent == [[0x00, 0xCA, 0x01, 0x08, 0x0A], [0x00, 0xCA, 0x01, 0x08, 0x2A]])
        #expect(result.response?.data.count == 42)
    }

    @Test func wrongLe6C00IsTwoHundredFiftySix() throws {
        let command = SealCommand.getData(.personalization, ne: 10)
        let result = try drive(command, Self.extended, answers: [answer([], 0x6C00), answer([1], 0x9000)])
        // The correction uses the exact Le asked for; it is not promoted to extended.
        #expect(result.sent[1] == [0x00, 0xCA, 0x01, 0x08, 0x00])
    }

    @Test func secondWrongLeIsATypedError() throws {
        let command = SealCommand.getData(.personalization, ne: 10)
        let error = #expect(throws: SealDriverError(code: .wrongLengthLoop, reason: "")) {
            _ = try drive(command, Self.short, answers: [answer([], 0x6C2A), answer([], 0x6C2B)])
        }
        #expect(error?.statusWord == .wrongLe(exact: 0x2B))
    }

    @Test func wrongLeDuringGetResponseResendsGetResponse() throws {
        let result = try drive(SealCommand.getData(.deviceCertificate), Self.short, answers: [
            answer([1], 0x6105), answer([], 0x6C03), answer([2, 3, 4], 0x9000),
        ])
        #expect(result.sent.suffix(2) == [[0x00, 0xC0, 0x00, 0x00, 0x05], [0x00, 0xC0, 0x00, 0x00, 0x03]])
        #expect(result.response?.data == [1, 2, 3, 4])
    }

    @Test func endlessBytesRemainingIsBounded() throws {
        let command = SealCommand.getData(.deviceCertificate)
        var exchange = try APDUExchange(command: command, configuration: Self.short)
        var step = exchange.start()
        var rounds = 0
        let error = #expect(throws: SealDriverError.self) {
            while case .transmit = step {
                step = try exchange.receive(answer([0x00], 0x6101))
                rounds += 1
                if rounds > 10_000 { break }  // the test must never hang
            }
        }
        #expect(error?.code == .getResponseLoopExceeded)
        #expect(error?.statusWord == .bytesRemaining(1))
        // 256 GET RESPONSE commands went out; the 61xx answering the last one throws.
        #expect(rounds == 256)
    }

    @Test func roundBoundIsConfigurable() throws {
        var configuration = Self.short
        configuration.maxGetResponseRounds = 2
        let error = #expect(throws: SealDriverError(code: .getResponseLoopExceeded, reason: "")) {
            _ = try drive(SealCommand.getData(.deviceCertificate), configuration,
                          answers: [answer([], 0x6101), answer([], 0x6101), answer([], 0x6101)])
        }
        #expect(error?.statusWord == .bytesRemaining(1))
    }

    @Test func responseSizeIsBounded() throws {
        var configuration = Self.short
        configuration.maxResponseLength = 300
        let error = #expect(throws: SealDriverError.self) {
            _ = try drive(SealCommand.getData(.deviceCertificate), configuration, answers: [
                answer([UInt8](repeating: 0, count: 256), 0x6100),
                answer([UInt8](repeating: 0, count: 256), 0x9000),
            ])
        }
        #expect(error?.code == .responseTooLong)
    }

    @Test func emptyAnswerIsNoResponseAndOneByteIsMalformed() throws {
        var exchange = try APDUExchange(command: SealCommand.getData(.chipID), configuration: Self.short)
        _ = exchange.start()
        #expect(throws: SealDriverError(code: .noResponse, reason: "")) { try exchange.receive([]) }
        #expect(throws: SealDriverError(code: .malformedResponse, reason: "")) { try exchange.receive([0x90]) }
    }

    // MARK: Chaining

    @Test func longCommandIsChainedWithExactBytes() throws {
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let command = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: data, ne: 256)
        let result = try drive(command, Self.short, answers: [answer([], 0x9000), answer([0x42], 0x9000)])
        #expect(result.sent.count == 2)
        #expect(result.sent[0] == [0x90, 0x54, 0x00, 0x00, 0xFF] + Array(data[0..<255]))
        #expect(result.sent[1] == [0x80, 0x54, 0x00, 0x00, 0x2D] + Array(data[255..<300]) + [0x00])
        #expect(result.response == ResponseAPDU(data: [0x42], statusWord: .success))
    }

    @Test func chainPartsUseTheConfiguredChunkSize() throws {
        var configuration = Self.short
        configuration.chainingChunkSize = 100
        let command = CommandAPDU(cla: 0x00, ins: 0x24, p1: 0, p2: 0x81, data: [UInt8](repeating: 7, count: 250))
        let exchange = try APDUExchange(command: command, configuration: configuration)
        #expect(exchange.plannedCommands.map(\.data.count) == [100, 100, 50])
        #expect(exchange.plannedCommands.map(\.cla) == [0x10, 0x10, 0x00])
        #expect(exchange.plannedCommands.map(\.ne) == [nil, nil, nil])
    }

    @Test func intermediateRefusalEndsTheChain() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 600), ne: 256)
        let result = try drive(command, Self.short, answers: [answer([], 0x9000), answer([], 0x6883)])
        #expect(result.sent.count == 2)
        #expect(result.response?.statusWord == .lastCommandOfChainExpected)
    }

    @Test func chainedCommandAnsweredWithBytesRemaining() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 256), ne: 256)
        let result = try drive(command, Self.short, answers: [
            answer([], 0x9000), answer([1, 2], 0x6102), answer([3, 4], 0x9000),
        ])
        #expect(result.sent.last == [0x00, 0xC0, 0x00, 0x00, 0x02])
        #expect(result.response?.data == [1, 2, 3, 4])
    }

    @Test func wrongLeOnAChainResendsTheWholeChain() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 256), ne: 256)
        let result = try drive(command, Self.short, answers: [
            answer([], 0x9000), answer([], 0x6C20), answer([], 0x9000), answer([UInt8](repeating: 0, count: 32), 0x9000),
        ])
        #expect(result.sent.count == 4)
        #expect(result.sent[2] == result.sent[0])
        #expect(result.sent[3].last == 0x20)
        #expect(result.response?.data.count == 32)
    }

    @Test func callerManagedChainPartIsSentUnchanged() throws {
        let part = CommandAPDU(cla: 0x90, ins: 0x54, p1: 0, p2: 0, data: [1, 2, 3])
        let result = try drive(part, Self.extended, answers: [answer([], 0x9000)])
        #expect(result.sent == [[0x90, 0x54, 0x00, 0x00, 0x03, 1, 2, 3]])
    }

    // MARK: Extended length

    @Test func longCommandUsesExtendedLengthWhenDeclared() throws {
        let data = [UInt8](repeating: 0xAB, count: 300)
        let command = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: data, ne: 256)
        let result = try drive(command, Self.extended, answers: [answer([0x01], 0x9000)])
        // 00 marker, Lc 012C, data, Le 0000 (65536: Ne 256 promoted).
        #expect(result.sent == [[0x80, 0x54, 0x00, 0x00, 0x00, 0x01, 0x2C] + data + [0x00, 0x00]])
    }

    @Test func promotionCanBeDisabled() throws {
        var configuration = Self.extended
        configuration.promoteExpectedLength = false
        let data = [UInt8](repeating: 0xAB, count: 300)
        let command = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: data, ne: 256)
        let exchange = try APDUExchange(command: command, configuration: configuration)
        #expect(try exchange.plannedCommands.map { try $0.encoded() } == [[0x80, 0x54, 0x00, 0x00, 0x00, 0x01, 0x2C] + data + [0x01, 0x00]])
    }

    @Test func shortCommandIsPromotedToExtendedLe() throws {
        let exchange = try APDUExchange(command: SealCommand.getData(.deviceCertificate), configuration: Self.extended)
        #expect(try exchange.plannedCommands.map { try $0.encoded() } == [[0x00, 0xCA, 0x01, 0x06, 0x00, 0x00, 0x00]])
    }

    @Test func nonDefaultNeIsNotPromoted() throws {
        let exchange = try APDUExchange(command: SealCommand.getChallenge(), configuration: Self.extended)
        #expect(try exchange.plannedCommands.map { try $0.encoded() } == [[0x00, 0x84, 0x00, 0x00, 0x10]])
    }

    @Test func chainingStrategyWinsOverExtendedWhenPreferred() throws {
        var configuration = Self.extended
        configuration.longCommandStrategy = .commandChaining
        let command = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 300), ne: 256)
        let exchange = try APDUExchange(command: command, configuration: configuration)
        #expect(exchange.plannedCommands.map(\.cla) == [0x90, 0x80])
    }

    @Test func dataBeyondTheExtendedLimitFallsBackToChaining() throws {
        var configuration = Self.extended
        configuration.maxExtendedCommandData = 512
        let command = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 600))
        let exchange = try APDUExchange(command: command, configuration: configuration)
        #expect(exchange.plannedCommands.count == 3)
    }

    @Test func neIsCappedWithoutExtendedLength() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: [], ne: 65_536)
        let exchange = try APDUExchange(command: command, configuration: Self.short)
        #expect(exchange.plannedCommands.first?.ne == 256)
    }

    @Test func longCommandWithoutChainingOrExtendedIsNotSupported() throws {
        let configuration = APDUPipelineConfiguration(extendedLength: false, commandChaining: false)
        let command = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 256))
        #expect(throws: SealDriverError(code: .notSupportedByToken, reason: "")) {
            _ = try APDUExchange(command: command, configuration: configuration)
        }
    }

    @Test func commandDataLimitIsEnforced() throws {
        var configuration = Self.extended
        configuration.maxCommandData = 4096
        let command = CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 4097))
        #expect(throws: SealDriverError(code: .commandTooLong, reason: "")) {
            _ = try APDUExchange(command: command, configuration: configuration)
        }
    }

    @Test func unencodableCommandIsAnInvalidArgument() throws {
        let command = CommandAPDU(cla: 0x00, ins: 0xCA, p1: 1, p2: 1, ne: 0)
        #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) {
            _ = try APDUExchange(command: command, configuration: Self.short)
        }
    }

    @Test func frameDescribesItsPurpose() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [UInt8](repeating: 1, count: 300), ne: 256)
        var exchange = try APDUExchange(command: command, configuration: Self.short)
        guard case .transmit(let frame) = exchange.start() else {
            Issue.record("expected a frame")
            return
        }
        #expect(frame.purpose == .chainPart(index: 1, count: 2))
        #expect(frame.description.contains("STAMP"))
        #expect(frame.description.contains("chain part 1/2"))
    }
}
