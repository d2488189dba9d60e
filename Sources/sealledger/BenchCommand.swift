import ArgumentParser
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealHostDriver
import SealLedger
import SealLedgerPostgres
import SealSimulatedToken
import X509

/// `sealledger bench`: the ledger's storage figures, measured in one run so that ratios mean
/// something on a shared machine (docs/ledger.md records them).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure batched appends against raw SQLite INSERTs of the same bytes (and on PostgreSQL with two instances), admission against raw P-256 verification, and inclusion-proof latency at 1M and 10M entries.")
    @Option(help: "Entries for the append comparison.") var appendEntries: Int = 20_000
    @Option(help: "Entries per batch (one transaction and one checkpoint each).") var batch: Int = 256
    @Option(help: "Entry size in bytes (a stamp record is about 2,600).") var entrySize: Int = 2_600
    @Option(parsing: .upToNextOption, help: "Tree sizes (synthetic leaves) at which to time inclusion proofs; the tree grows through them in order.")
    var proofSizes: [Int] = [1_000_000, 10_000_000]
    @Option(help: "Synthetic leaves per append while growing the proof tree (one transaction each).") var buildBatch: Int = 65_536
    @Option(help: "Inclusion proofs to time at each size.") var proofs: Int = 2_000
    @Option(help: "Records stamped by the simulated test token for the admission figure.") var admissionRecords: Int = 200
    @Option(help: "Rounds over those records for the admission figure (alternating with the raw baseline).") var admissionRounds: Int = 10
    @Option(help: "Alerts for the submission-to-webhook latency (docs/alerts.md).") var webhookAlerts: Int = 200
    @Flag(help: "Measure only the submission-to-webhook latency of alerts.") var webhookOnly = false
    @Option(help: "Scratch directory (default: a new one under the temporary directory, removed afterwards).") var directory: String?
    @Option(help: "A PostgreSQL server (postgres://USER@HOST:PORT/DB) for the two-instance append rate; a fresh database is made on it. Default: $SEALKIT_POSTGRES_URL; without either the figure is skipped.")
    var postgres: String?
    @Flag(help: "Measure the appends only (SQLite and PostgreSQL), not admission and proofs.") var appendsOnly = false

    func validate() throws {
        if proofSizes.contains(where: { $0 < 1 }) || proofSizes != proofSizes.sorted() { throw ValidationError("--proof-sizes: positive sizes in increasing order") }
        if webhookAlerts < 1 { throw ValidationError("--webhook-alerts is 1 or more") }
        if buildBatch < 1 || batch < 1 || appendEntries < 1 || admissionRecords < 1 || admissionRounds < 1 || proofs < 1 {
            throw ValidationError("counts must be 1 or more")
        }
    }

    func run() async throws {
        let scratch = URL(fileURLWithPath: directory ?? NSTemporaryDirectory() + "sealledger-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: scratch) } }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("sealledger bench, \(Date().ISO8601Format()), \(cores) cores, load average \(loadAverage())")
        if webhookOnly { return try await webhookLatency(scratch: scratch, alerts: webhookAlerts) }
        let entries = (0..<appendEntries).map { i -> [UInt8] in
            var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: entrySize)
            withUnsafeBytes(of: UInt64(i).bigEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            return bytes
        }
        let signer = try NoteSigner(generatingFor: "bench.sealkit/ledger")
        let verifier = StampVerifier(trustedRoots: [Certificate]())

        // Raw INSERTs first, then the ledger, then raw again: the mean of the two raw runs is the baseline.
        let raw1 = try SQLiteStorage.rawInsertSeconds(path: scratch.appendingPathComponent("raw1.sqlite").path, entries: entries, batch: batch)
        let ledger = try Ledger(storage: try SQLiteStorage(path: scratch.appendingPathComponent("append.sqlite").path), signer: signer, stampVerifier: verifier)
        let start = ContinuousClock.now
        var index = 0
        while index < entries.count {
            let end = min(index + batch, entries.count)
            _ = try ledger.appendPreverified(Array(entries[index..<end]))
            index = end
        }
        let ledgerSeconds = seconds(ContinuousClock.now - start)
        let raw2 = try SQLiteStorage.rawInsertSeconds(path: scratch.appendingPathComponent("raw2.sqlite").path, entries: entries, batch: batch)
        let rawSeconds = (raw1 + raw2) / 2
        let rawRate = Double(entries.count) / rawSeconds, ledgerRate = Double(entries.count) / ledgerSeconds
        print(String(format: "append %d entries of %d B, batches of %d: raw INSERT %.0f/s (%.2f s, %.2f s), ledger %.0f/s (%.2f s); ratio %.2f (goal >= 0.5)",
                     entries.count, entrySize, batch, rawRate, raw1, raw2, ledgerRate, ledgerSeconds, ledgerRate / rawRate))

        if let server = postgres ?? ProcessInfo.processInfo.environment["SEALKIT_POSTGRES_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
            try await postgresAppends(server: server, entries: entries, signer: signer, verifier: verifier, sqliteRate: ledgerRate)
        } else {
            print("postgres: skipped (pass --postgres URL or set SEALKIT_POSTGRES_URL; scripts/postgres.sh start)")
        }
        if appendsOnly { return }
        try await admission(scratch: scratch, signer: signer, cores: cores)
        try proofLatency(scratch: scratch, signer: signer, verifier: verifier)
        try await webhookLatency(scratch: scratch, alerts: webhookAlerts)
    }

    /// The same entries appended on PostgreSQL by two ledger instances at once, each with its own
    /// connections, taking turns under the sequencer's advisory lock exactly as two `sealledger
    /// serve` processes do (each batch: lock, re-read the edge, one transaction, unlock).
    private func postgresAppends(server: String, entries: [[UInt8]], signer: NoteSigner, verifier: StampVerifier, sqliteRate: Double) async throws {
        let url = try PostgresStorage.createDatabase(serverURL: server, name: "sealledger_bench_\(UInt32.random(in: 0...UInt32.max))")
        let instances = try (0..<2).map { _ in try Ledger(storage: try PostgresStorage(url: url), signer: signer, stampVerifier: verifier) }
        let batches = stride(from: 0, to: entries.count, by: batch).map { Array(entries[$0..<min($0 + batch, entries.count)]) }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (number, ledger) in instances.enumerated() {
                let mine = batches.enumerated().filter { $0.offset % 2 == number }.map(\.element)
                group.addTask {
                    // A thread of its own: the storage blocks while it waits for PostgreSQL.
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                        Thread.detachNewThread {
                            continuation.resume(with: Result { for leaves in mine { _ = try ledger.appendPreverified(leaves) } })
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = seconds(ContinuousClock.now - start)
        try instances[0].refresh()
        let checked = try instances[0].fsck()
        guard checked.size == UInt64(entries.count) else { throw ValidationError("postgres: \(checked.size) entries stored, \(entries.count) appended") }
        let rate = Double(entries.count) / elapsed
        print(String(format: "postgres append %d entries of %d B, batches of %d, two instances: %.0f entries/s (%.2f s), %.2f of the SQLite ledger's %.0f/s; fsck ok. Anchors: Tessera POSIX ~10,000/s on 7 cores, Trillian on MySQL 400-500/s",
                     entries.count, entrySize, batch, rate, elapsed, rate / sqliteRate, sqliteRate))
    }

    /// Inclusion proofs in one synthetic tree grown through `proofSizes`: the median (goal < 1 ms)
    /// and 99th percentile over random leaves, each proof checked against the signed checkpoint.
    private func proofLatency(scratch: URL, signer: NoteSigner, verifier: StampVerifier) throws {
        let big = try Ledger(storage: try SQLiteStorage(path: scratch.appendingPathComponent("proofs.sqlite").path), signer: signer, stampVerifier: verifier)
        var n = 0
        for size in proofSizes {
            let buildStart = ContinuousClock.now, builtFrom = n
            while n < size {
                let end = min(n + buildBatch, size)
                _ = try big.appendPreverified((n..<end).map { Array("leaf \($0)".utf8) })
                n = end
            }
            let buildSeconds = seconds(ContinuousClock.now - buildStart)
            let checkpoint = try Checkpoint.open(big.checkpointNote, verifier: signer.verifier)
            var generator = SystemRandomNumberGenerator()
            var latencies: [Double] = []
            for _ in 0..<proofs {
                let leaf = UInt64.random(in: 0..<checkpoint.size, using: &generator)
                let t0 = ContinuousClock.now
                let proof = try big.inclusionProof(index: leaf, size: checkpoint.size)
                latencies.append(seconds(ContinuousClock.now - t0))
                try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(Array("leaf \(leaf)".utf8)), index: leaf, size: checkpoint.size,
                                               proof: proof, root: checkpoint.rootHash)
            }
            latencies.sort()
            print(String(format: "inclusion proof at %d leaves: median %.3f ms (goal < 1 ms), p99 %.3f ms over %d random leaves; grown from %d in %.1f s (%.0f appends/s in batches of %d)",
                         size, latencies[latencies.count / 2] * 1000, latencies[latencies.count * 99 / 100] * 1000, proofs,
                         builtFrom, buildSeconds, Double(size - builtFrom) / buildSeconds, buildBatch))
        }
    }

    /// Admission against the raw cost of the two P-256 verifications a record needs (its stamp
    /// signature and its attestation), over the same records in this run, on all cores:
    /// rounds of full `StampVerifier` verification alternate with rounds of the raw verifications.
    /// The verifier is the one a ledger keeps, so the device certificate chain is validated once
    /// and then answered from its cache. End-to-end admission (verification and one durable
    /// commit per round into a fresh ledger) is printed beside it.
    private func admission(scratch: URL, signer: NoteSigner, cores: Int) async throws {
        let test = try await SimulatedTestToken.make()
        try await test.token.connect()
        var records: [StampRecord] = []
        for i in 0..<admissionRecords {
            let metadata = StampMetadata(time: UInt64(Date().timeIntervalSince1970), operatorID: "bench")
            records.append(try await test.token.stamp(document: Array("document \(i)".utf8), metadata: metadata, pin: SimulatedTestToken.pin))
        }
        let stampVerifier = SimulatedTestToken.verifier
        let certificate = try Certificate(derEncoded: records[0].deviceCertificate)
        guard let deviceKey = P256.Signing.PublicKey(certificate.publicKey) else { throw ValidationError("no P-256 device key") }
        let options = StampVerificationOptions()

        var verifySeconds = 0.0, rawSeconds = 0.0
        for _ in 0..<admissionRounds {
            let t0 = ContinuousClock.now
            let valid = await withTaskGroup(of: Bool.self) { group in
                for record in records {
                    group.addTask { await stampVerifier.verify(record, documentDigest: record.documentDigest, options: options).isValid }
                }
                return await group.reduce(true) { $0 && $1 }
            }
            verifySeconds += seconds(ContinuousClock.now - t0)
            guard valid else { throw ValidationError("a record failed verification") }
            let t1 = ContinuousClock.now
            let rawValid = await withTaskGroup(of: Bool.self) { group in
                for record in records {
                    group.addTask {
                        guard let sealKey = try? P256.Signing.PublicKey(x963Representation: record.sealPublicKey),
                              let stampSignature = try? P256.Signing.ECDSASignature(derRepresentation: record.signature),
                              let attestationSignature = try? P256.Signing.ECDSASignature(derRepresentation: record.attestationSignature) else { return false }
                        return sealKey.isValidSignature(stampSignature, for: record.tbs.encoded())
                            && deviceKey.isValidSignature(attestationSignature, for: record.attestationStatement)
                    }
                }
                return await group.reduce(true) { $0 && $1 }
            }
            rawSeconds += seconds(ContinuousClock.now - t1)
            guard rawValid else { throw ValidationError("a raw verification failed") }
        }
        let total = Double(records.count * admissionRounds)
        let verifyRate = total / verifySeconds, rawRate = total / rawSeconds
        print(String(format: "admission check (full StampVerifier, chain cached per certificate), %d records x %d rounds on %d cores: %.0f/s (%.0f/s per core); raw 2 P-256 verifies per record: %.0f/s (%.0f/s per core); ratio %.2f (goal >= 0.8)",
                     records.count, admissionRounds, cores, verifyRate, verifyRate / Double(cores), rawRate, rawRate / Double(cores), verifyRate / rawRate))

        // End to end: verification and sequencing (one durable commit) into a fresh ledger per round.
        var admitSeconds = 0.0
        for round in 0..<admissionRounds {
            let ledger = try Ledger(storage: try SQLiteStorage(path: scratch.appendingPathComponent("admission-\(round).sqlite").path),
                                    signer: signer, stampVerifier: stampVerifier)
            let t0 = ContinuousClock.now
            let outcomes = await ledger.submit(records)
            admitSeconds += seconds(ContinuousClock.now - t0)
            let added = outcomes.filter { if case .added = $0 { true } else { false } }.count
            guard added == records.count else { throw ValidationError("only \(added) of \(records.count) records were admitted: \(outcomes.first ?? .added(index: 0))") }
        }
        let admitRate = total / admitSeconds
        print(String(format: "admission end to end (verification + one durable commit of %d entries per round): %.0f/s; ratio to raw %.2f (for information)",
                     records.count, admitRate, admitRate / rawRate))
    }

    private func loadAverage() -> String {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return "unknown" }
        return loads.map { String(format: "%.1f", $0) }.joined(separator: " ")
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
