// `sealbench transports`: the simulator behind real transports — PC/SC (pcscd + vpcd) beside a
// minimal echo card on the same pcscd, USB/IP, STAMP and the conformance suite through PC/SC, and
// the simulator's resident memory. Numbers only; see docs/benchmarks.md for what each one means.
import SealUSB
import SealPCSC
import SealSimulatorServers
import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import SealSimulatedToken

#if canImport(Glibc)
import Glibc
#endif

struct TransportOptions {
    /// No-op round trips per card (after warm-up).
    var count = 2_000
    /// Round trips per interleaved block.
    var block = 100
    /// Warm-up round trips per card.
    var warmUp = 200
    /// STAMPs through PC/SC (after 10 for warm-up).
    var stamps = 300
    /// Run the conformance suite through PC/SC.
    var conformance = true
    /// Run the echo card in its own process (`sealbench echo-card`) instead of on a thread of this
    /// one. Measured: no difference (the card's process is not what the round trip pays for).
    var echoProcess = false
    /// vpcd's first port: slot 0 (the simulator) on it, slot 1 (the echo card) on the next.
    var vpcdPort = PCSCService.defaultBasePort
}

enum TransportBenchmark {
    static func run(_ options: TransportOptions) async throws {
        // Everything it needs, checked before anything starts.
        let sealsim = try Environment.sibling("sealsim")
        let sealctl = options.conformance ? try Environment.sibling("sealctl") : nil
        let repository = try Environment.repositoryRoot()
        let issuerKey = repository.appendingPathComponent("Fixtures/test-issuer/issuer-key.pem")
        if options.conformance, !FileManager.default.fileExists(atPath: issuerKey.path) {
            throw BenchError("the test issuer key is missing: \(issuerKey.path)")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sealbench-transports-\(getpid())", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw BenchError("cannot create \(work.path): \(error.localizedDescription)")
        }
        let echo = EchoCard(port: options.vpcdPort + 1)
        Children.installCleanup {
            echo.stop()
            try? FileManager.default.removeItem(at: work)
        }

        let pcscd = try await PCSCService.ensure(repository: repository, work: work, basePort: options.vpcdPort)
        #if DEBUG
        print("note: debug build; run `swift build -c release` for representative figures")
        #endif
        let date = ISO8601DateFormatter.string(from: Date(), timeZone: .current, formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime])
        print("sealbench transports — \(date), \(Environment.cpuCount) CPUs, pcscd \(pcscd)")

        // The simulator on slot 0, the echo card on slot 1, the USB/IP simulator on a free port.
        progress("starting sealsim (vpcd slot 0, USB/IP) and the echo card (vpcd slot 1)")
        let vpcdState = work.appendingPathComponent("vpcd", isDirectory: true)
        let simulator = try Children.spawn(
            "sealsim serve --vpcd", executable: sealsim,
            arguments: ["serve", "--vpcd", "127.0.0.1:\(options.vpcdPort)", "--slots", "1", "--state", vpcdState.path],
            log: work.appendingPathComponent("sealsim-vpcd.log"))
        var echoChild: Child?
        if !options.echoProcess {
            echo.start()
        } else {
            echoChild = try Children.spawn(
                "sealbench echo-card", executable: Environment.binDirectory.appendingPathComponent("sealbench"),
                arguments: ["echo-card", "--port", String(options.vpcdPort + 1)], log: work.appendingPathComponent("echo-card.log"))
        }
        let usbPort = try Environment.freeLoopbackPort()
        let usbSimulator = try Children.spawn(
            "sealsim serve --usbip", executable: sealsim,
            arguments: ["serve", "--usbip", "127.0.0.1:\(usbPort)", "--slots", "1", "--state", work.appendingPathComponent("usbip").path],
            log: work.appendingPathComponent("sealsim-usbip.log"))
        try await waitForSlots(simulator, state: vpcdState, slots: 1)
        if let echoChild {
            try await waitUntil(timeout: 10, while: echoChild, { echoChild.logLines.contains("echo card: active") }) {
                "the echo card: vpcd did not talk to it on port \(echo.port) within 10 s (\(echoChild.lastLogLine))"
            }
        } else {
            try await waitUntil(timeout: 10, { echo.isActive }) {
                "the echo card: vpcd did not talk to it on port \(echo.port) (\(echo.lastFailure ?? (echo.isConnected ? "connected, but no ATR poll" : "not connected")))"
            }
        }
        try await waitUntil(timeout: 60, while: usbSimulator, { usbSimulator.logLines.contains { $0.hasPrefix("sealsim: USB/IP on") } }) {
            "sealsim serve --usbip did not come up within 60 s (\(usbSimulator.lastLogLine))"
        }

        // 1 + 5: no-op round trips, interleaved.
        let select = try SealCommand.select().encoded()
        let noOp = try SealCommand.getData(.lifecycle).encoded()  // 00 CA 01 02 00
        let simulatorPCSC = PCSCTransport(readerName: PCSCService.readerName(slot: 0, basePort: options.vpcdPort))
        let echoPCSC = PCSCTransport(readerName: PCSCService.readerName(slot: 1, basePort: options.vpcdPort))
        try await connect(simulatorPCSC, what: "the simulator (\(simulatorPCSC.name))")
        try await connect(echoPCSC, what: "the echo card (\(echoPCSC.name))")
        let usb: CCIDTransport
        do {
            usb = try await CCIDTransport.usbip("127.0.0.1:\(usbPort)")
            _ = try await usb.connect()
        } catch let error as USBError {
            throw BenchError("USB/IP: cannot import the simulator's device at 127.0.0.1:\(usbPort): \(error.message)")
        }
        let noOps = try await Task.detached {
            try await measureNoOps(simulator: simulatorPCSC, echo: echoPCSC, usb: usb, select: select, noOp: noOp, options: options)
        }.value
        await usb.close()
        await simulatorPCSC.disconnect()
        usbSimulator.stop()
        progress("the SCP11b channel through PC/SC")
        let channel = try await Task.detached {
            try await ChannelThroughPCSC.measure(readerName: PCSCService.readerName(slot: 0, basePort: options.vpcdPort), echo: echoPCSC,
                                                 noOp: noOp, options: options)
        }.value
        await echoPCSC.disconnect()

        let sim = noOps.simulator, floor = noOps.echo
        print("no-op APDU: GET DATA lifecycle (00 CA 01 02 00) after SELECT of the seal applet; the echo card (\(options.echoProcess ? "own process" : "a thread of sealbench")) gets the same bytes and answers 90 00;")
        print("  \(grouped(sim.count)) round trips per line after \(options.warmUp) warm-up, in interleaved blocks of \(options.block)")
        print(row("", "median", "p99", "mean"))
        print(row("PC/SC simulator (slot 0)", microseconds(sim.median), microseconds(sim.p99), microseconds(sim.mean)))
        print(row("PC/SC echo card (slot 1)", microseconds(floor.median), microseconds(floor.p99), microseconds(floor.mean)))
        print(String(format: "  ratio simulator/echo: %.2f (medians; per-block ratios: median %.2f, min %.2f, max %.2f; goal <= 1.05)",
                     sim.median / floor.median, median(noOps.blockRatios), noOps.blockRatios.min() ?? 0, noOps.blockRatios.max() ?? 0))
        print(row("PC/SC simulator, from a task", microseconds(noOps.simulatorFromTask.median), microseconds(noOps.simulatorFromTask.p99),
                  microseconds(noOps.simulatorFromTask.mean)))
        print(row("USB/IP simulator, from a task", microseconds(noOps.usb.median), microseconds(noOps.usb.p99), microseconds(noOps.usb.mean)))
        print(row("loopback TCP round trip, 111/109 B", microseconds(noOps.tcp.median), microseconds(noOps.tcp.p99), microseconds(noOps.tcp.mean)))
        print(String(format: "  ratio USB/IP/TCP round trip: %.2f (medians; per-block ratios: median %.2f, min %.2f, max %.2f; goal <= 1.20)",
                     noOps.usb.median / noOps.tcp.median, median(noOps.usbBlockRatios), noOps.usbBlockRatios.min() ?? 0, noOps.usbBlockRatios.max() ?? 0))

        print("the SCP11b channel through pcscd: GET DATA lifecycle wrapped in the holder channel by SealToken (host wrap, chip unwrap,")
        print("  chip wrap, host unwrap) beside the echo card's plain no-op, both from a task, in alternating blocks of \(options.block)")
        print(row("PC/SC simulator, wrapped, via SealToken", microseconds(channel.wrapped.median), microseconds(channel.wrapped.p99),
                  microseconds(channel.wrapped.mean)))
        print(row("PC/SC echo card, plain, from a task", microseconds(channel.echo.median), microseconds(channel.echo.p99), microseconds(channel.echo.mean)))
        print(String(format: "  ratio wrapped/echo: %.2f (medians; per-block ratios: median %.2f, min %.2f, max %.2f; issue 9 sets no number); the channel's cost per APDU: %+.1f µs over the plain no-op from a task above",
                     channel.wrapped.median / channel.echo.median, median(channel.blockRatios), channel.blockRatios.min() ?? 0,
                     channel.blockRatios.max() ?? 0, (channel.wrapped.median - noOps.simulatorFromTask.median) * 1e6))

        // 2: STAMP through PC/SC.
        progress("STAMP through PC/SC")
        let stamps = try await Task.detached { try await measureStamps(count: options.stamps, readerName: PCSCService.readerName(slot: 0, basePort: options.vpcdPort)) }.value
        print(row("STAMP through PC/SC (\(options.stamps), PIN verified)", microseconds(stamps.median), microseconds(stamps.p99), microseconds(stamps.mean)))

        // 3: the conformance suite through PC/SC.
        if let sealctl {
            progress("conformance suite through PC/SC")
            let arguments = ["conformance", "--reader", PCSCService.readerName(slot: 0, basePort: options.vpcdPort), "--issuer-key", issuerKey.path,
                             "--vendor-root", repository.appendingPathComponent("Fixtures/test-vendor-ca/ca-cert.pem").path]
            let child = try Children.spawn("sealctl conformance", executable: sealctl, arguments: arguments,
                                           log: work.appendingPathComponent("conformance.log"))
            let start = now()
            guard child.waitForExit(timeout: 900) else {
                child.stop()
                throw BenchError("sealctl conformance did not finish within 900 s (\(child.lastLogLine))")
            }
            let elapsed = now() - start
            child.stop()
            print(String(format: "conformance through PC/SC: %.2f s wall, exit %d, closing line: %@", elapsed,
                         child.process.terminationStatus, child.lastLogLine))
        }
        echo.stop()
        echoChild?.stop()
        simulator.stop()

        // 4: resident memory with 2 idle slots.
        progress("simulator memory with 2 idle slots")
        try await SimulatorMemory.measure(sealsim: sealsim, work: work, basePort: options.vpcdPort)
    }

    struct NoOps: Sendable {
        var simulator = Latencies(), echo = Latencies(), simulatorFromTask = Latencies(), usb = Latencies(), tcp = Latencies()
        var blockRatios: [Double] = [], usbBlockRatios: [Double] = []
    }

    /// Alternating blocks — simulator and echo card in alternating order, then USB/IP and the
    /// simulator from a task — so that load from other processes hits every line alike.
    static func measureNoOps(simulator: PCSCTransport, echo: PCSCTransport, usb: CCIDTransport, select: [UInt8], noOp: [UInt8],
                             options: TransportOptions) async throws -> NoOps {
        let simulatorLoop = OnTransportExecutor(simulator), echoLoop = OnTransportExecutor(echo)
        for (loop, what) in [(simulatorLoop, "simulator"), (echoLoop, "echo card")] {
            _ = try await loop.roundTrips(select, count: 1, what: "SELECT on the \(what)")
            _ = try await loop.roundTrips(noOp, count: options.warmUp, what: what)
        }
        _ = try await roundTrips(usb, select, count: 1, what: "SELECT over USB/IP")
        _ = try await roundTrips(usb, noOp, count: options.warmUp, what: "USB/IP")
        _ = try await roundTrips(simulator, noOp, count: options.warmUp, what: "simulator")
        let tcpFloor = try TCPRoundTripFloor()
        defer { tcpFloor.close() }
        _ = try tcpFloor.roundTrips(count: options.warmUp)

        var result = NoOps()
        let blocks = max(1, (options.count + options.block - 1) / options.block)
        for index in 0..<blocks {
            let size = min(options.block, options.count - index * options.block)
            var simulatorBlock: [Double] = [], echoBlock: [Double] = []
            if index % 2 == 0 {
                simulatorBlock = try await simulatorLoop.roundTrips(noOp, count: size, what: "simulator")
                echoBlock = try await echoLoop.roundTrips(noOp, count: size, what: "echo card")
            } else {
                echoBlock = try await echoLoop.roundTrips(noOp, count: size, what: "echo card")
                simulatorBlock = try await simulatorLoop.roundTrips(noOp, count: size, what: "simulator")
            }
            result.simulator.append(contentsOf: simulatorBlock)
            result.echo.append(contentsOf: echoBlock)
            result.blockRatios.append(median(simulatorBlock) / median(echoBlock))
            let usbBlock = try await roundTrips(usb, noOp, count: size, what: "USB/IP")
            let tcpBlock = try tcpFloor.roundTrips(count: size)
            result.usb.append(contentsOf: usbBlock)
            result.tcp.append(contentsOf: tcpBlock)
            result.usbBlockRatios.append(median(usbBlock) / median(tcpBlock))
            result.simulatorFromTask.append(contentsOf: try await roundTrips(simulator, noOp, count: size, what: "simulator"))
        }
        return result
    }

    /// STAMP round trips through `SealToken` over PC/SC (the full driver pipeline), PIN verified.
    /// Every STAMP commits an NVM transaction, which the simulator writes to its state file
    /// (temporary file, fsync, rename, fsync of the directory).
    static func measureStamps(count: Int, readerName: String) async throws -> Latencies {
        let transport = PCSCTransport(readerName: readerName)
        let token = SealToken(transport: transport, secureChannel: .testVendorRoot)
        do {
            try await token.connect()
            try await token.verifyPIN(TestCredentials.defaultPIN)
            let request = try StampRequest(documentDigest: Array(SHA256.hash(data: Array("benchmark document".utf8))),
                                           metadata: StampMetadata(time: 1_764_000_000, operatorID: "bench"))
            let command = SealCommand.stamp(request)
            var samples: [Double] = []
            for index in 0..<(count + 10) {
                // PIN always (SPEC v2 §8.13, on for the default token): VERIFY before each STAMP,
                // outside the timed window, so the figure stays one STAMP round trip.
                if index > 0 { try await token.verifyPIN(TestCredentials.defaultPIN) }
                let start = now()
                let response = try await token.send(command)
                let end = now()
                guard response.statusWord == .success else { throw SealDriverError(statusWord: response.statusWord, command: "STAMP") }
                if index >= 10 { samples.append(end - start) }
            }
            await token.disconnect()
            var latencies = Latencies()
            latencies.append(contentsOf: samples)
            return latencies
        } catch {
            await token.disconnect()
            throw BenchError("STAMP through PC/SC: \(error)")
        }
    }

    // MARK: - Helpers

    /// Connects, retrying for up to 10 s: pcscd notices a new card at its next presence poll.
    static func connect(_ transport: PCSCTransport, what: String) async throws {
        let deadline = now() + 10
        while true {
            do {
                _ = try await transport.connect()
                return
            } catch {
                if now() >= deadline { throw BenchError("cannot connect to \(what): \(error)") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Waits until the simulator's control socket reports the first `slots` slots active (vpcd
    /// has talked to them), or fails with the simulator's last log line.
    static func waitForSlots(_ child: Child, state: URL, slots: Int) async throws {
        let control = SimulatorControlClient(stateDirectory: state, replyTimeoutMilliseconds: 2_000)
        var last = "no status yet"
        try await waitUntil(timeout: 60, while: child, {
            guard let status = try? control.status() else { return false }
            last = status.description
            return status.slots.count >= slots && status.slots.prefix(slots).allSatisfy { $0.state == .active }
        }) {
            "\(child.name): the slots did not become active within 60 s (\(last); log: \(child.lastLogLine))"
        }
    }

    /// Polls `condition` every 50 ms for up to `timeout` seconds; fails at once when `child` (the
    /// process that should make it true) exits.
    static func waitUntil(timeout: Double, while child: Child? = nil, _ condition: () -> Bool, failure: () -> String) async throws {
        let deadline = now() + timeout
        while !condition() {
            if let child, !child.isRunning { throw BenchError("\(child.name) exited: \(child.lastLogLine)") }
            if now() >= deadline { throw BenchError(failure()) }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("sealbench: \(line)…\n".utf8))
    }

    static func row(_ label: String, _ a: String, _ b: String, _ c: String) -> String {
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let count = text.count
            guard count < width else { return text }
            let padding = String(repeating: " ", count: width - count)
            return left ? text + padding : padding + text
        }
        return "  " + pad(label, 44, left: true) + pad(a, 11) + pad(b, 11) + pad(c, 11)
    }
}
