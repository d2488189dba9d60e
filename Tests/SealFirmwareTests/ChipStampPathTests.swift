import Crypto
import SealProtocol
import Testing

@_spi(Benchmarks) @testable import SealFirmware

/// The STAMP path's shortcuts give exactly what the general code gives: the chip's own DER
/// encoding of an ECDSA signature, and the measuring hook that runs STAMP without the channel.
@Suite("Chip STAMP path")
struct ChipStampPathTests {
    @Test("the chip's DER encoding of a signature is swift-crypto's, for real and crafted signatures")
    func derEncoding() throws {
        let key = P256.Signing.PrivateKey()
        for index in 0..<300 {
            let signature = try key.signature(for: Array("message \(index)".utf8))
            let der = signature.rawRepresentation.withUnsafeBytes { ChipSigner.der(rawSignature: $0) }
            #expect(der == Array(signature.derRepresentation))
        }
        // Halves with leading zero bytes, a top bit set after them, a single non-zero byte, all
        // ones: the minimal-integer rules swift-crypto's ASN.1 writer follows.
        let halves: [[UInt8]] = [
            [UInt8](repeating: 0, count: 31) + [1],
            [0, 0, 0x80] + [UInt8](repeating: 0x11, count: 29),
            [0, 0x7F] + [UInt8](repeating: 0xFF, count: 30),
            [UInt8](repeating: 0xFF, count: 32),
            [0x80] + [UInt8](repeating: 0, count: 31),
            [0x01] + [UInt8](repeating: 0, count: 31),
        ]
        for r in halves {
            for s in halves {
                let raw = r + s
                let signature = try P256.Signing.ECDSASignature(rawRepresentation: raw)
                let der = raw.withUnsafeBytes { ChipSigner.der(rawSignature: $0) }
                #expect(der == Array(signature.derRepresentation), "r \(hexString(r)) s \(hexString(s))")
                #expect(try P256.Signing.ECDSASignature(derRepresentation: der).rawRepresentation == signature.rawRepresentation)
            }
        }
    }

    @Test("the measuring hook stamps as a STAMP through the channel does; a plain STAMP APDU stays refused")
    func measuringHook() throws {
        let harness = try ChipHarness.active()
        let request = try harness.stampRequest(time: 1_700_000_100)
        // Protocol v2 (SPEC §14.6): a plain STAMP is refused, and ends the channel.
        #expect(harness.sendPlain(try SealCommand.stamp(request).encoded()).sw == 0x6987)
        harness.openChannel(.b)
        harness.verifyPIN()
        let answer = harness.chip.stampAsUnwrappedByChannel(SealCommand.stamp(request).data)
        #expect(Array(answer.suffix(2)) == [0x90, 0x00])
        let stamp = try StampResponse(decoding: Array(answer.dropLast(2)))
        #expect(stamp.counter == 1)
        #expect(harness.counter() == 1)
        // The audit entry it committed is the one a STAMP through the channel commits: it chains,
        // and the next STAMP (through the channel) follows it.
        let (response, next) = harness.stamp(try harness.stampRequest(time: 1_700_000_200))
        #expect(response.sw == 0x9000)
        #expect(next?.counter == 2)
        let entry = try AuditEntry(decoding: harness.readAuditLog(1).data)
        #expect(entry.serial == stamp.serial && entry.signature == stamp.signature)
        let second = try AuditEntry(decoding: harness.readAuditLog(2).data)
        let seal = try harness.sealPublicKey()
        let keyID = Array(SHA256.hash(data: Array(seal.x963Representation)))
        let tbs = entry.tbs(chipID: harness.fixture.chipID, seal: harness.fixture.sealIdentity, keyID: keyID).encoded()
        #expect(second.previousHash == AuditEntry.chainHash(previous: entry.previousHash, tbs: tbs, signature: entry.signature))
        // Without a verified PIN it refuses as STAMP does (6982), and bad data is 6A80.
        harness.openChannel(.b)
        #expect(harness.chip.stampAsUnwrappedByChannel(SealCommand.stamp(request).data) == [0x69, 0x82])
        harness.verifyPIN()
        #expect(harness.chip.stampAsUnwrappedByChannel([0x90, 0x01, 0x00]) == [0x6A, 0x80])
    }
}
