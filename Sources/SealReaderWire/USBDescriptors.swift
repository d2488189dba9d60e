import SealProtocol
// USB 2.0 chapter 9 descriptors and the CCID 1.1 class descriptor: the bytes a smart-card token
// hands to the host at enumeration. Pure value types with `encoded()` and a throwing
// `init(decoding:)`, so both the simulated device (which serves them) and a host-side backend
// (which parses what a real or simulated token returned) use the same layouts.
//
// All multi-byte fields of USB descriptors are little-endian.

// MARK: - Descriptor types

/// `bDescriptorType` values used by a CCID token (USB 2.0 table 9-5, CCID 1.1 §5.1).
package enum USBDescriptorType: UInt8, Sendable, CaseIterable {
    case device = 0x01
    case configuration = 0x02
    case string = 0x03
    case interface = 0x04
    case endpoint = 0x05
    case deviceQualifier = 0x06
    case otherSpeedConfiguration = 0x07
    case binaryObjectStore = 0x0F
    /// The CCID functional descriptor (class-specific, `CS_DEVICE`-like 0x21).
    case ccidClass = 0x21
}

/// Checks that `bytes` starts with a descriptor of `type` whose `bLength` is exactly `length`
/// and that all of it is present; returns the descriptor's bytes (extra bytes after it are
/// ignored, so a decoder can be pointed at the start of a descriptor chain).
fileprivate func checkedUSBDescriptor(_ bytes: some Collection<UInt8>, type: USBDescriptorType, length: Int, name: String) throws(ReaderWireError) -> [UInt8] {
    let all = Array(bytes)
    guard all.count >= 2 else {
        throw ReaderWireError(code: .truncated, reason: "\(name) needs \(length) bytes, got \(all.count)")
    }
    guard all[1] == type.rawValue else {
        throw ReaderWireError(code: .unexpectedType, reason: "\(name) has bDescriptorType 0x\(hexString([type.rawValue])), got 0x\(hexString([all[1]]))")
    }
    guard Int(all[0]) == length else {
        throw ReaderWireError(code: .invalidLength, reason: "\(name) has bLength \(length), got \(all[0])")
    }
    guard all.count >= length else {
        throw ReaderWireError(code: .truncated, reason: "\(name) needs \(length) bytes, got \(all.count)")
    }
    return Array(all.prefix(length))
}

// MARK: - Device descriptor

/// The 18-byte standard device descriptor (USB 2.0 §9.6.1).
package struct USBDeviceDescriptor: Hashable, Sendable {
    /// Its fixed `bLength`.
    package static let length = 18

    /// USB release in BCD, e.g. `0x0200`.
    package var bcdUSB: UInt16
    /// 0: the class is given per interface (a CCID token's case).
    package var deviceClass: UInt8
    package var deviceSubClass: UInt8
    package var deviceProtocol: UInt8
    /// Largest packet on endpoint 0 (8, 16, 32 or 64).
    package var maxPacketSize0: UInt8
    package var vendorID: UInt16
    package var productID: UInt16
    /// Device release in BCD.
    package var bcdDevice: UInt16
    /// String descriptor indexes (0: none).
    package var manufacturerIndex: UInt8
    package var productIndex: UInt8
    package var serialNumberIndex: UInt8
    package var configurationCount: UInt8

    package init(bcdUSB: UInt16 = 0x0200, deviceClass: UInt8 = 0, deviceSubClass: UInt8 = 0, deviceProtocol: UInt8 = 0,
                maxPacketSize0: UInt8 = 64, vendorID: UInt16, productID: UInt16, bcdDevice: UInt16,
                manufacturerIndex: UInt8 = 1, productIndex: UInt8 = 2, serialNumberIndex: UInt8 = 3, configurationCount: UInt8 = 1) {
        self.bcdUSB = bcdUSB
        self.deviceClass = deviceClass
        self.deviceSubClass = deviceSubClass
        self.deviceProtocol = deviceProtocol
        self.maxPacketSize0 = maxPacketSize0
        self.vendorID = vendorID
        self.productID = productID
        self.bcdDevice = bcdDevice
        self.manufacturerIndex = manufacturerIndex
        self.productIndex = productIndex
        self.serialNumberIndex = serialNumberIndex
        self.configurationCount = configurationCount
    }

    /// Decodes the descriptor at the start of `bytes`.
    package init(decoding bytes: some Collection<UInt8>) throws(ReaderWireError) {
        let b = try checkedUSBDescriptor(bytes, type: .device, length: Self.length, name: "device descriptor")
        bcdUSB = readLittleEndian(b, at: 2, as: UInt16.self)
        deviceClass = b[4]
        deviceSubClass = b[5]
        deviceProtocol = b[6]
        maxPacketSize0 = b[7]
        vendorID = readLittleEndian(b, at: 8, as: UInt16.self)
        productID = readLittleEndian(b, at: 10, as: UInt16.self)
        bcdDevice = readLittleEndian(b, at: 12, as: UInt16.self)
        manufacturerIndex = b[14]
        productIndex = b[15]
        serialNumberIndex = b[16]
        configurationCount = b[17]
    }

    /// The 18 bytes.
    package func encoded() -> [UInt8] {
        var out: [UInt8] = [UInt8(Self.length), USBDescriptorType.device.rawValue]
        out.reserveCapacity(Self.length)
        out.appendLittleEndian(bcdUSB)
        out += [deviceClass, deviceSubClass, deviceProtocol, maxPacketSize0]
        out.appendLittleEndian(vendorID)
        out.appendLittleEndian(productID)
        out.appendLittleEndian(bcdDevice)
        out += [manufacturerIndex, productIndex, serialNumberIndex, configurationCount]
        return out
    }
}

// MARK: - Configuration descriptor

/// The 9-byte standard configuration descriptor header (USB 2.0 §9.6.3).
package struct USBConfigurationDescriptor: Hashable, Sendable {
    /// Its fixed `bLength`.
    package static let length = 9

    /// Bytes of the whole configuration: this header plus every interface, class and endpoint
    /// descriptor that follows.
    package var totalLength: UInt16
    package var interfaceCount: UInt8
    /// The value SET_CONFIGURATION selects it with (1 for the only configuration).
    package var configurationValue: UInt8
    package var configurationIndex: UInt8
    /// Bit 7 reserved (set), bit 6 self-powered, bit 5 remote wakeup.
    package var attributes: UInt8
    /// Maximum bus current in 2 mA units.
    package var maxPower: UInt8

    package init(totalLength: UInt16, interfaceCount: UInt8, configurationValue: UInt8 = 1, configurationIndex: UInt8 = 0,
                attributes: UInt8 = 0x80, maxPower: UInt8 = 50) {
        self.totalLength = totalLength
        self.interfaceCount = interfaceCount
        self.configurationValue = configurationValue
        self.configurationIndex = configurationIndex
        self.attributes = attributes
        self.maxPower = maxPower
    }

    /// Decodes the 9-byte header at the start of `bytes` (what follows is ignored).
    package init(decoding bytes: some Collection<UInt8>) throws(ReaderWireError) {
        let b = try checkedUSBDescriptor(bytes, type: .configuration, length: Self.length, name: "configuration descriptor")
        totalLength = readLittleEndian(b, at: 2, as: UInt16.self)
        interfaceCount = b[4]
        configurationValue = b[5]
        configurationIndex = b[6]
        attributes = b[7]
        maxPower = b[8]
    }

    /// The 9 bytes.
    package func encoded() -> [UInt8] {
        var out: [UInt8] = [UInt8(Self.length), USBDescriptorType.configuration.rawValue]
        out.appendLittleEndian(totalLength)
        out += [interfaceCount, configurationValue, configurationIndex, attributes, maxPower]
        return out
    }
}

// MARK: - Interface descriptor

/// The 9-byte standard interface descriptor (USB 2.0 §9.6.5).
package struct USBInterfaceDescriptor: Hashable, Sendable {
    /// Its fixed `bLength`.
    package static let length = 9
    /// `bInterfaceClass` of a smart-card (CCID) interface.
    package static let smartCardClass: UInt8 = 0x0B

    package var interfaceNumber: UInt8
    package var alternateSetting: UInt8
    package var endpointCount: UInt8
    package var interfaceClass: UInt8
    package var interfaceSubClass: UInt8
    /// For CCID: 0 bulk transfers (CCID), 1 ICCD version A, 2 ICCD version B.
    package var interfaceProtocol: UInt8
    package var interfaceIndex: UInt8

    package init(interfaceNumber: UInt8 = 0, alternateSetting: UInt8 = 0, endpointCount: UInt8, interfaceClass: UInt8,
                interfaceSubClass: UInt8 = 0, interfaceProtocol: UInt8 = 0, interfaceIndex: UInt8 = 0) {
        self.interfaceNumber = interfaceNumber
        self.alternateSetting = alternateSetting
        self.endpointCount = endpointCount
        self.interfaceClass = interfaceClass
        self.interfaceSubClass = interfaceSubClass
        self.interfaceProtocol = interfaceProtocol
        self.interfaceIndex = interfaceIndex
    }

    /// Decodes the descriptor at the start of `bytes`.
    package init(decoding bytes: some Collection<UInt8>) throws(ReaderWireError) {
        let b = try checkedUSBDescriptor(bytes, type: .interface, length: Self.length, name: "interface descriptor")
        interfaceNumber = b[2]
        alternateSetting = b[3]
        endpointCount = b[4]
        interfaceClass = b[5]
        interfaceSubClass = b[6]
        interfaceProtocol = b[7]
        interfaceIndex = b[8]
    }

    /// The 9 bytes.
    package func encoded() -> [UInt8] {
        [UInt8(Self.length), USBDescriptorType.interface.rawValue, interfaceNumber, alternateSetting, endpointCount,
         interfaceClass, interfaceSubClass, interfaceProtocol, interfaceIndex]
    }
}

// MARK: - Endpoint descriptor

/// The 7-byte standard endpoint descriptor (USB 2.0 §9.6.6).
package struct USBEndpointDescriptor: Hashable, Sendable {
    /// Its fixed `bLength`.
    package static let length = 7

    /// The transfer type in bits 0–1 of `bmAttributes`.
    package enum TransferType: UInt8, Sendable {
        case control = 0, isochronous = 1, bulk = 2, interrupt = 3
    }

    /// Bit 7: direction (1 IN, device to host); bits 0–3: endpoint number.
    package var address: UInt8
    package var attributes: UInt8
    /// Largest packet, bits 0–10 (bits 11–12: extra transactions per microframe, high speed only).
    package var maxPacketSize: UInt16
    /// Polling interval (frames at full speed) for interrupt endpoints; ignored for bulk.
    package var interval: UInt8

    package init(address: UInt8, transferType: TransferType, maxPacketSize: UInt16, interval: UInt8 = 0) {
        self.address = address
        self.attributes = transferType.rawValue
        self.maxPacketSize = maxPacketSize
        self.interval = interval
    }

    /// Decodes the descriptor at the start of `bytes`.
    package init(decoding bytes: some Collection<UInt8>) throws(ReaderWireError) {
        let b = try checkedUSBDescriptor(bytes, type: .endpoint, length: Self.length, name: "endpoint descriptor")
        address = b[2]
        attributes = b[3]
        maxPacketSize = readLittleEndian(b, at: 4, as: UInt16.self)
        interval = b[6]
    }

    /// The endpoint number (0–15).
    package var number: UInt8 { address & 0x0F }
    /// Whether data flows device to host.
    package var isIn: Bool { address & 0x80 != 0 }
    /// The transfer type (`nil` never happens: two bits cover the four types).
    package var transferType: TransferType { TransferType(rawValue: attributes & 0x03) ?? .control }

    /// The 7 bytes.
    package func encoded() -> [UInt8] {
        var out: [UInt8] = [UInt8(Self.length), USBDescriptorType.endpoint.rawValue, address, attributes]
        out.appendLittleEndian(maxPacketSize)
        out.append(interval)
        return out
    }
}

// MARK: - CCID class descriptor

/// The 54-byte CCID functional descriptor (CCID 1.1 §5.1, table 5.1-1) that follows the
/// interface descriptor of a smart-card interface.
///
/// Field offsets: bcdCCID @2, bMaxSlotIndex @4, bVoltageSupport @5, dwProtocols @6,
/// dwDefaultClock @10, dwMaximumClock @14, bNumClockSupported @18, dwDataRate @19,
/// dwMaxDataRate @23, bNumDataRatesSupported @27, dwMaxIFSD @28, dwSynchProtocols @32,
/// dwMechanical @36, dwFeatures @40, dwMaxCCIDMessageLength @44, bClassGetResponse @48,
/// bClassEnvelope @49, wLcdLayout @50, bPINSupport @52, bMaxCCIDBusySlots @53.
public struct CCIDClassDescriptor: Hashable, Sendable {
    /// Its fixed `bLength` (0x36).
    package static let length = 54

    /// `dwProtocols` bit of T=0.
    public static let protocolT0: UInt32 = 0x0000_0001
    /// `dwProtocols` bit of T=1.
    public static let protocolT1: UInt32 = 0x0000_0002

    /// `dwFeatures` bits (CCID 1.1 §5.1, table 5.1-1).
    public enum Feature {
        /// Bit 1: automatic parameter configuration based on the ATR.
        public static let automaticParameterConfigurationFromATR: UInt32 = 0x0000_0002
        /// Bit 2: the reader activates the ICC when it is inserted.
        public static let automaticActivationOnInsert: UInt32 = 0x0000_0004
        /// Bit 3: automatic ICC voltage selection.
        public static let automaticVoltageSelection: UInt32 = 0x0000_0008
        /// Bit 4: automatic ICC clock frequency change.
        public static let automaticClockChange: UInt32 = 0x0000_0010
        /// Bit 5: automatic baud rate change.
        public static let automaticBaudRateChange: UInt32 = 0x0000_0020
        /// Bit 6: automatic parameter negotiation by the reader.
        public static let automaticParameterNegotiation: UInt32 = 0x0000_0040
        /// Bit 7: automatic PPS by the reader from the current parameters.
        public static let automaticPPS: UInt32 = 0x0000_0080
        /// Bit 8: the reader can stop the ICC clock.
        public static let canSetClockStop: UInt32 = 0x0000_0100
        /// Bit 9: NAD values other than 0 are accepted (T=1).
        public static let nadOtherThanZero: UInt32 = 0x0000_0200
        /// Bit 10: automatic IFSD exchange as the first T=1 block.
        public static let automaticIFSDExchange: UInt32 = 0x0000_0400
        /// Exchange level, one of the next four values in bits 16–18.
        public static let exchangeLevelMask: UInt32 = 0x0007_0000
        /// Exchange level 0: character level; the host drives the ICC protocol itself.
        public static let characterLevelExchange: UInt32 = 0x0000_0000
        /// Exchange level bit 16: TPDU level.
        public static let tpduLevelExchange: UInt32 = 0x0001_0000
        /// Exchange level bit 17: short APDU level.
        public static let shortAPDULevelExchange: UInt32 = 0x0002_0000
        /// Exchange level bit 18: short and extended APDU level.
        public static let extendedAPDULevelExchange: UInt32 = 0x0004_0000
        /// Bit 20: USB wake-up signalling on card insertion and removal.
        public static let usbWakeUpOnInsertRemove: UInt32 = 0x0010_0000
    }

    /// CCID release in BCD (`0x0110`).
    public var bcdCCID: UInt16
    /// Highest slot index (slots are 0…bMaxSlotIndex).
    public var maxSlotIndex: UInt8
    /// Bit 0 5.0 V, bit 1 3.0 V, bit 2 1.8 V.
    public var voltageSupport: UInt8
    /// Bit 0 T=0, bit 1 T=1.
    public var protocols: UInt32
    /// Default ICC clock in kHz.
    public var defaultClock: UInt32
    /// Maximum ICC clock in kHz.
    public var maximumClock: UInt32
    /// Number of clock frequencies GET_CLOCK_FREQUENCIES reports (0: only the default).
    public var numClockSupported: UInt8
    /// Default ICC I/O data rate in bps.
    public var dataRate: UInt32
    /// Maximum ICC I/O data rate in bps.
    public var maxDataRate: UInt32
    /// Number of data rates GET_DATA_RATES reports (0: only the default).
    public var numDataRatesSupported: UInt8
    /// Largest IFSD (T=1 information field) the reader supports.
    public var maxIFSD: UInt32
    /// `dwSynchProtocols`: synchronous protocols supported (0 for none).
    public var synchProtocols: UInt32
    /// `dwMechanical`: card accept, eject, capture and lock mechanics (0 for none).
    public var mechanical: UInt32
    /// Capabilities; see ``Feature``.
    public var features: UInt32
    /// Largest CCID message (10-byte header + data) the device accepts and sends.
    public var maxCCIDMessageLength: UInt32
    /// Class byte of GET RESPONSE the reader uses in APDU level (`0xFF`: echo the command's).
    public var classGetResponse: UInt8
    /// Class byte of ENVELOPE the reader uses in APDU level (`0xFF`: echo the command's).
    public var classEnvelope: UInt8
    /// LCD lines (high byte) and characters per line (low byte); 0 for none.
    public var lcdLayout: UInt16
    /// Bit 0 PIN verification, bit 1 PIN modification.
    public var pinSupport: UInt8
    /// How many slots may be busy at once.
    public var maxCCIDBusySlots: UInt8

    package init(bcdCCID: UInt16 = 0x0110, maxSlotIndex: UInt8 = 0, voltageSupport: UInt8 = 0x07, protocols: UInt32 = CCIDClassDescriptor.protocolT1,
                defaultClock: UInt32 = 4_000, maximumClock: UInt32 = 4_000, numClockSupported: UInt8 = 0,
                dataRate: UInt32 = 10_752, maxDataRate: UInt32 = 10_752, numDataRatesSupported: UInt8 = 0,
                maxIFSD: UInt32 = 254, synchProtocols: UInt32 = 0, mechanical: UInt32 = 0, features: UInt32 = 0x0004_00FE,
                maxCCIDMessageLength: UInt32 = 5_120, classGetResponse: UInt8 = 0xFF, classEnvelope: UInt8 = 0xFF,
                lcdLayout: UInt16 = 0, pinSupport: UInt8 = 0, maxCCIDBusySlots: UInt8 = 1) {
        self.bcdCCID = bcdCCID
        self.maxSlotIndex = maxSlotIndex
        self.voltageSupport = voltageSupport
        self.protocols = protocols
        self.defaultClock = defaultClock
        self.maximumClock = maximumClock
        self.numClockSupported = numClockSupported
        self.dataRate = dataRate
        self.maxDataRate = maxDataRate
        self.numDataRatesSupported = numDataRatesSupported
        self.maxIFSD = maxIFSD
        self.synchProtocols = synchProtocols
        self.mechanical = mechanical
        self.features = features
        self.maxCCIDMessageLength = maxCCIDMessageLength
        self.classGetResponse = classGetResponse
        self.classEnvelope = classEnvelope
        self.lcdLayout = lcdLayout
        self.pinSupport = pinSupport
        self.maxCCIDBusySlots = maxCCIDBusySlots
    }

    /// Decodes the descriptor at the start of `bytes`.
    package init(decoding bytes: some Collection<UInt8>) throws(ReaderWireError) {
        let b = try checkedUSBDescriptor(bytes, type: .ccidClass, length: Self.length, name: "CCID class descriptor")
        bcdCCID = readLittleEndian(b, at: 2, as: UInt16.self)
        maxSlotIndex = b[4]
        voltageSupport = b[5]
        protocols = readLittleEndian(b, at: 6, as: UInt32.self)
        defaultClock = readLittleEndian(b, at: 10, as: UInt32.self)
        maximumClock = readLittleEndian(b, at: 14, as: UInt32.self)
        numClockSupported = b[18]
        dataRate = readLittleEndian(b, at: 19, as: UInt32.self)
        maxDataRate = readLittleEndian(b, at: 23, as: UInt32.self)
        numDataRatesSupported = b[27]
        maxIFSD = readLittleEndian(b, at: 28, as: UInt32.self)
        synchProtocols = readLittleEndian(b, at: 32, as: UInt32.self)
        mechanical = readLittleEndian(b, at: 36, as: UInt32.self)
        features = readLittleEndian(b, at: 40, as: UInt32.self)
        maxCCIDMessageLength = readLittleEndian(b, at: 44, as: UInt32.self)
        classGetResponse = b[48]
        classEnvelope = b[49]
        lcdLayout = readLittleEndian(b, at: 50, as: UInt16.self)
        pinSupport = b[52]
        maxCCIDBusySlots = b[53]
    }

    /// The exchange level bits of ``features``.
    public var exchangeLevel: UInt32 { features & Feature.exchangeLevelMask }

    /// The 54 bytes.
    package func encoded() -> [UInt8] {
        var out: [UInt8] = [UInt8(Self.length), USBDescriptorType.ccidClass.rawValue]
        out.reserveCapacity(Self.length)
        out.appendLittleEndian(bcdCCID)
        out += [maxSlotIndex, voltageSupport]
        out.appendLittleEndian(protocols)
        out.appendLittleEndian(defaultClock)
        out.appendLittleEndian(maximumClock)
        out.append(numClockSupported)
        out.appendLittleEndian(dataRate)
        out.appendLittleEndian(maxDataRate)
        out.append(numDataRatesSupported)
        out.appendLittleEndian(maxIFSD)
        out.appendLittleEndian(synchProtocols)
        out.appendLittleEndian(mechanical)
        out.appendLittleEndian(features)
        out.appendLittleEndian(maxCCIDMessageLength)
        out += [classGetResponse, classEnvelope]
        out.appendLittleEndian(lcdLayout)
        out += [pinSupport, maxCCIDBusySlots]
        return out
    }
}

// MARK: - String descriptors

/// A string descriptor (USB 2.0 §9.6.7): UTF-16LE text, or at index 0 the list of LANGIDs.
package enum USBStringDescriptor {
    /// US English, the only language a SealKit device reports.
    package static let languageUSEnglish: UInt16 = 0x0409
    /// Longest text that fits a descriptor (`bLength` ≤ 255: 126 UTF-16 code units).
    package static let maximumCodeUnits = 126

    /// String descriptor 0: the supported language IDs.
    package static func languages(_ ids: [UInt16] = [languageUSEnglish]) -> [UInt8] {
        let ids = ids.prefix(maximumCodeUnits)
        var out: [UInt8] = [UInt8(2 + 2 * ids.count), USBDescriptorType.string.rawValue]
        for id in ids { out.appendLittleEndian(id) }
        return out
    }

    /// A string descriptor holding `text` as UTF-16LE, cut to ``maximumCodeUnits`` code units.
    package static func encode(_ text: String) -> [UInt8] {
        let units = Array(text.utf16.prefix(maximumCodeUnits))
        var out: [UInt8] = [UInt8(2 + 2 * units.count), USBDescriptorType.string.rawValue]
        for unit in units { out.appendLittleEndian(unit) }
        return out
    }

    /// The text of a string descriptor (not descriptor 0) at the start of `bytes`.
    package static func decodeText(_ bytes: some Collection<UInt8>) throws(ReaderWireError) -> String {
        let units = try decodeUnits(bytes)
        return String(decoding: units, as: UTF16.self)
    }

    /// The LANGIDs of string descriptor 0 at the start of `bytes`.
    package static func decodeLanguages(_ bytes: some Collection<UInt8>) throws(ReaderWireError) -> [UInt16] {
        try decodeUnits(bytes)
    }

    private static func decodeUnits(_ bytes: some Collection<UInt8>) throws(ReaderWireError) -> [UInt16] {
        let all = Array(bytes)
        guard all.count >= 2 else { throw ReaderWireError(code: .truncated, reason: "string descriptor needs 2 bytes, got \(all.count)") }
        guard all[1] == USBDescriptorType.string.rawValue else {
            throw ReaderWireError(code: .unexpectedType, reason: "string descriptor has bDescriptorType 0x03, got 0x\(hexString([all[1]]))")
        }
        let length = Int(all[0])
        guard length >= 2, length % 2 == 0 else {
            throw ReaderWireError(code: .invalidValue, reason: "string descriptor bLength \(length) is not even and at least 2")
        }
        guard all.count >= length else { throw ReaderWireError(code: .truncated, reason: "string descriptor needs \(length) bytes, got \(all.count)") }
        return stride(from: 2, to: length, by: 2).map { readLittleEndian(all, at: $0, as: UInt16.self) }
    }
}

// MARK: - A whole configuration

/// One interface of a configuration: its descriptor, the CCID class descriptor when it is a
/// smart-card interface, other class-specific descriptors kept verbatim, and its endpoints.
package struct USBInterface: Hashable, Sendable {
    package var descriptor: USBInterfaceDescriptor
    /// The CCID functional descriptor, for class 0x0B interfaces.
    package var ccid: CCIDClassDescriptor?
    /// Other descriptors between the interface and its endpoints (raw, each with its header).
    package var otherDescriptors: [[UInt8]]
    package var endpoints: [USBEndpointDescriptor]

    package init(descriptor: USBInterfaceDescriptor, ccid: CCIDClassDescriptor? = nil, otherDescriptors: [[UInt8]] = [], endpoints: [USBEndpointDescriptor]) {
        self.descriptor = descriptor
        self.ccid = ccid
        self.otherDescriptors = otherDescriptors
        self.endpoints = endpoints
    }
}

/// A full configuration as GET_DESCRIPTOR(CONFIGURATION) returns it: the 9-byte header followed
/// by every interface with its class-specific and endpoint descriptors.
package struct USBConfiguration: Hashable, Sendable {
    /// The header; ``encoded()`` recomputes `wTotalLength` and `bNumInterfaces`.
    package var descriptor: USBConfigurationDescriptor
    package var interfaces: [USBInterface]

    package init(descriptor: USBConfigurationDescriptor, interfaces: [USBInterface]) {
        self.descriptor = descriptor
        self.interfaces = interfaces
    }

    /// The configuration bytes, `wTotalLength` and `bNumInterfaces` filled in from the content.
    package func encoded() -> [UInt8] {
        var body: [UInt8] = []
        var interfaceNumbers = Set<UInt8>()
        for interface in interfaces {
            interfaceNumbers.insert(interface.descriptor.interfaceNumber)
            body += interface.descriptor.encoded()
            if let ccid = interface.ccid { body += ccid.encoded() }
            for other in interface.otherDescriptors { body += other }
            for endpoint in interface.endpoints { body += endpoint.encoded() }
        }
        var header = descriptor
        header.totalLength = UInt16(clamping: USBConfigurationDescriptor.length + body.count)
        header.interfaceCount = UInt8(clamping: interfaceNumbers.count)
        return header.encoded() + body
    }

    /// Decodes a whole configuration (header and `wTotalLength` bytes of descriptors).
    ///
    /// - Throws: ``ReaderWireError`` when a descriptor is truncated or malformed, or when
    ///   `wTotalLength` exceeds the bytes given or cuts a descriptor in two.
    package init(decoding bytes: some Collection<UInt8>) throws(ReaderWireError) {
        let all = Array(bytes)
        let header = try USBConfigurationDescriptor(decoding: all)
        let total = Int(header.totalLength)
        guard total >= USBConfigurationDescriptor.length else {
            throw ReaderWireError(code: .inconsistentTotalLength, reason: "wTotalLength \(total) is shorter than the 9-byte header")
        }
        guard all.count >= total else {
            throw ReaderWireError(code: .truncated, reason: "configuration has wTotalLength \(total), got \(all.count) bytes")
        }
        var interfaces: [USBInterface] = []
        var offset = USBConfigurationDescriptor.length
        while offset < total {
            guard total - offset >= 2 else {
                throw ReaderWireError(code: .inconsistentTotalLength, reason: "wTotalLength \(total) cuts a descriptor header at offset \(offset)")
            }
            let length = Int(all[offset])
            guard length >= 2 else {
                throw ReaderWireError(code: .invalidLength, reason: "descriptor at offset \(offset) has bLength \(length)")
            }
            guard offset + length <= total else {
                throw ReaderWireError(code: .inconsistentTotalLength, reason: "descriptor at offset \(offset) (\(length) bytes) runs past wTotalLength \(total)")
            }
            let piece = Array(all[offset ..< offset + length])
            switch USBDescriptorType(rawValue: piece[1]) {
            case .interface:
                interfaces.append(USBInterface(descriptor: try USBInterfaceDescriptor(decoding: piece), endpoints: []))
            case .endpoint:
                let endpoint = try USBEndpointDescriptor(decoding: piece)
                guard !interfaces.isEmpty else {
                    throw ReaderWireError(code: .invalidValue, reason: "endpoint descriptor at offset \(offset) precedes any interface")
                }
                interfaces[interfaces.count - 1].endpoints.append(endpoint)
            case .ccidClass where interfaces.last?.descriptor.interfaceClass == USBInterfaceDescriptor.smartCardClass && interfaces.last?.ccid == nil:
                interfaces[interfaces.count - 1].ccid = try CCIDClassDescriptor(decoding: piece)
            default:
                guard !interfaces.isEmpty else {
                    // Descriptors before the first interface (e.g. an interface association) are
                    // not kept: nothing here needs them.
                    break
                }
                interfaces[interfaces.count - 1].otherDescriptors.append(piece)
            }
            offset += length
        }
        self.descriptor = header
        self.interfaces = interfaces
    }
}
