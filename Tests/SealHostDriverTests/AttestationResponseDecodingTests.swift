import Crypto
import SealProtocol
import Testing

/// Regression tests for the `AttestationResponse` decoding fix in Protocol/Seal: `B1` has the BER
/// constructed bit but carries the raw SPEC §9.4 statement, which the generic TLV decoder rejected.
@Suite("AttestationResponse decoding (Protocol/Seal fix)")
struct AttestationResponseDecodingTests {
    static func statement(nonce: [UInt8]) -> [UInt8] {
        AttestationStatement(chipID: [UInt8](repeating: 1, count: 16), sealPublicKey: [0x04] + [UInt8](repeating: 2, count: 64),
                             keyID: [UInt8](repeating: 3, count: 32), featureHash: [UInt8](repeating: 4, count: 32),
                             keyPolicy: [.generatedOnChip], counter: 9, lifecycle: 0x07,
                             audit: AuditStatus(oldestCounter: 1, newestCounter: 9, headHash: [UInt8](repeating: 5, count: 32)),
                             nonce: nonce).encoded()
    }

    @Test(arguments: [0, 1, 32])
    func realStatementsRoundTrip(nonceLength: Int) throws {
        let statement = Self.statement(nonce: [UInt8](repeating: 0x5A, count: nonceLength))
        let signature = Array(try P256.Signing.PrivateKey().signature(for: statement).derRepresentation)
        let encoded = AttestationResponse(statementBytes: statement, signature: signature).encoded()
        let decoded = try AttestationResponse(decoding: encoded)
        #expect(decoded.statementBytes == statement)
        #expect(decoded.signature == signature)
        #expect(try AttestationStatement(decoding: decoded.statementBytes).counter == 9)
    }

    @Test func malformedResponsesAreRejected() throws {
        let statement = Self.statement(nonce: [])
        let good = AttestationResponse(statementBytes: statement, signature: [UInt8](repeating: 0x30, count: 70)).encoded()
        #expect(throws: SealDataError.self) { try AttestationResponse(decoding: Array(good.dropLast())) }  // truncated
        #expect(throws: SealDataError.self) { try AttestationResponse(decoding: good + [0x00]) }           // trailing
        #expect(throws: SealDataError.self) { try AttestationResponse(decoding: [0xB2] + Array(good.dropFirst())) }
        #expect(throws: SealDataError.self) { try AttestationResponse(decoding: [0xB1, 0x81, 0x05, 1, 2, 3, 4, 5]) }  // non-minimal
        #expect(throws: SealDataError.self) { try AttestationResponse(decoding: []) }
        #expect(throws: SealDataError.self) {
            try AttestationResponse(decoding: [0xB1, 0x01, 0xAA, 0xB2, 0x02, 0x30, 0x00])  // signature too short
        }
    }
}
