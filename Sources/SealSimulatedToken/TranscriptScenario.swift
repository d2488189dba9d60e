import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol
import Synchronization

/// A reproducible APDU transcript of a simulated chip in deterministic mode: manufacture,
/// personalization, PIN handling, a stamp, the audit log and a few refusals.
///
/// Deterministic mode makes keys, challenges, IDs, serials and expiration codes reproducible, but not
/// ECDSA signatures (swift-crypto randomizes nonces) nor anything derived from them (audit hashes).
/// ``generate()`` therefore runs the scenario twice and marks the lines that differ with `*`; a
/// consumer compares unmarked lines exactly and marked lines by header/status word only.
/// `Fixtures/transcripts/basic-session.txt` is its output (`sealsim transcript`).
package enum TranscriptScenario {
    package static let chipID: [UInt8] = [0x5E, 0xA1, 0xC0, 0xDE] + [UInt8](repeating: 0, count: 11) + [0x01]
    static let seed = Array("SEALKIT-TRANSCRIPT-V1".utf8)

    /// The transcript lines of one run (`>> …` commands, `<< …` responses, `#` section comments).
    package static func run() async throws -> [String] {
        let lines = Mutex<[String]>([])
        func note(_ text: String) { lines.withLock { $0.append("# \(text)") } }
        let backing = InMemoryBackingStore()
        let random = SeededChipRandom(seed: seed)
        try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(),
                                     issuerPublicKey: try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM).publicKey,
                                     chipID: chipID, random: random)
        // Parsed again rather than shared: the manufacture call above puts its arguments in the
        // region that moves into the transport actor.
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
        // The running chip draws from its own seeded stream (the factory's stream stays with the factory).
        let transport = try InProcessTransport(name: "transcript", backing: backing, random: SeededChipRandom(seed: seed + [0x01]))
        let token = SealToken(transport: transport, trace: { event in lines.withLock { $0.append(event.description) } }, secureChannel: .testVendorRoot)

        note("power on, SELECT, identity")
        try await token.connect()
        _ = try await token.chipID()
        _ = try await token.send(SealCommand.getData(.lifecycle))
        note("issuer authentication and personalization (PIN and keys redacted as 2A)")
        try await token.authenticateIssuer(using: P256IssuerSigner(privateKey: issuerKey))
        let personalization = TokenStore.defaultPersonalization(watermarkKey: [UInt8](repeating: 0x42, count: 32))
        _ = try await token.personalize(personalization)
        try await token.setLifecycle(.active)
        note("PIN: a wrong try, then the right PIN")
        _ = try? await token.verifyPIN("000000")
        try await token.verifyPIN(TestCredentials.defaultPIN)
        note("STAMP and the record's attestation")
        var metadata = StampMetadata(time: 1_764_000_000, latitudeMicrodegrees: 31_230_400, longitudeMicrodegrees: 121_473_700,
                                     operatorID: "alice", organizationUnit: "Legal", approvalNode: "CFO")
        // Fixed salts for the personal fields' commitments (metadata v2), so the STAMP command is
        // the same on every run.
        metadata.salts[.location] = [UInt8](repeating: 0x51, count: StampMetadata.saltLength)
        metadata.salts[.operatorID] = [UInt8](repeating: 0x52, count: StampMetadata.saltLength)
        _ = try await token.stamp(documentDigest: Array(SHA256.hash(data: Array("Contract no. 42\n".utf8))), metadata: metadata)
        note("audit log")
        _ = try await token.auditStatus()
        _ = try await token.auditEntry(counter: 0)
        note("refusals: a plain command inside the secure channel ends it (6987), then plain ones outside it")
        _ = try await token.transmitRaw(CommandAPDU(cla: 0x00, ins: 0xEE, p1: 0, p2: 0, data: [], ne: nil))
        _ = try await token.transmitRaw(CommandAPDU(cla: 0xA0, ins: 0xCA, p1: 1, p2: 1, data: [], ne: 256))
        _ = try await token.transmitRaw(SealCommand.getResponse(ne: 256))
        _ = try await token.transmitRaw(SealCommand.getData(.chipID, ne: 8))
        _ = try await token.transmitRaw(SealCommand.setLifecycle(.active))
        await token.disconnect()
        return lines.withLock { $0 }
    }

    /// Two runs merged: lines that differ between runs are prefixed with `*`.
    package static func generate() async throws -> [String] {
        let first = try await run()
        let second = try await run()
        guard first.count == second.count else {
            throw SimulatorError(.invalidArgument, "deterministic scenario produced \(first.count) and \(second.count) lines")
        }
        return zip(first, second).map { $0 == $1 ? $0 : "*" + $0 }
    }

    /// The header every transcript file starts with.
    package static let header = """
        ## SealKit transcript: a deterministic simulated chip (seed "SEALKIT-TRANSCRIPT-V1", chip ID 5EA1C0DE…01).
        ## '>>' command APDU, '<<' response APDU, each followed by its decoding. Lines starting with '*'
        ## carry ECDSA signatures or values derived from them and differ on every run: compare their
        ## header (commands) or status word (responses) only. Regenerate: sealsim transcript --out FILE
        """

    /// Whether `actual` (a fresh run) matches the `expected` transcript lines, honouring `*` marks.
    /// Returns a description of the first mismatch, or nil.
    package static func firstMismatch(expected: [String], actual: [String]) -> String? {
        let expectedLines = expected.filter { !$0.hasPrefix("## ") && !$0.isEmpty }
        guard expectedLines.count == actual.count else {
            return "expected \(expectedLines.count) lines, got \(actual.count)"
        }
        for (index, (want, got)) in zip(expectedLines, actual).enumerated() {
            if want.hasPrefix("*") {
                let wantLine = String(want.dropFirst())
                guard wantLine.prefix(2) == got.prefix(2) else { return "line \(index + 1): direction differs" }
                let wantHex = hexField(wantLine), gotHex = hexField(got)
                let same = wantLine.hasPrefix(">>") ? wantHex.prefix(4) == gotHex.prefix(4) : wantHex.suffix(2) == gotHex.suffix(2)
                if !same { return "line \(index + 1): expected \(wantLine), got \(got)" }
            } else if want != got {
                return "line \(index + 1): expected \(want), got \(got)"
            }
        }
        return nil
    }

    /// The hex bytes of a trace line (`>> 00 A4 … 00  SELECT …`).
    static func hexField(_ line: String) -> [String] {
        let body = line.dropFirst(3)
        let hexPart = body.components(separatedBy: "  ").first ?? ""
        return hexPart.split(separator: " ").map(String.init)
    }
}
