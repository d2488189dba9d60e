/// Constants of the seal applet protocol (Protocol/SPEC.md §1, §3, §8).
public enum SealApplet {
    /// The application identifier, SPEC §1.1: proprietary category F0, ASCII "SEALKIT", version 1.
    public static let aid: [UInt8] = [0xF0, 0x53, 0x45, 0x41, 0x4C, 0x4B, 0x49, 0x54, 0x01]
    /// Spec version reported in the FCI and capabilities (SPEC §8.1, §8.5).
    public static let specVersion: [UInt8] = [0x02, 0x00]
    /// Largest command data field the chip accepts, one APDU or a whole chain (SPEC §3.1).
    public static let maxCommandData = 4096
    /// Largest response the chip produces (SPEC §3.1).
    public static let maxResponseData = 65536
    /// Number of audit entries the chip retains (SPEC §9.6).
    public static let auditLogCapacity = 64
    /// Longest attestation nonce (SPEC §8.15).
    public static let maxAttestationNonce = 32
    /// Length of the issuer challenge (SPEC §8.3).
    public static let challengeLength = 16
    /// Historical bytes of the reference ATR (SPEC §2.2): capabilities 80 73 80 00 C0, then "SEAL".
    public static let historicalBytes: [UInt8] = [0x80, 0x73, 0x80, 0x00, 0xC0, 0x54, 0x53, 0x45, 0x41, 0x4C]
}

/// Class bytes (SPEC §3.2).
public enum SealClass {
    /// `00`: the ISO 7816-4 interindustry commands (SELECT, GET DATA, VERIFY, ...).
    public static let interindustry: UInt8 = 0x00
    /// `80`: the seal applet's own commands (PERSONALIZE, SET LIFECYCLE, STAMP, READ AUDIT LOG,
    /// GET ATTESTATION, RESET TIME FLOOR).
    public static let proprietary: UInt8 = 0x80
    /// Bit set on every part of a command chain but the last (SPEC §3.4).
    public static let chainingBit: UInt8 = 0x10
}

/// Instruction bytes (SPEC §8 summary table).
public enum SealInstruction: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// `A4` SELECT the applet by AID (SPEC §8.1).
    case select = 0xA4
    /// `C0` GET RESPONSE: fetch the rest of a `61xx` response (SPEC §8.2).
    case getResponse = 0xC0
    /// `84` GET CHALLENGE: 16 random bytes for issuer authentication (SPEC §8.3).
    case getChallenge = 0x84
    /// `82` EXTERNAL AUTHENTICATE: the issuer's signature over the challenge (SPEC §8.4).
    case externalAuthenticate = 0x82
    /// `CA` GET DATA: read one data object (SPEC §8.5).
    case getData = 0xCA
    /// `20` VERIFY the PIN, ask its status, or log out (SPEC §8.6).
    case verify = 0x20
    /// `24` CHANGE REFERENCE DATA: change the PIN (SPEC §8.7).
    case changeReferenceData = 0x24
    /// `2C` RESET RETRY COUNTER: unblock with the PUK and set a new PIN (SPEC §8.8).
    case resetRetryCounter = 0x2C
    /// `50` PERSONALIZE (issuer; SPEC §8.11).
    case personalize = 0x50
    /// `52` SET LIFECYCLE (issuer; SPEC §8.12).
    case setLifecycle = 0x52
    /// `54` STAMP a document digest (SPEC §8.13).
    case stamp = 0x54
    /// `56` READ AUDIT LOG entry (SPEC §8.14).
    case readAuditLog = 0x56
    /// `58` GET ATTESTATION statement (SPEC §8.15).
    case getAttestation = 0x58
    /// `5C` RESET TIME FLOOR: the issuer sets the stamp-time floor (issuer; SPEC §8.16).
    case resetTimeFloor = 0x5C
    /// `4C` PUT SES SEAL: the issuer writes the GB/T 38540 seal in chunks at offsets (issuer; SPEC §8.18).
    case putSESSeal = 0x4C
    /// `4E` READ SES SEAL: reads the installed seal from an offset (SPEC §8.19).
    case readSESSeal = 0x4E
    /// `5E` STAMP-SES: a stamp whose GB/T 38540 `TBS_Sign` the chip composes and signs (SPEC §8.17).
    case stampSES = 0x5E

    /// The class byte (without chaining bit) the instruction belongs to.
    public var classByte: UInt8 {
        switch self {
        case .personalize, .setLifecycle, .stamp, .readAuditLog, .getAttestation, .resetTimeFloor,
             .putSESSeal, .readSESSeal, .stampSES: return SealClass.proprietary
        default: return SealClass.interindustry
        }
    }

    /// Looks an instruction up by its class (chaining bit ignored) and INS byte.
    public init?(cla: UInt8, ins: UInt8) {
        guard let instruction = SealInstruction(rawValue: ins),
              instruction.classByte == cla & ~SealClass.chainingBit else { return nil }
        self = instruction
    }

    /// Commands that change no state and may therefore be answered 6Cxx (SPEC §3.3).
    public var isReadOnly: Bool {
        switch self {
        case .getData, .readAuditLog, .getAttestation, .readSESSeal: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .select: return "SELECT"
        case .getResponse: return "GET RESPONSE"
        case .getChallenge: return "GET CHALLENGE"
        case .externalAuthenticate: return "EXTERNAL AUTHENTICATE"
        case .getData: return "GET DATA"
        case .verify: return "VERIFY"
        case .changeReferenceData: return "CHANGE REFERENCE DATA"
        case .resetRetryCounter: return "RESET RETRY COUNTER"
        case .personalize: return "PERSONALIZE"
        case .setLifecycle: return "SET LIFECYCLE"
        case .stamp: return "STAMP"
        case .readAuditLog: return "READ AUDIT LOG"
        case .getAttestation: return "GET ATTESTATION"
        case .resetTimeFloor: return "RESET TIME FLOOR"
        case .putSESSeal: return "PUT SES SEAL"
        case .readSESSeal: return "READ SES SEAL"
        case .stampSES: return "STAMP-SES"
        }
    }
}

/// Lifecycle states and their codes (SPEC §6).
public enum LifecycleState: UInt8, Sendable, CaseIterable, CustomStringConvertible, Codable {
    /// `01`: identity and attestation present, awaiting personalization.
    case manufactured = 0x01
    /// `03`: personalization locked and seal key generated; not yet in service.
    case personalized = 0x03
    /// `07`: in service; stamping allowed.
    case active = 0x07
    /// `0F`: temporarily out of service; SET LIFECYCLE back to ACTIVE resumes it.
    case suspended = 0x0F
    /// `7F`: keys zeroized for good; counter, audit log and identity stay readable.
    case terminated = 0x7F

    public var description: String {
        switch self {
        case .manufactured: return "MANUFACTURED"
        case .personalized: return "PERSONALIZED"
        case .active: return "ACTIVE"
        case .suspended: return "SUSPENDED"
        case .terminated: return "TERMINATED"
        }
    }

    /// Whether SET LIFECYCLE may move from `self` to `target` (SPEC §6).
    public func canTransition(to target: LifecycleState) -> Bool {
        switch (self, target) {
        case (.personalized, .active), (.active, .suspended), (.suspended, .active): return true
        case (.terminated, _): return false
        case (_, .terminated): return true
        default: return false
        }
    }
}

/// GET DATA object tags, sent in P1-P2 (SPEC §8.5).
public enum SealDataObject: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// `0101`: the 16-byte chip ID.
    case chipID = 0x0101
    /// `0102`: the lifecycle code (``LifecycleState``).
    case lifecycle = 0x0102
    /// `0103`: the signature counter, u32.
    case counter = 0x0103
    /// `0104`: PIN and PUK tries left and their limits (``PINStatus``).
    case pinStatus = 0x0104
    /// `0105`: ``SealCapabilities``.
    case capabilities = 0x0105
    /// `0106`: the device certificate, X.509 DER (SPEC §12).
    case deviceCertificate = 0x0106
    /// `0107`: the seal public key, 65-byte uncompressed P-256 point.
    case sealPublicKey = 0x0107
    /// `0108`: the public part of the personalization (``PersonalizationInfo``).
    case personalization = 0x0108
    /// `0109`: the audit log's window and head (``AuditStatus``).
    case auditStatus = 0x0109
    /// `010A`: the seal key ID, SHA-256 of the seal public key.
    case sealKeyID = 0x010A
    /// `0120`: the certificate of the secure channel's key-agreement key, X.509 DER (SPEC §14.2).
    case keyAgreementCertificate = 0x0120

    public var description: String {
        switch self {
        case .chipID: return "chip ID"
        case .lifecycle: return "lifecycle"
        case .counter: return "counter"
        case .pinStatus: return "PIN status"
        case .capabilities: return "capabilities"
        case .deviceCertificate: return "device certificate"
        case .sealPublicKey: return "seal public key"
        case .personalization: return "personalization"
        case .auditStatus: return "audit status"
        case .sealKeyID: return "seal key ID"
        case .keyAgreementCertificate: return "key-agreement certificate"
        }
    }
}

/// BER-TLV tags of the seal data objects (SPEC §7); lengths and ranges are those of the SPEC §7 table.
public enum SealTag {
    /// `41` organization name, UTF-8, 1–64 bytes.
    public static let organizationName: BERTag = 0x41
    /// `42` seal name, UTF-8, 1–64 bytes.
    public static let sealName: BERTag = 0x42
    /// `43` physical-feature hash, 32 bytes.
    public static let featureHash: BERTag = 0x43
    /// `44` PIN, 6–12 ASCII digits (SPEC v2).
    public static let pin: BERTag = 0x44
    /// `45` PIN try limit, one byte 1–10.
    public static let pinTryLimit: BERTag = 0x45
    /// `46` PUK, 8–16 ASCII digits.
    public static let puk: BERTag = 0x46
    /// `47` PUK try limit, one byte 1–10.
    public static let pukTryLimit: BERTag = 0x47
    /// `48` remote-authority public key, 65-byte uncompressed P-256 point.
    public static let remoteAuthorityKey: BERTag = 0x48
    /// `49` seal policy: bit 0 set when stamping requires a remote-authority grant.
    public static let sealPolicy: BERTag = 0x49
    /// `4A` watermark validity in seconds, u32, at least 60.
    public static let watermarkValidity: BERTag = 0x4A
    /// `4B` watermark key, 32 bytes.
    public static let watermarkKey: BERTag = 0x4B
    /// `4C` SHA-256 of the seal's image, 32 bytes (optional; SPEC §7).
    public static let sealImageHash: BERTag = 0x4C
    /// `4D` time rollback tolerance in seconds, u32 (optional; SPEC §8.13 "Time").
    public static let timeTolerance: BERTag = 0x4D
    /// `4E` seal key algorithm (``SealKeyAlgorithm``), PERSONALIZE only; absent = `01` P-256.
    public static let sealKeyAlgorithm: BERTag = 0x4E
    /// `85` seal key algorithm in the capabilities object, once the chip is personalized.
    public static let capabilitiesSealKeyAlgorithm: BERTag = 0x85
    /// `9F21` the SM2 signature over DER(TBS_Sign) in a STAMP-SES response (SPEC §8.17).
    public static let sesSignature: BERTag = 0x9F21
    /// `9F22` the `TBS_Sign.propertyInfo` of a STAMP-SES request, ASCII, 1–255 bytes.
    public static let sesPropertyInfo: BERTag = 0x9F22
    /// `9F23` SHA-256 of the SES_Seal a STAMP-SES request expects the chip to hold, 32 bytes.
    public static let sesSealHash: BERTag = 0x9F23
    /// `80` spec version, 2 bytes.
    public static let specVersion: BERTag = 0x80
    /// `81` maximum command data, u16.
    public static let maxCommandData: BERTag = 0x81
    /// `82` maximum response data, u32.
    public static let maxResponseData: BERTag = 0x82
    /// `83` feature bits: bit 0 chaining, bit 1 extended length, bit 2 remote authorization.
    public static let features: BERTag = 0x83
    /// `84` in the FCI: the AID (9 bytes).
    public static let aid: BERTag = 0x84
    /// `84` in the capabilities: the audit log capacity, u16.
    public static let auditCapacity: BERTag = 0x84
    /// `86` seal public key, 65 bytes.
    public static let sealPublicKey: BERTag = 0x86
    /// `90` document digest, SHA-256 (32 bytes).
    public static let documentDigest: BERTag = 0x90
    /// `A1` stamp metadata template (SPEC §9.2; ``StampMetadata``).
    public static let metadata: BERTag = 0xA1
    /// `91` time, u64 seconds since 1970-01-01T00:00:00Z.
    public static let time: BERTag = 0x91
    /// `92` inside `A1` (metadata v2): location commitment, 32 bytes (SPEC §9.2.1).
    public static let locationCommitment: BERTag = 0x92
    /// `93` inside `A1` (metadata v2): operator biometric-reference commitment, 32 bytes (SPEC §9.2.1).
    public static let operatorBiometricCommitment: BERTag = 0x93
    /// `94` inside `A1` (metadata v2): operator ID commitment, 32 bytes (SPEC §9.2.1).
    public static let operatorIDCommitment: BERTag = 0x94
    /// `95` inside `A1` (metadata v2): device fingerprint commitment, 32 bytes (SPEC §9.2.1).
    public static let deviceFingerprintCommitment: BERTag = 0x95
    /// `96` organization unit, UTF-8, 1–64 bytes.
    public static let organizationUnit: BERTag = 0x96
    /// `97` approval node, UTF-8, 1–64 bytes.
    public static let approvalNode: BERTag = 0x97
    /// `9F20` inside `A1` (metadata v2): the document's name, UTF-8, 1–128 bytes.
    public static let documentName: BERTag = 0x9F20
    /// `98` metadata digest, 32 bytes.
    public static let metadataDigest: BERTag = 0x98
    /// `99` previous audit-entry hash, 32 bytes.
    public static let previousEntryHash: BERTag = 0x99
    /// `9A` signature counter, u32.
    public static let counter: BERTag = 0x9A
    /// `9B` watermark serial, 19 ASCII characters (SPEC §10.1).
    public static let serial: BERTag = 0x9B
    /// `9C` expiry, u64 seconds since the epoch.
    public static let expiry: BERTag = 0x9C
    /// `9D` expiration code, 8 ASCII digits (SPEC §10.2).
    public static let expirationCode: BERTag = 0x9D
    /// `9E` signature, DER ECDSA, 8–72 bytes.
    public static let signature: BERTag = 0x9E
    /// `A2` remote authorization grant template (SPEC §9.5; ``AuthorizationGrant``).
    public static let grant: BERTag = 0xA2
    /// `C1` grant serial, u32.
    public static let grantSerial: BERTag = 0xC1
    /// `C2` grant kind: `01` document, `02` counter window.
    public static let grantKind: BERTag = 0xC2
    /// `C3` first counter of the grant's window, u32.
    public static let grantFirstCounter: BERTag = 0xC3
    /// `C4` last counter of the grant's window, u32.
    public static let grantLastCounter: BERTag = 0xC4
    /// `C5` granted document digest, 32 bytes (document grants only).
    public static let grantDigest: BERTag = 0xC5
    /// `C7` grant not-before time, u64 seconds since the epoch (SPEC v2 §9.5).
    public static let grantNotBefore: BERTag = 0xC7
    /// `C8` grant not-after time (expiry), u64 seconds since the epoch (SPEC v2 §9.5).
    public static let grantNotAfter: BERTag = 0xC8
    /// `C9` the most stamps a counter-window grant authorizes, u32 ≥ 1 (SPEC v2 §9.5).
    public static let grantMaxStamps: BERTag = 0xC9
    /// `C6` the authority's DER ECDSA signature over the grant.
    public static let grantSignature: BERTag = 0xC6
    /// `B1` attestation statement (SPEC §9.4).
    public static let attestationStatement: BERTag = 0xB1
    /// `B2` attestation signature, DER ECDSA.
    public static let attestationSignature: BERTag = 0xB2
    /// `6F` FCI template returned by SELECT.
    public static let fci: BERTag = 0x6F
    /// `A5` proprietary FCI data inside `6F`.
    public static let fciProprietary: BERTag = 0xA5
    /// `81` current PIN inside CHANGE REFERENCE DATA data (SPEC §8.7).
    public static let currentPIN: BERTag = 0x81
    /// `82` new PIN inside CHANGE REFERENCE DATA and RESET RETRY COUNTER data (SPEC §8.7, §8.8).
    public static let newPIN: BERTag = 0x82
    /// `83` PUK inside RESET RETRY COUNTER data (SPEC §8.8).
    public static let pukValue: BERTag = 0x83
}

/// Reference of the PIN in P2 (SPEC §8.6).
package let sealPINReference: UInt8 = 0x81
/// RESET RETRY COUNTER P1 of the issuer's unblock (new PIN only, ISO 7816-4 P1 `02`; SPEC §8.8).
package let issuerUnblockP1: UInt8 = 0x02
/// Key reference of the issuer key in EXTERNAL AUTHENTICATE P2 (SPEC §8.4).
package let issuerKeyReference: UInt8 = 0x01
