import SealUSB
import SealReaderWire
import SealSimulatorServers
import SealSimulatedToken
import SealFirmware
import SealHostDriver
import SealProtocol
import Testing

@Suite("libusb enumeration and USB errors")
struct LibUSBTests {
    /// This machine may have no USB stack at all: enumeration must then say so, quickly and
    /// without crashing. With a USB stack, every listed device has a CCID interface.
    @Test("listing USB CCID devices reports devices or a clear reason", .timeLimit(.minutes(1)))
    func list() async {
        do {
            let devices = try await USBDevices.list()
            for device in devices { #expect(device.interfaceNumber != nil, "\(device)") }
        } catch {
            #expect([USBError.Code.noUSBDevices, .libusbUnavailable].contains(error.code), "\(error)")
            #expect(!error.message.isEmpty)
            #expect(error.driverError.code == .transportFailure)
            if error.code == .noUSBDevices { #expect(error.message.hasPrefix("no USB devices")) }
        }
    }

    @Test("a VID:PID filter on a machine without it finds nothing", .timeLimit(.minutes(1)))
    func listMatching() async {
        do {
            let devices = try await USBDevices.list(matching: USBDeviceID(vendorID: 0xFFFE, productID: 0xFFFD))
            #expect(devices.isEmpty)
        } catch {
            #expect([USBError.Code.noUSBDevices, .libusbUnavailable].contains(error.code), "\(error)")
        }
    }

    @Test("opening a device where there is none fails with a typed error", .timeLimit(.minutes(1)))
    func openNothing() async {
        do {
            let pipe = try await LibUSBBulkPipe.open(USBDeviceID(vendorID: 0xFFFE, productID: 0xFFFD))
            await pipe.close()
            Issue.record("opened a device that should not exist")
        } catch {
            #expect([USBError.Code.noUSBDevices, .libusbUnavailable, .deviceNotFound].contains(error.code), "\(error)")
            #expect(error.driverError.code != .cardRemoved)
        }
    }

    @Test("CCIDTransport.usb reports a bad VID:PID or the lack of a device", .timeLimit(.minutes(1)))
    func convenience() async {
        await #expect(throws: USBError(code: .invalidAddress, reason: "")) { try await CCIDTransport.usb("not-an-id") }
        do {
            let transport = try await CCIDTransport.usb("fffe:fffd")
            await transport.close()
            Issue.record("opened a device that should not exist")
        } catch {
            #expect([USBError.Code.noUSBDevices, .libusbUnavailable, .deviceNotFound].contains(error.code), "\(error)")
        }
    }

    @Test("VID:PID parses in hex", arguments: [
        ("1209:5ea1", 0x1209, 0x5EA1), ("0x1209:0X5EA1", 0x1209, 0x5EA1), ("1:2", 1, 2), ("FFFF:0000", 0xFFFF, 0),
    ])
    func deviceID(text: String, vendor: Int, product: Int) throws {
        let id = try USBDeviceID(parsing: text)
        #expect(id == USBDeviceID(vendorID: UInt16(vendor), productID: UInt16(product)))
    }

    @Test("bad VID:PID is invalidAddress", arguments: ["1209", "1209:", ":5ea1", "12345:1", "zz:01", "1:2:3", "", "-1:2"])
    func badDeviceID(text: String) {
        #expect(throws: USBError(code: .invalidAddress, reason: "")) { try USBDeviceID(parsing: text) }
    }

    @Test("VID:PID prints as lsusb does")
    func deviceIDDescription() {
        #expect(USBDeviceID(vendorID: 0x1209, productID: 0x0A).description == "1209:000a")
        let info = USBDeviceInfo(id: USBDeviceID(vendorID: 0x1209, productID: 0x5EA1), busNumber: 1, deviceAddress: 4,
                                 interfaceNumber: 0, ccid: nil)
        #expect(info.description == "1209:5ea1 (bus 001 device 004, CCID interface 0)")
    }

    @Test("permission and busy errors say what to do")
    func messages() {
        let access = USBError(code: .permissionDenied, reason: "libusb_open: LIBUSB_ERROR_ACCESS", device: "1209:5ea1")
        #expect(access.message == "no permission to open 1209:5ea1: add a udev rule or run as root")
        let busy = USBError(code: .deviceBusy, reason: "libusb_claim_interface(0): LIBUSB_ERROR_BUSY", device: "1209:5ea1")
        #expect(busy.message == "the device is in use, probably by pcscd: stop pcscd or use --reader")
        #expect(USBError(code: .noUSBDevices, reason: "libusb sees no USB device").message == "no USB devices: libusb sees no USB device")
    }

    @Test("USB errors map to driver errors")
    func driverErrors() {
        #expect(USBError(code: .deviceGone, reason: "").driverError.code == .cardRemoved)
        #expect(USBError(code: .timeout, reason: "").driverError.code == .noResponse)
        #expect(USBError(code: .invalidAddress, reason: "").driverError.code == .invalidArgument)
        #expect(USBError(code: .deviceNotFound, reason: "").driverError.code == .invalidArgument)
        #expect(USBError(code: .deviceBusy, reason: "").driverError.code == .transportFailure)
        #expect(USBError(code: .permissionDenied, reason: "").driverError.code == .transportFailure)
        #expect(USBError(code: .deviceBusy, reason: "x") == USBError(code: .deviceBusy, reason: "y"))
        #expect(USBError(code: .iccMute, reason: "").driverError.code == .noResponse)
        #expect(USBError(code: .cardAbsent, reason: "").driverError.code == .cardRemoved)
        #expect(USBError(code: .unsupportedReader, reason: "").driverError.code == .notSupportedByToken)
        #expect(USBError(code: .sequenceMismatch, reason: "").driverError.code == .transportFailure)
        #expect(USBError(code: .timeExtensionLimit, reason: "").driverError.code == .noResponse)
        #expect(USBError(code: .commandTooLong, reason: "").driverError.code == .commandTooLong)
        #expect(USBError(code: .responseTooLong, reason: "").driverError.code == .responseTooLong)
        // The driver error keeps the USB error underneath, its description in the reason.
        let gone = USBError(code: .deviceGone, reason: "bulk IN: ENODEV", device: "1209:5ea1")
        #expect(gone.driverError.reason == gone.description)
        #expect((gone.driverError.underlyingError as? USBError)?.device == "1209:5ea1")
    }

    @Test("one USB error type, compared by code only")
    func equalityByCode() {
        // USB access and CCID failures are one type: the diagnostics (device, bError) are not compared.
        let muteA = USBError(code: .iccMute, reason: "a", slotError: .iccMute)
        let muteB = USBError(code: .iccMute, reason: "b", device: "1209:5ea1")
        #expect(muteA == muteB)
        #expect(Set([muteA, muteB]).count == 1)
        #expect(muteA != USBError(code: .cardAbsent, reason: "a", slotError: .iccMute))
        #expect(USBError(code: .timeout, reason: "x", device: "a") == USBError(code: .timeout, reason: "y", device: "b"))
        #expect(USBError.Code.sequenceMismatch.description == "sequenceMismatch")
        #expect(muteA.description.hasPrefix("USBError.iccMute: "))
    }
}
