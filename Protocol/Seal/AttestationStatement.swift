/// The statement GET ATTESTATION returns, signed by the device attestation key (SPEC §9.4).
public struct AttestationStatement: Hashable, Sendable {
    /// The domain separator every statement starts with, `"SEALKIT-ATTEST-V2"`.
    public static let domain = Array("SEALKIT-ATTEST-V2".utf8)

    /// Key policy bits (SPEC §9.4).
    public struct KeyPolicy: OptionSet, Hashable, Sendable {
        /// The policy byte.
        public let rawValue: UInt8
        /// Wraps a policy byte.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Bit 0: the seal key pair was generated on the chip.
        public static let generatedOnChip = KeyPolicy(rawValue: 0x01)
        /// Bit 1: the seal private key can never leave the chip.
        public static let neverExportable = KeyPolicy(rawValue: 0x02)
        /// Bit 2: using the seal key requires a verified PIN.
        public static let pinRequired = KeyPolicy(rawValue: 0x04)
        /// Bit 3: stamping requires a remote-authority grant.
        public static let remoteAuthorizationRequired = KeyPolicy(rawValue: 0x08)
        /// Bit 4: every STAMP consumes the PIN verification ("PIN always").
        public static let pinPerStamp = KeyPolicy(rawValue: 0x10)
        /// Bit 5: READ AUDIT LOG needs the PIN or the issuer.
        public static let auditLogNeedsAuthentication = KeyPolicy(rawValue: 0x20)
        /// Bit 6: the seal key is an SM2 key (signatures are SM2 with SM3); clear for P-256.
        public static let sm2SealKey = KeyPolicy(rawValue: 0x40)

        /// The seal key algorithm bit 6 states.
        public var sealKeyAlgorithm: SealKeyAlgorithm { contains(.sm2SealKey) ? .sm2 : .p256 }
    }

    /// The 16-byte chip ID.
    public var chipID: [UInt8]
    /// The seal public key, 65-byte uncompressed P-256 point.
    public var sealPublicKey: [UInt8]
    /// SHA-256 of ``sealPublicKey``.
    public var keyID: [UInt8]
    /// The physical-feature hash of the personalization.
    public var featureHash: [UInt8]
    /// How the seal key is held and may be used.
    public var keyPolicy: KeyPolicy
    /// The signature counter when the statement was made.
    public var counter: UInt32
    /// The lifecycle code when the statement was made (a ``LifecycleState`` code).
    public var lifecycle: UInt8
    /// The audit log's state when the statement was made (GET DATA `0109`), signed so that
    /// middleware cannot fake it (SPEC §9.4).
    public var audit: AuditStatus
    /// The verifier's nonce, 0–32 bytes, echoed for freshness.
    public var nonce: [UInt8]

    /// Creates a statement from its fields.
    public init(chipID: [UInt8], sealPublicKey: [UInt8], keyID: [UInt8], featureHash: [UInt8], keyPolicy: KeyPolicy,
                counter: UInt32, lifecycle: UInt8, audit: AuditStatus, nonce: [UInt8]) {
        self.chipID = chipID
        self.sealPublicKey = sealPublicKey
        self.keyID = keyID
        self.featureHash = featureHash
        self.keyPolicy = keyPolicy
        self.counter = counter
        self.lifecycle = lifecycle
        self.audit = audit
        self.nonce = nonce
    }

    /// The signed byte layout of SPEC §9.4.
    public func encoded() -> [UInt8] {
        var out = Self.domain + chipID + sealPublicKey + keyID + featureHash
        out.append(keyPolicy.rawValue)
        out.appendBigEndian(counter)
        out.append(lifecycle)
        out += audit.encoded()
        out.append(UInt8(truncatingIfNeeded: nonce.count))
        out += nonce
        return out
    }

    static let fixedLength = 17 + 16 + 65 + 32 + 32 + 1 + 4 + 1 + 40 + 1

    /// Decodes the SPEC §9.4 layout.
    ///
    /// - Throws: ``SealDataError``: `invalidEncoding` without the domain header or when truncated,
    ///   `invalidLength` when the nonce length does not match the size.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        guard bytes.count >= Self.fixedLength, Array(bytes[0..<17]) == Self.domain else {
            throw SealDataError(.invalidEncoding, "attestation statement has no SEALKIT-ATTEST-V2 header or is truncated")
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
        do {
            audit = try AuditStatus(decoding: take(40))
        } catch {
            throw SealDataError(.invalidEncoding, "attestation statement audit status: \(error.reason)")
        }
        let nonceLength = Int(take(1)[0])
        guard nonceLength <= SealApplet.maxAttestationNonce, bytes.count == Self.fixedLength + nonceLength else {
            throw SealDataError(.invalidLength, "attestation statement nonce length \(nonceLength) does not match its size")
        }
        nonce = take(nonceLength)
    }
}

/// The response of GET ATTESTATION: `B1` statement, `B2` signature (SPEC §8.15).
public struct AttestationResponse: Hashable, Sendable {
    /// The statement exactly as signed; decode it with ``AttestationStatement/init(decoding:)``.
    public var statementBytes: [UInt8]
    /// The device attestation key's DER ECDSA signature over ``statementBytes``.
    public var signature: [UInt8]

    /// Creates a response from its two fields.
    public init(statementBytes: [UInt8], signature: [UInt8]) {
        self.statementBytes = statementBytes
        self.signature = signature
    }

    /// `B1 L statement  B2 L signature`.
    public func encoded() -> [UInt8] {
        [TLV(tag: SealTag.attestationStatement, value: statementBytes), TLV(tag: SealTag.attestationSignature, value: signature)].encoded()
    }

    /// Decodes `B1 L statement  B2 L signature`.
    ///
    /// `B1` has the BER constructed bit set but holds the raw statement of SPEC §9.4, which is not a
    /// sequence of TLVs, so the generic decoder (which validates constructed values recursively) cannot
    /// be used: the two fields are split without looking inside them.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        var rest = bytes[...]
        func field(_ tag: BERTag, _ name: String, length: ClosedRange<Int>) throws(SealDataError) -> [UInt8] {
            guard let first = rest.popFirst(), UInt32(first) == tag.rawValue else {
                throw SealDataError(.missingField, "attestation: \(name) (\(tag)) expected")
            }
            guard let lengthByte = rest.popFirst() else {
                throw SealDataError(.malformedTLV, "attestation: \(name) length missing")
            }
            let count: Int
            switch lengthByte {
            case 0x00...0x7F:
                count = Int(lengthByte)
            case 0x81:
                guard let value = rest.popFirst(), value >= 0x80 else {
                    throw SealDataError(.malformedTLV, "attestation: \(name) length truncated or not minimal")
                }
                count = Int(value)
            case 0x82:
                guard rest.count >= 2 else { throw SealDataError(.malformedTLV, "attestation: \(name) length truncated") }
                let value = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
                guard value >= 0x100 else { throw SealDataError(.malformedTLV, "attestation: \(name) length not minimal") }
                rest = rest.dropFirst(2)
                count = value
            default:
                throw SealDataError(.malformedTLV, "attestation: \(name) length form \(lengthByte) not supported")
            }
            guard rest.count >= count else {
                throw SealDataError(.malformedTLV, "attestation: \(name) announces \(count) bytes, \(rest.count) remain")
            }
            let value = Array(rest.prefix(count))
            rest = rest.dropFirst(count)
            guard length.contains(value.count) else {
                throw SealDataError(.invalidLength, "attestation: \(name) must be \(length.lowerBound)...\(length.upperBound) bytes, got \(value.count)")
            }
            return value
        }
        statementBytes = try field(SealTag.attestationStatement, "statement", length: 1...512)
        signature = try field(SealTag.attestationSignature, "signature", length: 8...72)
        guard rest.isEmpty else {
            throw SealDataError(.unexpectedField, "attestation: \(rest.count) byte(s) after the signature")
        }
    }
}
