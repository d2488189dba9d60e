import CSealKit
import Foundation
import SealSimulatorServers
import Testing

// Opening tokens by target: USB/IP against the simulator's server in this process, PC/SC against
// the machine's pcscd (SEALKIT_PCSC_TESTS=1), and the errors of targets that are malformed or
// absent.

@Suite("opening tokens by target", .timeLimit(.minutes(2)))
struct TargetTests {
    @Test("a token over USB/IP: info, PIN, stamp, and a record that verifies")
    func usbip() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealkit-clib-usbip-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = USBIPServer.Configuration(stateDirectory: directory, host: "127.0.0.1", port: 0, devices: 1)
        let server = try await USBIPServer.start(configuration: configuration, log: { _ in })
        defer { server.stop() }
        let address = "127.0.0.1:\(server.port)/1-1"

        let (info, record) = try await onCThread {
            var error: OpaquePointer?
            let roots = Array(vendorRootPEM.utf8)
            guard let token = sealkit_token_open_usbip(address, roots, roots.count, &error) else {
                throw takeError(error) ?? CallFailure(code: -1, message: "?", statusWord: -1, triesRemaining: -1)
            }
            defer { sealkit_token_close(token) }
            let handle = TokenPointer(pointer: token)
            let info = try callString { sealkit_token_info(token, $0) }
            try callStatus { sealkit_token_verify_pin(token, "123456", $0) }
            return (info, try stamp(handle))
        }
        #expect(try jsonObject(info)["lifecycle"] as? String == "ACTIVE")
        let transport = try #require(try jsonObject(info)["transport"] as? String)
        #expect(transport.hasPrefix("CCID ") && transport.hasSuffix(" at \(address)"), "\(transport)")
        #expect(try await verify(record).valid)
    }

    @Test("malformed and absent targets", arguments: [
        ("usbip", "not an address:xx", SEALKIT_E_TARGET_INVALID),
        ("usbip", "127.0.0.1:1", SEALKIT_E_SERVICE_UNAVAILABLE),
        ("usb", "zz:yy", SEALKIT_E_TARGET_INVALID),
        ("pcsc", "", SEALKIT_E_TARGET_INVALID),
    ])
    func badTargets(kind: String, address: String, expected: Int32) async throws {
        let failure = try await onCThread { () -> CallFailure? in
            var error: OpaquePointer?
            let token = switch kind {
            case "usbip": sealkit_token_open_usbip(address, nil, 0, &error)
            case "usb": sealkit_token_open_usb(address, nil, 0, &error)
            default: sealkit_token_open_pcsc(address, 0, nil, 0, &error)
            }
            sealkit_token_close(token)
            return takeError(error)
        }
        #expect(failure?.code == expected, "\(String(describing: failure))")
        #expect(failure?.message.isEmpty == false)
    }

    @Test("unknown flags are refused before anything is opened")
    func unknownFlags() async throws {
        let failure = try await onCThread { () -> CallFailure? in
            var error: OpaquePointer?
            #expect(sealkit_token_open_pcsc("Virtual PCD 00 00", 0x2, nil, 0, &error) == nil)
            return takeError(error)
        }
        #expect(failure?.code == SEALKIT_E_INVALID_ARGUMENT)
        #expect(failure?.message.contains("SEALKIT_PCSC_EXCLUSIVE") == true)
    }

    @Test("a reader pcscd does not know: SEALKIT_E_TARGET_NOT_FOUND, listing the readers",
          .enabled(if: ProcessInfo.processInfo.environment["SEALKIT_PCSC_TESTS"] == "1"))
    func unknownReader() async throws {
        let failure = try await onCThread { () -> CallFailure? in
            var error: OpaquePointer?
            #expect(sealkit_token_open_pcsc("no such reader", 0, nil, 0, &error) == nil)
            return takeError(error)
        }
        #expect(failure?.code == SEALKIT_E_TARGET_NOT_FOUND, "\(String(describing: failure))")
        #expect(failure?.message.contains("Virtual PCD 00 00") == true)
    }
}
