import SealSimulatorServers
import SealReaderWire
import SealUSB
import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The USB/IP server of the simulator (Sources/SealSimulator/USB): the operation phase and the
// URB phase as state machines, then the real server on a loopback socket — driven by SealKit's
// own USB/IP client and by Debian's `usbip list`.

// MARK: - Helpers

private let serial = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"

private func descriptorSet() -> CCIDUSBDescriptorSet {
    CCIDUSBDescriptorSet(identity: CCIDUSBIdentity(serialNumber: serial), configuration: CCIDDeviceConfiguration())
}

private func record() -> USBIPDevice {
    descriptorSet().usbipRecord(path: "/tmp/usb-slot-0.nvm", busID: "1-1", busNumber: 1, deviceNumber: 2)
}

private func chipCard() throws -> SimulatedChipCard {
    let backing = InMemoryBackingStore()
    try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(),
                                 issuerPublicKey: P256.Signing.PrivateKey().publicKey, chipID: Array(0xA0...0xAF))
    return SimulatedChipCard(chip: try SimulatedChip(backing: backing, random: SeededChipRandom(seed: [1])))
}

private func makeSession(configuration: CCIDDeviceConfiguration = CCIDDeviceConfiguration()) throws -> USBIPServerDeviceSession {
    USBIPServerDeviceSession(descriptors: CCIDUSBDescriptorSet(identity: CCIDUSBIdentity(serialNumber: serial), configuration: configuration),
                             runner: CCIDDeviceRunner(configuration: configuration, cards: [try chipCard()]),
                             devid: 1 << 16 | 2)
}

private let devid: UInt32 = 1 << 16 | 2

private func control(_ seqnum: UInt32, _ setup: USBSetupPacket, data: [UInt8] = []) -> USBIPCommand {
    .submit(USBIPSubmit(seqnum: seqnum, devid: devid, direction: setup.isDeviceToHost ? .in : .out, endpoint: 0,
                        transferBufferLength: setup.isDeviceToHost ? UInt32(setup.length) : UInt32(data.count),
                        setup: setup, data: data))
}

private func bulkOut(_ seqnum: UInt32, _ message: CCIDMessage.Kind, sequence: UInt8) -> USBIPCommand {
    .submit(USBIPSubmit(seqnum: seqnum, devid: devid, direction: .out, endpoint: 1,
                        data: CCIDMessage(slot: 0, sequence: sequence, kind: message).encoded()))
}

private func bulkIn(_ seqnum: UInt32, length: UInt32 = 65_546, flags: UInt32 = 0) -> USBIPCommand {
    .submit(USBIPSubmit(seqnum: seqnum, devid: devid, direction: .in, endpoint: 2, transferFlags: flags, transferBufferLength: length))
}

private func interruptIn(_ seqnum: UInt32) -> USBIPCommand {
    .submit(USBIPSubmit(seqnum: seqnum, devid: devid, direction: .in, endpoint: 3, transferBufferLength: 8, interval: 16))
}

private func submitReturns(_ replies: [USBIPServerReply]) -> [USBIPSubmitReturn] {
    replies.compactMap(\.submitReturn)
}

private func onlyReturn(_ replies: [USBIPServerReply]) throws -> USBIPSubmitReturn {
    try #require(replies.count == 1, "expected one return, got \(replies)")
    return try #require(replies[0].submitReturn)
}

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-usbip-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

// MARK: - Operation phase

@Suite("USB/IP server: operation phase")
struct USBIPServerOperationTests {
    private func connection(attach: @escaping (String) -> USBIPImportResult = { _ in .refused(status: 1) }) -> USBIPServerConnection {
        USBIPServerConnection(listDevices: { [record()] }, importDevice: attach)
    }

    @Test("OP_REP_DEVLIST lists the token with its CCID interface, byte by byte")
    func deviceList() {
        let machine = connection()
        let reply = machine.receive([0x01, 0x11, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00])
        #expect(reply.count == 8 + 4 + 312 + 4)
        #expect(Array(reply[0..<12]) == [0x01, 0x11, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 1])
        let path = Array("/tmp/usb-slot-0.nvm".utf8)
        #expect(Array(reply[12 ..< 12 + path.count]) == path)
        #expect(reply[12 + path.count ..< 12 + 256].allSatisfy { $0 == 0 })
        #expect(Array(reply[268 ..< 300]) == Array("1-1".utf8) + [UInt8](repeating: 0, count: 29))
        #expect(Array(reply[300...]) == [
            0, 0, 0, 1,         // busnum
            0, 0, 0, 2,         // devnum
            0, 0, 0, 2,         // speed: full
            0x20, 0xA0,         // idVendor
            0x42, 0xD4,         // idProduct
            0x01, 0x00,         // bcdDevice
            0, 0, 0,            // class per interface
            1, 1, 1,            // bConfigurationValue, bNumConfigurations, bNumInterfaces
            0x0B, 0x00, 0x00, 0x00,  // interface 0: smart card
        ])
        #expect(!machine.isClosed)
        // usbip may ask again on the same connection.
        #expect(machine.receive([0x01, 0x11, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00]) == reply)
    }

    @Test("OP_REQ_IMPORT of 1-1 attaches; an unknown bus ID gets status 1 and the connection ends")
    func importDevice() throws {
        let session = try makeSession()
        let machine = connection { busID in busID == "1-1" ? .attached(record(), session) : .refused(status: USBIPServerConnection.statusUnavailable) }
        // Split in three reads, as TCP may deliver it.
        let request = USBIPOperationRequest.importDevice(busID: "1-1").encoded()
        #expect(machine.receive(request[0..<5]).isEmpty)
        #expect(machine.receive(request[5..<20]).isEmpty)
        let reply = machine.receive(request[20...])
        #expect(reply.count == 8 + 312)
        #expect(Array(reply[0..<8]) == [0x01, 0x11, 0x00, 0x03, 0, 0, 0, 0])
        #expect(try USBIPOperationReply(decoding: reply) == .importDevice(status: 0, device: {
            var device = record()
            device.interfaces = []
            return device
        }()))
        #expect(machine.session === session)

        let refused = connection()
        #expect(refused.receive(USBIPOperationRequest.importDevice(busID: "9-9").encoded()) == [0x01, 0x11, 0x00, 0x03, 0, 0, 0, 1])
        #expect(refused.isClosed)
    }

    @Test("a malformed operation request ends the connection")
    func malformed() {
        let machine = connection()
        #expect(machine.receive([0x01, 0x06, 0x80, 0x05, 0, 0, 0, 0]).isEmpty)  // version 0x0106
        #expect(machine.isClosed)
    }
}

// MARK: - URB phase

@Suite("USB/IP server: URB phase of a CCID token")
struct USBIPServerURBTests {
    @Test("GET_DESCRIPTOR device, configuration (short then whole) and strings; unknown descriptors stall")
    func descriptors() throws {
        let session = try makeSession()
        let set = descriptorSet()
        let device = try onlyReturn(session.handle(control(1, .getDescriptor(type: 1, length: 18))))
        #expect(device.status == 0)
        #expect(device.data == set.device.encoded())
        let head = try onlyReturn(session.handle(control(2, .getDescriptor(type: 2, length: 9))))
        #expect(head.data == Array(set.configuration.encoded().prefix(9)))
        let whole = try onlyReturn(session.handle(control(3, .getDescriptor(type: 2, length: 0xFF))))
        #expect(whole.data.count == 93)
        #expect(try USBConfiguration(decoding: whole.data).interfaces.first?.ccid?.maxCCIDMessageLength == 5_120)
        let serialString = try onlyReturn(session.handle(control(4, .getDescriptor(type: 3, index: 3, languageID: 0x0409, length: 255))))
        #expect(try USBStringDescriptor.decodeText(serialString.data) == serial)
        let qualifier = try onlyReturn(session.handle(control(5, .getDescriptor(type: 6, length: 10))))
        #expect(qualifier.status == -32)
        #expect(qualifier.data.isEmpty)

        // The RET_SUBMIT on the wire: header, then the IN data.
        let wire = session.handle(control(6, .getDescriptor(type: 1, length: 18)))[0].encoded()
        #expect(Array(wire[0..<48]) == [
            0, 0, 0, 3,  0, 0, 0, 6,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,   // RET_SUBMIT, seqnum 6
            0, 0, 0, 0,  0, 0, 0, 18,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  // status, actual_length …
            0, 0, 0, 0, 0, 0, 0, 0,
        ])
        #expect(Array(wire[48...]) == set.device.encoded())
    }

    @Test("standard requests: SET_CONFIGURATION, GET_STATUS, halt and clear of an endpoint, SET_INTERFACE")
    func standardRequests() throws {
        let session = try makeSession()
        #expect(try onlyReturn(session.handle(control(1, .setConfiguration(1)))).status == 0)
        #expect(try onlyReturn(session.handle(control(2, USBSetupPacket(requestType: 0x80, request: 0x08, value: 0, index: 0, length: 1)))).data == [1])
        #expect(try onlyReturn(session.handle(control(3, USBSetupPacket(requestType: 0x80, request: 0x00, value: 0, index: 0, length: 2)))).data == [0, 0])
        #expect(try onlyReturn(session.handle(control(4, .setInterface(0)))).status == 0)
        #expect(try onlyReturn(session.handle(control(5, .setInterface(0, alternateSetting: 1)))).status == -32)
        #expect(try onlyReturn(session.handle(control(6, .setConfiguration(2)))).status == -32)

        // SET_FEATURE(ENDPOINT_HALT) on bulk IN: its URBs stall until CLEAR_FEATURE.
        let halt = USBSetupPacket(requestType: 0x02, request: 0x03, value: 0, index: 0x82, length: 0)
        #expect(try onlyReturn(session.handle(control(7, halt))).status == 0)
        #expect(try onlyReturn(session.handle(control(8, USBSetupPacket(requestType: 0x82, request: 0x00, value: 0, index: 0x82, length: 2)))).data == [1, 0])
        #expect(try onlyReturn(session.handle(bulkIn(9))).status == -32)
        #expect(try onlyReturn(session.handle(control(10, .clearHalt(endpoint: 0x82)))).status == 0)
        #expect(session.handle(bulkIn(11)).isEmpty)  // waits for data again
        #expect(try onlyReturn(session.handle(control(12, .clearHalt(endpoint: 0x84)))).status == -32)  // no such endpoint
        // A vendor request stalls.
        #expect(try onlyReturn(session.handle(control(13, USBSetupPacket(requestType: 0xC0, request: 0x01, value: 0, index: 0, length: 4)))).status == -32)
    }

    @Test("bulk OUT then bulk IN: power on, SELECT and GET DATA through URBs")
    func bulkRoundTrip() throws {
        let session = try makeSession()
        // libccid-style: the IN URB is queued first and waits.
        #expect(session.handle(bulkIn(10)).isEmpty)
        #expect(session.pendingSeqnums.bulkIn == [10])
        let afterPowerOn = session.handle(bulkOut(11, .iccPowerOn(.automatic), sequence: 0))
        let returns = submitReturns(afterPowerOn)
        #expect(returns.map(\.seqnum) == [11, 10])
        #expect(returns[0].actualLength == 10)
        #expect(returns[0].data.isEmpty)
        #expect(afterPowerOn[0].direction == .out && afterPowerOn[1].direction == .in)
        #expect(try CCIDMessage(decoding: returns[1].data) == CCIDMessage(slot: 0, sequence: 0, kind: .dataBlock(
            status: .active, error: CCIDSlotError(rawValue: 0), chain: 0, data: SealChip.answerToReset)))

        // Data first, IN URB afterwards: completes at once.
        let select = try SealCommand.select().encoded()
        #expect(submitReturns(session.handle(bulkOut(12, .xfrBlock(bwi: 0, levelParameter: 0, data: select), sequence: 1))).map(\.seqnum) == [12])
        let selected = try CCIDMessage(decoding: onlyReturn(session.handle(bulkIn(13))).data)
        guard case .dataBlock(.active, _, 0, let response) = selected.kind else { Issue.record("\(selected)"); return }
        #expect(response.suffix(2) == [0x90, 0x00])

        _ = session.handle(bulkOut(14, .xfrBlock(bwi: 0, levelParameter: 0, data: try SealCommand.getData(.chipID).encoded()), sequence: 2))
        let chipID = try CCIDMessage(decoding: onlyReturn(session.handle(bulkIn(15))).data)
        #expect(chipID.kind == .dataBlock(status: .active, error: CCIDSlotError(rawValue: 0), chain: 0, data: Array(0xA0...0xAF) + [0x90, 0x00]))
    }

    @Test("a bulk-OUT message split over URBs, and a reply longer than the IN URB")
    func packetBoundaries() throws {
        let session = try makeSession()
        _ = session.handle(bulkOut(1, .iccPowerOn(.automatic), sequence: 0))
        _ = session.handle(bulkIn(2))
        // A 215-byte XfrBlock (a SELECT with a 200-byte AID) in URBs of 64 and 151 bytes: the
        // first, a whole packet, does not end the transfer; the chip sees the APDU only once all
        // of it is there.
        let apdu: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0xC8] + [UInt8](repeating: 0xA5, count: 200)
        let message = CCIDMessage(slot: 0, sequence: 1, kind: .xfrBlock(bwi: 0, levelParameter: 0, data: apdu)).encoded()
        #expect(message.count == 215)
        _ = session.handle(bulkIn(3))
        let first = USBIPSubmit(seqnum: 4, devid: devid, direction: .out, endpoint: 1, data: Array(message.prefix(64)))
        #expect(submitReturns(session.handle(.submit(first))).map(\.seqnum) == [4])
        #expect(session.pendingSeqnums.bulkIn == [3])
        let rest = USBIPSubmit(seqnum: 5, devid: devid, direction: .out, endpoint: 1, data: Array(message.dropFirst(64)))
        let completed = submitReturns(session.handle(.submit(rest)))
        #expect(completed.map(\.seqnum) == [5, 3])
        let answer = try CCIDMessage(decoding: completed[1].data)
        #expect(answer.sequence == 1)
        guard case .dataBlock(.active, _, 0, let response) = answer.kind else { Issue.record("\(answer)"); return }
        #expect(response.count == 2)  // a status word: the AID is unknown

        // A reply longer than a 64-byte URB continues in the next one.
        _ = session.handle(bulkOut(6, .getParameters, sequence: 2))
        let parameters = try onlyReturn(session.handle(bulkIn(7, length: 64)))
        #expect(parameters.data.count == 17)
        _ = session.handle(bulkOut(8, .xfrBlock(bwi: 0, levelParameter: 0, data: try SealCommand.select().encoded()), sequence: 3))
        _ = try onlyReturn(session.handle(bulkIn(9)))
        let getCertificate = try SealCommand.getData(.deviceCertificate, ne: 65_536).encoded()
        _ = session.handle(bulkOut(10, .xfrBlock(bwi: 0, levelParameter: 0, data: getCertificate), sequence: 4))
        var whole: [UInt8] = []
        var urbSizes: [Int] = []
        var seqnum: UInt32 = 11
        while CCIDHeader.peek(whole).map({ whole.count < $0.messageSize }) ?? true, seqnum < 200 {
            let part = try onlyReturn(session.handle(bulkIn(seqnum, length: 64)))
            whole += part.data
            urbSizes.append(part.data.count)
            seqnum += 1
        }
        #expect(urbSizes.count > 2)
        #expect(urbSizes.dropLast().allSatisfy { $0 == 64 })
        let certificate = try CCIDMessage(decoding: whole)
        #expect(certificate.sequence == 4)
        guard case .dataBlock(.active, _, 0, let der) = certificate.kind else { Issue.record("\(certificate)"); return }
        #expect(der.first == 0x30 && der.suffix(2) == [0x90, 0x00])

        // A URB that is not whole packets and too small: babble.
        _ = session.handle(bulkOut(300, .getParameters, sequence: 5))
        let babble = try onlyReturn(session.handle(bulkIn(301, length: 12)))
        #expect(babble.status == -75)
    }

    @Test("URB_SHORT_NOT_OK: a short completion is -EREMOTEIO and the rest of the transfer is held for unlink")
    func shortNotOK() throws {
        let session = try makeSession()
        _ = session.handle(bulkIn(1, length: 16_384, flags: USBIP.urbShortNotOK))
        _ = session.handle(bulkIn(2, length: 16_384))
        let replies = session.handle(bulkOut(3, .getSlotStatus, sequence: 0))
        let ret = submitReturns(replies).first { $0.seqnum == 1 }
        #expect(ret?.status == -121)
        #expect(ret?.data.count == 10)
        // URB 2 belongs to the finished transfer: the next message is not given to it.
        #expect(submitReturns(session.handle(bulkOut(4, .getSlotStatus, sequence: 1))).map(\.seqnum) == [4])
        let unlinked = session.handle(.unlink(USBIPUnlink(seqnum: 5, devid: devid, unlinkSeqnum: 2)))
        #expect(unlinked.first?.unlinkReturn?.status == -104)
        #expect(try CCIDMessage(decoding: onlyReturn(session.handle(bulkIn(6))).data).sequence == 1)
    }

    @Test("interrupt IN: the initial NotifySlotChange, a pending URB, its UNLINK, and a slot change")
    func interrupt() throws {
        let session = try makeSession()
        let initial = try onlyReturn(session.handle(interruptIn(20)))
        #expect(initial.data == [0x50, 0x03])
        // Nothing more to report: the next one waits…
        #expect(session.handle(interruptIn(21)).isEmpty)
        #expect(session.pendingSeqnums.interruptIn == [21])
        // …until it is unlinked: RET_UNLINK −ECONNRESET, and no RET_SUBMIT for it ever.
        let unlink = session.handle(.unlink(USBIPUnlink(seqnum: 22, devid: devid, direction: .in, endpoint: 3, unlinkSeqnum: 21)))
        #expect(unlink == [USBIPServerReply(message: .unlink(USBIPUnlinkReturn(seqnum: 22, status: -104)), direction: .out)])
        #expect(unlink[0].encoded() == [0, 0, 0, 4, 0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0xFF, 0xFF, 0xFF, 0x98] + [UInt8](repeating: 0, count: 24))
        #expect(session.pendingSeqnums.interruptIn.isEmpty)
        // Unlinking something already completed (or unknown) answers 0.
        #expect(session.handle(.unlink(USBIPUnlink(seqnum: 23, devid: devid, unlinkSeqnum: 20))).first?.unlinkReturn?.status == 0)

        // A removal completes a waiting interrupt URB; two changes before a read are merged.
        _ = session.handle(interruptIn(24))
        #expect(try onlyReturn(session.setCardPresent(false, slot: 0)).data == [0x50, 0x02])
        #expect(session.setCardPresent(true, slot: 0).isEmpty)
        #expect(session.setCardPresent(false, slot: 0).isEmpty)
        #expect(try onlyReturn(session.handle(interruptIn(25))).data == [0x50, 0x02])
        // With the card out, power on fails: absent + ICC_MUTE.
        _ = session.handle(bulkOut(26, .iccPowerOn(.automatic), sequence: 9))
        #expect(try onlyReturn(session.handle(bulkIn(27))).data == [0x80, 0, 0, 0, 0, 0, 9, 0x42, 0xFE, 0])
    }

    @Test("CCID class requests over endpoint 0: GET_DATA_RATES, ABORT with PC_to_RDR_Abort")
    func classRequests() throws {
        let session = try makeSession()
        let rates = try onlyReturn(session.handle(control(1, USBSetupPacket(requestType: 0xA1, request: 0x03, value: 0, index: 0, length: 4))))
        #expect(rates.data == [0x00, 0x2A, 0x00, 0x00])
        // The class request for another interface stalls.
        #expect(try onlyReturn(session.handle(control(2, USBSetupPacket(requestType: 0xA1, request: 0x03, value: 0, index: 1, length: 4)))).status == -32)

        _ = session.handle(bulkIn(3))
        #expect(try onlyReturn(session.handle(control(4, USBSetupPacket(requestType: 0x21, request: 0x01, value: 0x0500, index: 0, length: 0)))).status == 0)
        let replies = submitReturns(session.handle(bulkOut(5, .abort, sequence: 5)))
        #expect(replies.map(\.seqnum) == [5, 3])
        #expect(replies[1].data == [0x81, 0, 0, 0, 0, 0, 5, 0x01, 0, 0])
    }

    @Test("the connection machine hands URB commands to the session, whatever the TCP segmentation")
    func connectionDispatch() throws {
        let session = try makeSession()
        let machine = USBIPServerConnection(listDevices: { [record()] }, importDevice: { _ in .attached(record(), session) })
        _ = machine.receive(USBIPOperationRequest.importDevice(busID: "1-1").encoded())
        let bytes = control(7, .getDescriptor(type: 1, length: 18)).encoded() + bulkIn(8).encoded()
            + bulkOut(9, .getSlotStatus, sequence: 0x42).encoded()
        var output: [UInt8] = []
        for byte in bytes { output += machine.receive([byte]) }
        var offset = 0
        var seen: [UInt32] = []
        let directions: [UInt32: USBIPDirection] = [7: .in, 8: .in, 9: .out]
        while let (ret, consumed) = try USBIPReturn.decode(from: Array(output[offset...]), directionOf: { directions[$0] }) {
            seen.append(ret.seqnum)
            offset += consumed
            if offset == output.count { break }
        }
        #expect(seen == [7, 9, 8])
        #expect(offset == output.count)
        // A command that is not CMD_SUBMIT/CMD_UNLINK ends the connection.
        _ = machine.receive([0, 0, 0, 9] + [UInt8](repeating: 0, count: 44))
        #expect(machine.isClosed)
    }
}

// MARK: - The server on a socket

@Suite("USB/IP server on loopback", .serialized)
struct USBIPServerSocketTests {
    private static func startServer(directory: URL, devices: Int = 1) async throws -> USBIPServer {
        var configuration = USBIPServer.Configuration(stateDirectory: directory, host: "127.0.0.1", port: 0, devices: devices)
        configuration.device = CCIDDeviceConfiguration()
        return try await USBIPServer.start(configuration: configuration, log: { _ in })
    }

    @Test("SealKit's USB/IP client imports the token and talks to its chip; a second import is refused as busy")
    func hostDriverRoundTrip() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await Self.startServer(directory: directory)
        defer { server.stop() }
        #expect(server.busIDs == ["1-1"])
        #expect(FileManager.default.fileExists(atPath: USBIPServer.stateFile(slot: 0, stateDirectory: directory).path))

        let client = USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: server.port))
        let devices = try await client.devices()
        #expect(devices.map(\.busID) == ["1-1"])
        #expect(devices.first?.hasCCIDInterface == true)
        #expect(devices.first?.vendorID == 0x20A0 && devices.first?.productID == 0x42D4)

        let pipe = try await client.importDevice(busID: "1-1")
        #expect(pipe.reader.ccid?.maxCCIDMessageLength == 5_120)
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        _ = try await token.connect()
        let info = try await token.info()
        #expect(info.answerToReset == SealChip.answerToReset)
        #expect(info.lifecycle == .active)
        #expect(server.importedBusIDs() == ["1-1"])

        await #expect(throws: USBError.self) { _ = try await client.importDevice(busID: "1-1") }
        await #expect(throws: USBError.self) { _ = try await client.importDevice(busID: "1-9") }
        await transport.close()

        // Detached: it can be imported again, and it is the same token (state persisted).
        for _ in 0..<50 where !server.importedBusIDs().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        let again = try await client.importDevice(busID: "1-1")
        let secondTransport = CCIDTransport(pipe: again, description: again.reader)
        let secondToken = SealToken(transport: secondTransport, secureChannel: .testVendorRoot)
        _ = try await secondToken.connect()
        #expect(try await secondToken.chipID() == info.chipID)
        await secondTransport.close()
    }

    @Test("the control socket swaps a fresh token into an imported device: the device stays attached, its CCID slot reports the card out and in")
    func freshTokenWhileAttached() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await Self.startServer(directory: directory, devices: 2)
        defer { server.stop() }
        let control = SimulatorControlClient(stateDirectory: directory, usbip: true)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("usbip.sock").path))
        let idle = try control.status()
        #expect(idle == SimulatorStatus(reversed: false, usbip: true, host: "127.0.0.1", basePort: server.port, slots: [
            SimulatorSlotStatus(slot: 0, state: .waiting, powered: false), SimulatorSlotStatus(slot: 1, state: .waiting, powered: false),
        ]))
        #expect(try SimulatorStatus(parsing: idle.description) == idle)

        // The raw USB/IP side: the device's serial names the slot, and its interrupt endpoint
        // reports each card change.
        let raw = try RawUSBIPClient(port: server.port, busID: "1-2")
        defer { raw.close() }
        #expect(try raw.stringDescriptor(index: 3) == "SEALSIM-SLOT-1")
        #expect(try raw.interrupt() == [0x50, 0x03])  // the initial NotifySlotChange: present, changed

        // SealKit's client on device 1-1 (the raw connection has 1-2: a device is imported by one
        // client at a time).
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: server.port)).importDevice(busID: "1-1")
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        _ = try await token.connect()
        let served = try await token.info()
        #expect(served.lifecycle == .active)

        // fresh 0: a new MANUFACTURED chip in the slot of the imported device 1-1.
        let chipID = try control.freshToken(slot: 0)
        #expect(chipID != served.chipID)
        #expect(server.importedBusIDs().contains("1-1"), "the device stayed attached")
        // The powered card left: the reader answers that its slot holds an unpowered card until
        // the host powers the new one on.
        await #expect(throws: SealDriverError.self) { _ = try await transport.transmit(SealCommand.getData(.chipID).encoded()) }
        await transport.disconnect()
        let freshToken = SealToken(transport: transport, secureChannel: .testVendorRoot)
        _ = try await freshToken.connect()
        let fresh = try await freshToken.info()
        #expect(fresh.chipID == chipID)
        #expect(fresh.lifecycle == .manufactured)
        #expect(try control.status().slots[0] == SimulatorSlotStatus(slot: 0, state: .active, powered: true))
        await freshToken.close()

        // On the raw connection: remove and insert slot 1's card, then swap it; each is one
        // NotifySlotChange with the "changed" bit (bit 1) and the presence (bit 0) after it.
        try control.remove(slot: 1)
        #expect(try raw.interrupt() == [0x50, 0x02])
        #expect(try control.status().slots[1].state == .absent)
        try control.insert(slot: 1)
        #expect(try raw.interrupt() == [0x50, 0x03])
        _ = try control.freshToken(slot: 1)
        #expect(try raw.interrupt() == [0x50, 0x03])
        try control.reset(slot: 1)
        #expect(try raw.interrupt() == [0x50, 0x03])
        #expect(try raw.stringDescriptor(index: 3) == "SEALSIM-SLOT-1", "the reader keeps its serial whatever card is in it")

        #expect(throws: SimulatorError.self) { try control.freshToken(slot: 2) }
        // The fresh tokens lived in memory: the slot's state file still holds the served token.
        server.stop()
        let reopened = SealToken(transport: try TokenStore.openToken(at: USBIPServer.stateFile(slot: 0, stateDirectory: directory)), secureChannel: .testVendorRoot)
        _ = try await reopened.connect()
        #expect(try await reopened.chipID() == served.chipID)
        await reopened.close()
    }

    @Test("a token torn through the control socket goes mute over USB/IP and comes back after a power cycle, its state unchanged")
    func tearOverUSBIP() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await Self.startServer(directory: directory)
        defer { server.stop() }
        let control = SimulatorControlClient(stateDirectory: directory, usbip: true)
        let pipe = try await USBIPClient(address: USBIPAddress(host: "127.0.0.1", port: server.port)).importDevice(busID: "1-1")
        let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        _ = try await token.connect()
        let tries = try #require(try await token.info().pinStatus?.pinTriesRemaining)

        // A wrong PIN writes the try counter: the control socket counts the NVM writes it makes.
        let before = try control.nvmWriteCount(slot: 0)
        await #expect(throws: SealDriverError.self) { try await token.verifyPIN("999999") }
        #expect(try control.nvmWriteCount(slot: 0) > before)
        #expect(try await token.info().pinStatus?.pinTriesRemaining == tries - 1)

        // Torn at its first write, the next wrong PIN gets no answer and spends no try.
        try control.tear(slot: 0, atNVMWrite: 1)
        await #expect(throws: SealDriverError.self) { try await token.verifyPIN("999999") }
        try control.tear(slot: 0, atNVMWrite: nil)
        await token.disconnect()
        try control.reset(slot: 0)
        _ = try await token.connect()
        #expect(try await token.info().pinStatus?.pinTriesRemaining == tries - 1)
        try await token.verifyPIN(TestCredentials.defaultPIN)
        await token.close()
    }

    @Test("Debian's usbip lists the token as a smart-card device",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/usbip")))
    func usbipList() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await Self.startServer(directory: directory, devices: 2)
        defer { server.stop() }
        #expect(server.busIDs == ["1-1", "1-2"])

        let output = try runUSBIP(["--tcp-port", String(server.port), "list", "-r", "127.0.0.1"])
        print("usbip --tcp-port \(server.port) list -r 127.0.0.1:\n\(output)")
        #expect(output.contains("1-1: "))
        #expect(output.contains("1-2: "))
        #expect(output.contains("20a0:42d4"))
        #expect(output.contains("0b/00/00"))
        #expect(output.contains("SmartCard"))  // usb.ids names class 0B "Chip/SmartCard"
    }

    /// Runs `/usr/sbin/usbip` (killed after 20 s); stdout and stderr together.
    private func runUSBIP(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/usbip")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { _ = kill(pid, SIGTERM) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A USB/IP client on a plain socket, for what SealKit's client does not do: read a string
/// descriptor and the interrupt endpoint of an imported device.
private final class RawUSBIPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var seqnum: UInt32 = 0

    init(port: UInt16, busID: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        try #require(connected, "cannot connect to 127.0.0.1:\(port)")
        try send(USBIPOperationRequest.importDevice(busID: busID).encoded())
        while true {
            if let (reply, consumed) = try USBIPOperationReply.decode(from: buffer) {
                buffer.removeFirst(consumed)
                guard case .importDevice(0, _) = reply else { throw RawError("import of \(busID) refused: \(reply)") }
                return
            }
            try receive()
        }
    }

    func close() { _ = Glibc.close(fd) }

    /// GET_DESCRIPTOR(string `index`), as text.
    func stringDescriptor(index: UInt8) throws -> String {
        let reply = try submit(.submit(USBIPSubmit(seqnum: nextSeqnum(), devid: 1 << 16 | 3, direction: .in, endpoint: 0,
                                                   transferBufferLength: 255,
                                                   setup: .getDescriptor(type: 3, index: index, languageID: 0x0409, length: 255))))
        return try USBStringDescriptor.decodeText(reply.data)
    }

    /// The next message of the interrupt-IN endpoint (waits up to 10 s).
    func interrupt() throws -> [UInt8] {
        try submit(.submit(USBIPSubmit(seqnum: nextSeqnum(), devid: 1 << 16 | 3, direction: .in, endpoint: 3,
                                       transferBufferLength: 8, interval: 16))).data
    }

    private func nextSeqnum() -> UInt32 {
        seqnum += 1
        return seqnum
    }

    private func submit(_ command: USBIPCommand) throws -> USBIPSubmitReturn {
        try send(command.encoded())
        while true {
            if let (message, consumed) = try USBIPReturn.decode(from: buffer, directionOf: { _ in .in }) {
                buffer.removeFirst(consumed)
                guard case .submit(let ret) = message, ret.status == 0 else { throw RawError("unexpected \(message)") }
                return ret
            }
            try receive()
        }
    }

    private func send(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { throw RawError("send failed") }
    }

    private func receive() throws {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw RawError("the server closed the connection or did not answer in 10 s") }
        buffer += chunk[..<count]
    }
}

private struct RawError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
