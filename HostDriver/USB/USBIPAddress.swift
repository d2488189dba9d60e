import SealHostDriver
import SealReaderWire
import SealProtocol

/// Where a USB/IP server is, and optionally which device: `HOST[:PORT][/BUSID]`.
///
/// `HOST` is a name, an IPv4 address or a bracketed IPv6 address (`[::1]`); `PORT` defaults to
/// 3240; `BUSID` (e.g. `1-1`) names the exported device, and without it the first device with a
/// CCID interface is imported.
///
/// ```swift
/// try USBIPAddress(parsing: "127.0.0.1")            // 127.0.0.1:3240, first CCID device
/// try USBIPAddress(parsing: "sim.local:3241/1-1")
/// try USBIPAddress(parsing: "[::1]:3240/2-1.4")
/// ```
public struct USBIPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The host name or address (IPv6 without brackets).
    public var host: String
    /// The TCP port.
    public var port: UInt16
    /// The bus id of the device to import, or `nil` for the first CCID device.
    public var busID: String?

    /// Creates an address.
    public init(host: String, port: UInt16 = USBIP.defaultPort, busID: String? = nil) {
        self.host = host
        self.port = port
        self.busID = busID
    }

    /// Parses `HOST[:PORT][/BUSID]`.
    ///
    /// - Throws: ``USBError/Code-swift.struct/invalidAddress`` saying what is wrong: an empty host,
    ///   a port that is not 1…65535, an empty or over-long (more than 31 bytes) bus id, an
    ///   unclosed `[`.
    public init(parsing text: String) throws(USBError) {
        func invalid(_ why: String) -> USBError {
            USBError(code: .invalidAddress, reason: "\"\(text)\": \(why); expected HOST[:PORT][/BUSID], e.g. 127.0.0.1:3240/1-1")
        }
        let trimmed = text.usbipTrimmed(" \t")
        var hostPort = Substring(trimmed)
        var busID: String?
        if let slash = trimmed.firstIndex(of: "/") {
            hostPort = trimmed[..<slash]
            let bus = String(trimmed[trimmed.index(after: slash)...])
            guard !bus.isEmpty else { throw invalid("the bus id after / is empty") }
            guard bus.utf8.count < USBIP.busIDSize else { throw invalid("the bus id is longer than 31 bytes") }
            guard !bus.contains("/"), !bus.contains(where: { $0.isWhitespace }) else {
                throw invalid("the bus id \"\(bus)\" contains / or spaces")
            }
            busID = bus
        }
        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("the [ of an IPv6 address is not closed") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let rest = hostPort[hostPort.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw invalid("unexpected \"\(rest)\" after the IPv6 address") }
                portText = rest.dropFirst()
            }
        } else {
            let colons = hostPort.filter { $0 == ":" }.count
            if colons == 1, let colon = hostPort.firstIndex(of: ":") {
                host = hostPort[..<colon]
                portText = hostPort[hostPort.index(after: colon)...]
            } else if colons > 1 {
                throw invalid("an IPv6 address must be in brackets, e.g. [::1]:3240")
            } else {
                host = hostPort
            }
        }
        guard !host.isEmpty else { throw invalid("the host is empty") }
        var port = USBIP.defaultPort
        if let portText {
            guard let value = Int(portText), (1...65_535).contains(value) else {
                throw invalid("the port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = UInt16(value)
        }
        self.init(host: String(host), port: port, busID: busID)
    }

    /// `host:port` (IPv6 in brackets).
    public var endpoint: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

    /// `host:port[/busid]`.
    public var description: String { endpoint + (busID.map { "/\($0)" } ?? "") }
}

extension String {
    fileprivate func usbipTrimmed(_ set: String) -> String {
        let characters = Set(set)
        var view = Substring(self)
        while let first = view.first, characters.contains(first) { view = view.dropFirst() }
        while let last = view.last, characters.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
