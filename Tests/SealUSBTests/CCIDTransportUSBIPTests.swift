import SealUSB
import SealReaderWire
import SealSimulatorServers
import SealFirmware
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Testing

@Suite("USB/IP address parsing")
struct USBIPAddressTests {
    @Test("HOST[:PORT][/BUSID]", arguments: [
        ("127.0.0.1", "127.0.0.1", 3240, nil),
        ("localhost:3241", "localhost", 3241, nil),
        ("sim.local/1-1", "sim.local", 3240, "1-1"),
        ("10.0.0.2:4000/2-1.4", "10.0.0.2", 4000, "2-1.4"),
        ("[::1]", "::1", 3240, nil),
        ("[::1]:3300/1-2", "::1", 3300, "1-2"),
        (" host ", "host", 3240, nil),
    ] as [(String, String, Int, String?)])
    func parse(text: String, host: String, port: Int, busID: String?) throws {
        let address = try USBIPAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == UInt16(port))
        #expect(address.busID == busID)
    }

    @Test("bad addresses are invalidAddress with the reason", arguments: [
        ("", "the host is empty"), (":3240", "the host is empty"), ("host:", "the port"), ("host:0", "the port"),
        ("host:65536", "the port"), ("host:abc", "the port"), ("host/", "bus id after / is empty"),
        ("host/\(String(repeating: "1", count: 32))", "longer than 31 bytes"), ("::1", "in brackets"),
        ("[::1", "not closed"), ("[::1]x", "after the IPv6 address"), ("host/1-1/2", "contains /"),
    ])
    func bad(text: String, reason: String) {
        let error = #expect(throws: USBError.self) { try USBIPAddress(parsing: text) }
        #expect(error?.code == .invalidAddress)
        #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "")")
        #expect(error?.driverError.code == .invalidArgument)
    }

    @Test("descriptions")
    func description() throws {
        #expect(try USBIPAddress(parsing: "[::1]:3300/1-2").description == "[::1]:3300/1-2")
        #expect(USBIPAddress(host: "h").description == "h:3240")
    }
}

/// The simulator's USB/IP server on an ephemeral loopback port, with one token.
final class SimulatedUSBIPServer: Sendable {
    let server: USBIPServer
    let directory: URL

    init(capabilities: SealCapabilities = .reference) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-usbip-\(UUID().uuidString)")
        var configuration = USBIPServer.Configuration(stateDirectory: directory, host: "127.0.0.1", port: 0, devices: 1)
        configuration.device = CCIDDeviceConfiguration()
        configuration.capabilities = capabilities
        server = try await USBIPServer.start(configuration: configuration, log: { _ in })
    }

    var address: USBIPAddress { USBIPAddress(host: "127.0.0.1", port: server.port) }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("CCID over USB/IP against the simulator", .serialized, .timeLimit(.minutes(2)))
struct CCIDTransportUSBIPTests {
    @Test("list, import, and SELECT + GET DATA through SealToken")
    func endToEnd() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let client = USBIPClient(address: simulator.address)

        let devices = try await client.devices()
        #expect(devices.map(\.busID) == ["1-1"])
        #expect(devices.first?.hasCCIDInterface == true)

        let pipe = try await client.importDevice()
        #expect(pipe.device.busID == "1-1")
        #expect(pipe.interface.descriptor.interfaceClass == 0x0B)
        #expect(pipe.reader.ccid != nil)
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        try await token.connect()
        let info = try await token.info()
        #expect(info.chipID.count == 16)
        #expect(info.lifecycle == .active)
        #expect(try await token.deviceCertificateDER().isEmpty == false)
        await token.disconnect()
        await transport.close()
    }

    @Test("stamp and verify over USB/IP; the server stopping mid-session is a SealDriverError through SealToken")
    func serverStoppedMidSession() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let pipe = try await USBIPClient(address: simulator.address).importDevice()
        var configuration = CCIDTransport.Configuration()
        configuration.replyTimeout = .seconds(2)
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader, configuration: configuration)
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        try await token.connect()
        try await token.verifyPIN(TestCredentials.defaultPIN)
        let document = Array("Contract no. 7 over USB/IP\n".utf8)
        let record = try await token.stamp(document: document, metadata: StampMetadata(time: UInt64(Date().timeIntervalSince1970)))
        let verifier = try StampVerifier(trustedRootsPEM: TestCredentials.vendorRootCertificatePEM)
        #expect(await verifier.verify(record, document: document).isValid)

        simulator.stop()
        // Whatever the USB layer saw (connection closed, device gone, a timeout), the token's
        // caller meets the driver's one error type, with the USB error kept underneath.
        let error = await #expect(throws: SealDriverError.self) {
            _ = try await token.stamp(document: document, metadata: StampMetadata(time: UInt64(Date().timeIntervalSince1970)))
        }
        let codes: [SealDriverError.Code] = [.transportFailure, .cardRemoved, .noResponse]
        #expect(error.map { codes.contains($0.code) } == true, "\(String(describing: error))")
        #expect(error?.underlyingError is USBError, "\(String(describing: error))")
        #expect(error?.reason.hasPrefix("USBError.") == true, "\(String(describing: error))")
        await token.close()
    }

    @Test("a constrained chip over USB/IP (sealsim serve --profile constrained): it reports the spec's minimum sizes, refuses an extended-length APDU, and the host stamps within them")
    func constrainedProfile() async throws {
        let simulator = try await SimulatedUSBIPServer(capabilities: .constrained)
        defer { simulator.stop() }
        let pipe = try await USBIPClient(address: simulator.address).importDevice()
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        // GET DATA lifecycle in extended form (00 CA 01 02 00 00 00), plain, before any channel: a
        // reference chip answers it, this one refuses it without answering data.
        _ = try await transport.connect()
        #expect(try await transport.transmit(SealCommand.select().encoded()).suffix(2) == [0x90, 0x00])
        let extended = try await transport.transmit([0x00, 0xCA, 0x01, 0x02, 0x00, 0x00, 0x00])
        #expect(extended.count == 2, "\(hexString(extended))")
        #expect(extended != [0x90, 0x00])

        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        try await token.connect()
        let info = try await token.info()
        #expect(info.capabilities.maxCommandData == SealCapabilities.constrained.maxCommandData)
        #expect(info.capabilities.maxResponseData == SealCapabilities.constrained.maxResponseData)
        #expect(info.capabilities.maxCommandData == 512 && info.capabilities.maxResponseData == 1024)
        #expect(!info.capabilities.features.contains(.extendedLength))

        try await token.verifyPIN(TestCredentials.defaultPIN)
        let document = Array("Contract no. 8 over USB/IP, constrained chip\n".utf8)
        let record = try await token.stamp(document: document, metadata: StampMetadata(time: UInt64(Date().timeIntervalSince1970)))
        let verifier = try StampVerifier(trustedRootsPEM: TestCredentials.vendorRootCertificatePEM)
        #expect(await verifier.verify(record, document: document).isValid)
        await token.close()
    }

    @Test("the reference profile over USB/IP answers the extended-length GET DATA the constrained one refuses")
    func referenceProfileTakesExtendedLength() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let pipe = try await USBIPClient(address: simulator.address).importDevice()
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        _ = try await transport.connect()
        #expect(try await transport.transmit(SealCommand.select().encoded()).suffix(2) == [0x90, 0x00])
        let extended = try await transport.transmit([0x00, 0xCA, 0x01, 0x02, 0x00, 0x00, 0x00])
        #expect(extended.suffix(2) == [0x90, 0x00], "\(hexString(extended))")
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        try await token.connect()
        #expect(try await token.info().capabilities.features.contains(.extendedLength))
        await token.close()
    }

    @Test("SealToken.close() closes the USB/IP connection")
    func closeClosesThePipe() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let pipe = try await USBIPClient(address: simulator.address).importDevice()
        let token = SealToken(transport: CCIDTransport(pipe: pipe, description: pipe.reader), secureChannel: .testVendorRoot)
        try await token.connect()
        await token.close()
        let error = await #expect(throws: USBError.self) { try await pipe.write([0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(error?.code == .connectionClosed)
        // The device is free again: a new client can import it. The server learns of the closed
        // connection on its own thread, so it may still answer "busy" for a moment; it must free
        // the device within a bounded time.
        let deadline = ContinuousClock.now + .seconds(5)
        var imported = false
        while !imported {
            do {
                let again = try await USBIPClient(address: simulator.address).importDevice()
                await again.close()
                imported = true
            } catch {
                let busy = error.code == .importFailed
                guard busy, ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    @Test("an interrupt IN read that times out is unlinked, and the device keeps working")
    func unlinkOnTimeout() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: simulator.server.port, busID: "1-1")).importDevice()
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        // The reader may first report its initial slot state.
        _ = try? await transport.waitForInterrupt(timeout: .milliseconds(300))
        await #expect(throws: SealDriverError(code: .noResponse, reason: "")) {
            try await transport.waitForInterrupt(timeout: .milliseconds(200))
        }
        let atr = try await transport.connect()
        #expect(atr.first == 0x3B)
        let response = try await transport.transmit(try SealCommand.select().encoded())
        #expect(Array(response.suffix(2)) == [0x90, 0x00])
        await transport.close()
    }

    @Test("CCIDTransport.usbip parses the address and imports the device")
    func convenience() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let transport = try await CCIDTransport.usbip("127.0.0.1:\(simulator.server.port)/1-1")
        #expect(transport.name == "CCID \(transport.reader?.deviceID ?? "") at 127.0.0.1:\(simulator.server.port)/1-1")
        #expect(try await transport.connect().first == 0x3B)
        await transport.close()
        await #expect(throws: USBError(code: .invalidAddress, reason: "")) { try await CCIDTransport.usbip("127.0.0.1:0") }
    }

    @Test("an unknown bus id is refused; a closed port is connectionFailed")
    func errors() async throws {
        let simulator = try await SimulatedUSBIPServer()
        let client = USBIPClient(address: simulator.address)
        let refused = await #expect(throws: USBError.self) { try await client.importDevice(busID: "9-9") }
        #expect(refused?.code == .deviceNotFound || refused?.code == .importFailed)
        let port = simulator.server.port
        simulator.stop()
        let closed = await #expect(throws: USBError.self) {
            try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: port), timeout: .seconds(2)).devices()
        }
        #expect(closed?.code == .connectionFailed)
    }

    @Test("a device imported by one client is refused to a second")
    func busy() async throws {
        let simulator = try await SimulatedUSBIPServer()
        defer { simulator.stop() }
        let client = USBIPClient(address: simulator.address)
        let first = try await client.importDevice(busID: "1-1")
        let second = await #expect(throws: USBError.self) { try await client.importDevice(busID: "1-1") }
        #expect(second?.code == .importFailed || second?.code == .deviceNotFound)
        await first.close()
    }
}
