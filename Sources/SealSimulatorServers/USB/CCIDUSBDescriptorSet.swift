import SealSimulatedToken
import SealReaderWire
import SealProtocol

/// Who a simulated SealKit token says it is on the bus.
///
/// ### VID:PID
/// pcscd hands a USB device to libccid only when its VID:PID is listed in libccid's
/// `Info.plist` (`/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist`, on Debian a link to
/// `/etc/libccid_Info.plist`). The default, `20A0:42D4`, is listed there (as "Canokeys Canokey",
/// an open-source CCID token; VID 0x20A0 is Clay Logic's, sub-licensed to open-hardware projects), so an imported
/// simulated token is picked up with no configuration and no impersonation of a commercial product
/// whose vendor tools would then try to manage it. libccid applies no product-specific quirk to
/// this ID. To use another ID (e.g. the pid.codes test ID `1209:0001`), set ``vendorID`` and
/// ``productID`` and add the ID to the `ifdVendorID`/`ifdProductID`/`ifdFriendlyName` arrays of
/// the plist (docs/usb.md shows the entry).
package struct CCIDUSBIdentity: Hashable, Sendable {
    /// `idVendor`; default 0x20A0.
    package var vendorID: UInt16
    /// `idProduct`; default 0x42D4.
    package var productID: UInt16
    /// `bcdDevice`; default 0x0100.
    package var bcdDevice: UInt16
    /// String descriptor 1.
    package var manufacturer: String
    /// String descriptor 2.
    package var product: String
    /// String descriptor 3: the chip ID in hex for a SealKit token.
    package var serialNumber: String

    /// The default identity with the given serial number.
    package init(serialNumber: String, vendorID: UInt16 = 0x20A0, productID: UInt16 = 0x42D4, bcdDevice: UInt16 = 0x0100,
                manufacturer: String = "SealKit", product: String = "SealKit Seal Token (simulated)") {
        self.vendorID = vendorID
        self.productID = productID
        self.bcdDevice = bcdDevice
        self.manufacturer = manufacturer
        self.product = product
        self.serialNumber = serialNumber
    }
}

/// Every descriptor of a simulated CCID token: one full-speed configuration with one CCID
/// interface (class 0B, subclass 0, protocol 0) whose endpoints are bulk OUT 0x01, bulk IN 0x82
/// (64-byte packets) and interrupt IN 0x83 (8 bytes, every 16 ms), plus the manufacturer, product
/// and serial strings in US English.
package struct CCIDUSBDescriptorSet: Hashable, Sendable {
    /// Bulk-OUT endpoint address.
    package static let bulkOutEndpoint: UInt8 = 0x01
    /// Bulk-IN endpoint address.
    package static let bulkInEndpoint: UInt8 = 0x82
    /// Interrupt-IN endpoint address.
    package static let interruptInEndpoint: UInt8 = 0x83
    /// `wMaxPacketSize` of the bulk endpoints (the full-speed maximum).
    package static let bulkMaxPacketSize = 64
    /// `wMaxPacketSize` of the interrupt endpoint.
    package static let interruptMaxPacketSize = 8
    /// The CCID interface number.
    package static let interfaceNumber: UInt8 = 0

    package let identity: CCIDUSBIdentity
    /// The CCID functional descriptor.
    package let ccid: CCIDClassDescriptor
    /// The device descriptor.
    package let device: USBDeviceDescriptor
    /// The configuration (value 1).
    package let configuration: USBConfiguration
    /// The endpoint addresses of `configuration`, one bit per address (0…255) in four words:
    /// ``hasEndpoint(_:)`` runs for every URB.
    private let endpointBits: SIMD4<UInt64>

    /// The descriptors of a token with `identity`, announcing `ccid`.
    package init(identity: CCIDUSBIdentity, ccid: CCIDClassDescriptor) {
        self.identity = identity
        self.ccid = ccid
        self.device = USBDeviceDescriptor(
            bcdUSB: 0x0200, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0, maxPacketSize0: 64,
            vendorID: identity.vendorID, productID: identity.productID, bcdDevice: identity.bcdDevice,
            manufacturerIndex: 1, productIndex: 2, serialNumberIndex: 3, configurationCount: 1)
        let interface = USBInterface(
            descriptor: USBInterfaceDescriptor(interfaceNumber: Self.interfaceNumber, alternateSetting: 0, endpointCount: 3,
                                               interfaceClass: USBInterfaceDescriptor.smartCardClass, interfaceSubClass: 0,
                                               interfaceProtocol: 0, interfaceIndex: 0),
            ccid: ccid,
            endpoints: [
                USBEndpointDescriptor(address: Self.bulkOutEndpoint, transferType: .bulk, maxPacketSize: UInt16(Self.bulkMaxPacketSize)),
                USBEndpointDescriptor(address: Self.bulkInEndpoint, transferType: .bulk, maxPacketSize: UInt16(Self.bulkMaxPacketSize)),
                USBEndpointDescriptor(address: Self.interruptInEndpoint, transferType: .interrupt,
                                      maxPacketSize: UInt16(Self.interruptMaxPacketSize), interval: 16),
            ])
        // Bus-powered (bit 7 set), no remote wakeup, 100 mA.
        self.configuration = USBConfiguration(
            descriptor: USBConfigurationDescriptor(totalLength: 0, interfaceCount: 1, configurationValue: 1,
                                                   configurationIndex: 0, attributes: 0x80, maxPower: 50),
            interfaces: [interface])
        var bits = SIMD4<UInt64>(repeating: 0)
        for endpoint in configuration.interfaces.flatMap(\.endpoints) {
            bits[Int(endpoint.address >> 6)] |= 1 << UInt64(endpoint.address & 0x3F)
        }
        self.endpointBits = bits
    }

    /// The descriptors of a token with `identity` and a reader shaped by `configuration`.
    package init(identity: CCIDUSBIdentity, configuration: CCIDDeviceConfiguration) {
        self.init(identity: identity, ccid: configuration.classDescriptor)
    }

    /// The bytes GET_DESCRIPTOR(STRING, `index`) returns: the language list at 0, the
    /// manufacturer, product and serial at 1, 2, 3; `nil` (stall) for any other index. The
    /// language ID is not checked: there is one language.
    package func stringDescriptor(index: UInt8) -> [UInt8]? {
        switch index {
        case 0: USBStringDescriptor.languages()
        case 1: USBStringDescriptor.encode(identity.manufacturer)
        case 2: USBStringDescriptor.encode(identity.product)
        case 3: USBStringDescriptor.encode(identity.serialNumber)
        default: nil
        }
    }

    /// The bytes GET_DESCRIPTOR returns for descriptor `type` and `index`; `nil` (stall) for
    /// what a full-speed-only CCID token does not have (device qualifier, BOS, other indexes).
    package func descriptor(type: UInt8, index: UInt8) -> [UInt8]? {
        switch USBDescriptorType(rawValue: type) {
        case .device: index == 0 ? device.encoded() : nil
        case .configuration: index == 0 ? configuration.encoded() : nil
        case .string: stringDescriptor(index: index)
        default: nil
        }
    }

    /// Whether `address` (with its direction bit) names one of the device's endpoints, 0 included.
    package func hasEndpoint(_ address: UInt8) -> Bool {
        address & 0x7F == 0 || endpointBits[Int(address >> 6)] & (1 << UInt64(address & 0x3F)) != 0
    }

    /// The OP_REP_DEVLIST / OP_REP_IMPORT record of this device at `busID`.
    package func usbipRecord(path: String, busID: String, busNumber: UInt32, deviceNumber: UInt32) -> USBIPDevice {
        USBIPDevice(
            path: path, busID: busID, busNumber: busNumber, deviceNumber: deviceNumber, speed: .full,
            vendorID: identity.vendorID, productID: identity.productID, bcdDevice: identity.bcdDevice,
            deviceClass: device.deviceClass, deviceSubClass: device.deviceSubClass, deviceProtocol: device.deviceProtocol,
            configurationValue: 1, numberOfConfigurations: 1,
            interfaces: configuration.interfaces.map {
                USBIPInterface(interfaceClass: $0.descriptor.interfaceClass, interfaceSubClass: $0.descriptor.interfaceSubClass,
                               interfaceProtocol: $0.descriptor.interfaceProtocol)
            })
    }
}
