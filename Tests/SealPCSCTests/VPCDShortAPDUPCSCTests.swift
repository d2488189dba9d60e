#if canImport(CPCSCLite)
import CPCSCLite
import Foundation
import SealFirmware
import SealSimulatorServers
import Synchronization
import Testing

// Short APDUs through the real pcscd + vpcd (SEALKIT_PCSC_TESTS=1): part of VPCDPCSCTests, whose
// tests run one at a time because they all serve slot 0's port. The driver's PCSCTransport refuses
// short APDUs itself, so this test calls libpcsclite directly, as any PC/SC application can.
//
// A 0-byte SCardTransmit is not sent here: with pcsc-lite 1.9.9 and vpcd 3.3 it never reaches the
// card's socket (measured: the request goes to pcscd, no frame arrives at the card, and the reader
// then blocks every client, SCardConnect included), so it is outside what the card server can
// answer. The card server answers an empty frame 67 00 when one does arrive (VPCDCardServerTests).

extension VPCDPCSCTests {
    /// One `SCardTransmit` on its own thread, so that a card that never answers (the defect this
    /// guards against: vpcd then blocks pcscd's reader until the card's socket closes) fails the
    /// test after `seconds` instead of hanging it. `nil` when no answer came in time.
    static func transmit(_ handle: SCARDHANDLE, _ apdu: [UInt8], within seconds: Double = 5) -> (code: LONG, response: [UInt8])? {
        let result = Mutex<(code: LONG, response: [UInt8])?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var sendPCI = g_rgSCardT1Pci
            var receive = [UInt8](repeating: 0, count: 258)
            var length = DWORD(receive.count)
            // A real buffer even for 0 bytes: libpcsclite refuses a NULL send buffer.
            var send = apdu + [0x00]
            let code = send.withUnsafeMutableBufferPointer { sendBuffer in
                receive.withUnsafeMutableBufferPointer { receiveBuffer in
                    SCardTransmit(handle, &sendPCI, sendBuffer.baseAddress, DWORD(apdu.count), nil, receiveBuffer.baseAddress, &length)
                }
            }
            result.withLock { $0 = (code, Array(receive.prefix(Int(length)))) }
            done.signal()
        }
        thread.start()
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return result.withLock { $0 }
    }

    @Test("1-, 2- and 3-byte APDUs are answered 67 00 and the reader keeps working")
    func shortAPDUs() async throws {
        let state = URL(fileURLWithPath: "/tmp/sealkit-vpcd-short-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: state) }
        var configuration = VPCDCardServer.Configuration(stateDirectory: state, basePort: Self.port, slots: 1)
        configuration.reinsertDelayMilliseconds = 1_000
        let server = try await VPCDCardServer.start(configuration: configuration) { _ in }
        defer { server.stop() }
        // Until this server's card answers (pcscd may still show the card of a previous test).
        let ready = try await Self.openscTool(["-s", "00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01"]) {
            $0.output.contains("SW1=0x90, SW2=0x00")
        }
        try #require(ready.output.contains("SW1=0x90, SW2=0x00"), "\(ready.output)")

        var context = SCARDCONTEXT()
        try #require(SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &context) == SCARD_S_SUCCESS)
        defer { SCardReleaseContext(context) }
        var handle = SCARDHANDLE()
        var active = DWORD(0)
        let connected = SCardConnect(context, Self.reader, DWORD(SCARD_SHARE_SHARED), DWORD(SCARD_PROTOCOL_T1), &handle, &active)
        try #require(connected == SCARD_S_SUCCESS, "SCardConnect: \(String(UInt32(bitPattern: Int32(truncatingIfNeeded: connected)), radix: 16))")
        defer { SCardDisconnect(handle, DWORD(SCARD_LEAVE_CARD)) }

        // SELECT without FCI (P2 0C): 9000.
        let select: [UInt8] = [0x00, 0xA4, 0x04, 0x0C, 0x09, 0xF0, 0x53, 0x45, 0x41, 0x4C, 0x4B, 0x49, 0x54, 0x01]
        #expect(Self.transmit(handle, select)?.response == [0x90, 0x00])
        // 1-byte payloads other than 00 01 02 04 were ignored, leaving vpcd (and pcscd's reader) waiting.
        for apdu: [UInt8] in [[0xA4], [0x03], [0xFF], [0x00, 0xA4], [0x00, 0x20, 0x00]] {
            let answer = Self.transmit(handle, apdu)
            #expect(answer != nil, "no answer to the \(apdu.count)-byte APDU \(apdu): the reader is wedged")
            guard let answer else {
                // Closing the card's socket is what releases vpcd and pcscd's reader.
                server.stop()
                return
            }
            #expect(answer.code == SCARD_S_SUCCESS)
            #expect(answer.response == [0x67, 0x00], "\(apdu)")
        }
        // The reader still works, for this client and for another one.
        let verifyStatus: [UInt8] = [0x00, 0x20, 0x00, 0x81]
        #expect(Self.transmit(handle, verifyStatus)?.response == [0x63, 0xC3])
        let other = try Self.openscTool(["-s", "00 A4 04 00 09 F0 53 45 41 4C 4B 49 54 01"])
        #expect(other.output.contains("SW1=0x90, SW2=0x00"), "\(other.output)")
    }
}
#endif
