// The simulator's resident memory with two idle vpcd slots.
import SealPCSC
import Foundation

enum SimulatorMemory {
    /// Starts `sealsim serve --vpcd --slots 2` twice on one temporary state directory — a first
    /// start, which makes both tokens, then a restart serving them — waits until vpcd has talked to
    /// both slots, lets it idle 2 s (only vpcd's presence polls) and reads /proc/PID/status. vpcd's
    /// slots 0 and 1 must be free (the benchmark's own cards stopped).
    static func measure(sealsim: URL, work: URL, basePort: UInt16) async throws {
        let state = work.appendingPathComponent("memory", isDirectory: true)
        var readings: [Reading] = []
        for run in 0..<2 {
            let child = try Children.spawn(
                "sealsim serve --vpcd --slots 2", executable: sealsim,
                arguments: ["serve", "--vpcd", "127.0.0.1:\(basePort)", "--slots", "2", "--state", state.path],
                log: work.appendingPathComponent("sealsim-memory-\(run).log"))
            try await TransportBenchmark.waitForSlots(child, state: state, slots: 2)
            try await Task.sleep(for: .seconds(2))
            readings.append(Reading(pid: child.pid))
            child.stop()
        }
        print("simulator resident memory, 2 idle vpcd slots (sealsim serve --vpcd --slots 2):")
        print("  serving existing tokens:         \(readings[1])")
        print("  first start (made both tokens):  \(readings[0])")
    }

    /// A process's resident memory from /proc/PID/status.
    struct Reading: CustomStringConvertible {
        var rss = 0, peak = 0, anonymous = 0, file = 0

        init(pid: Int32) {
            rss = Environment.statusKilobytes(pid: pid, field: "VmRSS") ?? 0
            peak = Environment.statusKilobytes(pid: pid, field: "VmHWM") ?? 0
            anonymous = Environment.statusKilobytes(pid: pid, field: "RssAnon") ?? 0
            file = Environment.statusKilobytes(pid: pid, field: "RssFile") ?? 0
        }

        var description: String {
            func mib(_ kilobytes: Int) -> String { String(format: "%.1f MiB", Double(kilobytes) / 1024) }
            return "VmRSS \(mib(rss)) (anonymous \(mib(anonymous)), file-backed \(mib(file))), peak VmHWM \(mib(peak))"
        }
    }
}
