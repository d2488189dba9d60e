// Clocks and the small statistics every sealbench figure is made of.
import Foundation

/// CLOCK_MONOTONIC in seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` for about `seconds` and returns (operations, elapsed seconds).
func runFor(seconds: Double, _ body: () async throws -> Void) async throws -> (count: Int, elapsed: Double) {
    var count = 0
    let start = now()
    var elapsed = 0.0
    repeat {
        for _ in 0..<25 { try await body() }
        count += 25
        elapsed = now() - start
    } while elapsed < seconds
    return (count, elapsed)
}

/// Operations and time, summed over rounds.
struct Tally {
    var count = 0
    var elapsed = 0.0
    var perSecond: Double { elapsed > 0 ? Double(count) / elapsed : 0 }
    mutating func add(_ sample: (count: Int, elapsed: Double)) {
        count += sample.count
        elapsed += sample.elapsed
    }
}

/// Round-trip times in seconds, summarized as the transport benchmark prints them.
struct Latencies {
    private(set) var samples: [Double] = []

    mutating func append(contentsOf more: [Double]) { samples += more }

    var count: Int { samples.count }

    /// The `q`-quantile (0…1) by the nearest-rank method; 0 when there are no samples.
    func quantile(_ q: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var median: Double { quantile(0.5) }
    var p99: Double { quantile(0.99) }
    var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }
}

/// The median of some numbers (the per-round ratios); 0 for none.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Microseconds with one decimal below 100 µs, whole above: "52.3 µs", "1 834 µs".
func microseconds(_ seconds: Double) -> String {
    let us = seconds * 1e6
    return us < 100 ? String(format: "%.1f µs", us) : "\(grouped(Int(us.rounded()))) µs"
}

/// 1234567 → "1 234 567" (the docs' thousands separator).
func grouped(_ value: Int) -> String {
    let digits = Array(String(abs(value)))
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out.append(" ") }
        out.append(digit)
    }
    return value < 0 ? "-" + out : out
}
