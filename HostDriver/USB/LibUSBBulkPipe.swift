#if canImport(CLibUSB)
internal import CLibUSB
#endif
import SealHostDriver
import SealReaderWire
import Dispatch
import SealProtocol

/// The CCID interface of a local USB device through libusb-1.0.
///
/// ```swift
/// let pipe = try await LibUSBBulkPipe.open()                          // the first CCID device
/// let pipe = try await LibUSBBulkPipe.open(USBDeviceID(parsing: "1209:5ea1"))
/// let transport = CCIDTransport(pipe: pipe, description: pipe.reader)
/// ```
///
/// The interface is claimed, never taken: no kernel driver is detached. An interface held by
/// another program — typically pcscd with libccid — fails with
/// ``USBError/Code-swift.struct/deviceBusy`` ("the device is in use, probably by pcscd: stop
/// pcscd or use --reader"); a device node without permission with
/// ``USBError/Code-swift.struct/permissionDenied`` ("no permission to open VID:PID: add a udev
/// rule or run as root").
///
/// libusb's synchronous calls run on two serial dispatch queues of the pipe (bulk, interrupt),
/// never on the cooperative pool. A transfer in progress cannot be cancelled; it ends at its
/// timeout.
package final class LibUSBBulkPipe: CCIDBulkPipe {
    /// What ``CCIDTransport`` needs to know about the reader.
    package let reader: CCIDReaderDescription
    /// The device.
    package let device: USBDeviceInfo
    /// Bound on each bulk OUT transfer.
    package let writeTimeout: Duration

    #if canImport(CLibUSB)
    private let handle: LibUSBHandle
    #endif
    private let bulkQueue: DispatchQueue
    private let interruptQueue: DispatchQueue
    private let bulkIn: USBEndpointDescriptor
    private let bulkOut: USBEndpointDescriptor
    private let interruptIn: USBEndpointDescriptor?

    /// Opens the first device with a CCID interface, or the device with `id`, and claims its
    /// CCID interface.
    ///
    /// - Throws: ``USBError``: `noUSBDevices`, `libusbUnavailable`, `deviceNotFound` (no CCID
    ///   device, or none with `id`), `noCCIDInterface`, `permissionDenied`, `deviceBusy`,
    ///   `deviceGone`, `transferFailed`.
    package static func open(_ id: USBDeviceID? = nil, writeTimeout: Duration = .seconds(5)) async throws(USBError) -> LibUSBBulkPipe {
        #if canImport(CLibUSB)
        let label = "SealKit.LibUSB.\(id?.description ?? "ccid")"
        let bulkQueue = DispatchQueue(label: label + ".bulk")
        let opened = try await USBBlocking.run(label: label + ".open") { () throws(USBError) -> OpenedDevice in
            try LibUSBHandle.open(id)
        }
        return LibUSBBulkPipe(opened: opened, bulkQueue: bulkQueue, interruptQueue: DispatchQueue(label: label + ".interrupt"),
                              writeTimeout: writeTimeout)
        #else
        throw LibUSBContext.unavailable
        #endif
    }

    #if canImport(CLibUSB)
    private init(opened: OpenedDevice, bulkQueue: DispatchQueue, interruptQueue: DispatchQueue, writeTimeout: Duration) {
        self.handle = opened.handle
        self.device = opened.info
        self.bulkIn = opened.bulkIn
        self.bulkOut = opened.bulkOut
        self.interruptIn = opened.interruptIn
        self.bulkQueue = bulkQueue
        self.interruptQueue = interruptQueue
        self.writeTimeout = writeTimeout
        self.reader = CCIDReaderDescription(
            vendorID: opened.info.id.vendorID, productID: opened.info.id.productID,
            interfaceNumber: opened.info.interfaceNumber ?? 0, ccid: opened.info.ccid,
            bulkInPacketSize: Int(max(1, opened.bulkIn.maxPacketSize & 0x07FF)), location: opened.info.location)
    }
    #endif

    // MARK: CCIDBulkPipe

    /// Writes one bulk OUT transfer within ``writeTimeout``.
    package func write(_ bytes: [UInt8]) async throws {
        try await write(bytes, timeout: writeTimeout)
    }

    /// Writes one bulk OUT transfer within `timeout` or ``writeTimeout``, whichever is shorter.
    package func write(_ bytes: [UInt8], timeout limit: Duration) async throws {
        #if canImport(CLibUSB)
        let handle = handle
        let endpoint = bulkOut.address
        let timeout = min(limit, writeTimeout)
        _ = try await run(on: bulkQueue) { () throws(USBError) -> [UInt8] in
            try handle.transfer(endpoint: endpoint, interrupt: false, out: bytes, timeout: timeout)
        }
        #else
        throw LibUSBContext.unavailable
        #endif
    }

    /// Reads one bulk IN transfer (the request rounded up to a multiple of `wMaxPacketSize`, so
    /// that a full last packet never overflows). A timeout after part of the data returns it.
    package func read(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        #if canImport(CLibUSB)
        let handle = handle
        let endpoint = bulkIn.address
        let length = Self.rounded(maxLength, bulkIn)
        return try await run(on: bulkQueue) { () throws(USBError) -> [UInt8] in
            try handle.transfer(endpoint: endpoint, interrupt: false, inLength: length, timeout: timeout)
        }
        #else
        throw LibUSBContext.unavailable
        #endif
    }

    /// Reads one interrupt IN transfer.
    package func readInterrupt(maxLength: Int, timeout: Duration) async throws -> [UInt8] {
        #if canImport(CLibUSB)
        guard let interruptIn else {
            throw USBError(code: .transferFailed, reason: "the CCID interface has no interrupt IN endpoint",
                           device: device.id.description)
        }
        let handle = handle
        let endpoint = interruptIn.address
        let length = Self.rounded(maxLength, interruptIn)
        return try await run(on: interruptQueue) { () throws(USBError) -> [UInt8] in
            try handle.transfer(endpoint: endpoint, interrupt: true, inLength: length, timeout: timeout)
        }
        #else
        throw LibUSBContext.unavailable
        #endif
    }

    /// Waits for transfers in progress, releases the interface and closes the device.
    package func close() async {
        #if canImport(CLibUSB)
        let handle = handle
        let interruptQueue = interruptQueue
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            bulkQueue.async {
                interruptQueue.sync {}
                handle.close()
                continuation.resume()
            }
        }
        #endif
    }

    // MARK: Internals

    private func run(on queue: DispatchQueue, _ body: @escaping @Sendable () throws(USBError) -> [UInt8]) async throws(USBError) -> [UInt8] {
        let result: Result<[UInt8], USBError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { () throws(USBError) -> [UInt8] in try body() }) }
        }
        return try result.get()
    }

    private static func rounded(_ length: Int, _ endpoint: USBEndpointDescriptor) -> Int {
        let packet = max(1, Int(endpoint.maxPacketSize & 0x07FF))
        return (max(1, length) + packet - 1) / packet * packet
    }
}

#if canImport(CLibUSB)
/// What ``LibUSBHandle/open(_:)`` found.
struct OpenedDevice: Sendable {
    let handle: LibUSBHandle
    let info: USBDeviceInfo
    let bulkIn: USBEndpointDescriptor
    let bulkOut: USBEndpointDescriptor
    let interruptIn: USBEndpointDescriptor?
}

/// An open device with its claimed interface.
final class LibUSBHandle: @unchecked Sendable {
    // @unchecked: the pointers are used from the pipe's two serial queues only; libusb handles
    // allow concurrent synchronous transfers on different endpoints. `close()` runs on the bulk
    // queue after the interrupt queue has drained, and only once.
    private let context: LibUSBContext
    private var pointer: OpaquePointer?
    private let interfaceNumber: Int32
    private let name: String

    private init(context: LibUSBContext, pointer: OpaquePointer, interfaceNumber: Int32, name: String) {
        self.context = context
        self.pointer = pointer
        self.interfaceNumber = interfaceNumber
        self.name = name
    }

    deinit { close() }

    /// Finds, opens and claims (blocking).
    static func open(_ id: USBDeviceID?) throws(USBError) -> OpenedDevice {
        let context = try LibUSBContext()
        return try context.withDevices { devices throws(USBError) -> OpenedDevice in
            var candidates: [(OpaquePointer, USBDeviceInfo)] = []
            var matchedWithoutCCID: USBDeviceInfo?
            for device in devices {
                guard let info = LibUSBContext.describe(device) else { continue }
                if let id, info.id != id { continue }
                if info.interfaceNumber == nil {
                    if id != nil { matchedWithoutCCID = info }
                    continue
                }
                candidates.append((device, info))
            }
            guard let (device, info) = candidates.first else {
                if let matchedWithoutCCID {
                    throw USBError(code: .noCCIDInterface, reason: "no interface of class 0B",
                                   device: matchedWithoutCCID.id.description)
                }
                throw USBError(code: .deviceNotFound,
                               reason: id.map { "no USB device \($0) is connected" } ?? "no USB device with a CCID interface is connected",
                               device: id?.description)
            }
            let name = info.id.description
            guard let interface = LibUSBContext.ccidInterface(of: device),
                  let bulkIn = interface.endpoints.first(where: { $0.transferType == .bulk && $0.isIn }),
                  let bulkOut = interface.endpoints.first(where: { $0.transferType == .bulk && !$0.isIn }) else {
                throw USBError(code: .noCCIDInterface, reason: "the CCID interface lacks bulk IN and OUT endpoints", device: name)
            }
            let interruptIn = interface.endpoints.first { $0.transferType == .interrupt && $0.isIn }

            var handle: OpaquePointer?
            let rc = libusb_open(device, &handle)
            guard rc == 0, let handle else { throw Self.error(rc, "libusb_open", device: name) }
            let claim = libusb_claim_interface(handle, Int32(interface.number))
            guard claim == 0 else {
                libusb_close(handle)
                throw Self.error(claim, "libusb_claim_interface(\(interface.number))", device: name)
            }
            let opened = LibUSBHandle(context: context, pointer: handle, interfaceNumber: Int32(interface.number), name: name)
            return OpenedDevice(handle: opened, info: info, bulkIn: bulkIn, bulkOut: bulkOut, interruptIn: interruptIn)
        }
    }

    /// One synchronous OUT transfer.
    func transfer(endpoint: UInt8, interrupt: Bool, out bytes: [UInt8], timeout: Duration) throws(USBError) -> [UInt8] {
        var copy = bytes
        let (rc, count) = copy.withUnsafeMutableBufferPointer { buffer in
            perform(endpoint: endpoint, interrupt: interrupt, buffer: buffer, timeout: timeout)
        }
        guard rc == 0 else { throw Self.error(rc, "OUT transfer of \(bytes.count) bytes", device: name) }
        guard count == bytes.count else {
            throw USBError(code: .transferFailed, reason: "OUT transfer wrote \(count) of \(bytes.count) bytes", device: name)
        }
        return []
    }

    /// One synchronous IN transfer of at most `length` bytes.
    func transfer(endpoint: UInt8, interrupt: Bool, inLength length: Int, timeout: Duration) throws(USBError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(1, length))
        let (rc, count) = buffer.withUnsafeMutableBufferPointer { pointer in
            perform(endpoint: endpoint, interrupt: interrupt, buffer: pointer, timeout: timeout)
        }
        // A timeout after some data: return what came; the caller reassembles by dwLength.
        if rc == 0 || (rc == LIBUSB_ERROR_TIMEOUT.rawValue && count > 0) {
            return Array(buffer.prefix(count))
        }
        throw Self.error(rc, "IN transfer", device: name)
    }

    private func perform(endpoint: UInt8, interrupt: Bool, buffer: UnsafeMutableBufferPointer<UInt8>,
                         timeout: Duration) -> (Int32, Int) {
        guard let pointer else { return (LIBUSB_ERROR_NO_DEVICE.rawValue, 0) }
        var transferred: Int32 = 0
        let milliseconds = UInt32(max(1, milliseconds(timeout)))   // 0 would mean "wait forever"
        let rc = interrupt
            ? libusb_interrupt_transfer(pointer, endpoint, buffer.baseAddress, Int32(clamping: buffer.count), &transferred, milliseconds)
            : libusb_bulk_transfer(pointer, endpoint, buffer.baseAddress, Int32(clamping: buffer.count), &transferred, milliseconds)
        if rc == LIBUSB_ERROR_PIPE.rawValue { _ = libusb_clear_halt(pointer, endpoint) }
        return (rc, Int(max(0, transferred)))
    }

    /// Releases the interface and closes the device (once).
    func close() {
        guard let pointer else { return }
        self.pointer = nil
        _ = libusb_release_interface(pointer, interfaceNumber)
        libusb_close(pointer)
    }

    /// Maps a libusb return code.
    static func error(_ rc: Int32, _ call: String, device: String) -> USBError {
        let reason = "\(call): \(LibUSBContext.errorName(rc))"
        switch rc {
        case LIBUSB_ERROR_ACCESS.rawValue: return USBError(code: .permissionDenied, reason: reason, device: device)
        case LIBUSB_ERROR_BUSY.rawValue: return USBError(code: .deviceBusy, reason: reason, device: device)
        case LIBUSB_ERROR_NO_DEVICE.rawValue: return USBError(code: .deviceGone, reason: reason, device: device)
        case LIBUSB_ERROR_NOT_FOUND.rawValue: return USBError(code: .deviceGone, reason: reason, device: device)
        case LIBUSB_ERROR_TIMEOUT.rawValue: return USBError(code: .timeout, reason: reason, device: device)
        case LIBUSB_ERROR_PIPE.rawValue: return USBError(code: .stalled, reason: reason, device: device)
        default: return USBError(code: .transferFailed, reason: reason, device: device)
        }
    }
}
#endif
