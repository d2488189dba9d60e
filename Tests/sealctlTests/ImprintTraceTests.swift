import Foundation
import Testing

/// A `sealledger serve` subprocess on a free loopback port, over the sandbox's SEALKIT_HOME (so it
/// admits records of the sandbox's simulated token under the TEST vendor root).
private final class LedgerProcess: Sendable {
    let process = Process()
    let base: String

    init(sandbox: Sandbox) async throws {
        let log = URL(fileURLWithPath: sandbox.path("sealledger.out"))
        try Data().write(to: log)
        process.executableURL = Executable.productsDirectory.appendingPathComponent("sealledger")
        process.arguments = ["serve", "--listen", "127.0.0.1:0"]
        process.environment = sandbox.environment
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = FileHandle.nullDevice
        try process.run()
        var found: String?
        for _ in 0..<600 where found == nil && process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            found = text.split(separator: "\n").first { $0.hasPrefix("listening on ") }.map { String($0.dropFirst("listening on ".count)) }
            if found == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let found else {
            process.terminate()
            throw SandboxError("sealledger serve did not start")
        }
        base = found
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// Runs a system tool (zbarimg, rsvg-convert) without blocking the test pool.
private func tool(_ path: String, _ arguments: [String], in sandbox: Sandbox) async throws -> (status: Int32, stdout: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = sandbox.environment
    let out = URL(fileURLWithPath: sandbox.path(".tool-\(UUID().uuidString)"))
    try Data().write(to: out)
    let handle = try FileHandle(forWritingTo: out)
    defer { try? handle.close(); try? FileManager.default.removeItem(at: out) }
    process.standardOutput = handle
    process.standardError = FileHandle.nullDevice
    let status = try await Sandbox.wait(for: process, timeout: .seconds(60))
    return (status, try String(contentsOf: out, encoding: .utf8))
}

@Suite("sealctl imprint and trace against a real sealledger serve (docs/imprint.md)", .serialized)
struct ImprintTraceTests {
    @Test func aStampedRecordIsTracedEndToEndAndCopiesAreCaught() async throws {
        let sandbox = try Sandbox()
        let contract = try await sandbox.stamp("contract.txt", "the contract\n")
        let invoice = try await sandbox.stamp("invoice.txt", "the invoice\n")
        let notSubmitted = try await sandbox.stamp("letter.txt", "a letter\n")
        let ledger = try await LedgerProcess(sandbox: sandbox)
        defer { ledger.stop() }

        let submitted = try await sandbox.run(["ledger", "submit", contract, invoice, "--ledger", ledger.base])
        #expect(submitted.status == 0, "\(submitted)")
        let sealledger = Executable.productsDirectory.appendingPathComponent("sealledger").path
        let vkey = try await tool(sealledger, ["vkey"], in: sandbox).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(vkey.hasPrefix("sealkit.local/ledger+"))

        // The imprint as PNG and SVG; the payload it reports is what zbarimg reads from both.
        let png = try await sandbox.run(["imprint", contract, "--out", "contract.png", "--ledger", ledger.base, "--log-key", vkey, "--json"])
        #expect(png.status == 0, "\(png)")
        let info = try #require(try png.jsonLines().first)
        let payload = try #require(info["payload"] as? String)
        #expect(payload.hasPrefix("\(ledger.base)#st=1&o=sealkit.local/ledger&i=0&h="))
        #expect(info["qrVersion"] as? Int == 8 && info["index"] as? Int == 0)
        let zbarPNG = try await tool("/usr/bin/zbarimg", ["--quiet", "--raw", sandbox.path("contract.png")], in: sandbox)
        #expect(zbarPNG.status == 0 && zbarPNG.stdout == payload + "\n")
        let svg = try await sandbox.run(["imprint", contract, "--out", "contract.svg", "--ledger", ledger.base])
        #expect(svg.status == 0 && svg.stdout.contains("payload: \(payload)"), "\(svg)")
        let rsvg = try await tool("/usr/bin/rsvg-convert", ["--background-color", "white", "-o", sandbox.path("contract-svg.png"), sandbox.path("contract.svg")], in: sandbox)
        #expect(rsvg.status == 0)
        let zbarSVG = try await tool("/usr/bin/zbarimg", ["--quiet", "--raw", sandbox.path("contract-svg.png")], in: sandbox)
        #expect(zbarSVG.stdout == payload + "\n")

        // Genuine: the image on its own document, and the payload text alone.
        let genuine = try await sandbox.run(["trace", "contract.png", "--log-key", vkey, "--document", "contract.txt"])
        #expect(genuine.status == 0 && genuine.stdout.hasPrefix("GENUINE: entry 0 of sealkit.local/ledger"), "\(genuine)")
        let json = try await sandbox.run(["trace", payload, "--log-key", vkey, "--json"])
        let object = try #require(try json.jsonLines().first)
        #expect(json.status == 0 && object["verdict"] as? String == "genuine")
        #expect((object["checks"] as? [[String: Any]])?.count == 10)

        // Copied: the contract's imprint on the invoice. Exit 3, one line on stderr.
        let copied = try await sandbox.run(["trace", "contract.png", "--log-key", vkey, "--document", "invoice.txt"])
        #expect(copied.status == 3, "\(copied)")
        #expect(copied.stderrLines.count == 1 && copied.stderrLines[0].hasPrefix("Error: copied imprint: the imprint's serial"))
        #expect(copied.stdout.contains("this document's own stamps in the ledger: 1"))
        // Expired: the same imprint traced after its expiry. Exit 4.
        let expiry = try #require(object["expiry"] as? Int)
        let expired = try await sandbox.run(["trace", "contract.png", "--log-key", vkey, "--document", "contract.txt", "--at", "\(expiry + 1)"])
        #expect(expired.status == 4 && expired.stderrLines.first?.hasPrefix("Error: expired imprint") == true, "\(expired)")

        // Not proven (exit 1): another log's key; a payload whose serial was changed; an index with
        // another record.
        let otherKey = try await tool(sealledger, ["vkey", "--database", sandbox.path("other-log.sqlite")], in: sandbox)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(otherKey.hasPrefix("sealkit.local/ledger+") && otherKey != vkey)
        let wrongKey = try await sandbox.run(["trace", payload, "--log-key", otherKey])
        #expect(wrongKey.status == 1 && wrongKey.standardError.contains("checkpoint-signature"), "\(wrongKey)")
        let serial = try #require(payload.split(separator: "&").first { $0.hasPrefix("s=") })
        let forgedSerial = payload.replacingOccurrences(of: String(serial), with: "s=AAAAAA-AAAAAA-AAAAAA-0000001-A")
        let forged = try await sandbox.run(["trace", forgedSerial, "--log-key", vkey])
        #expect(forged.status == 1 && forged.standardError.contains("serial"), "\(forged)")
        let otherIndex = try await sandbox.run(["trace", payload.replacingOccurrences(of: "&i=0&", with: "&i=1&"), "--log-key", vkey])
        #expect(otherIndex.status == 1 && otherIndex.standardError.contains("record-hash"), "\(otherIndex)")

        // A witness policy the log's checkpoint does not meet (no witness cosigned it): not proven;
        // --quorum without --witness is a usage error.
        let witnessKey = try await tool(sealledger, ["witness", "vkey"], in: sandbox).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let uncosigned = try await sandbox.run(["trace", payload, "--log-key", vkey, "--witness", witnessKey])
        #expect(uncosigned.status == 1 && uncosigned.standardError.contains("witnesses cosigned"), "\(uncosigned)")
        #expect(try await sandbox.run(["trace", payload, "--log-key", vkey, "--quorum", "1"]).status == 64)

        // Usage and reachability: a malformed payload (64), a ledger that is not there (75), an
        // image without a QR code (1), a record not in the ledger (1), a wrong extension (64).
        #expect(try await sandbox.run(["trace", payload.replacingOccurrences(of: "#st=1", with: "#st=9"), "--log-key", vkey]).status == 64)
        #expect(try await sandbox.run(["trace", payload, "--log-key", vkey, "--ledger", "http://127.0.0.1:9"]).status == 75)
        let noCode = try await sandbox.run(["trace", Sandbox.repository.appendingPathComponent("Fixtures/seal-imprint.png").path, "--log-key", vkey])
        #expect(noCode.status == 1 && noCode.stderrLines.count == 1, "\(noCode)")
        let missing = try await sandbox.run(["imprint", notSubmitted, "--out", "letter.png", "--ledger", ledger.base])
        #expect(missing.status == 1 && missing.standardError.contains("not in the ledger"), "\(missing)")
        #expect(try await sandbox.run(["imprint", contract, "--out", "contract.jpg", "--ledger", ledger.base]).status == 64)
        // A seal image that is not the registered one is refused.
        let image = try await sandbox.run(["imprint", contract, "--out", "x.png", "--ledger", ledger.base,
                                           "--seal-image", Sandbox.repository.appendingPathComponent("Fixtures/seal-imprint.png").path])
        #expect(image.status == 1 && image.standardError.contains("seal image"), "\(image)")

        // A token personalized with a Chinese organization and seal name and a registered seal
        // image: both imprints (generated seal in a CJK font, and the registered image) decode and
        // trace as genuine.
        let sealImage = Sandbox.repository.appendingPathComponent("Fixtures/seal-imprint.png").path
        let sealsim = Executable.sealsim.url.path
        #expect(try await tool(sealsim, ["manufacture", "--state", sandbox.path("cn.nvm")], in: sandbox).status == 0)
        let personalized = try await tool(sealsim, ["personalize", "--state", sandbox.path("cn.nvm"), "--organization", "上海市浦东新区某某科技有限公司",
                                                    "--seal-name", "合同专用章", "--feature-image", sealImage, "--seal-image", sealImage,
                                                    "--pin", "246810", "--puk", "13572468", "--activate"], in: sandbox)
        #expect(personalized.status == 0)
        let chinese = try await sandbox.run(["stamp", "--token-state", sandbox.path("cn.nvm"), "--document", "contract.txt", "--pin", "246810",
                                             "--out", "cn.seal.json"])
        #expect(chinese.status == 0, "\(chinese)")
        #expect(try await sandbox.run(["ledger", "submit", "cn.seal.json", "--ledger", ledger.base]).status == 0)
        let generated = try await sandbox.run(["imprint", "cn.seal.json", "--out", "cn.png", "--ledger", ledger.base, "--json"])
        let fonts = try #require(try generated.jsonLines().first?["fonts"] as? [[String: Any]])
        #expect(fonts.count == 2 && fonts.allSatisfy { ($0["family"] as? String ?? "").contains("WenQuanYi") || ($0["family"] as? String ?? "").contains("CJK") },
                "\(fonts)")
        let registered = try await sandbox.run(["imprint", "cn.seal.json", "--out", "cn-image.png", "--ledger", ledger.base, "--seal-image", sealImage])
        #expect(registered.status == 0, "\(registered)")
        for file in ["cn.png", "cn-image.png"] {
            let traced = try await sandbox.run(["trace", file, "--log-key", vkey, "--document", "contract.txt", "--json"])
            let organization = try traced.jsonLines().first?["organizationName"] as? String
            #expect(traced.status == 0 && organization == "上海市浦东新区某某科技有限公司", "\(traced)")
        }
    }
}
