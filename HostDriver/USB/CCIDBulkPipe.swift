import SealHostDriver
import SealReaderWire
import SealProtocol

/// The USB pipes of one CCID interface: bulk OUT, bulk IN and (optionally) interrupt IN.
///
/// ``CCIDTransport`` speaks CCID over any pipe: ``USBIPBulkPipe`` (a device imported from a USB/IP
/// server), ``LibUSBBulkPipe`` (a local device through libusb-1.0), or a test double.
///
/// ## Transfers and zero-length packets
/// Each ``read(maxLength:timeout:)`` returns the bytes of **one** bulk IN transfer. A transfer
/// ends with a short packet; a CCID message whose length is an exact multiple of `wMaxPacketSize`
/// is ended by a zero-length packet (ZLP). So:
/// - a read may return only part of a message (e.g. one full packet, when the pipe delivers
///   packets): more follows, and the host reassembles by `dwLength`;
/// - a read may return `[]`: a ZLP. Before any byte of a message it is a stray ZLP left over from
///   the previous message and is skipped; inside a message it ends the transfer early (the
///   message is truncated).
///
/// ## Errors
/// Implementations throw ``USBError`` (``USBError/Code-swift.struct/timeout`` when nothing came
/// in time, ``USBError/Code-swift.struct/deviceGone`` when the device went away) or
/// `CancellationError`.
package protocol CCIDBulkPipe: Sendable {
    /// Writes one bulk OUT transfer.
    func write(_ bytes: [UInt8]) async throws

    /// Writes one bulk OUT transfer, waiting at most `timeout` (or the pipe's own write timeout,
    /// whichever is shorter) for the device to take it. ``CCIDTransport`` passes what is left of the
    /// command's `commandTimeout`. The default ignores `timeout` and calls ``write(_:)``.
    func write(_ bytes: [UInt8], timeout: Duration) async throws

    /// Reads one bulk IN transfer of at most `maxLength` bytes (implementations may round the
    /// request up to a multiple of `wMaxPacketSize` and return what came).
    func read(maxLength: Int, timeout: Duration) async throws -> [UInt8]

    /// Reads one interrupt IN transfer (`RDR_to_PC_NotifySlotChange`, `RDR_to_PC_HardwareError`).
    /// Pipes without an interrupt endpoint throw ``USBError/Code-swift.struct/transferFailed``.
    func readInterrupt(maxLength: Int, timeout: Duration) async throws -> [UInt8]

    /// Releases the pipe (cancels pending transfers, closes the connection or device). Calling it
    /// twice is harmless; transfers afterwards fail with
    /// ``USBError/Code-swift.struct/connectionClosed``. The default does nothing.
    func close() async

    /// Writes one bulk OUT transfer and reads the bulk IN transfer that answers it, synchronously
    /// on the calling thread, for pipes that can do so in a bounded time (a few milliseconds): a
    /// command's usual round trip then needs no task hop. ``CCIDTransport`` tries it for the first
    /// part of each command.
    ///
    /// - Returns: ``CCIDDirectExchange/answer(_:)`` with the bytes ``read(maxLength:timeout:)``
    ///   would have returned; ``CCIDDirectExchange/written`` when the answer did not come in that
    ///   time: the bytes are written as by ``write(_:timeout:)`` and the next
    ///   ``read(maxLength:timeout:)`` throws the write's error, if any, or returns the answer;
    ///   ``CCIDDirectExchange/unavailable`` when the pipe cannot (nothing was written). The
    ///   default is `unavailable`.
    func exchangeDirectly(_ bytes: [UInt8], timeout: Duration) throws -> CCIDDirectExchange
}

/// What ``CCIDBulkPipe/exchangeDirectly(_:timeout:)`` did.
package enum CCIDDirectExchange: Sendable, Hashable {
    /// Written, and this is the bulk IN transfer that answered.
    case answer([UInt8])
    /// Written; the answer comes from the next read.
    case written
    /// Nothing written: use ``CCIDBulkPipe/write(_:timeout:)``.
    case unavailable
}

extension CCIDBulkPipe {
    /// Does nothing.
    package func close() async {}

    /// `unavailable`: the transport writes and reads through the async requirements.
    package func exchangeDirectly(_ bytes: [UInt8], timeout: Duration) throws -> CCIDDirectExchange { .unavailable }

    /// Calls ``write(_:)``: for pipes whose writes complete at once (test doubles).
    package func write(_ bytes: [UInt8], timeout: Duration) async throws {
        try await write(bytes)
    }
}

/// What a CCID pipe knows about the reader behind it, from its USB descriptors.
public struct CCIDReaderDescription: Hashable, Sendable, CustomStringConvertible {
    /// `idVendor`.
    public var vendorID: UInt16
    /// `idProduct`.
    public var productID: UInt16
    /// The CCID interface number.
    public var interfaceNumber: UInt8
    /// The CCID class descriptor (`dwMaxCCIDMessageLength`, `dwFeatures` exchange level, slots).
    public var ccid: CCIDClassDescriptor?
    /// `wMaxPacketSize` of the bulk IN endpoint.
    public var bulkInPacketSize: Int
    /// Where it is: a USB/IP `host:port/busid` or a libusb `bus B device D`.
    public var location: String

    /// Creates a description.
    package init(vendorID: UInt16, productID: UInt16, interfaceNumber: UInt8, ccid: CCIDClassDescriptor?,
                bulkInPacketSize: Int, location: String) {
        self.vendorID = vendorID
        self.productID = productID
        self.interfaceNumber = interfaceNumber
        self.ccid = ccid
        self.bulkInPacketSize = bulkInPacketSize
        self.location = location
    }

    /// `VVVV:PPPP` in lower-case hex, as `lsusb` prints it.
    public var deviceID: String { USBDeviceID(vendorID: vendorID, productID: productID).description }

    public var description: String { "CCID \(deviceID) at \(location)" }
}
