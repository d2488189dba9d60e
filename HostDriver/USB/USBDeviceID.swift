import SealHostDriver
import SealReaderWire
import SealProtocol

/// A USB vendor and product id, written `VVVV:PPPP` in hex as `lsusb` prints it.
public struct USBDeviceID: Hashable, Sendable, CustomStringConvertible {
    /// `idVendor`.
    public var vendorID: UInt16
    /// `idProduct`.
    public var productID: UInt16

    /// Creates an id.
    public init(vendorID: UInt16, productID: UInt16) {
        self.vendorID = vendorID
        self.productID = productID
    }

    /// Parses `VVVV:PPPP` (1 to 4 hex digits each, optional `0x`).
    ///
    /// - Throws: ``USBError/Code-swift.struct/invalidAddress`` with what is wrong.
    public init(parsing text: String) throws(USBError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw USBError(code: .invalidAddress, reason: "\"\(text)\" is not VID:PID (e.g. 1209:5ea1)")
        }
        func hex(_ part: Substring, _ what: String) throws(USBError) -> UInt16 {
            var digits = part.trimmingPrefix("0x")
            if digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
            guard (1...4).contains(digits.count), let value = UInt16(digits, radix: 16) else {
                throw USBError(code: .invalidAddress, reason: "\(what) \"\(part)\" in \"\(text)\" is not 1 to 4 hex digits")
            }
            return value
        }
        vendorID = try hex(parts[0], "the vendor id")
        productID = try hex(parts[1], "the product id")
    }

    public var description: String {
        Self.hex4(vendorID) + ":" + Self.hex4(productID)
    }

    private static func hex4(_ value: UInt16) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }
}
