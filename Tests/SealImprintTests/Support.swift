import Foundation
import SealHostDriver
import SealImprint
import SealLedger
import SealTestSupport

/// The repository root (Fixtures/ is read from there).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The example record of docs/stamp-record.md: a real stamp by the simulated token (valid signature,
/// expiry 1831536000 = 2028-01-15).
func exampleRecord() throws -> StampRecord {
    try StampRecord(jsonData: Data(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/fuzz/FuzzStampRecord/example.json")))
}

/// A payload for `record` at `index` of a log named `origin`.
func payload(for record: StampRecord, index: UInt64 = 0, url: String = "http://127.0.0.1:8079",
             origin: String = "sealkit.local/ledger") throws -> TracePayload {
    try TracePayload(ledgerURL: url, origin: origin, index: index, recordHash: LedgerLeaf.recordHash(record.canonicalBytes),
                     serial: record.serial, expirationCode: record.expirationCode)
}

/// A scratch directory, removed by the caller.
func makeScratchDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imprint-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// The independent decoder: zbarimg (zbar-tools) on a file, its QR texts (`--raw`: the data only).
func zbarimg(_ file: URL) async throws -> (status: Int32, texts: [String]) {
    let result = try await runProgram("/usr/bin/zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file.path])
    return (result.status, result.stdout.split(separator: "\n").map(String.init))
}
