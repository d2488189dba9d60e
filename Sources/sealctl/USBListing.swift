import SealUSB
import SealHostDriver

/// USB CCID devices the driver can see through libusb, or why it sees none.
enum USBListing {
    static func describe() async -> (devices: [String], problem: String?) {
        do {
            let devices = try await USBDevices.list()
            if devices.isEmpty { return ([], "no USB CCID devices found") }
            return (devices.map { "\($0)" }, nil)
        } catch {
            return ([], error.message)
        }
    }
}
