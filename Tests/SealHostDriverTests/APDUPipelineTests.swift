import SealHostDriver
import SealProtocol
import Testing

/// The async driver over a transport: error mapping, trace, raw access.
@Suite("APDUPipeline over a transport")
struct APDUPipelineTests {
    @Test func sendFollowsGetResponseOverTheTransport() async throws {
        let transport = ScriptedTransport(responses: [answer([1], 0x6102), answer([2, 3], 0x9000)])
        let pipeline = APDUPipeline(transport: transport)
        let response = try await pipeline.send(SealCommand.getData(.deviceCertificate))
        #expect(response == ResponseAPDU(data: [1, 2, 3], statusWord: .success))
        #expect(await transport.sent == [[0x00, 0xCA, 0x01, 0x06, 0x00], [0x00, 0xC0, 0x00, 0x00, 0x02]])
    }

    @Test func sendExpectingSuccessThrowsTheStatusWordAndCommand() async throws {
        let transport = ScriptedTransport(responses: [answer([], 0x63C1)])
        let pipeline = APDUPipeline(transport: transport)
        let error = await #expect(throws: SealDriverError.self) {
            try await pipeline.sendExpectingSuccess(SealCommand.verify(pin: "0000"))
        }
        #expect(error?.code == .statusWord)
        #expect(error?.statusWord == StatusWord(rawValue: 0x63C1))
        #expect(error?.command == "VERIFY")
        #expect(error?.isPINIncorrect == true)
        #expect(error?.triesRemaining == 1)
    }

    @Test func sendExpectingSuccessReturnsData() async throws {
        let transport = ScriptedTransport(responses: [answer([0xAB], 0x9000)])
        let data = try await APDUPipeline(transport: transport).sendExpectingSuccess(SealCommand.getData(.lifecycle))
        #expect(data == [0xAB])
    }

    @Test(.timeLimit(.minutes(1)))
    func tokenAnsweringBytesRemainingForeverIsATypedErrorNotAHang() async throws {
        let transport = ScriptedTransport { _ in answer([0xEE], 0x6101) }
        let pipeline = APDUPipeline(transport: transport)
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await pipeline.send(SealCommand.getData(.deviceCertificate))
        }
        #expect(error?.code == .getResponseLoopExceeded)
        #expect(await transport.sent.count == 257)  // the command and 256 GET RESPONSE
    }

    @Test(.timeLimit(.minutes(1)))
    func tokenAnsweringWrongLeForeverIsATypedError() async throws {
        let transport = ScriptedTransport { _ in answer([], 0x6C05) }
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await APDUPipeline(transport: transport).send(SealCommand.getData(.counter))
        }
        #expect(error?.code == .wrongLengthLoop)
        #expect(await transport.sent.count == 2)
    }

    @Test func foreignTransportErrorsBecomeTransportFailures() async throws {
        let transport = ScriptedTransport(responses: [])
        await transport.failNextTransmit(with: ScriptedTransport.Failure.scripted)
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await APDUPipeline(transport: transport).send(SealCommand.getData(.chipID))
        }
        #expect(error?.code == .transportFailure)
        #expect(error?.reason.contains("scripted") == true)
    }

    @Test func driverErrorsFromTheTransportPassThrough() async throws {
        let transport = ScriptedTransport(responses: [])
        await transport.failNextTransmit(with: SealDriverError(code: .cardRemoved, reason: "pulled"))
        await #expect(throws: SealDriverError(code: .cardRemoved, reason: "")) {
            _ = try await APDUPipeline(transport: transport).send(SealCommand.getData(.chipID))
        }
    }

    @Test func cancellationIsNotWrapped() async throws {
        let transport = ScriptedTransport(responses: [])
        await transport.failNextTransmit(with: CancellationError())
        await #expect(throws: CancellationError.self) {
            _ = try await APDUPipeline(transport: transport).send(SealCommand.getData(.chipID))
        }
    }

    @Test func emptyTransportAnswerIsNoResponse() async throws {
        let transport = ScriptedTransport(responses: [[]])
        await #expect(throws: SealDriverError(code: .noResponse, reason: "")) {
            _ = try await APDUPipeline(transport: transport).send(SealCommand.stamp(
                try StampRequest(documentDigest: [UInt8](repeating: 0, count: 32), metadata: StampMetadata(time: 1))))
        }
    }

    @Test func traceReportsEveryAPDUInOrderWithDecodedText() async throws {
        let transport = ScriptedTransport(responses: [answer([1, 2], 0x6101), answer([3], 0x9000)])
        let events = EventLog<APDUTraceEvent>()
        let pipeline = APDUPipeline(transport: transport, trace: { events.append($0) })
        _ = try await pipeline.send(SealCommand.getData(.deviceCertificate))
        let log = events.all
        #expect(log.map(\.direction) == [.command, .response, .command, .response])
        #expect(log[0].bytes == [0x00, 0xCA, 0x01, 0x06, 0x00])
        #expect(log[0].decoded == "GET DATA device certificate (0106), Ne=256")
        #expect(log[1].decoded == "6101 (1 response bytes still available), 2 data bytes")
        #expect(log[2].decoded == "GET RESPONSE, Ne=1 [round 1]")
        #expect(log[3].decoded == "9000 (success), 1 data byte")
        #expect(log[0].description == ">> 00 CA 01 06 00  GET DATA device certificate (0106), Ne=256")
    }

    @Test func traceRedactsPINs() async throws {
        let transport = ScriptedTransport(responses: [answer([], 0x9000)])
        let events = EventLog<APDUTraceEvent>()
        let pipeline = APDUPipeline(transport: transport, trace: { events.append($0) })
        _ = try await pipeline.send(SealCommand.verify(pin: "123456"))
        let command = try #require(events.all.first)
        #expect(command.redacted)
        #expect(command.bytes == [0x00, 0x20, 0x00, 0x81, 0x06] + [UInt8](repeating: 0x2A, count: 6))
        #expect(await transport.sent.first == [0x00, 0x20, 0x00, 0x81, 0x06] + Array("123456".utf8))
    }

    @Test func traceRedactionCanBeDisabled() async throws {
        let transport = ScriptedTransport(responses: [answer([], 0x9000)])
        let events = EventLog<APDUTraceEvent>()
        var configuration = APDUPipelineConfiguration()
        configuration.redactSecretsInTrace = false
        let pipeline = APDUPipeline(transport: transport, configuration: configuration, trace: { events.append($0) })
        _ = try await pipeline.send(SealCommand.verify(pin: "123456"))
        #expect(events.all.first?.redacted == false)
        #expect(events.all.first?.bytes.suffix(6) == Array("123456".utf8)[...])
    }

    @Test func transmitRawDoesNoResponseProcessing() async throws {
        let transport = ScriptedTransport(responses: [answer([1], 0x6105)])
        let response = try await APDUPipeline(transport: transport).transmitRaw(SealCommand.getData(.deviceCertificate))
        #expect(response == ResponseAPDU(data: [1], statusWord: .bytesRemaining(5)))
        #expect(await transport.sent.count == 1)
    }

    @Test func transmitRawBytesAcceptsMalformedAPDUs() async throws {
        let transport = ScriptedTransport(responses: [answer([], 0x6700)])
        let events = EventLog<APDUTraceEvent>()
        let pipeline = APDUPipeline(transport: transport, trace: { events.append($0) })
        let raw = try await pipeline.transmitRaw(bytes: [0x00, 0xCA, 0x01])
        #expect(raw == [0x67, 0x00])
        #expect(events.all.first?.decoded.hasPrefix("malformed command") == true)
    }

    @Test func configurationFromTheReferenceATR() throws {
        let configuration = APDUPipelineConfiguration(answerToReset: try AnswerToReset(bytes: TestATR.reference))
        #expect(configuration.extendedLength)
        #expect(configuration.commandChaining)
        let chainingOnly = APDUPipelineConfiguration(answerToReset: try AnswerToReset(bytes: TestATR.chainingOnly))
        #expect(!chainingOnly.extendedLength)
        #expect(chainingOnly.commandChaining)
    }
}
