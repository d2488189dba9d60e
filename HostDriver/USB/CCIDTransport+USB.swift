import SealHostDriver
import SealReaderWire
import SealProtocol

extension CCIDTransport {
    /// Imports a token from a USB/IP server and returns a transport to it: what
    /// `sealctl --usbip HOST[:PORT][/BUSID]` uses.
    ///
    /// ```swift
    /// let transport = try await CCIDTransport.usbip("127.0.0.1:3240/1-1")
    /// let token = SealToken(transport: transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [vendorRoot]))
    /// …
    /// await transport.close()          // unlinks pending URBs, closes the connection
    /// ```
    ///
    /// - Parameters:
    ///   - address: `HOST[:PORT][/BUSID]`; without a bus id, the first exported device with a CCID
    ///     interface.
    ///   - timeout: bound on connecting, each operation-phase reply and each descriptor request.
    ///   - configuration: the transport's slot, reply timeout and limits.
    /// - Throws: ``USBError`` (show its ``USBError/message``): `invalidAddress`, `connectionFailed`,
    ///   `deviceNotFound`, `importFailed`, `noCCIDInterface`, `protocolError`, `timeout`.
    public static func usbip(_ address: String, timeout: Duration = .seconds(5),
                             configuration: Configuration = Configuration()) async throws(USBError) -> CCIDTransport {
        let parsed = try USBIPAddress(parsing: address)
        let pipe = try await USBIPClient(address: parsed, timeout: timeout).importDevice()
        return CCIDTransport(pipe: pipe, description: pipe.reader, configuration: configuration)
    }

    /// Opens a local USB CCID token through libusb-1.0 and returns a transport to it: what
    /// `sealctl --usb [VID:PID]` uses.
    ///
    /// - Parameters:
    ///   - deviceID: `VID:PID` in hex, e.g. `"20a0:42d4"`; `nil` for the first device with a CCID
    ///     interface.
    ///   - configuration: the transport's slot, reply timeout and limits.
    /// - Throws: ``USBError`` (show its ``USBError/message``): `invalidAddress`, `noUSBDevices`,
    ///   `deviceNotFound`, `noCCIDInterface`, `permissionDenied` ("add a udev rule or run as
    ///   root"), `deviceBusy` ("probably by pcscd: stop pcscd or use --reader"),
    ///   `libusbUnavailable`.
    public static func usb(_ deviceID: String? = nil, configuration: Configuration = Configuration()) async throws(USBError) -> CCIDTransport {
        let id = try deviceID.map { (text) throws(USBError) -> USBDeviceID in try USBDeviceID(parsing: text) }
        let pipe = try await LibUSBBulkPipe.open(id)
        return CCIDTransport(pipe: pipe, description: pipe.reader, configuration: configuration)
    }
}
