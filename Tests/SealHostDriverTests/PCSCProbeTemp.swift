// TEMPORARY manual probe — deleted before hand-off.
#if canImport(CPCSCLite)
import CPCSCLite
#endif
import Foundation
@testable import SealHostDriver
import Testing

private func log(_ s: String) { print("PROBE \(Date().timeIntervalSince1970): \(s)") }

private func startCard(_ tag: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "/tmp/pcscwork/vcard.py"]
    p.standardOutput = FileHandle(forWritingAtPath: "/tmp/pcscwork/vcard-\(tag).log") ?? FileHandle.nullDevice
    try p.run()
    return p
}

private func waitPresent(_ reader: String, _ present: Bool) async throws -> Duration {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < .seconds(10) {
        if let r = try await PCSCReaders.list().first(where: { $0.name == reader }), r.isCardPresent == present {
            return ContinuousClock.now - start
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return .seconds(99)
}

@Suite("PCSC probe", .serialized, .enabled(if: ProcessInfo.processInfo.environment["PCSC_PROBE"] == "1"))
struct PCSCProbe {
    @Test func probeEverything() async throws {
        for f in ["a", "b"] { FileManager.default.createFile(atPath: "/tmp/pcscwork/vcard-\(f).log", contents: nil) }
        // Monitor in the background
        let monitor = Task { () throws -> [String] in
            var out: [String] = []
            for try await e in PCSCReaderMonitor() { log("MONITOR \(e)"); out.append("\(e)") }
            return out
        }
        try await Task.sleep(for: .milliseconds(300))
        let r0 = "Virtual PCD 00 00", r1 = "Virtual PCD 00 01"
        log("list (no card): \(try await PCSCReaders.list())")
        // empty reader
        do { _ = try await PCSCTransport(readerName: r0).connect() } catch { log("connect empty: \(error)") }

        let cardA = try startCard("a")
        log("insert A took \(try await waitPresent(r0, true))")
        let cardB = try startCard("b")
        log("insert B took \(try await waitPresent(r1, true))")
        log("list: \(try await PCSCReaders.list())")

        let t = PCSCTransport(readerName: r0)
        log("ATR \(APDUTraceDecoder.hexDump(try await t.connect()))")
        // extended Le = 0000 (65536)
        let big = try await t.transmit([0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00])
        log("extended Le=65536 -> \(big.count) bytes, tail \(APDUTraceDecoder.hexDump(Array(big.suffix(2))))")
        let lc = 4096
        let echo = try await t.transmit([0x00, 0xD6, 0x00, 0x00, 0x00, UInt8(lc >> 8), UInt8(lc & 0xFF)] + [UInt8](repeating: 0x5A, count: lc))
        log("extended Lc=\(lc) echo -> \(echo.count) bytes")
        var clock = ContinuousClock.now
        for _ in 0..<100 { _ = try await t.transmit([0x00, 0xA4, 0x04, 0x00, 0x00]) }
        log("100 short APDUs took \(ContinuousClock.now - clock)")

        // Reset by another application
        let other = PCSCTransport(readerName: r0)
        _ = try await other.connect()
        _ = try await other.reset()
        let afterReset = try await t.transmit([0x00, 0xA4, 0x04, 0x00, 0x00])
        log("after other's reset: \(APDUTraceDecoder.hexDump(afterReset)), recoveredResets=\(await t.recoveredResets)")

        // Transaction contention
        let holder = Task {
            try await other.withTransaction {
                log("other: in transaction")
                try await Task.sleep(for: .milliseconds(800))
                log("other: leaving transaction")
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        clock = ContinuousClock.now
        do {
            _ = try await t.transmit([0x00, 0xA4, 0x04, 0x00, 0x00])
            log("transmit during other's transaction returned after \(ContinuousClock.now - clock)")
        } catch { log("transmit during other's transaction: \(error) after \(ContinuousClock.now - clock)") }
        clock = ContinuousClock.now
        try await t.withTransaction { log("t: in transaction after \(ContinuousClock.now - clock)") }
        try await holder.value
        await other.disconnect()

        // Exclusive
        let excl = PCSCTransport(readerName: r1, shareMode: .exclusive)
        _ = try await excl.connect()
        do { _ = try await PCSCTransport(readerName: r1).connect() } catch { log("connect while exclusive: \(error)") }
        log("list with exclusive: \(try await PCSCReaders.list().map(\.description))")
        await excl.disconnect()

        // Removal while connected
        cardA.terminate(); cardA.waitUntilExit()
        clock = ContinuousClock.now
        do { _ = try await t.transmit([0x00, 0xA4, 0x04, 0x00, 0x00]); log("transmit right after kill OK") } catch { log("transmit right after kill: \(error) after \(ContinuousClock.now - clock)") }
        log("removal seen by list after \(try await waitPresent(r0, false))")
        do { _ = try await t.transmit([0x00, 0xA4, 0x04, 0x00, 0x00]); log("transmit after removal OK?!") } catch { log("transmit after removal: \(error) / \(await t.isConnected)") }
        do { _ = try await t.connect() } catch { log("connect after removal: \(error)") }

        // Unpower disconnect on B
        let u = PCSCTransport(readerName: r1, disconnectDisposition: .unpower)
        _ = try await u.connect()
        await u.disconnect()
        cardB.terminate(); cardB.waitUntilExit()
        _ = try await waitPresent(r1, false)
        try await Task.sleep(for: .milliseconds(300))
        monitor.cancel()
        log("monitor events: \(try await monitor.value)")
    }
}
