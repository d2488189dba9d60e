/// What the issuer writes with PERSONALIZE (SPEC §8.11), and — without PIN, PUK and watermark key —
/// what GET DATA `0108` returns.
public struct PersonalizationData: Hashable, Sendable {
    /// The organization the seal belongs to, 1–64 UTF-8 bytes.
    public var organizationName: String
    /// The seal's name, 1–64 UTF-8 bytes.
    public var sealName: String
    /// SHA-256 of the seal's physical features (its imprint image), 32 bytes.
    public var featureHash: [UInt8]
    /// The initial PIN, 6–12 ASCII digits (SPEC v2 §7).
    public var pin: String
    /// Wrong PIN tries before the PIN blocks, 1–10.
    public var pinTryLimit: UInt8
    /// The PUK that unblocks the PIN, 8–16 ASCII digits.
    public var puk: String
    /// Wrong PUK tries before the PUK blocks for good, 1–10.
    public var pukTryLimit: UInt8
    /// The remote authority's public key (65-byte uncompressed P-256 point), if grants are used.
    public var remoteAuthorityKey: [UInt8]?
    /// Whether every stamp needs a grant from the remote authority; needs ``remoteAuthorityKey``.
    public var requiresRemoteAuthorization: Bool
    /// How long a stamp's watermark stays valid, in seconds (at least 60).
    public var watermarkValiditySeconds: UInt32
    /// The 32-byte key of the expiration codes (SPEC §10.2); the chip never reveals it.
    public var watermarkKey: [UInt8]
    /// SHA-256 of the seal's image (32 bytes), signed in every stamp (SPEC §9.3); optional.
    public var sealImageHash: [UInt8]?
    /// Seal policy bit 1 (SPEC §7 tag `49`): every STAMP consumes the PIN verification ("PIN
    /// always"). On by default.
    public var requiresPINPerStamp: Bool
    /// Seal policy bit 2 (SPEC §7 tag `49`): READ AUDIT LOG needs the PIN or the issuer.
    public var auditLogRequiresAuthentication: Bool
    /// How far, in seconds, a stamp's time may lie before the chip's time floor (SPEC §8.13
    /// "Time", tag `4D`); default one hour.
    public var timeToleranceSeconds: UInt32
    /// The algorithm of the seal key the chip generates (SPEC §7 tag `4E`); P-256 by default.
    /// The tag is sent only for SM2, so a P-256 personalization encodes as before.
    public var sealKeyAlgorithm: SealKeyAlgorithm = .p256

    /// The tolerance when tag `4D` is absent: one hour.
    public static let defaultTimeTolerance: UInt32 = 3600

    /// The seal policy byte of tag `49`.
    public var policyByte: UInt8 {
        (requiresRemoteAuthorization ? SealPolicy.remoteAuthorization : 0)
            | (requiresPINPerStamp ? SealPolicy.pinPerStamp : 0)
            | (auditLogRequiresAuthentication ? SealPolicy.auditLogNeedsAuthentication : 0)
    }

    /// Creates personalization data; ``validate()`` checks it (``encoded()`` does too).
    public init(
        organizationName: String, sealName: String, featureHash: [UInt8], pin: String, pinTryLimit: UInt8 = 3,
        puk: String, pukTryLimit: UInt8 = 10, remoteAuthorityKey: [UInt8]? = nil, requiresRemoteAuthorization: Bool = false,
        watermarkValiditySeconds: UInt32, watermarkKey: [UInt8], sealImageHash: [UInt8]? = nil,
        requiresPINPerStamp: Bool = true, auditLogRequiresAuthentication: Bool = false,
        timeToleranceSeconds: UInt32 = PersonalizationData.defaultTimeTolerance,
        sealKeyAlgorithm: SealKeyAlgorithm = .p256
    ) {
        self.organizationName = organizationName
        self.sealName = sealName
        self.featureHash = featureHash
        self.pin = pin
        self.pinTryLimit = pinTryLimit
        self.puk = puk
        self.pukTryLimit = pukTryLimit
        self.remoteAuthorityKey = remoteAuthorityKey
        self.requiresRemoteAuthorization = requiresRemoteAuthorization
        self.watermarkValiditySeconds = watermarkValiditySeconds
        self.watermarkKey = watermarkKey
        self.sealImageHash = sealImageHash
        self.requiresPINPerStamp = requiresPINPerStamp
        self.auditLogRequiresAuthentication = auditLogRequiresAuthentication
        self.timeToleranceSeconds = timeToleranceSeconds
        self.sealKeyAlgorithm = sealKeyAlgorithm
    }

    /// PIN rule of SPEC §7 (v2): 6 to 12 ASCII digits.
    public static func isValidPIN(_ bytes: [UInt8]) -> Bool {
        pinLengths.contains(bytes.count) && bytes.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// The PIN lengths SPEC v2 allows: at least 6 digits (a 4-digit PIN falls to 10^4 guesses).
    public static let pinLengths = 6...12
    /// The try limits SPEC v2 allows for the PIN and the PUK.
    public static let tryLimits: ClosedRange<UInt8> = 1...10

    /// PUK rule of SPEC §7: 8 to 16 ASCII digits.
    public static func isValidPUK(_ bytes: [UInt8]) -> Bool {
        (8...16).contains(bytes.count) && bytes.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// Checks every field against SPEC §7 and §8.11.
    ///
    /// - Throws: ``SealDataError`` naming the first field out of range.
    public func validate() throws(SealDataError) {
        guard (1...64).contains(organizationName.utf8.count) else { throw SealDataError(.invalidLength, "organization name must be 1 to 64 bytes") }
        guard (1...64).contains(sealName.utf8.count) else { throw SealDataError(.invalidLength, "seal name must be 1 to 64 bytes") }
        guard featureHash.count == 32 else { throw SealDataError(.invalidLength, "physical-feature hash must be 32 bytes") }
        guard Self.isValidPIN(Array(pin.utf8)) else { throw SealDataError(.invalidEncoding, "PIN must be 6 to 12 digits") }
        guard Self.isValidPUK(Array(puk.utf8)) else { throw SealDataError(.invalidEncoding, "PUK must be 8 to 16 digits") }
        guard Self.tryLimits.contains(pinTryLimit), Self.tryLimits.contains(pukTryLimit) else {
            throw SealDataError(.outOfRange, "try limits must be 1 to 10")
        }
        if let key = remoteAuthorityKey, key.count != 65 || key.first != 0x04 {
            throw SealDataError(.invalidEncoding, "remote-authority key must be a 65-byte uncompressed P-256 point")
        }
        guard !requiresRemoteAuthorization || remoteAuthorityKey != nil else {
            throw SealDataError(.missingField, "remote authorization required but no remote-authority key given")
        }
        guard watermarkValiditySeconds >= 60 else { throw SealDataError(.outOfRange, "watermark validity must be at least 60 seconds") }
        guard watermarkKey.count == 32 else { throw SealDataError(.invalidLength, "watermark key must be 32 bytes") }
        if let sealImageHash, sealImageHash.count != 32 {
            throw SealDataError(.invalidLength, "seal image hash must be 32 bytes")
        }
    }

    /// The PERSONALIZE data field, tags in ascending order.
    public func encoded() throws(SealDataError) -> [UInt8] {
        try validate()
        var fields = [
            TLV(tag: SealTag.organizationName, value: Array(organizationName.utf8)),
            TLV(tag: SealTag.sealName, value: Array(sealName.utf8)),
            TLV(tag: SealTag.featureHash, value: featureHash),
            TLV(tag: SealTag.pin, value: Array(pin.utf8)),
            TLV(tag: SealTag.pinTryLimit, value: [pinTryLimit]),
            TLV(tag: SealTag.puk, value: Array(puk.utf8)),
            TLV(tag: SealTag.pukTryLimit, value: [pukTryLimit]),
        ]
        if let remoteAuthorityKey { fields.append(TLV(tag: SealTag.remoteAuthorityKey, value: remoteAuthorityKey)) }
        fields.append(TLV(tag: SealTag.sealPolicy, value: [policyByte]))
        fields.append(TLV(tag: SealTag.watermarkValidity, value: bigEndianBytes(watermarkValiditySeconds)))
        fields.append(TLV(tag: SealTag.watermarkKey, value: watermarkKey))
        if let sealImageHash { fields.append(TLV(tag: SealTag.sealImageHash, value: sealImageHash)) }
        fields.append(TLV(tag: SealTag.timeTolerance, value: bigEndianBytes(timeToleranceSeconds)))
        if sealKeyAlgorithm != .p256 {
            fields.append(TLV(tag: SealTag.sealKeyAlgorithm, value: [sealKeyAlgorithm.rawValue]))
        }
        return fields.encoded()
    }

    /// Decodes a PERSONALIZE data field: any order, each tag once, required tags present (SPEC §8.11).
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        let fields: [TLV]
        do { fields = try TLV.decodeAll(bytes, strict: true) } catch {
            throw SealDataError(.malformedTLV, "PERSONALIZE: \(error)")
        }
        var values: [BERTag: [UInt8]] = [:]
        for field in fields {
            guard (0x41...0x4E).contains(field.tag.rawValue) else {
                throw SealDataError(.unexpectedField, "PERSONALIZE: unknown tag \(field.tag)")
            }
            guard values.updateValue(field.value, forKey: field.tag) == nil else {
                throw SealDataError(.duplicateField, "PERSONALIZE: tag \(field.tag) appears twice")
            }
        }
        func required(_ tag: BERTag, _ name: String) throws(SealDataError) -> [UInt8] {
            guard let value = values[tag] else { throw SealDataError(.missingField, "PERSONALIZE: \(name) (\(tag)) is required") }
            return value
        }
        func text(_ tag: BERTag, _ name: String) throws(SealDataError) -> String {
            guard let text = String(validating: try required(tag, name), as: UTF8.self) else {
                throw SealDataError(.invalidEncoding, "PERSONALIZE: \(name) is not UTF-8")
            }
            return text
        }
        func byte(_ tag: BERTag, _ name: String) throws(SealDataError) -> UInt8 {
            let value = try required(tag, name)
            guard value.count == 1 else { throw SealDataError(.invalidLength, "PERSONALIZE: \(name) must be 1 byte") }
            return value[0]
        }
        organizationName = try text(SealTag.organizationName, "organization name")
        sealName = try text(SealTag.sealName, "seal name")
        featureHash = try required(SealTag.featureHash, "physical-feature hash")
        pin = try text(SealTag.pin, "PIN")
        pinTryLimit = try byte(SealTag.pinTryLimit, "PIN try limit")
        puk = try text(SealTag.puk, "PUK")
        pukTryLimit = try byte(SealTag.pukTryLimit, "PUK try limit")
        remoteAuthorityKey = values[SealTag.remoteAuthorityKey]
        let policy = values[SealTag.sealPolicy] ?? [SealPolicy.default]
        guard policy.count == 1, policy[0] & ~SealPolicy.defined == 0 else {
            throw SealDataError(.outOfRange, "PERSONALIZE: seal policy has undefined bits (only bits 0-2 are defined)")
        }
        requiresRemoteAuthorization = policy[0] & SealPolicy.remoteAuthorization != 0
        requiresPINPerStamp = policy[0] & SealPolicy.pinPerStamp != 0
        auditLogRequiresAuthentication = policy[0] & SealPolicy.auditLogNeedsAuthentication != 0
        sealImageHash = values[SealTag.sealImageHash]
        if let tolerance = values[SealTag.timeTolerance] {
            timeToleranceSeconds = try decodeBigEndian(tolerance, as: UInt32.self, field: "time tolerance")
        } else {
            timeToleranceSeconds = Self.defaultTimeTolerance
        }
        watermarkValiditySeconds = try decodeBigEndian(try required(SealTag.watermarkValidity, "watermark validity"), as: UInt32.self, field: "watermark validity")
        watermarkKey = try required(SealTag.watermarkKey, "watermark key")
        if let algorithm = values[SealTag.sealKeyAlgorithm] {
            guard algorithm.count == 1, let known = SealKeyAlgorithm(rawValue: algorithm[0]) else {
                throw SealDataError(.outOfRange, "PERSONALIZE: seal key algorithm must be 01 (P-256) or 02 (SM2)")
            }
            sealKeyAlgorithm = known
        }
        try validate()
    }
}

/// The public part of the personalization, GET DATA `0108` (SPEC §8.5).
public struct PersonalizationInfo: Hashable, Sendable {
    /// The organization the seal belongs to.
    public var organizationName: String
    /// The seal's name.
    public var sealName: String
    /// SHA-256 of the seal's physical features.
    public var featureHash: [UInt8]
    /// Whether every stamp needs a remote-authority grant.
    public var requiresRemoteAuthorization: Bool
    /// How long a stamp's watermark stays valid, in seconds.
    public var watermarkValiditySeconds: UInt32
    /// The remote authority's public key, if one is installed.
    public var remoteAuthorityKey: [UInt8]?
    /// SHA-256 of the seal's image, when one was personalized.
    public var sealImageHash: [UInt8]?
    /// The whole seal policy byte (tag `49`).
    public var policyByte: UInt8

    /// What every stamp of this seal signs about the seal (SPEC §9.3).
    public var sealIdentity: SealIdentity {
        SealIdentity(organizationName: organizationName, sealName: sealName, featureHash: featureHash, sealImageHash: sealImageHash)
    }

    /// Creates the public personalization from its fields.
    public init(organizationName: String, sealName: String, featureHash: [UInt8], requiresRemoteAuthorization: Bool,
                watermarkValiditySeconds: UInt32, remoteAuthorityKey: [UInt8]?, sealImageHash: [UInt8]? = nil,
                policyByte: UInt8? = nil) {
        self.organizationName = organizationName
        self.sealName = sealName
        self.featureHash = featureHash
        self.requiresRemoteAuthorization = requiresRemoteAuthorization
        self.watermarkValiditySeconds = watermarkValiditySeconds
        self.remoteAuthorityKey = remoteAuthorityKey
        self.sealImageHash = sealImageHash
        self.policyByte = policyByte ?? (requiresRemoteAuthorization ? SealPolicy.remoteAuthorization : 0)
    }

    /// GET DATA `0108`: `41 42 43 [48] 49 4A [4C]` in ascending tag order.
    public func encoded() -> [UInt8] {
        var fields = [
            TLV(tag: SealTag.organizationName, value: Array(organizationName.utf8)),
            TLV(tag: SealTag.sealName, value: Array(sealName.utf8)),
            TLV(tag: SealTag.featureHash, value: featureHash),
        ]
        if let remoteAuthorityKey { fields.append(TLV(tag: SealTag.remoteAuthorityKey, value: remoteAuthorityKey)) }
        fields.append(TLV(tag: SealTag.sealPolicy, value: [policyByte]))
        fields.append(TLV(tag: SealTag.watermarkValidity, value: bigEndianBytes(watermarkValiditySeconds)))
        if let sealImageHash { fields.append(TLV(tag: SealTag.sealImageHash, value: sealImageHash)) }
        return fields.encoded()
    }

    /// Strictly decodes GET DATA `0108`.
    ///
    /// - Throws: ``SealDataError`` naming the field out of order, missing or of the wrong length.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(bytes, context: "personalization info")
        func text(_ value: [UInt8], _ name: String) throws(SealDataError) -> String {
            guard let text = String(validating: value, as: UTF8.self) else { throw SealDataError(.invalidEncoding, "\(name) is not UTF-8") }
            return text
        }
        organizationName = try text(try reader.bytes(SealTag.organizationName, "organization name", length: 1...64), "organization name")
        sealName = try text(try reader.bytes(SealTag.sealName, "seal name", length: 1...64), "seal name")
        featureHash = try reader.bytes(SealTag.featureHash, "feature hash", length: 32...32)
        remoteAuthorityKey = try reader.optionalBytes(SealTag.remoteAuthorityKey, "remote-authority key", length: 65...65)
        policyByte = try reader.bytes(SealTag.sealPolicy, "policy", length: 1...1)[0]
        requiresRemoteAuthorization = policyByte & SealPolicy.remoteAuthorization != 0
        watermarkValiditySeconds = try reader.uint32(SealTag.watermarkValidity, "watermark validity")
        sealImageHash = try reader.optionalBytes(SealTag.sealImageHash, "seal image hash", length: 32...32)
        try reader.finish()
    }
}

/// GET DATA `0104` (SPEC §8.5).
public struct PINStatus: Hashable, Sendable {
    /// Wrong PIN tries left before the PIN blocks (0: blocked).
    public var pinTriesRemaining: UInt8
    /// The PIN try limit set at personalization.
    public var pinTryLimit: UInt8
    /// Wrong PUK tries left before the PUK blocks for good.
    public var pukTriesRemaining: UInt8
    /// The PUK try limit set at personalization.
    public var pukTryLimit: UInt8

    /// Creates a status from its four counts.
    public init(pinTriesRemaining: UInt8, pinTryLimit: UInt8, pukTriesRemaining: UInt8, pukTryLimit: UInt8) {
        self.pinTriesRemaining = pinTriesRemaining
        self.pinTryLimit = pinTryLimit
        self.pukTriesRemaining = pukTriesRemaining
        self.pukTryLimit = pukTryLimit
    }

    /// The four bytes in field order.
    public func encoded() -> [UInt8] { [pinTriesRemaining, pinTryLimit, pukTriesRemaining, pukTryLimit] }

    /// Decodes the four bytes.
    ///
    /// - Throws: ``SealDataError`` (`invalidLength`) for any other size.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        guard bytes.count == 4 else { throw SealDataError(.invalidLength, "PIN status must be 4 bytes, got \(bytes.count)") }
        self.init(pinTriesRemaining: bytes[0], pinTryLimit: bytes[1], pukTriesRemaining: bytes[2], pukTryLimit: bytes[3])
    }
}

/// The bits of the seal policy byte, tag `49` (SPEC §7).
public enum SealPolicy {
    /// Bit 0: every STAMP needs a remote-authority grant (needs tag `48`).
    public static let remoteAuthorization: UInt8 = 0x01
    /// Bit 1: a STAMP clears PIN-verified ("PIN always").
    public static let pinPerStamp: UInt8 = 0x02
    /// Bit 2: READ AUDIT LOG needs the PIN verified or the issuer authenticated.
    public static let auditLogNeedsAuthentication: UInt8 = 0x04
    /// The bits defined by SPEC v2.
    public static let defined: UInt8 = 0x07
    /// The policy when tag `49` is absent: PIN always, nothing else.
    public static let `default`: UInt8 = pinPerStamp
}
