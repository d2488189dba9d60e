// Command line: `sealbench --version`, `sealbench [--seconds S]` (STAMP vs raw P-256, the default) and
// `sealbench transports [--count N] [--block N] [--stamps N] [--no-conformance] [--echo-process] [--vpcd-port P]`
// and `sealbench echo-card [--port P]` (the echo card alone, for measuring the PC/SC stack), and
// `sealbench instructions` (instructions per STAMP outside the signature, by callgrind).
import SealPCSC
import SealProtocol
import Foundation

enum BenchCommand {
    case stamp(seconds: Double)
    case transports(TransportOptions)
    case echoCard(port: UInt16)
    case instructions
    case countStamps(image: String, count: Int)
    case countHookStamps(image: String, count: Int)
    case countSignatures(count: Int)
    case countChannel(count: Int)
    case tokenImage(path: String)
    case sm2TokenImage(path: String)
    case countSM2(SM2Counts.Workload, count: Int, image: String?)
    case sm2AA

    static let usage = """
        usage: sealbench [--seconds S]
               sealbench --version
               sealbench transports [--count N] [--block N] [--stamps N] [--no-conformance] [--echo-process] [--vpcd-port P]
               sealbench echo-card [--port P]
               sealbench instructions
               sealbench token-image PATH    (the benchmark token's NVM image, for `count-stamps PATH N` and `count-hook-stamps PATH N` under perf)
               sealbench sm2-token-image PATH, sealbench count-sm2 raw|signer|chip|token N [PATH]   (SM2 profiling loops)
               sealbench sm2-aa    (the A/A check of the SM2 STAMP figure's method: raw SM2 sign against itself)

        """

    /// Parses the arguments (without the program name); prints the usage and exits 64 (EX_USAGE, as sealctl and sealsim do) when they
    /// do not parse.
    static func parse(_ arguments: [String]) -> BenchCommand {
        var iterator = arguments.makeIterator()
        if arguments == ["--version"] {
            print(SealKitVersion.current)
            exit(0)
        }
        // Instruction counts: the command, and the two workloads it runs under callgrind.
        if arguments == ["instructions"] { return .instructions }
        if arguments.count == 3, arguments[0] == "count-stamps" { return .countStamps(image: arguments[1], count: positive(arguments[2])) }
        if arguments.count == 3, arguments[0] == "count-hook-stamps" { return .countHookStamps(image: arguments[1], count: positive(arguments[2])) }
        if arguments.count == 2, arguments[0] == "count-signatures" { return .countSignatures(count: positive(arguments[1])) }
        if arguments.count == 2, arguments[0] == "count-channel" { return .countChannel(count: positive(arguments[1])) }
        if arguments.count == 2, arguments[0] == "token-image" { return .tokenImage(path: arguments[1]) }
        if arguments.count == 2, arguments[0] == "sm2-token-image" { return .sm2TokenImage(path: arguments[1]) }
        if arguments == ["sm2-aa"] { return .sm2AA }
        if (3...4).contains(arguments.count), arguments[0] == "count-sm2" {
            guard let workload = SM2Counts.Workload(rawValue: arguments[1]) else { fail() }
            return .countSM2(workload, count: positive(arguments[2]), image: arguments.count == 4 ? arguments[3] : nil)
        }
        if arguments.first == "echo-card" {
            _ = iterator.next()
            var port = PCSCService.defaultBasePort + 1
            while let argument = iterator.next() {
                guard argument == "--port", let value = iterator.next().flatMap({ UInt16($0) }), value > 0 else { fail() }
                port = value
            }
            return .echoCard(port: port)
        }
        if arguments.first == "transports" {
            _ = iterator.next()
            var options = TransportOptions()
            while let argument = iterator.next() {
                switch argument {
                case "--count": options.count = positive(iterator.next())
                case "--block": options.block = positive(iterator.next())
                case "--stamps": options.stamps = positive(iterator.next())
                case "--no-conformance": options.conformance = false
                case "--echo-process": options.echoProcess = true
                case "--vpcd-port":
                    guard let value = iterator.next().flatMap({ UInt16($0) }), value > 0, value < UInt16.max else { fail() }
                    options.vpcdPort = value
                default: fail()
                }
            }
            return .transports(options)
        }
        var seconds = 6.0
        while let argument = iterator.next() {
            if argument == "--seconds", let value = iterator.next(), let parsed = Double(value), parsed > 0 {
                seconds = parsed
            } else {
                fail()
            }
        }
        return .stamp(seconds: seconds)
    }

    private static func positive(_ text: String?) -> Int {
        guard let text, let value = Int(text), value > 0 else { fail() }
        return value
    }

    private static func fail() -> Never {
        FileHandle.standardError.write(Data(usage.utf8))
        exit(64)
    }
}
