// Instructions per STAMP outside the signature, counted by valgrind's callgrind: figures that stay
// the same run to run on a shared machine, where wall-clock figures drift (docs/benchmarks.md).
import Crypto
import Foundation
@_spi(Benchmarks) import SealFirmware
import SealHostDriver
import SealProtocol
import SealSimulatedToken

enum InstructionCounts {
    /// Counts, under `valgrind --tool=callgrind`, the instructions of `sealbench count-stamps` and of
    /// `sealbench count-signatures` with `small` and `large` operations each: the difference of a
    /// pair divided by `large - small` is the cost of one operation, setup and exit cancelling out.
    /// STAMP is the STAMP APDU into the chip model (volatile NVM) through an open SCP11b channel, as
    /// "chip alone" in the default benchmark (protocol v2 takes STAMP only inside the channel); the
    /// channel is its wrap and unwrap of a STAMP-sized command and response, host and chip side,
    /// counted apart so that what is left is the chip's own work; the signature is raw P-256
    /// signing of a 219-byte message.
    @MainActor
    static func run(small: Int = 50, large: Int = 1050) async throws {
        guard let valgrind = which("valgrind") else {
            throw BenchError("valgrind not found on PATH (apt-get install valgrind): instruction counts need callgrind")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sealbench-instructions-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let image = work.appendingPathComponent("token.nvm")
        try Data(try await StampBenchmark.makeTokenImage()).write(to: image)
        // Valgrind 3.19's DWARF reader gives up on the Swift 6.3 toolchain's debug info: count on a
        // copy without it (`strip -g` keeps the symbol table, so callgrind_annotate still names functions).
        let me = work.appendingPathComponent("sealbench").path
        try FileManager.default.copyItem(atPath: Bundle.main.executablePath ?? CommandLine.arguments[0], toPath: me)
        guard let strip = which("strip") else { throw BenchError("strip (binutils) not found on PATH") }
        let stripping = try Process.run(URL(fileURLWithPath: strip), arguments: ["-g", me])
        stripping.waitUntilExit()
        guard stripping.terminationStatus == 0 else { throw BenchError("strip -g \(me) failed") }

        func collected(_ arguments: [String]) throws -> Int {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: valgrind)
            process.arguments = ["--tool=callgrind", "--callgrind-out-file=\(work.path)/callgrind.out.%p", me] + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0,
                  let line = text.split(separator: "\n").last(where: { $0.contains("Collected :") }),
                  let count = Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "")
            else { throw BenchError("callgrind of sealbench \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus)): \(text.prefix(3000))") }
            return count
        }
        let stampSmall = try collected(["count-stamps", image.path, "\(small)"])
        let stampLarge = try collected(["count-stamps", image.path, "\(large)"])
        let hookSmall = try collected(["count-hook-stamps", image.path, "\(small)"])
        let hookLarge = try collected(["count-hook-stamps", image.path, "\(large)"])
        let signSmall = try collected(["count-signatures", "\(small)"])
        let signLarge = try collected(["count-signatures", "\(large)"])
        let channelSmall = try collected(["count-channel", "\(small)"])
        let channelLarge = try collected(["count-channel", "\(large)"])
        let perStamp = Double(stampLarge - stampSmall) / Double(large - small)
        let perSignature = Double(signLarge - signSmall) / Double(large - small)
        let perChannel = Double(channelLarge - channelSmall) / Double(large - small)
        let perHookStamp = Double(hookLarge - hookSmall) / Double(large - small)
        print("instructions (valgrind --tool=callgrind; the difference of \(small) and \(large) operations, per operation):")
        print("  STAMP APDU through SCP11b into the chip (PIN verified): \(grouped(Int(perStamp.rounded())))")
        print("  raw P-256 signature (219 bytes):      \(grouped(Int(perSignature.rounded())))")
        print("  channel wrap+unwrap, host and chip:   \(grouped(Int(perChannel.rounded())))")
        print("  STAMP outside the signature:          \(grouped(Int((perStamp - perSignature).rounded())))")
        print("  STAMP outside signature and channel:  \(grouped(Int((perStamp - perSignature - perChannel).rounded())))")
        print("  STAMP through the measuring hook (channel off): \(grouped(Int(perHookStamp.rounded()))), outside the signature \(grouped(Int((perHookStamp - perSignature).rounded())))")
        print(String(format: "  instruction ratio signature/STAMP: %.2f (goal of the wall-clock ratio through the channel: >= 0.60)", perSignature / perStamp))
        print(String(format: "  instruction ratio signature/(STAMP - channel): %.2f (goal of the wall-clock ratio without it: >= 0.80)",
                     perSignature / (perStamp - perChannel)))
        print(String(format: "  instruction ratio signature/STAMP through the measuring hook: %.2f (the wall-clock goal: >= 0.80)",
                     perSignature / perHookStamp))
    }

    /// `count-stamps IMAGE N`: N STAMP APDUs into the chip model on the token image at IMAGE, PIN
    /// verified, through an SCP11b channel opened first (run under callgrind). The chip alone, synchronously on the main thread: valgrind
    /// 3.19 crashes when the Swift concurrency pool starts a worker thread, and the driver pipeline
    /// and in-process transport are 2–3 % of a STAMP (docs/benchmarks.md).
    static func countStamps(image path: String, count: Int) throws {
        let stamp = try StampBenchmark.stampCommand()
        let (_, channel) = try verifiedChip(image: path)
        for _ in 0..<count {
            let response = try channel.send(stamp)
            guard response.statusWord == .success else { throw BenchError("the chip refused STAMP: \(response.statusWord)") }
        }
    }

    /// The chip model on the token image at `path`, powered on, the seal applet selected and the
    /// PIN verified through an SCP11b channel opened first: where every counting loop starts.
    static func verifiedChip(image path: String) throws -> (chip: SealChip, channel: ChipChannel) {
        let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let nvm = try NonVolatileMemory(backing: VolatileBackingStore(image: image))
        let chip = try SealChip(nvm: nvm, random: SystemChipRandom())
        _ = try chip.powerOn()
        _ = chip.process(try SealCommand.select().encoded())
        let channel = try ChipChannel(chip: chip, keyAgreementKey: try SecureChannelBenchmark.keyAgreementKey(nvm))
        guard try channel.send(SealCommand.verify(pin: TestCredentials.defaultPIN)).statusWord == .success else {
            throw BenchError("the chip refused VERIFY")
        }
        return (chip, channel)
    }

    /// `count-hook-stamps IMAGE N`: N STAMPs into the chip model on the token image at IMAGE through
    /// the chip's measuring hook (`SealChip.stampAsUnwrappedByChannel`, what the channel hands the
    /// applet once unwrapped), after a VERIFY through an SCP11b channel: issue 13's "channel off"
    /// figure, counted without the channel's share to subtract (run under callgrind or perf).
    static func countHookStamps(image path: String, count: Int) throws {
        let stampData = try StampBenchmark.stampCommand().data
        let (chip, _) = try verifiedChip(image: path)
        for _ in 0..<count {
            let answer = chip.stampAsUnwrappedByChannel(stampData)
            guard answer.count >= 2, answer[answer.count - 2] == 0x90, answer[answer.count - 1] == 0x00 else {
                throw BenchError("the chip refused STAMP (measuring hook): \(answer.suffix(2))")
            }
        }
    }

    /// `count-channel N`: N wrap + unwrap rounds of a STAMP-sized command and response, host and
    /// chip side (run under callgrind): the channel's share of a STAMP.
    static func countChannel(count: Int) throws {
        var round = try SecureChannelBenchmark.WrapUnwrapRound(commandData: try StampBenchmark.stampCommand().data)
        for _ in 0..<count { try round.run() }
    }

    /// `count-signatures N`: N raw P-256 signatures of a 219-byte message.
    static func countSignatures(count: Int) throws {
        // A fixed key: with a fresh random key per process the count moved by ±2 % run to run.
        let key = try P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x42, count: 32))
        let message = [UInt8](repeating: 0x5A, count: 219)
        for _ in 0..<count { _ = try key.signature(for: message) }
    }

    private static func which(_ name: String) -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
