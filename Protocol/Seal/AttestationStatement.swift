/// The statement GET ATTESTATION returns, signed by the device attestation key (SPEC §9.4).
public struct AttestationStatement: Hashable, Sendable {
    public static let domain = Array("SEALKIT-ATTEST-V1".utf8)

    /// Key policy bits (SPEC §9.4).
    public struct KeyPolicy: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let generatedOnChip = KeyPolicy(rawValue: 0x01)
        public static let neverExportable = KeyPolicy(rawValue: 0x02)
        public static let pinRequired = KeyPolicy(rawValue: 0x04)
        public static let remoteAuthorizationRequired = KeyPolicy(rawValue: 0x08)
    }

    public var chipID: [UInt8]
    public var sealPublicKey: [UInt8]
    public var keyID: [UInt8]
    public var featureHash: [UInt8]
    public var keyPolicy: KeyPolicy
    public var counter: UInt32
    public var lifecycle: UInt8
    public var nonce: [UInt8]

    public init(chipID: [UInt8], sealPublicKey: [UInt8], keyID: [UInt8], featureHash: [UInt8], keyPolicy: KeyPolicy,
                counter: UInt32, lifecycle: UInt8, nonce: [UInt8]) {
        self.chipID = chipID
        self.sealPublicKey = sealPublicKey
        self.keyID = keyID
        self.featureHash = featureHash
        self.keyPolicy = keyPolicy
        self.counter = counter
        self.lifecycle = lifecycle
        self.nonce = nonce
    }

    public func encoded() -> [UInt8] {
        var out = Self.domain + chipID + sealPublicKey + keyID + featureHash
        out.append(keyPolicy.rawValue)
        out.appendBigEndian(counter)
        out.append(lifecycle)
        out.append(UInt8(truncatingIfNeeded: nonce.count))
        out += nonce
        return out
    }

    static let fixedLength = 17 + 16 + 65 + 32 + 32 + 1 + 4 + 1 + 1

    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        guard bytes.count >= Self.fixedLength, Array(bytes[0..<17]) == Self.domain else {
            throw SealDataError(.invalidEncoding, "attestation statement has no SEALKIT-ATTEST-V1 header or is truncated")
        }
        var at = 17
        func take(_ n: Int) -> [UInt8] {
            defer { at += n }
            return Array(bytes[at..<(at + n)])
        }
        chipID = take(16)
        sealPublicKey = take(65)
        keyID = take(32)
        featureHash = take(32)
        keyPolicy = KeyPolicy(rawValue: take(1)[0])
        counter = readBigEndian(take(4), as: UInt32.self)
        lifecycle = take(1)[0]
        let nonceLength = Int(take(1)[0])
        guard nonceLength <= SealApplet.maxAttestationNonce, bytes.count == Self.fixedLength + nonceLength else {
            throw SealDataError(.invalidLength, "attestation statement nonce length \(nonceLength) does not match its size")
        }
        nonce = take(nonceLength)
    }
}

/// The response of GET ATTESTATION: `B1` statement, `B2` signature (SPEC §8.15).
public struct AttestationResponse: Hashable, Sendable {
    public var statementBytes: [UInt8]
    public var signature: [UInt8]

    public init(statementBytes: [UInt8], signature: [UInt8]) {
        self.statementBytes = statementBytes
        self.signature = signature
    }

    public func encoded() -> [UInt8] {
        [TLV(tag: SealTag.attestationStatement, value: statementBytes), TLV(tag: SealTag.attestationSignature, value: signature)].encoded()
    }

    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(bytes, context: "attestation")
        statementBytes = try reader.bytes(SealTag.attestationStatement, "statement", length: 1...512)
        signature = try reader.bytes(SealTag.attestationSignature, "signature", length: 8...72)
        try reader.finish()
    }
}
