// sealbench — benchmarks that print numbers and assert nothing (docs/benchmarks.md).
//
//   swift run -c release sealbench [--seconds S]     in-process STAMP/s beside raw P-256 signatures/s
//   .build/release/sealbench transports              the simulator behind PC/SC and USB/IP
//   .build/release/sealbench instructions            instructions per STAMP outside the signature (callgrind)
import Foundation

switch BenchCommand.parse(Array(CommandLine.arguments.dropFirst())) {
case .stamp(let seconds):
    do {
        try await StampBenchmark.run(seconds: seconds)
        try await SM2StampBenchmark.run(seconds: min(seconds, 4))
        try SESVerifyBenchmark.run(seconds: min(seconds, 4))
        try DigestBenchmark.run()
    } catch {
        FileHandle.standardError.write(Data("sealbench: error: \(error)\n".utf8))
        exit(1)
    }
case .transports(let options):
    do {
        try await TransportBenchmark.run(options)
        Cleanup.run()
    } catch {
        FileHandle.standardError.write(Data("sealbench transports: error: \(error)\n".utf8))
        Cleanup.run()
        exit(1)
    }
case .instructions:
    do {
        try await InstructionCounts.run()
    } catch {
        FileHandle.standardError.write(Data("sealbench instructions: error: \(error)\n".utf8))
        exit(1)
    }
case .countStamps(let image, let count):
    do {
        try InstructionCounts.countStamps(image: image, count: count)
    } catch {
        FileHandle.standardError.write(Data("sealbench count-stamps: error: \(error)\n".utf8))
        exit(1)
    }
case .countHookStamps(let image, let count):
    do {
        try InstructionCounts.countHookStamps(image: image, count: count)
    } catch {
        FileHandle.standardError.write(Data("sealbench count-hook-stamps: error: \(error)\n".utf8))
        exit(1)
    }
case .countSignatures(let count):
    do {
        try InstructionCounts.countSignatures(count: count)
    } catch {
        FileHandle.standardError.write(Data("sealbench count-signatures: error: \(error)\n".utf8))
        exit(1)
    }
case .countChannel(let count):
    do {
        try InstructionCounts.countChannel(count: count)
    } catch {
        FileHandle.standardError.write(Data("sealbench count-channel: error: \(error)\n".utf8))
        exit(1)
    }
case .tokenImage(let path):
    // The token every STAMP figure uses, written out so that `count-stamps` can run under a
    // profiler (`perf record -g sealbench count-stamps PATH 200000`) without callgrind's wrapper.
    do {
        try Data(try await StampBenchmark.makeTokenImage()).write(to: URL(fileURLWithPath: path))
    } catch {
        FileHandle.standardError.write(Data("sealbench token-image: error: \(error)\n".utf8))
        exit(1)
    }
case .sm2TokenImage(let path):
    do {
        try Data(try await SM2StampBenchmark.makeTokenImage()).write(to: URL(fileURLWithPath: path))
    } catch {
        FileHandle.standardError.write(Data("sealbench sm2-token-image: error: \(error)\n".utf8))
        exit(1)
    }
case .countSM2(let workload, let count, let image):
    do {
        if workload == .token {
            try await SM2Counts.runThroughToken(count: count, image: image)
        } else {
            try SM2Counts.runSynchronously(workload, count: count, image: image)
        }
    } catch {
        FileHandle.standardError.write(Data("sealbench count-sm2: error: \(error)\n".utf8))
        exit(1)
    }
case .sm2AA:
    do {
        try await SM2StampBenchmark.run(seconds: 4, aa: true)
    } catch {
        FileHandle.standardError.write(Data("sealbench sm2-aa: error: \(error)\n".utf8))
        exit(1)
    }
case .echoCard(let port):
    // The echo card alone, in its own process, until SIGTERM / SIGINT (their default action).
    let card = EchoCard(port: port)
    card.start()
    FileHandle.standardOutput.write(Data("echo card: connecting to vpcd at 127.0.0.1:\(port)\n".utf8))
    while !card.isActive { try? await Task.sleep(for: .milliseconds(20)) }
    FileHandle.standardOutput.write(Data("echo card: active\n".utf8))
    while true { try? await Task.sleep(for: .seconds(3600)) }
}
