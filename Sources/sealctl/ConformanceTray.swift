import ArgumentParser
import Crypto
import Foundation
import SealConformance
import SealHostDriver
import SealPCSC
import SealSimulatedToken
import X509

/// One chip of a tray: its reader, its report and the wall time of its run.
struct TrayChip: Sendable {
    var reader: String
    var report: ConformanceReport
    var wallSeconds: Double

    /// The chip ID in hex, or — for a token whose chip ID could not be read — a name made from the reader.
    var fileStem: String {
        if !report.chipIDHex.isEmpty { return report.chipIDHex }
        let safe = reader.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return "unidentified-" + String(safe)
    }
}

/// The summary of a tray run: one row per chip.
struct TraySummary: Sendable {
    var chips: [TrayChip]
    var wallSeconds: Double

    var allPassed: Bool { chips.allSatisfy { $0.report.allMandatoryPassed } }
    var casesRun: Int { chips.reduce(0) { $0 + $1.report.passed + $1.report.failed } }

    /// The table printed at the end and written to `tray.md`.
    func markdown() -> String {
        var lines = [
            "| Reader | Chip ID | Passed | Failed | Skipped | Wall time | Verdict |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for chip in chips {
            let report = chip.report
            lines.append("| \(chip.reader) | \(report.chipIDHex.isEmpty ? "—" : report.chipIDHex) | \(report.passed) | \(report.failed) | \(report.skipped) | \(String(format: "%.1f s", chip.wallSeconds)) | \(report.allMandatoryPassed ? "PASS" : "FAIL") |")
        }
        let sumOfRuns = chips.reduce(0) { $0 + $1.wallSeconds }
        lines.append("")
        lines.append(String(format: "%d chip(s), %d failed; tray wall time %.1f s (sum of the chips' runs %.1f s); %d cases run, %.1f cases/s",
                            chips.count, chips.filter { !$0.report.allMandatoryPassed }.count, wallSeconds, sumOfRuns,
                            casesRun, wallSeconds > 0 ? Double(casesRun) / wallSeconds : 0))
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Conformance {
    /// `--all-readers`: the suite on every PC/SC reader with a card, one task per reader.
    func runTray() async throws {
        let filters = readersMatching
        let readers: [String] = try await userFacing {
            try await PCSCReaders.list()
                .filter { $0.isCardPresent && !$0.isExclusivelyInUse }
                .map(\.name)
                .filter { name in filters.isEmpty || filters.contains { name.contains($0) } }
        }
        guard !readers.isEmpty else {
            throw CLIError("--all-readers: no PC/SC reader\(filters.isEmpty ? "" : " matching \(filters.joined(separator: ", "))") has a card (see `sealctl readers`)")
        }
        let roots = try VendorRoots.load(target.vendorRoot)  // validate() requires at least one
        let issuerPEM = try issuerKey.map { String(decoding: try readFile($0, what: "issuer key"), as: UTF8.self) }
        let directory = reportDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
        if let directory {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw CLIError("cannot create \(directory.path): \(error.localizedDescription)")
            }
        }
        var runner = ConformanceRunner()
        if !only.isEmpty { runner = runner.selecting(only) }
        print("tray: \(readers.count) reader(s) with a card, \(runner.cases.count) cases each")

        let clock = ContinuousClock()
        let began = clock.now
        let (pin, puk, selected) = (self.pin, self.puk, runner)
        let chips = try await withThrowingTaskGroup(of: TrayChip.self) { group in
            for reader in readers {
                group.addTask {
                    // Private keys are not Sendable: each task parses the PEM itself.
                    let signer = try issuerPEM.map { P256IssuerSigner(privateKey: try P256.Signing.PrivateKey(pemRepresentation: $0)) }
                    let transport = PCSCTransport(readerName: reader, shareMode: .shared)
                    let target = ConformanceTarget(name: "PC/SC reader \(reader)", openToken: { transport }, pin: pin, puk: puk,
                                                   issuerSigner: signer, vendorRoots: roots)
                    let start = clock.now
                    let report = await selected.run(target: target)
                    await transport.close()
                    let chip = TrayChip(reader: reader, report: report, wallSeconds: seconds(clock.now - start))
                    print("\(chip.report.allMandatoryPassed ? "PASS" : "FAIL") \(reader) chip \(report.chipIDHex.isEmpty ? "?" : report.chipIDHex): \(report.summaryLine)")
                    return chip
                }
            }
            var chips: [TrayChip] = []
            for try await chip in group { chips.append(chip) }
            return chips.sorted { $0.reader < $1.reader }
        }
        let summary = TraySummary(chips: chips, wallSeconds: seconds(clock.now - began))
        if let directory {
            for chip in chips {
                let stem = directory.appendingPathComponent(chip.fileStem).path
                try userFacingWriteReport(stem + ".junit.xml") { Data(chip.report.junitXML().utf8) }
                try userFacingWriteReport(stem + ".json") { try chip.report.json() }
                try userFacingWriteReport(stem + ".md") { Data(chip.report.markdown().utf8) }
            }
            try userFacingWriteReport(directory.appendingPathComponent("tray.md").path) { Data(summary.markdown().utf8) }
        }
        print("")
        print(summary.markdown(), terminator: "")
        if !summary.allPassed { throw ExitCode(1) }
    }

    private func userFacingWriteReport(_ path: String, _ content: () throws -> Data) throws {
        do {
            try content().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
