import Crypto
import SealGMCrypto
import SealHostDriver
import SealProtocol
import X509

/// The public facts of a personalized token, read with GET DATA.
package struct TokenFacts: Sendable {
    package let chipID: [UInt8]
    package let sealPublicKey: [UInt8]
    package let keyID: [UInt8]
    package let personalization: PersonalizationInfo
    /// The seal key's algorithm, from GET DATA `0105` (`85`, SPEC §8.5; absent = P-256).
    package var sealKeyAlgorithm: SealKeyAlgorithm = .p256

    package var featureHash: [UInt8] { personalization.featureHash }

    package func publicKey() throws -> P256.Signing.PublicKey {
        try expectDecodes("seal package key") { try P256.Signing.PublicKey(x963Representation: sealPublicKey) }
    }

    /// Fails unless `signature` is the seal's signature over `message` in the seal's algorithm
    /// (SPEC §7.1): ECDSA P-256/SHA-256, or SM2/SM3 with the default distinguishing ID.
    package func checkSealSignature(_ signature: [UInt8], over message: [UInt8], _ what: String) throws {
        switch sealKeyAlgorithm {
        case .p256:
            try checkECDSA(publicKey: try publicKey(), signature: signature, message: message, what)
        case .sm2:
            try checkSM2(publicKey: sealPublicKey, signature: signature, message: message, what)
        }
    }
}

/// Fails unless `signature` (DER) is an SM2-with-SM3 signature over `message` by the 65-byte point
/// `publicKey`, Z_A with the default distinguishing ID `1234567812345678` (SPEC §7.1).
package func checkSM2(publicKey: [UInt8], signature: [UInt8], message: [UInt8], _ what: String) throws {
    let key = try expectDecodes("\(what): SM2 seal key") { try SM2PublicKey(x963Representation: publicKey) }
    try expect(SM2Signature.isDER(signature), "\(what): not a DER SEQUENCE { r, s }")
    try expect(key.isValidSignature(signature, for: message), "\(what) does not verify (SM2 with SM3, ID 1234567812345678)")
}

extension ConformanceCard {
    /// Reads chip ID, seal public key, key ID and personalization (the token must be selected).
    package func facts() async throws -> TokenFacts {
        let chipID = try await chipID()
        let key = try await getData(.sealPublicKey)
        let keyID = try await getData(.sealKeyID)
        let info = try await getData(.personalization)
        let personalization = try expectDecodes("\(label): GET DATA 0108 (personalization)") { try PersonalizationInfo(decoding: info) }
        let capabilitiesBytes = try await getData(.capabilities)
        let capabilities = try expectDecodes("\(label): GET DATA 0105 (capabilities)") { try SealCapabilities(decoding: capabilitiesBytes) }
        return TokenFacts(chipID: chipID, sealPublicKey: key, keyID: keyID, personalization: personalization,
                          sealKeyAlgorithm: capabilities.sealKeyAlgorithm ?? .p256)
    }

    /// VERIFY (when `pin` is given) and STAMP, expecting `9000`; decodes the response.
    package func stamp(pin: String?, digest: [UInt8]? = nil, metadata: StampMetadata = SuiteData.metadata(),
                      grant: AuthorizationGrant? = nil) async throws -> StampOutcome {
        if let pin { try await verifyPIN(pin) }
        let request = try StampRequest(documentDigest: digest ?? SuiteData.documentDigest(label), metadata: metadata, grant: grant)
        let answer = try await exchange(SealCommand.stamp(request))
        try expectSW(answer, .success, "\(label): STAMP")
        let response = try expectDecodes("\(label): STAMP response") { try StampResponse(decoding: answer.data) }
        return StampOutcome(request: request, exchange: answer, response: response)
    }

    /// Sends a STAMP data field as is (for malformed-data cases), completed with GET RESPONSE.
    package func stampRaw(_ data: [UInt8]) async throws -> CardExchange {
        try await exchange(CommandAPDU(cla: 0x80, ins: SealInstruction.stamp.rawValue, p1: 0, p2: 0, data: data, ne: 256))
    }
}

/// A STAMP the suite sent and what came back.
package struct StampOutcome: Sendable {
    package let request: StampRequest
    package let exchange: CardExchange
    package let response: StampResponse

    package var metadataDigest: [UInt8] { Array(SHA256.hash(data: request.metadataEncoding)) }

    /// The TBS of SPEC §9.3 rebuilt from the request, the response and the token's facts.
    package func tbs(_ facts: TokenFacts, grantSerial: UInt32 = 0) -> StampTBS {
        StampTBS(chipID: facts.chipID, counter: response.counter, serial: response.serial, expiry: response.expiry,
                 expirationCode: response.expirationCode, documentDigest: request.documentDigest, metadataDigest: metadataDigest,
                 seal: facts.personalization.sealIdentity, keyID: facts.keyID, grantSerial: grantSerial)
    }

    /// Fails unless the signature verifies under the seal public key over the rebuilt TBS.
    package func checkSignature(_ facts: TokenFacts, grantSerial: UInt32 = 0) throws {
        try facts.checkSealSignature(response.signature, over: tbs(facts, grantSerial: grantSerial).encoded(),
                                     "STAMP signature over the rebuilt TBS (SPEC §9.3), counter \(response.counter)")
    }
}

/// Fails unless `signature` (DER) verifies over `message` (SHA-256 inside ECDSA).
package func checkECDSA(publicKey: P256.Signing.PublicKey, signature: [UInt8], message: [UInt8], _ what: String) throws {
    let parsed = try expectDecodes("\(what): DER signature") { try P256.Signing.ECDSASignature(derRepresentation: signature) }
    try expect(publicKey.isValidSignature(parsed, for: message), "\(what) does not verify")
}

/// The entry hash of SPEC §9.6 for `entry`, given the token's facts.
func auditEntryHash(_ entry: AuditEntry, facts: TokenFacts) -> [UInt8] {
    AuditEntry.chainHash(previous: entry.previousHash, tbs: entry.tbs(chipID: facts.chipID, seal: facts.personalization.sealIdentity, keyID: facts.keyID).encoded(),
                         signature: entry.signature)
}

/// Decodes a GET ATTESTATION response `B1 L statement  B2 L signature` (SPEC §8.15).
///
/// Parsed here rather than with the generic BER-TLV decoder: `B1`/`B2` have the BER constructed bit
/// set, but their values are a byte string and a DER signature, not nested data objects.
func decodeAttestation(_ bytes: [UInt8]) throws -> AttestationResponse {
    var index = 0
    func object(_ tag: UInt8, _ name: String) throws -> [UInt8] {
        guard index < bytes.count, bytes[index] == tag else {
            throw ConformanceFailure("attestation response: \(name) (\(hexString([tag]))) expected at offset \(index), got \(spacedHex(Array(bytes.dropFirst(index)), limit: 4))")
        }
        index += 1
        guard index < bytes.count else { throw ConformanceFailure("attestation response: \(name) has no length") }
        var length = Int(bytes[index])
        index += 1
        if length > 0x7F {
            let count = length & 0x7F
            guard (1...2).contains(count), index + count <= bytes.count else {
                throw ConformanceFailure("attestation response: \(name) length field \(hexString([UInt8(length)])) invalid")
            }
            length = readBigEndian(bytes[index..<index + count], as: Int.self)
            let minimal = count == 1 ? length >= 0x80 : length >= 0x100
            guard minimal else { throw ConformanceFailure("attestation response: \(name) length \(length) is not minimal") }
            index += count
        }
        guard index + length <= bytes.count else {
            throw ConformanceFailure("attestation response: \(name) announces \(length) bytes, \(bytes.count - index) remain")
        }
        defer { index += length }
        return Array(bytes[index..<index + length])
    }
    let statement = try object(0xB1, "statement")
    let signature = try object(0xB2, "signature")
    guard index == bytes.count else { throw ConformanceFailure("attestation response: \(bytes.count - index) byte(s) after B2") }
    guard (8...72).contains(signature.count) else { throw ConformanceFailure("attestation signature of \(signature.count) bytes (8…72 allowed)") }
    return AttestationResponse(statementBytes: statement, signature: signature)
}
