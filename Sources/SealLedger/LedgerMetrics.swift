import Foundation
import Metrics
import Synchronization

/// The ledger's operational metrics, recorded through swift-metrics (docs/report.md, "Metrics").
/// A process that bootstraps a metrics backend gets them (`sealledger serve` bootstraps
/// swift-prometheus and serves them at `GET /metrics`); without one they cost a no-op call.
///
/// The names are the Prometheus names; label values are closed sets (entry kinds, check IDs, alert
/// kinds), never record contents.
package enum LedgerMetrics {
    /// Counter, label `kind` (`StoredEntry.Kind.name`): entries appended to the log.
    package static let entriesAppended = "sealledger_entries_appended_total"
    /// Counter, label `check`: submitted records refused at admission, by the check that failed.
    package static let admissionsRefused = "sealledger_admissions_refused_total"
    /// Counter, label `kind` (an alert kind, e.g. `verification-failed`): alerts raised.
    package static let alertsRaised = "sealledger_alerts_total"
    /// Histogram (seconds): the time one record's admission verification took.
    package static let verificationSeconds = "sealledger_verification_seconds"
    /// Gauge (seconds): how old the checkpoint `/checkpoint` serves is — since its newest witness
    /// cosignature, or, without witnesses, since the log last signed one.
    package static let checkpointAge = "sealledger_checkpoint_age_seconds"
    /// Gauge (entries): how many entries the log holds beyond the latest cosigned checkpoint.
    package static let witnessLag = "sealledger_witness_lag_entries"
    /// Gauge (entries): the tree size of the log's latest checkpoint.
    package static let treeSize = "sealledger_tree_size"

    /// The buckets of `verificationSeconds`: a P-256 record verification takes about a
    /// millisecond on an idle core, a loaded machine tens.
    package static let verificationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    private static let lastCheckpoint = Mutex<Date>(Date())

    /// Counts appended entries by kind and notes that the log signed a new checkpoint now.
    package static func appended(_ entries: [StoredEntry]) {
        var counts: [String: Int] = [:]
        for entry in entries { counts[entry.kind.name, default: 0] += 1 }
        for (kind, count) in counts { Counter(label: entriesAppended, dimensions: [("kind", kind)]).increment(by: count) }
        lastCheckpoint.withLock { $0 = Date() }
    }

    /// Counts a record refused at admission by the check that failed.
    package static func admissionRefused(check: String) {
        Counter(label: admissionsRefused, dimensions: [("check", check)]).increment()
    }

    /// Counts an alert of `kind` (the alerts service calls this once per alert it raises).
    package static func alertRaised(kind: String) {
        Counter(label: alertsRaised, dimensions: [("kind", kind)]).increment()
    }

    /// Records how long one admission verification took.
    package static func verified(in duration: Duration) {
        let parts = duration.components
        Timer(label: verificationSeconds).recordNanoseconds(parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000)
    }

    /// When the log last signed a checkpoint (process start for a log that has not grown since).
    package static var lastCheckpointSigned: Date { lastCheckpoint.withLock { $0 } }

    /// Sets the gauges read at scrape time: the checkpoint's age, the witness lag and the tree size.
    package static func observe(checkpointAge seconds: Double, witnessLag entries: UInt64, treeSize size: UInt64) {
        Gauge(label: checkpointAge).record(seconds)
        Gauge(label: witnessLag).record(Double(entries))
        Gauge(label: treeSize).record(Double(size))
    }
}
