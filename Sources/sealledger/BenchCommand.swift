import ArgumentParser
import Crypto
import Foundation
import SealHostDriver
import SealLedger
import SealSimulatedToken
import X509

/// `sealledger bench`: the ledger's storage figures, measured in one run so that ratios mean
/// something on a shared machine (docs/ledger.md records them).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure batched appends against raw SQLite INSERTs of the same bytes, and inclusion-proof latency.")
    @Option(help: "Entries for the append comparison.") var appendEntries: Int = 20_000
    @Option(help: "Entries per batch (one transaction and one checkpoint each).") var batch: Int = 256
    @Option(help: "Entry size in bytes (a stamp record is about 2,600).") var entrySize: Int = 2_600
    @Option(help: "Synthetic leaves for the proof-latency tree.") var proofLeaves: Int = 1_000_000
    @Option(help: "Inclusion proofs to time.") var proofs: Int = 2_000
    @Option(help: "Records stamped by the simulated test token for the admission figure.") var admissionRecords: Int = 200
    @Option(help: "Scratch directory (default: a new one under the temporary directory, removed afterwards).") var directory: String?

    func run() async throws {
        let scratch = URL(fileURLWithPath: directory ?? NSTemporaryDirectory() + "sealledger-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: scratch) } }
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
        print(String(format: "append %d entries of %d B, batches of %d: raw INSERT %.0f/s (%.2f s, %.2f s), ledger %.0f/s (%.2f s), ratio %.2f",
                     entries.count, entrySize, batch, rawRate, raw1, raw2, ledgerRate, ledgerSeconds, ledgerRate / rawRate))

        try await admission(scratch: scratch, signer: signer)

        // Inclusion proofs at `proofLeaves` synthetic leaves (small entries; the tree is what matters).
        let big = try Ledger(storage: try SQLiteStorage(path: scratch.appendingPathComponent("proofs.sqlite").path), signer: signer, stampVerifier: verifier)
        let buildStart = ContinuousClock.now
        var n = 0
        while n < proofLeaves {
            let end = min(n + 8_192, proofLeaves)
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
        print(String(format: "inclusion proof at %d leaves (built in %.1f s, %.0f/s): median %.3f ms, p99 %.3f ms over %d random leaves (first proofs read tiles from SQLite)",
                     proofLeaves, buildSeconds, Double(proofLeaves) / buildSeconds, latencies[latencies.count / 2] * 1000,
                     latencies[latencies.count * 99 / 100] * 1000, proofs))
    }

    /// Admission (full `StampVerifier` verification, then sequencing) against the raw cost of the two
    /// P-256 verifications a record needs (its stamp signature and its attestation), both run on
    /// all cores over the same records in this run.
    private func admission(scratch: URL, signer: NoteSigner) async throws {
        let test = try await SimulatedTestToken.make()
        try await test.token.connect()
        var records: [StampRecord] = []
        for i in 0..<admissionRecords {
            let metadata = StampMetadata(time: UInt64(Date().timeIntervalSince1970), operatorID: "bench")
            records.append(try await test.token.stamp(document: Array("document \(i)".utf8), metadata: metadata, pin: SimulatedTestToken.pin))
        }
        let ledger = try Ledger(storage: try SQLiteStorage(path: scratch.appendingPathComponent("admission.sqlite").path),
                                signer: signer, stampVerifier: SimulatedTestToken.verifier)
        let t0 = ContinuousClock.now
        let outcomes = await ledger.submit(records)
        let admissionSeconds = seconds(ContinuousClock.now - t0)
        let added = outcomes.filter { if case .added = $0 { true } else { false } }.count
        guard added == records.count else { throw ValidationError("only \(added) of \(records.count) records were admitted: \(outcomes.first ?? .added(index: 0))") }

        // The raw work: per record, its stamp signature over the TBS and its attestation signature.
        let certificate = try Certificate(derEncoded: records[0].deviceCertificate)
        guard let deviceKey = P256.Signing.PublicKey(certificate.publicKey) else { throw ValidationError("no P-256 device key") }
        let t1 = ContinuousClock.now
        let valid = await withTaskGroup(of: Bool.self) { group in
            for record in records {
                group.addTask {
                    guard let sealKey = try? P256.Signing.PublicKey(x963Representation: record.sealPublicKey),
                          let stampSignature = try? P256.Signing.ECDSASignature(derRepresentation: record.signature),
                          let attestationSignature = try? P256.Signing.ECDSASignature(derRepresentation: record.attestationSignature) else { return false }
                    return sealKey.isValidSignature(stampSignature, for: record.tbs.encoded())
                        && deviceKey.isValidSignature(attestationSignature, for: record.attestationStatement)
                }
            }
            var all = true
            for await ok in group { all = all && ok }
            return all
        }
        let rawSeconds = seconds(ContinuousClock.now - t1)
        guard valid else { throw ValidationError("a raw verification failed") }
        let admissionRate = Double(records.count) / admissionSeconds, rawRate = Double(records.count) / rawSeconds
        print(String(format: "admission of %d records (full verification + one batch): %.0f/s; raw 2 P-256 verifies per record: %.0f/s; ratio %.2f (%d cores)",
                     records.count, admissionRate, rawRate, admissionRate / rawRate, ProcessInfo.processInfo.activeProcessorCount))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
