import SealSimulatorServers
import SealReaderWire
import SealUSB
import SealHostDriver
import Crypto
import Foundation
import SealFirmware
import SealProtocol
import SealSimulatedToken
import Testing

// The simulated CCID reader (Sources/SealSimulator/USB): descriptors byte by byte, every message
// type in and out, the error cases of CCID 1.1 §6.2.6, chaining, abort, time extension, slot
// changes, and APDUs to a real simulated chip.

// MARK: - Helpers

private func command(_ kind: CCIDMessage.Kind, slot: UInt8 = 0, sequence: UInt8) -> [UInt8] {
    CCIDMessage(slot: slot, sequence: sequence, kind: kind).encoded()
}

/// The bulk-IN messages among `actions`, decoded.
private func replies(_ actions: [CCIDDeviceAction]) throws -> [CCIDMessage] {
    try actions.compactMap { action -> CCIDMessage? in
        guard case .bulkIn(let bytes) = action else { return nil }
        return try CCIDMessage(decoding: bytes)
    }
}

/// The one bulk-IN message among `actions`.
private func reply(_ actions: [CCIDDeviceAction]) throws -> CCIDMessage {
    let all = try replies(actions)
    try #require(all.count == 1, "expected one reply, got \(actions)")
    return all[0]
}

private func bulkBytes(_ actions: [CCIDDeviceAction]) -> [[UInt8]] {
    actions.compactMap { if case .bulkIn(let bytes) = $0 { return bytes } else { return nil } }
}

/// `(bStatus, bError)` of a reply.
private func statusAndError(_ message: CCIDMessage) throws -> (UInt8, UInt8) {
    let status = try #require(message.kind.replyStatus)
    return (status.status.rawValue, status.error.rawValue)
}

private let atr: [UInt8] = [0x3B, 0x8A, 0x81, 0x01, 0x80, 0x73, 0x80, 0x00, 0xC0, 0x54, 0x53, 0x45, 0x41, 0x4C, 0x2B]

/// A device with slot 0 powered on (ATR received).
private func poweredDevice(_ configuration: CCIDDeviceConfiguration = CCIDDeviceConfiguration()) -> CCIDDevice {
    var device = CCIDDevice(configuration: configuration)
    _ = device.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 0))
    _ = device.complete(slot: 0, with: .answerToReset(atr))
    return device
}

/// A manufactured chip in memory, in a card for the runner.
private func makeChipCard(chipID: [UInt8] = Array(1...16)) throws -> SimulatedChipCard {
    let backing = InMemoryBackingStore()
    try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(),
                                 issuerPublicKey: P256.Signing.PrivateKey().publicKey, chipID: chipID)
    let chip = try SimulatedChip(backing: backing, random: SeededChipRandom(seed: [7]))
    return SimulatedChipCard(chip: chip)
}

// MARK: - Descriptors

@Suite("USB descriptors of the simulated CCID token")
struct CCIDDescriptorTests {
    @Test("the CCID class descriptor is 54 bytes with every field at its CCID 1.1 offset")
    func classDescriptorBytes() throws {
        let bytes = CCIDDeviceConfiguration().classDescriptor.encoded()
        let expected: [UInt8] = [
            0x36, 0x21,                 // bLength 54, bDescriptorType 0x21
            0x10, 0x01,                 // @2 bcdCCID 1.10
            0x00,                       // @4 bMaxSlotIndex
            0x07,                       // @5 bVoltageSupport 5 V, 3 V, 1.8 V
            0x02, 0x00, 0x00, 0x00,     // @6 dwProtocols T=1
            0xA0, 0x0F, 0x00, 0x00,     // @10 dwDefaultClock 4000 kHz
            0xA0, 0x0F, 0x00, 0x00,     // @14 dwMaximumClock
            0x00,                       // @18 bNumClockSupported
            0x00, 0x2A, 0x00, 0x00,     // @19 dwDataRate 10752 bps
            0x00, 0x2A, 0x00, 0x00,     // @23 dwMaxDataRate
            0x00,                       // @27 bNumDataRatesSupported
            0xFE, 0x00, 0x00, 0x00,     // @28 dwMaxIFSD 254
            0x00, 0x00, 0x00, 0x00,     // @32 dwSynchProtocols
            0x00, 0x00, 0x00, 0x00,     // @36 dwMechanical
            0xFE, 0x00, 0x04, 0x00,     // @40 dwFeatures 0x000400FE
            0x00, 0x14, 0x00, 0x00,     // @44 dwMaxCCIDMessageLength 5120
            0xFF,                       // @48 bClassGetResponse
            0xFF,                       // @49 bClassEnvelope
            0x00, 0x00,                 // @50 wLcdLayout
            0x00,                       // @52 bPINSupport
            0x01,                       // @53 bMaxCCIDBusySlots
        ]
        #expect(bytes.count == 54)
        #expect(bytes == expected)

        let decoded = try CCIDClassDescriptor(decoding: bytes)
        #expect(decoded == CCIDDeviceConfiguration().classDescriptor)
        #expect(decoded.features == 0x0004_00FE)
        #expect(decoded.exchangeLevel == CCIDClassDescriptor.Feature.extendedAPDULevelExchange)
        #expect(decoded.maxCCIDMessageLength == 5_120)
    }

    @Test("device, configuration and string descriptors")
    func deviceAndConfiguration() throws {
        let set = CCIDUSBDescriptorSet(identity: CCIDUSBIdentity(serialNumber: "0102"), configuration: CCIDDeviceConfiguration())
        #expect(set.device.encoded() == [0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0xA0, 0x20, 0xD4, 0x42,
                                         0x00, 0x01, 0x01, 0x02, 0x03, 0x01])
        let configuration = set.configuration.encoded()
        #expect(configuration.count == 9 + 9 + 54 + 3 * 7)
        #expect(Array(configuration.prefix(9)) == [0x09, 0x02, 0x5D, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32])
        #expect(Array(configuration[9..<18]) == [0x09, 0x04, 0x00, 0x00, 0x03, 0x0B, 0x00, 0x00, 0x00])
        #expect(Array(configuration[18..<72]) == set.ccid.encoded())
        #expect(Array(configuration[72...]) == [0x07, 0x05, 0x01, 0x02, 0x40, 0x00, 0x00,
                                                0x07, 0x05, 0x82, 0x02, 0x40, 0x00, 0x00,
                                                0x07, 0x05, 0x83, 0x03, 0x08, 0x00, 0x10])
        let decoded = try USBConfiguration(decoding: configuration)
        #expect(decoded.interfaces.count == 1)
        #expect(decoded.interfaces[0].ccid == set.ccid)
        #expect(decoded.interfaces[0].endpoints.map(\.address) == [0x01, 0x82, 0x83])
        #expect(decoded.interfaces[0].endpoints.map(\.transferType) == [.bulk, .bulk, .interrupt])
        #expect(decoded.encoded() == configuration)
        #expect(try USBDeviceDescriptor(decoding: set.device.encoded()) == set.device)

        #expect(set.stringDescriptor(index: 0) == [0x04, 0x03, 0x09, 0x04])
        let manufacturer = try #require(set.stringDescriptor(index: 1))
        let product = try #require(set.stringDescriptor(index: 2))
        #expect(try USBStringDescriptor.decodeText(manufacturer) == "SealKit")
        #expect(try USBStringDescriptor.decodeText(product) == "SealKit Seal Token (simulated)")
        #expect(set.stringDescriptor(index: 3) == [0x0A, 0x03, 0x30, 0x00, 0x31, 0x00, 0x30, 0x00, 0x32, 0x00])
        #expect(set.stringDescriptor(index: 4) == nil)
        #expect(set.descriptor(type: 6, index: 0) == nil)  // device qualifier: full speed only
    }

    @Test("malformed descriptors are rejected with typed errors")
    func malformedDescriptors() throws {
        let ccid = CCIDDeviceConfiguration().classDescriptor.encoded()
        #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try CCIDClassDescriptor(decoding: ccid.prefix(53)) }
        var wrongLength = ccid
        wrongLength[0] = 0x35
        #expect(throws: ReaderWireError(code: .invalidLength, reason: "")) { try CCIDClassDescriptor(decoding: wrongLength) }
        var wrongType = ccid
        wrongType[1] = 0x22
        #expect(throws: ReaderWireError(code: .unexpectedType, reason: "")) { try CCIDClassDescriptor(decoding: wrongType) }
        #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try USBDeviceDescriptor(decoding: [0x12]) }

        var configuration = CCIDUSBDescriptorSet(identity: CCIDUSBIdentity(serialNumber: "1"), configuration: CCIDDeviceConfiguration())
            .configuration.encoded()
        #expect(throws: ReaderWireError(code: .truncated, reason: "")) { try USBConfiguration(decoding: configuration.dropLast()) }
        configuration[2] = 20  // wTotalLength cuts the interface + class descriptors
        #expect(throws: ReaderWireError(code: .inconsistentTotalLength, reason: "")) { try USBConfiguration(decoding: configuration) }
        #expect(throws: ReaderWireError(code: .invalidValue, reason: "")) { try USBStringDescriptor.decodeText([0x03, 0x03, 0x41]) }
    }
}

// MARK: - The device state machine

@Suite("CCID device state machine")
struct CCIDDeviceTests {
    @Test("GetSlotStatus reports an inactive card and echoes bSlot and bSeq")
    func slotStatus() throws {
        var device = CCIDDevice()
        let actions = device.receiveBulkOut(command(.getSlotStatus, sequence: 0x5A))
        #expect(bulkBytes(actions) == [[0x81, 0, 0, 0, 0, 0x00, 0x5A, 0x01, 0x00, 0x00]])
    }

    @Test("IccPowerOn asks the card for its ATR and answers it in a DataBlock")
    func powerOn() throws {
        var device = CCIDDevice()
        let actions = device.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 3))
        #expect(actions == [.card(slot: 0, .powerOn)])
        #expect(device.isBusy(slot: 0))
        let answer = device.complete(slot: 0, with: .answerToReset(atr))
        #expect(bulkBytes(answer) == [[0x80, UInt8(atr.count), 0, 0, 0, 0x00, 0x03, 0x00, 0x00, 0x00] + atr])
        #expect(device.iccStatus(slot: 0) == .active)

        // A card that does not come up: ICC_MUTE, slot inactive.
        var silent = CCIDDevice()
        _ = silent.receiveBulkOut(command(.iccPowerOn(.volts3), sequence: 4))
        let failed = try reply(silent.complete(slot: 0, with: .powerOnFailed))
        #expect(try statusAndError(failed) == (0x41, 0xFE))
        #expect(failed.sequence == 4)

        // bPowerSelect 04 is not a voltage: bad field at offset 7.
        var device2 = CCIDDevice()
        let bad = try reply(device2.receiveBulkOut(command(.iccPowerOn(CCIDPowerSelect(rawValue: 4)), sequence: 5)))
        #expect(try statusAndError(bad) == (0x41, 0x07))
        guard case .dataBlock = bad.kind else { Issue.record("IccPowerOn must be answered by a DataBlock"); return }
    }

    @Test("IccPowerOff powers the card off and answers SlotStatus")
    func powerOff() throws {
        var device = poweredDevice()
        let actions = device.receiveBulkOut(command(.iccPowerOff, sequence: 9))
        #expect(actions.first == .card(slot: 0, .powerOff))
        #expect(bulkBytes(actions) == [[0x81, 0, 0, 0, 0, 0x00, 0x09, 0x01, 0x00, 0x00]])
        #expect(device.iccStatus(slot: 0) == .presentInactive)
    }

    @Test("XfrBlock sends the APDU to the card and returns the response; bSeq is echoed")
    func xfrBlock() throws {
        var device = poweredDevice()
        let apdu: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x00]
        let actions = device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: apdu), sequence: 0xFF))
        #expect(actions == [.card(slot: 0, .transmit(apdu))])
        let answer = try reply(device.complete(slot: 0, with: .response([0x90, 0x00])))
        #expect(answer == CCIDMessage(slot: 0, sequence: 0xFF, kind: .dataBlock(status: .active, error: CCIDSlotError(rawValue: 0),
                                                                                chain: 0, data: [0x90, 0x00])))
    }

    @Test("a mute chip fails the XfrBlock with ICC_MUTE and leaves the slot inactive")
    func muteChip() throws {
        var device = poweredDevice()
        _ = device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: [0x00, 0xCA, 0x01, 0x01, 0x00]), sequence: 2))
        let answer = try reply(device.complete(slot: 0, with: .mute))
        #expect(try statusAndError(answer) == (0x41, 0xFE))
        #expect(device.iccStatus(slot: 0) == .presentInactive)
        // Further APDUs fail the same way until the next power-on.
        let next = try reply(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: [0x00]), sequence: 3)))
        #expect(try statusAndError(next) == (0x41, 0xFE))
    }

    @Test("without a card: bStatus absent + failed, bError ICC_MUTE")
    func absentCard() throws {
        var device = CCIDDevice(cardPresent: [false])
        #expect(bulkBytes(device.receiveBulkOut(command(.getSlotStatus, sequence: 1))) == [[0x81, 0, 0, 0, 0, 0, 1, 0x02, 0, 0]])
        for kind: CCIDMessage.Kind in [.iccPowerOn(.automatic), .xfrBlock(bwi: 0, levelParameter: 0, data: [0x00, 0xA4, 0x04, 0x00]),
                                       .getParameters, .resetParameters,
                                       .setParameters(protocolNumber: 1, data: CCIDDeviceConfiguration.defaultT1Parameters)] {
            let answer = try reply(device.receiveBulkOut(command(kind, sequence: 7)))
            #expect(try statusAndError(answer) == (0x42, 0xFE), "\(kind.name)")
            #expect(answer.sequence == 7)
        }
        // Power off without a card is not an error.
        #expect(bulkBytes(device.receiveBulkOut(command(.iccPowerOff, sequence: 8))) == [[0x81, 0, 0, 0, 0, 0, 8, 0x02, 0, 0]])
    }

    @Test("a bad slot fails with bError 05 in the reply type of the command")
    func badSlot() throws {
        var device = CCIDDevice()
        let cases: [(CCIDMessage.Kind, UInt8)] = [
            (.getSlotStatus, 0x81), (.iccPowerOn(.automatic), 0x80), (.iccPowerOff, 0x81),
            (.xfrBlock(bwi: 0, levelParameter: 0, data: [0]), 0x80), (.getParameters, 0x82), (.resetParameters, 0x82),
            (.setParameters(protocolNumber: 1, data: CCIDDeviceConfiguration.defaultT1Parameters), 0x82),
            (.escape(data: [1]), 0x83), (.setDataRateAndClockFrequency(clockFrequency: 4000, dataRate: 10752), 0x84),
            (.abort, 0x81),
        ]
        for (kind, replyType) in cases {
            let bytes = try #require(bulkBytes(device.receiveBulkOut(command(kind, slot: 1, sequence: 0x33))).first)
            #expect(bytes[0] == replyType, "\(kind.name)")
            #expect(bytes[5] == 1 && bytes[6] == 0x33)
            #expect(bytes[7] == 0x42 && bytes[8] == 0x05, "\(kind.name)")
        }
    }

    @Test("bad dwLength: too long, inconsistent with the transfer, or data where none belongs")
    func badLength() throws {
        var device = poweredDevice(CCIDDeviceConfiguration(maxMessageLength: 271))
        // dwLength 262 > 271 − 10.
        let long = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [UInt8](repeating: 0, count: 262)), sequence: 1)
        #expect(try statusAndError(reply(device.receiveBulkOut(long))) == (0x40, 0x01))
        // Announces 5 bytes, carries 3 (truncated transfer).
        var truncated = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [1, 2, 3, 4, 5]), sequence: 2)
        truncated.removeLast(2)
        let answer = try reply(device.receiveBulkOut(truncated))
        #expect(answer.sequence == 2)
        #expect(try statusAndError(answer) == (0x40, 0x01))
        // Announces 1 byte, carries 2 (trailing byte).
        let trailing = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [1]), sequence: 3) + [0xEE]
        #expect(try statusAndError(reply(device.receiveBulkOut(trailing))) == (0x40, 0x01))
        // IccPowerOff carries no data.
        var powerOff = CCIDHeader(messageType: CCIDMessageType.iccPowerOff, length: 1, slot: 0, sequence: 4).encoded
        powerOff.append(0)
        let off = try reply(device.receiveBulkOut(powerOff))
        #expect(try statusAndError(off) == (0x40, 0x01))
        guard case .slotStatus = off.kind else { Issue.record("IccPowerOff is answered by SlotStatus"); return }
        // SetDataRateAndClockFrequency carries exactly 8 bytes.
        var rate = CCIDHeader(messageType: CCIDMessageType.setDataRateAndClockFrequency, length: 4, slot: 0, sequence: 5).encoded
        rate += [0, 0, 0, 0]
        #expect(bulkBytes(device.receiveBulkOut(rate)).first?[0..<9] == [0x84, 8, 0, 0, 0, 0, 5, 0x40, 0x01])
    }

    @Test("a transfer shorter than the header: answered when bSlot and bSeq are there, else discarded")
    func runts() throws {
        var device = CCIDDevice()
        let seven: [UInt8] = [0x65, 0, 0, 0, 0, 0, 0x21]
        #expect(bulkBytes(device.receiveBulkOut(seven)) == [[0x81, 0, 0, 0, 0, 0, 0x21, 0x41, 0x01, 0]])
        let actions = device.receiveBulkOut([0x65, 0, 0])
        guard case .discarded? = actions.first, actions.count == 1 else {
            Issue.record("a 3-byte transfer cannot be answered: \(actions)")
            return
        }
    }

    @Test("unsupported commands fail with bError 00 (command not supported)")
    func unsupported() throws {
        var device = poweredDevice()
        let cases: [(CCIDMessage.Kind, UInt8)] = [
            (.escape(data: [0x01, 0x02]), 0x83),
            (.iccClock(clockCommand: 1), 0x81),
            (.t0APDU(changes: 0, classGetResponse: 0, classEnvelope: 0), 0x81),
            (.secure(bwi: 0, levelParameter: 0, data: [0x00]), 0x80),
            (.mechanical(function: 1), 0x81),
            (.unknown(type: 0x99, specific: [1, 2, 3], data: [4]), 0x81),
            (.slotStatus(status: .active, error: CCIDSlotError(rawValue: 0), clock: .running), 0x81),
        ]
        for (kind, replyType) in cases {
            let bytes = try #require(bulkBytes(device.receiveBulkOut(command(kind, sequence: 0x44))).first)
            #expect(bytes[0] == replyType, "\(kind.name)")
            #expect(bytes[6] == 0x44)
            #expect(bytes[7] == 0x40 && bytes[8] == 0x00, "\(kind.name)")
        }
    }

    @Test("T=1 parameters: get, set, reset, and the bad fields of SetParameters")
    func parameters() throws {
        var device = poweredDevice()
        let get = try reply(device.receiveBulkOut(command(.getParameters, sequence: 1)))
        #expect(get == CCIDMessage(slot: 0, sequence: 1, kind: .parameters(
            status: .active, error: CCIDSlotError(rawValue: 0), protocolNumber: 1, data: [0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00])))

        let custom: [UInt8] = [0x11, 0x11, 0x02, 0x45, 0x00, 0xFE, 0x00]
        let set = try reply(device.receiveBulkOut(command(.setParameters(protocolNumber: 1, data: custom), sequence: 2)))
        #expect(set == CCIDMessage(slot: 0, sequence: 2, kind: .parameters(
            status: .active, error: CCIDSlotError(rawValue: 0), protocolNumber: 1, data: custom)))
        #expect(device.t1Parameters(slot: 0) == custom)

        let reset = try reply(device.receiveBulkOut(command(.resetParameters, sequence: 3)))
        guard case .parameters(_, _, 1, let data) = reset.kind else { Issue.record("expected Parameters, got \(reset)"); return }
        #expect(data == CCIDDeviceConfiguration.defaultT1Parameters)

        let bad: [(UInt8, [UInt8], UInt8)] = [
            (0, [0x11, 0x00, 0x00, 0x0A, 0x00], 7),                  // T=0: the reader offers T=1 only
            (1, [0x11, 0x10, 0x00, 0x4D, 0x00, 0x20], 1),            // 6 bytes, not 7
            (1, [0x11, 0x20, 0x00, 0x4D, 0x00, 0x20, 0x00], 11),     // bmTCCKST1
            (1, [0x11, 0x10, 0x00, 0x4D, 0x04, 0x20, 0x00], 14),     // bClockStop
            (1, [0x11, 0x10, 0x00, 0x4D, 0x00, 0x00, 0x00], 15),     // bIFSC 0
            (1, [0x11, 0x10, 0x00, 0x4D, 0x00, 0xFF, 0x00], 15),     // bIFSC 255
            (1, [0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x01], 16),     // bNadValue
        ]
        for (protocolNumber, data, offset) in bad {
            let answer = try reply(device.receiveBulkOut(command(.setParameters(protocolNumber: protocolNumber, data: data), sequence: 4)))
            #expect(try statusAndError(answer) == (0x40, offset), "T=\(protocolNumber) \(hexString(data))")
        }
        #expect(device.t1Parameters(slot: 0) == CCIDDeviceConfiguration.defaultT1Parameters)
    }

    @Test("SetDataRateAndClockFrequency reports the fixed clock and rate")
    func dataRate() throws {
        var device = poweredDevice()
        let answer = try reply(device.receiveBulkOut(command(.setDataRateAndClockFrequency(clockFrequency: 5000, dataRate: 9600), sequence: 6)))
        #expect(answer == CCIDMessage(slot: 0, sequence: 6, kind: .dataRateAndClockFrequency(
            status: .active, error: CCIDSlotError(rawValue: 0), clockFrequency: 4000, dataRate: 10752)))
    }

    @Test("a second command while the card works fails with CMD_SLOT_BUSY")
    func busy() throws {
        var device = poweredDevice()
        _ = device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: [0, 0, 0, 0]), sequence: 1))
        let busy = try reply(device.receiveBulkOut(command(.getSlotStatus, sequence: 2)))
        #expect(try statusAndError(busy) == (0x40, 0xE0))
        #expect(busy.sequence == 2)
        // The first command still completes with its own bSeq.
        #expect(try reply(device.complete(slot: 0, with: .response([0x90, 0x00]))).sequence == 1)
        // An outcome nobody waits for is discarded.
        guard case .discarded? = device.complete(slot: 0, with: .response([0x90, 0x00])).first else {
            Issue.record("an unexpected outcome must be discarded")
            return
        }
    }

    @Test("a long response is chained with bChainParameter 01, 03, 02 and wLevelParameter 0010")
    func responseChaining() throws {
        var device = poweredDevice(CCIDDeviceConfiguration(maxMessageLength: 271))
        let response = (0..<600).map { UInt8(truncatingIfNeeded: $0) } + [0x90, 0x00]
        _ = device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: [0x00, 0xCA, 0x01, 0x06, 0x00, 0x00, 0x00]), sequence: 1))
        var parts: [(UInt8, [UInt8])] = []
        var message = try reply(device.complete(slot: 0, with: .response(response)))
        var sequence: UInt8 = 1
        while true {
            guard case .dataBlock(let status, _, let chain, let data) = message.kind else { Issue.record("\(message)"); return }
            #expect(status == .active)
            #expect(message.sequence == sequence)
            parts.append((chain, data))
            guard chain == 0x01 || chain == 0x03 else { break }
            sequence &+= 1
            message = try reply(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0x10, data: []), sequence: sequence)))
        }
        #expect(parts.map(\.0) == [0x01, 0x03, 0x02])
        #expect(parts.map(\.1.count) == [261, 261, 80])
        #expect(parts.flatMap(\.1) == response)
        // Nothing left: another 0010 is a bad wLevelParameter.
        let extra = try reply(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0x10, data: []), sequence: 9)))
        #expect(try statusAndError(extra) == (0x40, 0x08))
    }

    @Test("a command chained with wLevelParameter 01, 03, 02 reaches the card whole")
    func commandChaining() throws {
        var device = poweredDevice()
        let continueReply: [UInt8] = [0x80, 0, 0, 0, 0, 0, 1, 0x00, 0x00, 0x10]
        #expect(bulkBytes(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0x01, data: [1, 2]), sequence: 1))) == [continueReply])
        var middle = continueReply
        middle[6] = 2
        #expect(bulkBytes(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0x03, data: [3]), sequence: 2))) == [middle])
        #expect(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0x02, data: [4, 5]), sequence: 3))
            == [.card(slot: 0, .transmit([1, 2, 3, 4, 5]))])
        _ = device.complete(slot: 0, with: .response([0x90, 0x00]))

        // 03 or 02 without 01, and undefined levels, are bad wLevelParameters (offset 8).
        for level: UInt16 in [0x02, 0x03, 0x05, 0x0100] {
            let answer = try reply(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: level, data: [1]), sequence: 4)))
            #expect(try statusAndError(answer) == (0x40, 0x08), "wLevelParameter \(level)")
        }
        // An empty APDU is a bad dwLength.
        #expect(try statusAndError(reply(device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: []), sequence: 5)))) == (0x40, 0x01))
    }

    @Test("ABORT: class request then PC_to_RDR_Abort, or the other way round")
    func abort() throws {
        // Request first: commands in between fail with CMD_ABORTED, the Abort gets SlotStatus.
        var device = poweredDevice()
        let abortRequest = USBSetupPacket(requestType: 0x21, request: 0x01, value: 0x0700, index: 0, length: 0)
        #expect(device.handleClassRequest(abortRequest) == .completed(data: [], actions: []))
        let inBetween = try reply(device.receiveBulkOut(command(.getSlotStatus, sequence: 6)))
        #expect(try statusAndError(inBetween) == (0x40, 0xFF))
        #expect(bulkBytes(device.receiveBulkOut(command(.abort, sequence: 7))) == [[0x81, 0, 0, 0, 0, 0, 7, 0x00, 0, 0]])
        // Back to normal.
        #expect(try statusAndError(reply(device.receiveBulkOut(command(.getSlotStatus, sequence: 8)))) == (0x00, 0x00))

        // Message first: no answer until the class request, which releases it.
        #expect(device.receiveBulkOut(command(.abort, sequence: 9)).isEmpty)
        let released = device.handleClassRequest(USBSetupPacket(requestType: 0x21, request: 0x01, value: 0x0900, index: 0, length: 0))
        guard case .completed(_, let actions) = released else { Issue.record("ABORT stalled"); return }
        #expect(bulkBytes(actions) == [[0x81, 0, 0, 0, 0, 0, 9, 0x00, 0, 0]])

        // The command in progress when the request comes is answered CMD_ABORTED.
        _ = device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: [0, 0, 0, 0]), sequence: 10))
        _ = device.handleClassRequest(USBSetupPacket(requestType: 0x21, request: 0x01, value: 0x0B00, index: 0, length: 0))
        let aborted = try reply(device.complete(slot: 0, with: .response([0x90, 0x00])))
        #expect(aborted.sequence == 10)
        #expect(try statusAndError(aborted) == (0x40, 0xFF))
        #expect(bulkBytes(device.receiveBulkOut(command(.abort, sequence: 11))) == [[0x81, 0, 0, 0, 0, 0, 11, 0x00, 0, 0]])

        // ABORT for a slot that does not exist stalls.
        #expect(device.handleClassRequest(USBSetupPacket(requestType: 0x21, request: 0x01, value: 0x0001, index: 0, length: 0)) == .stall)
    }

    @Test("GET_CLOCK_FREQUENCIES and GET_DATA_RATES; other class requests stall")
    func classRequests() {
        var device = CCIDDevice()
        #expect(device.handleClassRequest(USBSetupPacket(requestType: 0xA1, request: 0x02, value: 0, index: 0, length: 4))
            == .completed(data: [0xA0, 0x0F, 0x00, 0x00], actions: []))
        #expect(device.handleClassRequest(USBSetupPacket(requestType: 0xA1, request: 0x03, value: 0, index: 0, length: 64))
            == .completed(data: [0x00, 0x2A, 0x00, 0x00], actions: []))
        #expect(device.handleClassRequest(USBSetupPacket(requestType: 0xA1, request: 0x04, value: 0, index: 0, length: 4)) == .stall)
        #expect(device.handleClassRequest(USBSetupPacket(requestType: 0xC1, request: 0x02, value: 0, index: 0, length: 4)) == .stall)
    }

    @Test("time extension: a DataBlock with bStatus 0x80 and bError = BWT multiplier, bSeq of the command")
    func timeExtension() throws {
        var device = poweredDevice(CCIDDeviceConfiguration(timeExtensionMultiplier: 3))
        #expect(device.requestTimeExtension(slot: 0).isEmpty)  // idle: nothing to extend
        _ = device.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: [0x80, 0x2A, 0x00, 0x00]), sequence: 0x21))
        #expect(bulkBytes(device.requestTimeExtension(slot: 0)) == [[0x80, 0, 0, 0, 0, 0, 0x21, 0x80, 0x03, 0x00]])
        #expect(try reply(device.complete(slot: 0, with: .response([0x90, 0x00]))).sequence == 0x21)
    }

    @Test("NotifySlotChange on removal and insertion; the initial one reports the present card")
    func slotChange() throws {
        var device = poweredDevice()
        #expect(device.initialSlotChangeNotification() == [0x50, 0x03])
        let removed = device.setCardPresent(false, slot: 0)
        #expect(removed == [.card(slot: 0, .powerOff), .interruptIn([0x50, 0x02])])
        #expect(device.iccStatus(slot: 0) == .absent)
        #expect(device.setCardPresent(false, slot: 0).isEmpty)
        #expect(device.setCardPresent(true, slot: 0) == [.interruptIn([0x50, 0x03])])
        #expect(device.iccStatus(slot: 0) == .presentInactive)

        // Multi-slot bitmap: slot 2 changes, slots 0 and 1 present.
        var three = CCIDDevice(configuration: CCIDDeviceConfiguration(slotCount: 3), cardPresent: [true, true, false])
        #expect(three.setCardPresent(true, slot: 2) == [.interruptIn([0x50, 0b0011_0101])])
        #expect(three.classDescriptorMaxSlotIndex == 2)

        // Removal during card work: the work is answered absent + ICC_MUTE.
        var busy = poweredDevice()
        _ = busy.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: [0, 0, 0, 0]), sequence: 1))
        _ = busy.setCardPresent(false, slot: 0)
        #expect(try statusAndError(reply(busy.complete(slot: 0, with: .response([0x90, 0x00])))) == (0x42, 0xFE))
    }
}

private extension CCIDDevice {
    var classDescriptorMaxSlotIndex: UInt8 { configuration.classDescriptor.maxSlotIndex }
}

// MARK: - Bulk-OUT framing

@Suite("CCID bulk-OUT framing")
struct CCIDBulkOutAssemblerTests {
    @Test("take gives what append gives, URB by URB, whole messages passed on as they are included")
    func takeMatchesAppend() {
        let long = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [UInt8](repeating: 0xAB, count: 190)), sequence: 1)
        let exact = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [UInt8](repeating: 1, count: 54)), sequence: 2)
        let short = command(.getSlotStatus, sequence: 3)
        let oversize = CCIDHeader(messageType: CCIDMessageType.xfrBlock, length: 1000, slot: 0, sequence: 4).encoded
            + [UInt8](repeating: 0, count: 54)
        // Whole messages (the usual URB), a split one, stray ZLPs, a transfer being dropped, two
        // messages in one URB, fewer than 10 bytes, and a whole message over the maximum.
        let chunks: [([UInt8], Bool)] = [
            (short, false), (Array(long[0..<64]), false), (Array(long[64..<128]), false), (Array(long[128...]), false),
            (exact, false), ([], false), (exact, true), (oversize, false), ([UInt8](repeating: 0, count: 64), false),
            (short, false), ([UInt8](repeating: 0, count: 10), false), (short, false), (short + short, false), ([1, 2, 3], false),
            (Array(long[0..<64]), false), (short, false), (long, false),
        ]
        for maximum in [271, 5120] {
            var appending = CCIDBulkOutAssembler(maxPacketSize: 64, maxMessageLength: maximum)
            var taking = appending
            var reference = ReferenceBulkOutAssembler(maxPacketSize: 64, maxMessageLength: maximum)
            for (chunk, zlp) in chunks {
                let expected = reference.append(chunk, zeroLengthPacket: zlp)
                #expect(taking.take(chunk, zeroLengthPacket: zlp).map { [$0] } ?? [] == expected)
                #expect(appending.append(chunk, zeroLengthPacket: zlp) == expected)
                #expect(taking.bufferedByteCount == reference.buffer.count)
            }
        }
    }

    /// The framing rules of ``CCIDBulkOutAssembler`` written plainly (every URB through the
    /// buffer, no shortcut for a whole message), to hold the assembler's fast path to.
    private struct ReferenceBulkOutAssembler {
        let maxPacketSize: Int
        let maxMessageLength: Int
        var buffer: [UInt8] = []
        var discarding = false

        init(maxPacketSize: Int, maxMessageLength: Int) {
            self.maxPacketSize = maxPacketSize
            self.maxMessageLength = maxMessageLength
        }

        mutating func append(_ chunk: [UInt8], zeroLengthPacket: Bool) -> [[UInt8]] {
            let endsTransfer = chunk.isEmpty || chunk.count % maxPacketSize != 0 || zeroLengthPacket
            if discarding {
                if endsTransfer { discarding = false }
                return []
            }
            buffer += chunk
            func take(discardingRest: Bool) -> [[UInt8]] {
                defer { buffer = []; discarding = discardingRest }
                return [buffer]
            }
            guard buffer.count >= CCIDHeader.size else { return endsTransfer && !buffer.isEmpty ? take(discardingRest: false) : [] }
            let size = CCIDHeader.size + Int(UInt32(buffer[1]) | UInt32(buffer[2]) << 8 | UInt32(buffer[3]) << 16 | UInt32(buffer[4]) << 24)
            if size > maxMessageLength || buffer.count > size { return take(discardingRest: !endsTransfer) }
            if buffer.count == size || endsTransfer { return take(discardingRest: false) }
            return []
        }
    }

    @Test("hasEndpoint knows exactly the configuration's endpoints and endpoint 0, for every address")
    func endpoints() {
        let set = CCIDUSBDescriptorSet(identity: CCIDUSBIdentity(serialNumber: "1"), configuration: CCIDDeviceConfiguration())
        let addresses = Set(set.configuration.interfaces.flatMap(\.endpoints).map(\.address))
        #expect(addresses == [0x01, 0x82, 0x83])
        for address in UInt8.min ... UInt8.max {
            #expect(set.hasEndpoint(address) == (address & 0x7F == 0 || addresses.contains(address)), "address \(address)")
        }
    }

    @Test("a message split over URBs is reassembled; one ending on a packet boundary needs no ZLP")
    func reassembly() {
        var assembler = CCIDBulkOutAssembler(maxPacketSize: 64, maxMessageLength: 5120)
        let message = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [UInt8](repeating: 0xAB, count: 190)), sequence: 1)
        #expect(message.count == 200)
        #expect(assembler.append(Array(message[0..<64])).isEmpty)
        #expect(assembler.append(Array(message[64..<128])).isEmpty)
        #expect(assembler.append(Array(message[128...])) == [message])

        let exact = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [UInt8](repeating: 1, count: 54)), sequence: 2)
        #expect(exact.count == 64)
        #expect(assembler.append(exact) == [exact])
        #expect(assembler.append([]).isEmpty)  // a ZLP after it is ignored
        #expect(assembler.bufferedByteCount == 0)
    }

    @Test("a short transfer ends the message early; excess and oversize transfers are passed on whole and the rest dropped")
    func malformed() {
        var assembler = CCIDBulkOutAssembler(maxPacketSize: 64, maxMessageLength: 271)
        let message = command(.xfrBlock(bwi: 0, levelParameter: 0, data: [UInt8](repeating: 2, count: 100)), sequence: 1)
        // 64 bytes, then a short 20-byte packet: 84 of 110 bytes.
        #expect(assembler.append(Array(message[0..<64])).isEmpty)
        #expect(assembler.append(Array(message[64..<84])) == [Array(message[0..<84])])

        // Announces 1000 bytes (over 271): passed on at once, the rest of the transfer dropped.
        let oversize = CCIDHeader(messageType: CCIDMessageType.xfrBlock, length: 1000, slot: 0, sequence: 2).encoded
            + [UInt8](repeating: 0, count: 54)
        #expect(assembler.append(oversize) == [oversize])
        #expect(assembler.append([UInt8](repeating: 0, count: 64)).isEmpty)
        #expect(assembler.append([UInt8](repeating: 0, count: 10)).isEmpty)  // short: end of the dropped transfer
        // Then framing resumes.
        let next = command(.getSlotStatus, sequence: 3)
        #expect(assembler.append(next) == [next])

        // Two messages in one transfer: passed on together (the device answers a bad dwLength).
        let two = command(.getSlotStatus, sequence: 4) + command(.getSlotStatus, sequence: 5)
        #expect(assembler.append(two) == [two])

        // The device answers each of these with bError 01.
        var device = CCIDDevice(configuration: CCIDDeviceConfiguration(maxMessageLength: 271))
        for candidate in [Array(message[0..<84]), oversize, two] {
            #expect(bulkBytes(device.receiveBulkOut(candidate)).first?[8] == 0x01)
        }
    }
}

// MARK: - With a real simulated chip

@Suite("CCID device with a simulated seal chip")
struct CCIDDeviceChipTests {
    @Test("power on → the chip's ATR; SELECT and GET DATA round trips in XfrBlocks")
    func roundTrip() throws {
        let chipID: [UInt8] = Array(0xA0...0xAF)
        let runner = CCIDDeviceRunner(cards: [try makeChipCard(chipID: chipID)])

        let powerOn = runner.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 0))
        guard case .bulkIn(let atrBytes)? = powerOn.first, powerOn.count == 1 else { Issue.record("\(powerOn)"); return }
        #expect(try CCIDMessage(decoding: atrBytes) == CCIDMessage(slot: 0, sequence: 0, kind: .dataBlock(
            status: .active, error: CCIDSlotError(rawValue: 0), chain: 0, data: SealChip.answerToReset)))

        func transmit(_ apdu: CommandAPDU, sequence: UInt8) throws -> [UInt8] {
            let outputs = runner.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: try apdu.encoded()), sequence: sequence))
            guard case .bulkIn(let bytes)? = outputs.first, outputs.count == 1 else {
                Issue.record("\(outputs)")
                return []
            }
            let message = try CCIDMessage(decoding: bytes)
            #expect(message.sequence == sequence)
            guard case .dataBlock(.active, _, 0, let data) = message.kind else {
                Issue.record("\(message)")
                return []
            }
            return data
        }
        let select = try transmit(SealCommand.select(), sequence: 1)
        #expect(select.suffix(2) == [0x90, 0x00])
        #expect(try transmit(SealCommand.getData(.chipID), sequence: 2) == chipID + [0x90, 0x00])

        let off = runner.receiveBulkOut(command(.iccPowerOff, sequence: 3))
        #expect(off == [.bulkIn([0x81, 0, 0, 0, 0, 0, 3, 0x01, 0, 0])])
        // Unpowered, the chip is not asked.
        let after = runner.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: try SealCommand.select().encoded()), sequence: 4))
        guard case .bulkIn(let bytes)? = after.first else { Issue.record("\(after)"); return }
        #expect(bytes[7] == 0x41 && bytes[8] == 0xFE)
    }

    @Test("a certificate longer than dwMaxCCIDMessageLength comes back chained and whole")
    func chainedCertificate() throws {
        let runner = CCIDDeviceRunner(configuration: CCIDDeviceConfiguration(maxMessageLength: 271), cards: [try makeChipCard()])
        _ = runner.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 0))
        _ = runner.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: try SealCommand.select().encoded()), sequence: 1))
        let getCertificate = try SealCommand.getData(.deviceCertificate, ne: 65_536).encoded()
        var outputs = runner.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: getCertificate), sequence: 2))
        var response: [UInt8] = []
        var chains: [UInt8] = []
        var sequence: UInt8 = 2
        while case .bulkIn(let bytes)? = outputs.first {
            let message = try CCIDMessage(decoding: bytes)
            guard case .dataBlock(.active, _, let chain, let data) = message.kind else { Issue.record("\(message)"); return }
            response += data
            chains.append(chain)
            guard chain == 0x01 || chain == 0x03 else { break }
            sequence += 1
            outputs = runner.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0x10, data: []), sequence: sequence))
        }
        #expect(chains.count >= 2)
        #expect(chains.first == 0x01 && chains.last == 0x02)
        #expect(response.suffix(2) == [0x90, 0x00])
        #expect(response.first == 0x30)  // DER SEQUENCE
        #expect(response.count > 261)
    }

    @Test("time extension forced on: a 0x80 DataBlock precedes the real answer")
    func forcedTimeExtension() throws {
        let configuration = CCIDDeviceConfiguration(timeExtensionThreshold: .nanoseconds(1))
        let runner = CCIDDeviceRunner(configuration: configuration, cards: [try makeChipCard()], clock: StepClock(step: .milliseconds(5)))
        _ = runner.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 0))
        let outputs = runner.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: try SealCommand.select().encoded()), sequence: 7))
        let messages = try outputs.map { output -> CCIDMessage in
            guard case .bulkIn(let bytes) = output else { throw CCIDTestFailure("\(output)") }
            return try CCIDMessage(decoding: bytes)
        }
        try #require(messages.count == 2)
        #expect(messages[0] == CCIDMessage(slot: 0, sequence: 7, kind: .dataBlock(
            status: .timeExtension, error: CCIDSlotError(rawValue: 1), chain: 0, data: [])))
        guard case .dataBlock(.active, _, 0, let data)? = messages.last?.kind else { Issue.record("\(messages)"); return }
        #expect(data.suffix(2) == [0x90, 0x00])

        // Off by default: the answer alone.
        let plain = CCIDDeviceRunner(cards: [try makeChipCard()], clock: StepClock(step: .seconds(1)))
        _ = plain.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 0))
        #expect(plain.receiveBulkOut(command(.xfrBlock(bwi: 0, levelParameter: 0, data: try SealCommand.select().encoded()), sequence: 1)).count == 1)
    }

    @Test("removing and inserting the card through the runner")
    func presence() throws {
        let runner = CCIDDeviceRunner(cards: [try makeChipCard()])
        _ = runner.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 0))
        #expect(runner.setCardPresent(false, slot: 0) == [.interruptIn([0x50, 0x02])])
        let absent = runner.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 1))
        #expect(absent == [.bulkIn([0x80, 0, 0, 0, 0, 0, 1, 0x42, 0xFE, 0])])
        #expect(runner.setCardPresent(true, slot: 0) == [.interruptIn([0x50, 0x03])])
        guard case .bulkIn(let bytes)? = runner.receiveBulkOut(command(.iccPowerOn(.automatic), sequence: 2)).first else {
            Issue.record("no ATR")
            return
        }
        #expect(Array(bytes.dropFirst(10)) == SealChip.answerToReset)
    }
}

struct CCIDTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A clock whose every reading is `step` after the previous one, so that any operation seems to
/// take `step`.
final class StepClock: Clock, @unchecked Sendable {
    typealias Duration = Swift.Duration
    struct Instant: InstantProtocol {
        var offset: Swift.Duration
        func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let lock = NSLock()
    private var current = Instant(offset: .zero)
    let step: Swift.Duration

    init(step: Swift.Duration) { self.step = step }

    var now: Instant {
        lock.lock()
        defer { lock.unlock() }
        current = current.advanced(by: step)
        return current
    }

    var minimumResolution: Swift.Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Swift.Duration?) async throws {}
}
