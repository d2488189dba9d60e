#if canImport(CLibUSB)
internal import CLibUSB
#endif
import SealHostDriver
import SealReaderWire
import Dispatch
import SealProtocol

/// A USB device with a CCID (smart card, class `0B`) interface, as libusb-1.0 enumerates it.
public struct USBDeviceInfo: Hashable, Sendable, CustomStringConvertible {
    /// `idVendor` and `idProduct`.
    public var id: USBDeviceID
    /// The bus number.
    public var busNumber: UInt8
    /// The device address on its bus.
    public var deviceAddress: UInt8
    /// The number of the first CCID interface, or `nil` for a device listed because it matched
    /// a requested `VID:PID` but has no CCID interface.
    public var interfaceNumber: UInt8?
    /// The CCID class descriptor of that interface, when present and well formed.
    public var ccid: CCIDClassDescriptor?

    /// Creates a description.
    package init(id: USBDeviceID, busNumber: UInt8, deviceAddress: UInt8, interfaceNumber: UInt8?, ccid: CCIDClassDescriptor?) {
        self.id = id
        self.busNumber = busNumber
        self.deviceAddress = deviceAddress
        self.interfaceNumber = interfaceNumber
        self.ccid = ccid
    }

    /// `bus 001 device 004`.
    public var location: String { "bus \(Self.pad(busNumber)) device \(Self.pad(deviceAddress))" }

    /// `1209:5ea1 (bus 001 device 004, CCID interface 0)`.
    public var description: String {
        "\(id) (\(location), " + (interfaceNumber.map { "CCID interface \($0)" } ?? "no CCID interface") + ")"
    }

    private static func pad(_ value: UInt8) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 3 - text.count)) + text
    }
}

/// Enumeration of local USB CCID devices through libusb-1.0.
public enum USBDevices {
    /// Lists the USB devices with a CCID interface, or with `id` when given (then a matching
    /// device without a CCID interface is listed too, with ``USBDeviceInfo/interfaceNumber`` `nil`,
    /// so that the caller can say why it cannot be used).
    ///
    /// Enumeration does not open any device, so it needs no permission.
    ///
    /// - Returns: the devices; empty when the machine has USB devices but none matches.
    /// - Throws: ``USBError``: ``USBError/Code-swift.struct/noUSBDevices`` when libusb sees no
    ///   USB device at all (no USB stack, no `/dev/bus/usb`, a container without USB);
    ///   ``USBError/Code-swift.struct/libusbUnavailable`` when built without libusb or when
    ///   `libusb_init` fails.
    public static func list(matching id: USBDeviceID? = nil) async throws(USBError) -> [USBDeviceInfo] {
        #if canImport(CLibUSB)
        return try await USBBlocking.run(label: "SealKit.LibUSB.list") { () throws(USBError) -> [USBDeviceInfo] in
            let context = try LibUSBContext()
            return try context.withDevices { devices throws(USBError) -> [USBDeviceInfo] in
                devices.compactMap { device in
                    guard let info = LibUSBContext.describe(device) else { return nil }
                    if let id { return info.id == id ? info : nil }
                    return info.interfaceNumber == nil ? nil : info
                }
            }
        }
        #else
        throw LibUSBContext.unavailable
        #endif
    }
}

#if canImport(CLibUSB)
/// One `libusb_context`; closed on deinit. Confined to the thread (queue) that uses it.
final class LibUSBContext: @unchecked Sendable {
    // @unchecked: the context pointer is used only from the owning pipe's queues (libusb
    // contexts are thread-safe), and released once in deinit.
    let pointer: OpaquePointer

    init() throws(USBError) {
        var context: OpaquePointer?
        let rc = libusb_init(&context)
        guard rc == 0, let context else {
            throw USBError(code: .libusbUnavailable, reason: "libusb_init failed: \(LibUSBContext.errorName(rc))")
        }
        pointer = context
    }

    deinit { libusb_exit(pointer) }

    /// Runs `body` over the current device list.
    ///
    /// - Throws: ``USBError/Code-swift.struct/noUSBDevices`` when the list is empty or cannot
    ///   be read.
    func withDevices<T>(_ body: ([OpaquePointer]) throws(USBError) -> T) throws(USBError) -> T {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(pointer, &list)
        guard count >= 0 else {
            throw USBError(code: .noUSBDevices,
                           reason: "libusb cannot list devices (\(LibUSBContext.errorName(Int32(clamping: count))))")
        }
        defer { if let list { libusb_free_device_list(list, 1) } }
        guard count > 0, let list else {
            throw USBError(code: .noUSBDevices,
                           reason: "libusb sees no USB device on this machine (no USB bus or no access to /dev/bus/usb)")
        }
        let devices = (0..<Int(count)).compactMap { list[$0] }
        return try body(devices)
    }

    /// The device's ids and its first CCID interface, or `nil` if its descriptor is unreadable.
    static func describe(_ device: OpaquePointer) -> USBDeviceInfo? {
        var descriptor = libusb_device_descriptor()
        guard libusb_get_device_descriptor(device, &descriptor) == 0 else { return nil }
        let ccid = ccidInterface(of: device)
        return USBDeviceInfo(id: USBDeviceID(vendorID: descriptor.idVendor, productID: descriptor.idProduct),
                             busNumber: libusb_get_bus_number(device), deviceAddress: libusb_get_device_address(device),
                             interfaceNumber: ccid?.number, ccid: ccid?.descriptor)
    }

    /// The first class-`0B` interface of the active (else the first) configuration: its number,
    /// its CCID class descriptor, and its endpoints (address, attributes, wMaxPacketSize, interval).
    static func ccidInterface(of device: OpaquePointer)
        -> (number: UInt8, descriptor: CCIDClassDescriptor?, endpoints: [USBEndpointDescriptor])?
    {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        if libusb_get_active_config_descriptor(device, &config) != 0 || config == nil {
            config = nil
            guard libusb_get_config_descriptor(device, 0, &config) == 0 else { return nil }
        }
        guard let config else { return nil }
        defer { libusb_free_config_descriptor(config) }
        let configuration = config.pointee
        guard let interfaces = configuration.interface else { return nil }
        for index in 0..<Int(configuration.bNumInterfaces) {
            let interface = interfaces[index]
            guard let settings = interface.altsetting else { continue }
            for alternate in 0..<Int(max(0, interface.num_altsetting)) {
                let setting = settings[alternate]
                guard setting.bInterfaceClass == USBInterfaceDescriptor.smartCardClass else { continue }
                var endpoints: [USBEndpointDescriptor] = []
                var extras: [[UInt8]] = [bytes(setting.extra, setting.extra_length)]
                if let list = setting.endpoint {
                    for number in 0..<Int(setting.bNumEndpoints) {
                        let endpoint = list[number]
                        var descriptor = USBEndpointDescriptor(address: endpoint.bEndpointAddress, transferType: .bulk,
                                                               maxPacketSize: endpoint.wMaxPacketSize, interval: endpoint.bInterval)
                        descriptor.attributes = endpoint.bmAttributes
                        endpoints.append(descriptor)
                        // Some readers put the CCID descriptor after the endpoints (libccid copes too).
                        extras.append(bytes(endpoint.extra, endpoint.extra_length))
                    }
                }
                let ccid = extras.lazy.compactMap(findCCIDDescriptor).first
                return (setting.bInterfaceNumber, ccid, endpoints)
            }
        }
        return nil
    }

    private static func bytes(_ pointer: UnsafePointer<UInt8>?, _ length: Int32) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    /// Finds a 54-byte descriptor of type `21` in a chain of class-specific descriptors.
    private static func findCCIDDescriptor(_ extra: [UInt8]) -> CCIDClassDescriptor? {
        var offset = 0
        while offset + 2 <= extra.count {
            let length = Int(extra[offset])
            guard length >= 2, offset + length <= extra.count else { return nil }
            if extra[offset + 1] == USBDescriptorType.ccidClass.rawValue, length == CCIDClassDescriptor.length {
                return try? CCIDClassDescriptor(decoding: Array(extra[offset ..< offset + length]))
            }
            offset += length
        }
        return nil
    }

    /// `LIBUSB_ERROR_ACCESS`, or the number for unknown codes.
    static func errorName(_ code: Int32) -> String {
        guard let name = libusb_error_name(code) else { return "libusb error \(code)" }
        return String(cString: name)
    }
}
#else
enum LibUSBContext {
    static var unavailable: USBError {
        USBError(code: .libusbUnavailable, reason: "this build has no libusb-1.0 (install libusb-1.0-0-dev and rebuild)")
    }
}
#endif
