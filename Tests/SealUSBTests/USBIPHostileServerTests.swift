import Foundation
import SealHostDriver
import SealProtocol
import SealReaderWire
import SealSimulatedToken
@testable import SealUSB
import Testing

@Suite("A USB/IP server that stops answering", .serialized, .timeLimit(.minutes(1)))
struct USBIPHostileServerTests {
    @Test("a server that accepts and never answers OP_REQ_IMPORT: timeout within the client's timeout")
    func silentServer() async throws {
        let server = try HostileUSBIPServer(.silent)
        defer { server.stop() }
        let client = USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: server.port, busID: "1-1"), timeout: .milliseconds(500))
        let start = ContinuousClock.now
        let error = await #expect(throws: USBError.self) { _ = try await client.importDevice() }
        #expect(error?.code == .timeout)
        let elapsed = ContinuousClock.now - start
        print("USB/IP silent server: timeout after \(elapsed)")
        #expect(elapsed < .seconds(6))
    }

    @Test("a server trickling its OP_REP_IMPORT a byte at a time cannot stretch the client's timeout")
    func tricklingServer() async throws {
        // OP_REP_IMPORT (0111 0003, status 0) and a device record that would take 32 s to arrive.
        let reply: [UInt8] = [0x01, 0x11, 0x00, 0x03, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 312)
        let server = try HostileUSBIPServer(.trickle(bytes: reply, interval: .milliseconds(100)))
        defer { server.stop() }
        let client = USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: server.port, busID: "1-1"), timeout: .seconds(1))
        let start = ContinuousClock.now
        let error = await #expect(throws: USBError.self) { _ = try await client.importDevice() }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .timeout)
        print("USB/IP trickling server: timeout after \(elapsed)")
        #expect(elapsed < .seconds(10), "took \(elapsed)")   // before the fix: 34 s
    }

    @Test("a server that stops answering mid-URB: the token's call ends with noResponse within commandTimeout + unlink grace")
    func frozenMidSession() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let relay = try HostileUSBIPServer(.relay(upstreamPort: simulator.server.port))
        defer { relay.stop() }
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: relay.port, busID: "1-1")).importDevice()
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader,
                                      configuration: .init(replyTimeout: .milliseconds(500), commandTimeout: .seconds(1)))
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        try await token.connect()
        #expect(try await token.chipID().count == 16)

        relay.freeze()
        let start = ContinuousClock.now
        let error = await #expect(throws: SealDriverError.self) { _ = try await token.info() }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .noResponse, "\(String(describing: error))")
        #expect(error?.underlyingError is USBError)
        // The frozen server acknowledges no URB: the bulk OUT write gets the command timeout (1 s),
        // not the pipe's 5 s write timeout, then CMD_UNLINK goes unanswered for the 1 s grace.
        // Before the write was bounded by the command timeout: 6 s.
        #expect(elapsed < .milliseconds(4_500), "took \(elapsed)")
        // Closing does not power a reader off that just let a command time out: it unlinks and
        // closes at once (within the unlink grace).
        let closing = ContinuousClock.now
        await token.close()
        let closeTime = ContinuousClock.now - closing
        #expect(closeTime < .seconds(4), "close took \(closeTime)")   // before the fix: 6 s
        print("USB/IP frozen mid-URB: the call ended after \(elapsed), close took \(closeTime)")
    }
}

@Suite("USB/IP round trips", .serialized, .timeLimit(.minutes(1)))
struct USBIPRoundTripTests {
    @Test("a no-op APDU costs one round trip: the bulk-IN URB goes out with the bulk-OUT in one write")
    func oneRoundTripPerAPDU() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let relay = try HostileUSBIPServer(.relay(upstreamPort: simulator.server.port))
        defer { relay.stop() }
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: relay.port, busID: "1-1")).importDevice()
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        _ = try await transport.connect()
        #expect(try await transport.transmit(try SealCommand.select().encoded()).suffix(2) == [0x90, 0x00])
        let before = relay.turns
        for _ in 0..<20 {
            let answer = try await transport.transmit(try SealCommand.getData(.lifecycle).encoded())
            #expect(answer.suffix(2) == [0x90, 0x00])
        }
        // Sequential bulk OUT then bulk IN would be 40: the client waits for the OUT's RET_SUBMIT.
        #expect(relay.turns - before == 20)
        await transport.close()
    }
}

@Suite("USB/IP receivers: the caller's thread and the reader thread", .serialized, .timeLimit(.minutes(1)))
struct USBIPReceiverTests {
    @Test("close() during a pipelined command whose server froze ends the command with connectionClosed within the unlink grace")
    func closeDuringPipelinedCommand() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let relay = try HostileUSBIPServer(.relay(upstreamPort: simulator.server.port))
        defer { relay.stop() }
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: relay.port, busID: "1-1")).importDevice()
        relay.freeze()
        let command = CCIDMessage(sequence: 0, kind: .getSlotStatus).encoded()
        let call = Task { () -> (any Error)? in
            do {
                try await pipe.write(command, timeout: .seconds(30))
                return nil
            } catch {
                return error
            }
        }
        // Long past the caller's own read window: the command waits on the reader thread now.
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        await pipe.close()
        let error = await call.value
        let elapsed = ContinuousClock.now - start
        #expect((error as? USBError)?.code == .connectionClosed, "\(String(describing: error))")
        // The frozen server answers no CMD_UNLINK: the 1 s grace, not the command's 30 s.
        #expect(elapsed < .seconds(3), "took \(elapsed)")
        await #expect(throws: USBError.self) { try await pipe.write(command, timeout: .seconds(1)) }
    }

    @Test("commands while an interrupt read is pending (the reader thread receives) are answered; afterwards each costs one round trip")
    func commandsBesideAnInterruptRead() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let relay = try HostileUSBIPServer(.relay(upstreamPort: simulator.server.port))
        defer { relay.stop() }
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: relay.port, busID: "1-1")).importDevice()
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        // The reader may first report its initial slot state.
        _ = try? await transport.waitForInterrupt(timeout: .milliseconds(300))
        _ = try await transport.connect()
        #expect(try await transport.transmit(try SealCommand.select().encoded()).suffix(2) == [0x90, 0x00])
        let interrupt = Task { () -> SealDriverError.Code? in
            do {
                _ = try await transport.waitForInterrupt(timeout: .milliseconds(800))
                return nil
            } catch {
                return (error as? SealDriverError)?.code
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        for _ in 0..<20 {
            let answer = try await transport.transmit(try SealCommand.getData(.lifecycle).encoded())
            #expect(answer.suffix(2) == [0x90, 0x00])
        }
        #expect(await interrupt.value == .noResponse)
        let before = relay.turns
        for _ in 0..<20 {
            let answer = try await transport.transmit(try SealCommand.getData(.lifecycle).encoded())
            #expect(answer.suffix(2) == [0x90, 0x00])
        }
        #expect(relay.turns - before == 20)
        await transport.close()
    }
}

@Suite("USB/IP commands on the caller's thread: split replies, slow replies, a server dying mid-reply", .serialized, .timeLimit(.minutes(1)))
struct USBIPDirectExchangeTests {
    /// A transport to the simulator through a relay, connected, with the seal applet selected.
    private static func connected(through relay: HostileUSBIPServer,
                                  configuration: CCIDTransport.Configuration = .init()) async throws -> CCIDTransport {
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: relay.port, busID: "1-1")).importDevice()
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader, configuration: configuration)
        _ = try await transport.connect()
        #expect(try await transport.transmit(try SealCommand.select().encoded()).suffix(2) == [0x90, 0x00])
        return transport
    }

    @Test("replies that arrive in pieces are put together: 5-byte pieces (many reads on the caller's thread), and pieces 8 ms apart (past its 5 ms window: the reader thread finishes them)")
    func splitReplies() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let relay = try HostileUSBIPServer(.relay(upstreamPort: simulator.server.port))
        defer { relay.stop() }
        let transport = try await Self.connected(through: relay)
        let getData = try SealCommand.getData(.lifecycle).encoded()
        let expected = try await transport.transmit(getData)
        #expect(expected.suffix(2) == [0x90, 0x00])

        relay.split(into: 5)
        for _ in 0..<10 { #expect(try await transport.transmit(getData) == expected) }
        relay.split(into: 30, pause: .milliseconds(8))
        for _ in 0..<3 { #expect(try await transport.transmit(getData) == expected) }
        // The header of the bulk-IN return arrives, its data only later.
        relay.split(into: 60, pause: .milliseconds(20))
        for _ in 0..<3 { #expect(try await transport.transmit(getData) == expected) }
        relay.split(into: nil)
        let before = relay.turns
        for _ in 0..<10 { #expect(try await transport.transmit(getData) == expected) }
        #expect(relay.turns - before == 10)
        await transport.close()
    }

    @Test("a server that dies in the middle of a reply ends the command at once with transportFailure, and the transport refuses the next one")
    func serverDiesMidReply() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let relay = try HostileUSBIPServer(.relay(upstreamPort: simulator.server.port))
        defer { relay.stop() }
        let transport = try await Self.connected(through: relay, configuration: .init(replyTimeout: .seconds(20), commandTimeout: .seconds(30)))
        let getData = try SealCommand.getData(.lifecycle).encoded()
        // The bulk-OUT's RET_SUBMIT (48 bytes) and part of the bulk-IN's header, then nothing.
        relay.die(afterForwarding: 60)
        let start = ContinuousClock.now
        let error = await #expect(throws: SealDriverError.self) { _ = try await transport.transmit(getData) }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .transportFailure, "\(String(describing: error))")
        #expect((error?.underlyingError as? USBError)?.code == .connectionClosed, "\(String(describing: error?.underlyingError))")
        #expect(elapsed < .seconds(5), "took \(elapsed)")   // not the 20 s reply timeout
        let next = await #expect(throws: SealDriverError.self) { _ = try await transport.transmit(getData) }
        #expect(next?.code == .transportFailure)
        await transport.close()
    }

    @Test("a bulk-OUT that the device stalls fails the command with the stall, and the next command gets its own answer")
    func stalledBulkOut() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: simulator.server.port, busID: "1-1")).importDevice()
        // Halt bulk OUT (SET_FEATURE ENDPOINT_HALT, endpoint 0x01) with a control URB.
        let halted = try await pipe.connection.submit(direction: .out, endpoint: 0, length: 0,
                                                      setup: USBSetupPacket(requestType: 0x02, request: 0x03, value: 0, index: 0x01, length: 0),
                                                      timeout: .seconds(5))
        #expect(halted.status == 0)
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        let error = await #expect(throws: SealDriverError.self) { _ = try await transport.connect() }
        #expect((error?.underlyingError as? USBError)?.code == .stalled, "\(String(describing: error))")
        let cleared = try await pipe.connection.submit(direction: .out, endpoint: 0, length: 0, setup: .clearHalt(endpoint: 0x01),
                                                       timeout: .seconds(5))
        #expect(cleared.status == 0)
        #expect(try await transport.connect().isEmpty == false)
        #expect(try await transport.transmit(try SealCommand.select().encoded()).suffix(2) == [0x90, 0x00])
        await transport.close()
    }
}
