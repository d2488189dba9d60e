import SealSimulatorServers
import SealReaderWire
import SealUSB
import SealHostDriver
import Foundation
import SealFirmware
import SealProtocol
import SealSimulatedToken
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The card server end to end over loopback TCP, with the test playing vpcd: frames on the wire,
// the control socket, removal, tearing, persistence, reconnection and reversed mode.
// (The same against the real pcscd + vpcd is VPCDPCSCTests, gated by SEALKIT_PCSC_TESTS=1.)

/// The vpcd side of the wire, written with plain POSIX calls (independent of the code under test).
final class FakeVPCDConnection {
    private(set) var fd: Int32
    private var pending: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { hangUp() }

    /// Closes the connection (vpcd going away).
    func hangUp() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    func send(_ payload: [UInt8]) {
        let frame = [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
        _ = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next frame's payload; `nil` at end of stream (the card left) or after 5 s.
    func receive() -> [UInt8]? {
        while true {
            if pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                if pending.count >= 2 + length {
                    let payload = Array(pending[2 ..< 2 + length])
                    pending.removeFirst(2 + length)
                    return payload
                }
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            pending += chunk[..<count]
        }
    }

    /// A command APDU and its response.
    func transmit(_ apdu: [UInt8]) -> [UInt8]? {
        send(apdu)
        return receive()
    }

    /// Whether the card closed the connection (end of stream within 5 s).
    func closedByCard() -> Bool { receive() == nil }
}

enum FakeVPCD {
    /// A listening socket on 127.0.0.1 (`port` 0: any free port) and its port.
    static func listen(port: UInt16 = 0) -> (fd: Int32, port: UInt16)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 1) == 0 else {
            close(fd)
            return nil
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// A free port (bound once, then released).
    static func freePort() -> UInt16? {
        guard let (fd, port) = listen() else { return nil }
        close(fd)
        return port
    }

    /// Accepts one connection within `milliseconds`.
    static func accept(_ listener: Int32, within milliseconds: Int32 = 5_000) -> FakeVPCDConnection? {
        var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) == 1 else { return nil }
        let fd = Glibc.accept(listener, nil, nil)
        return fd >= 0 ? FakeVPCDConnection(fd: fd) : nil
    }

    /// Connects to the card server (reversed mode), retrying for up to 5 s.
    static func connect(port: UInt16) -> FakeVPCDConnection? {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if result == 0 { return FakeVPCDConnection(fd: fd) }
            close(fd)
            usleep(50_000)
        }
        return nil
    }
}

/// Collects the server's log lines.
final class VPCDTestLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}

@Suite("vpcd card server over loopback", .serialized)
struct VPCDCardServerTests {
    static let selectSeal: [UInt8] = [0x00, 0xA4, 0x04, 0x00, 0x09] + SealApplet.aid + [0x00]
    static let verifyStatus: [UInt8] = [0x00, 0x20, 0x00, 0x81]
    static let verifyWrongPIN: [UInt8] = [0x00, 0x20, 0x00, 0x81, 0x06] + Array("000000".utf8)

    /// A wrong VERIFY as a v2 host sends it (SPEC §14): opens an SCP11b channel over `card` (the
    /// selected applet) and returns the wrapped VERIFY's bytes, ready to send. The key-agreement
    /// key is the uncompressed point of the certificate's P-256 SubjectPublicKeyInfo (`03 42 00 04 …`).
    static func wrappedWrongVerify(_ card: FakeVPCDConnection) throws -> [UInt8] {
        var answer = try #require(card.transmit([0x00, 0xCA, 0x01, 0x20, 0x00]))
        var certificate = Array(answer.dropLast(2))
        while answer.count >= 2, answer[answer.count - 2] == 0x61 {
            answer = try #require(card.transmit([0x00, 0xC0, 0x00, 0x00, answer[answer.count - 1]]))
            certificate += answer.dropLast(2)
        }
        let marker: [UInt8] = [0x03, 0x42, 0x00, 0x04]
        let start = try #require((0..<(certificate.count - 69)).first { Array(certificate[$0..<$0 + 4]) == marker })
        let cardKey = try SCP11KeyAgreement.publicKey(Array(certificate[(start + 3)..<(start + 68)]))
        var handshake = try SCP11HostHandshake(variant: .b, cardStaticKey: cardKey)
        let response = try #require(card.transmit(try handshake.command.encoded()))
        var session = try handshake.complete(with: ResponseAPDU(decoding: response))
        return try session.wrapCommand(try CommandAPDU(decoding: verifyWrongPIN)).encoded()
    }

    static func temporaryStateDirectory() -> URL {
        URL(fileURLWithPath: "/tmp/sealkit-vpcd-\(UUID().uuidString.prefix(8))", isDirectory: true)
    }

    /// Polls `condition` every 20 ms for up to 5 s.
    static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<250 where !condition() {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(condition())
    }

    static func configuration(state: URL, port: UInt16, reversed: Bool = false) -> VPCDCardServer.Configuration {
        var configuration = VPCDCardServer.Configuration(stateDirectory: state, basePort: port, reversed: reversed)
        configuration.reinsertDelayMilliseconds = 150
        configuration.initialRetryMilliseconds = 20
        configuration.maximumRetryMilliseconds = 100
        return configuration
    }

    static let getChipID: [UInt8] = [0x00, 0xCA, 0x01, 0x01, 0x00]
    static let getLifecycle: [UInt8] = [0x00, 0xCA, 0x01, 0x02, 0x00]

    @Test("control socket: writes counts the chip's NVM writes; fresh puts a new MANUFACTURED token in the slot, in memory only")
    func writesAndFreshTokens() async throws {
        let state = Self.temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let (listener, port) = try #require(FakeVPCD.listen())
        defer { close(listener) }
        var configuration = Self.configuration(state: state, port: port)
        configuration.slots = 1
        let server = try await VPCDCardServer.start(configuration: configuration) { _ in }
        defer { server.stop() }
        let client = SimulatorControlClient(stateDirectory: state)
        let stateFile = VPCDCardServer.stateFile(slot: 0, stateDirectory: state)

        var card = try #require(FakeVPCD.accept(listener))
        card.send([0x01])
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        let provisionedID = try #require(card.transmit(Self.getChipID))
        #expect(card.transmit(Self.getLifecycle)?.suffix(2) == [0x90, 0x00])
        // A wrong PIN is written to NVM: the count grows by what the command wrote.
        let writesBefore = try client.nvmWriteCount(slot: 0)
        let wrappedVerify = try Self.wrappedWrongVerify(card)
        #expect(card.transmit(wrappedVerify)?.suffix(2).first == 0x63)
        let writesAfter = try client.nvmWriteCount(slot: 0)
        #expect(writesAfter > writesBefore)
        #expect(try client.nvmWriteCount(slot: 0) == writesAfter)
        let imageBeforeFresh = try Data(contentsOf: stateFile)

        // fresh: the old card leaves, a new one arrives with another chip ID, MANUFACTURED (02 in
        // GET DATA 0102 is PERSONALIZED, 01 MANUFACTURED: SPEC §6).
        let chipID = try client.freshToken(slot: 0)
        #expect(card.closedByCard())
        card = try #require(FakeVPCD.accept(listener))
        card.send([0x01])
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        let freshID = try #require(card.transmit(Self.getChipID))
        #expect(Array(freshID.dropLast(2)) == chipID)
        #expect(freshID != provisionedID)
        #expect(card.transmit(Self.getLifecycle) == [0x01, 0x90, 0x00])
        #expect(try client.freshToken(slot: 0) != chipID)
        #expect(card.closedByCard())

        // The fresh tokens live in memory: the slot's state file is as the provisioned token left it.
        #expect(try Data(contentsOf: stateFile) == imageBeforeFresh)
        server.stop()
        let reopened = try SimulatedChip(stateFile: stateFile)
        _ = try reopened.powerOn()
        _ = reopened.process(Self.selectSeal)
        #expect(reopened.process(Self.getChipID) == .response(provisionedID))
        #expect(throws: SimulatorError.self) { try client.freshToken(slot: 0) }
    }

    @Test("normal mode: ATR poll, power on, APDUs, control socket, removal, tearing, power cycle, persistence")
    func normalMode() async throws {
        let state = Self.temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let (listener, port) = try #require(FakeVPCD.listen())
        defer { close(listener) }
        let log = VPCDTestLog()
        var configuration = Self.configuration(state: state, port: port)
        configuration.slots = 1
        let server = try await VPCDCardServer.start(configuration: configuration) { log.append($0) }
        defer { server.stop() }
        let client = SimulatorControlClient(stateDirectory: state)

        // A new token is made on first use, with its watermark key beside it.
        #expect(FileManager.default.fileExists(atPath: VPCDCardServer.stateFile(slot: 0, stateDirectory: state).path))
        let key = try String(contentsOf: VPCDCardServer.watermarkKeyFile(slot: 0, stateDirectory: state), encoding: .utf8)
        #expect(key.count == 64)

        var card = try #require(FakeVPCD.accept(listener))
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset)
        #expect(try client.status().slots == [SimulatorSlotStatus(slot: 0, state: .active, powered: false)])
        card.send([0x01])
        let fci = try #require(card.transmit(Self.selectSeal))
        #expect(fci.suffix(2) == [0x90, 0x00])
        #expect(card.transmit(Self.verifyStatus) == [0x63, 0xC3])
        #expect(try client.status().slots == [SimulatorSlotStatus(slot: 0, state: .active, powered: true)])

        // Removal closes the connection and the token stays out until inserted.
        try client.remove(slot: 0)
        #expect(card.closedByCard())
        #expect(FakeVPCD.accept(listener, within: 300) == nil)
        #expect(try client.status().slots.first?.state == .absent)
        try client.insert(slot: 0)
        card = try #require(FakeVPCD.accept(listener))
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset)
        #expect(try client.status().slots.first?.powered == false)

        // A power loss during a write: no answer, the card drops out and comes back unpowered.
        card.send([0x01])
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        let tornVerify = try Self.wrappedWrongVerify(card)
        try client.tear(slot: 0, atNVMWrite: 1)
        card.send(tornVerify)
        #expect(card.closedByCard())
        card = try #require(FakeVPCD.accept(listener))
        #expect(try client.status().slots.first?.powered == false)
        card.send([0x01])
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        let afterTear = try #require(card.transmit(Self.verifyStatus))
        #expect(afterTear == [0x63, 0xC3] || afterTear == [0x63, 0xC2])

        // An APDU after vpcd powered the card off is not answered either.
        card.send([0x00])
        card.send(Self.verifyStatus)
        #expect(card.closedByCard())
        card = try #require(FakeVPCD.accept(listener))

        // A wrong PIN is committed to the state file...
        card.send([0x02])  // reset of an unpowered card powers it
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        let before = try #require(card.transmit(Self.verifyStatus))
        #expect(card.transmit(try Self.wrappedWrongVerify(card))?.suffix(2).first == 0x63)
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00], "SELECT ends the channel")
        let after = try #require(card.transmit(Self.verifyStatus))
        #expect(after == [before[0], before[1] - 1])

        // ... reset power-cycles (volatile state lost: the applet is no longer selected) ...
        try client.reset(slot: 0)
        #expect(card.closedByCard())
        card = try #require(FakeVPCD.accept(listener))
        card.send([0x01])
        #expect(card.transmit(Self.verifyStatus) != after)

        // ... and survives a restart of the simulator.
        server.stop()
        #expect(card.closedByCard())
        #expect(!FileManager.default.fileExists(atPath: SimulatorControlClient.socketURL(stateDirectory: state).path))
        let restarted = try await VPCDCardServer.start(configuration: configuration) { log.append($0) }
        defer { restarted.stop() }
        card = try #require(FakeVPCD.accept(listener))
        card.send([0x01])
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        #expect(card.transmit(Self.verifyStatus) == after)
        #expect(log.all.filter { $0.contains("made a new token") }.count == 1)
    }

    @Test("a 0-, 1-, 2- or 3-byte APDU is answered 67 00 and the card keeps working")
    func shortAPDUs() async throws {
        let state = Self.temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let (listener, port) = try #require(FakeVPCD.listen())
        defer { close(listener) }
        var configuration = Self.configuration(state: state, port: port)
        configuration.slots = 1
        let server = try await VPCDCardServer.start(configuration: configuration) { _ in }
        defer { server.stop() }

        let card = try #require(FakeVPCD.accept(listener))
        card.send([0x01])
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        for payload: [UInt8] in [[], [0x03], [0xA4], [0x00, 0xA4], [0x00, 0x20, 0x00]] {
            #expect(card.transmit(payload) == [0x67, 0x00], "\(payload)")
        }
        // Nothing was disturbed: still powered, the applet still selected.
        #expect(card.transmit(Self.verifyStatus) == [0x63, 0xC3])
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset)
    }

    @Test("control socket errors: unknown slot, bad command, a second server on the same state directory")
    func controlErrors() async throws {
        let state = Self.temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let port = try #require(FakeVPCD.freePort())
        var configuration = Self.configuration(state: state, port: port)
        configuration.slots = 2
        let server = try await VPCDCardServer.start(configuration: configuration) { _ in }
        defer { server.stop() }
        let client = SimulatorControlClient(stateDirectory: state)
        let refused = #expect(throws: SimulatorError.self) { try client.insert(slot: 2) }
        #expect(refused?.code == .controlCommand)
        #expect(refused?.reason.contains("no slot 2") == true)
        #expect(server.reply(to: "eject 0").hasPrefix("error unknown command"))
        #expect(server.reply(to: "insert 0") == "ok slot 0 already inserted")
        #expect(try client.status().slots.map(\.state) == [.waiting, .waiting])
        let second = await #expect(throws: SimulatorError.self) {
            _ = try await VPCDCardServer.start(configuration: configuration) { _ in }
        }
        #expect(second?.code == .cardServer)
        server.stop()
        let unreachable = #expect(throws: SimulatorError.self) { try client.status() }
        #expect(unreachable?.code == .controlSocket)
    }

    @Test("normal mode: waits for vpcd, logs the outage once, reconnects after vpcd restarts")
    func reconnects() async throws {
        let state = Self.temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let port = try #require(FakeVPCD.freePort())
        let log = VPCDTestLog()
        var configuration = Self.configuration(state: state, port: port)
        configuration.slots = 1
        let server = try await VPCDCardServer.start(configuration: configuration) { log.append($0) }
        defer { server.stop() }
        try await Self.waitUntil { log.all.contains { $0.contains("not reachable") } }
        try await Task.sleep(for: .milliseconds(300))  // several more refused attempts, logged once
        #expect(log.all.filter { $0.contains("not reachable") }.count == 1)

        var (listener, _) = try #require(FakeVPCD.listen(port: port))
        var card = try #require(FakeVPCD.accept(listener))
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset)

        // vpcd goes away (pcscd stopped) and comes back on the same port.
        close(listener)
        card.hangUp()
        try await Self.waitUntil { log.all.filter { $0.contains("not reachable") }.count == 2 }
        (listener, _) = try #require(FakeVPCD.listen(port: port))
        defer { close(listener) }
        card = try #require(FakeVPCD.accept(listener))
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset)
        #expect(log.all.filter { $0.contains("not reachable") }.count == 2)
    }

    @Test("reversed mode: vpcd connects to the simulator; disconnecting commands are refused")
    func reversedMode() async throws {
        let state = Self.temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let port = try #require(FakeVPCD.freePort())
        var configuration = Self.configuration(state: state, port: port, reversed: true)
        configuration.slots = 1
        let server = try await VPCDCardServer.start(configuration: configuration) { _ in }
        defer { server.stop() }
        let client = SimulatorControlClient(stateDirectory: state)

        var card = try #require(FakeVPCD.connect(port: port))
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset)
        card.send([0x01])
        #expect(card.transmit(Self.selectSeal)?.suffix(2) == [0x90, 0x00])
        #expect(try client.status().reversed)
        let refused = #expect(throws: SimulatorError.self) { try client.remove(slot: 0) }
        #expect(refused?.code == .controlCommand)
        #expect(throws: SimulatorError.self) { try client.reset(slot: 0) }
        #expect(card.transmit(Self.verifyStatus) == [0x63, 0xC3])

        // When vpcd drops the connection, the simulator accepts the next one.
        card.hangUp()
        card = try #require(FakeVPCD.connect(port: port))
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset)
    }
}
