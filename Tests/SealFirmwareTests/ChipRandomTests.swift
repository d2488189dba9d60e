import Crypto
import SealProtocol
import Testing

@testable import SealFirmware

/// The chip's random sources and on-chip key generation.
@Suite("Chip random sources")
struct ChipRandomTests {
    @Test("SeededChipRandom is deterministic, seed-dependent and independent of chunking")
    func seeded() {
        let a = SeededChipRandom(seed: [1, 2, 3]).randomBytes(count: 100)
        #expect(a.count == 100)
        #expect(SeededChipRandom(seed: [1, 2, 3]).randomBytes(count: 100) == a)
        #expect(SeededChipRandom(seed: [1, 2, 4]).randomBytes(count: 100) != a)
        #expect(SeededChipRandom(seed: []).randomBytes(count: 32) != SeededChipRandom(seed: [0]).randomBytes(count: 32))
        let chunked = SeededChipRandom(seed: [1, 2, 3])
        let pieces = [7, 1, 32, 0, 60].flatMap { chunked.randomBytes(count: $0) }
        #expect(pieces == a)
    }

    @Test("SystemChipRandom returns the requested count and varies")
    func system() {
        let random = SystemChipRandom()
        #expect(random.randomBytes(count: 0).isEmpty)
        #expect(random.randomBytes(count: 13).count == 13)
        #expect(random.randomBytes(count: 32) != random.randomBytes(count: 32))
    }

    @Test("the same seed makes the same device and seal keys and challenges; signatures stay randomized")
    func reproducibleChip() throws {
        let fixture = ChipFixture()
        func build() throws -> (ChipHarness, [UInt8], [UInt8]) {
            let harness = try ChipHarness(fixture: fixture, image: nil, seed: [42])
            harness.select()
            let challenge = harness.send(SealCommand.getChallenge()).data
            harness.authenticateIssuer()
            let sealKey = harness.send(try SealCommand.personalize(fixture.personalization)).data
            harness.select()
            return (harness, challenge, sealKey)
        }
        let (first, challenge1, seal1) = try build()
        let (second, challenge2, seal2) = try build()
        #expect(first.devicePublicKey == second.devicePublicKey)
        #expect(challenge1 == challenge2)
        #expect(seal1 == seal2 && seal1.count == 67)
        var attest = SealCommand.getAttestation(nonce: [])
        attest.ne = 65_536
        #expect(first.send(attest).data != second.send(attest).data, "ECDSA signatures are randomized")
        let third = try ChipHarness(fixture: fixture, image: nil, seed: [43])
        #expect(third.devicePublicKey != first.devicePublicKey)
    }

    @Test("key generation retries invalid scalars and gives up on a broken source")
    func keyGeneration() {
        final class Scripted: ChipRandomSource {
            var blocks: [[UInt8]]
            init(_ blocks: [[UInt8]]) { self.blocks = blocks }
            func randomBytes(count: Int) -> [UInt8] {
                blocks.isEmpty ? [UInt8](repeating: 0xFF, count: count) : blocks.removeFirst()
            }
        }
        let valid = [UInt8](repeating: 0x11, count: 32)
        let source = Scripted([[UInt8](repeating: 0, count: 32), [UInt8](repeating: 0xFF, count: 32), valid])
        let key = ChipKeyGenerator.generateSigningKey(using: source)
        #expect(key.map { Array($0.rawRepresentation) } == valid)
        #expect(ChipKeyGenerator.generateSigningKey(using: Scripted([])) == nil, "n ≤ FF…FF: never a valid scalar")
        #expect(throws: SealChipError(.keyGenerationFailed, "")) {
            try SealChip.manufacture(nvm: NonVolatileMemory(backing: InMemoryBackingStore()), chipID: ChipFixture().chipID,
                                     issuerPublicKey: ChipFixture().issuerPublicKey, random: Scripted([]))
        }
    }
}
