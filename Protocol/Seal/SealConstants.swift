/// Constants of the seal applet protocol (Protocol/SPEC.md §1, §3, §8).
public enum SealApplet {
    /// The application identifier, SPEC §1.1: proprietary category F0, ASCII "SEALKIT", version 1.
    public static let aid: [UInt8] = [0xF0, 0x53, 0x45, 0x41, 0x4C, 0x4B, 0x49, 0x54, 0x01]
    /// Spec version reported in the FCI and capabilities (SPEC §8.1, §8.5).
    public static let specVersion: [UInt8] = [0x01, 0x00]
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
    public static let interindustry: UInt8 = 0x00
    public static let proprietary: UInt8 = 0x80
    /// Bit set on every part of a command chain but the last (SPEC §3.4).
    public static let chainingBit: UInt8 = 0x10
}

/// Instruction bytes (SPEC §8 summary table).
public enum SealInstruction: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case select = 0xA4
    case getResponse = 0xC0
    case getChallenge = 0x84
    case externalAuthenticate = 0x82
    case getData = 0xCA
    case verify = 0x20
    case changeReferenceData = 0x24
    case resetRetryCounter = 0x2C
    case personalize = 0x50
    case setLifecycle = 0x52
    case stamp = 0x54
    case readAuditLog = 0x56
    case getAttestation = 0x58

    /// The class byte (without chaining bit) the instruction belongs to.
    public var classByte: UInt8 {
        switch self {
        case .personalize, .setLifecycle, .stamp, .readAuditLog, .getAttestation: return SealClass.proprietary
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
        case .getData, .readAuditLog, .getAttestation: return true
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
        }
    }
}

/// Lifecycle states and their codes (SPEC §6).
public enum LifecycleState: UInt8, Sendable, CaseIterable, CustomStringConvertible, Codable {
    case manufactured = 0x01
    case personalized = 0x03
    case active = 0x07
    case suspended = 0x0F
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
    case chipID = 0x0101
    case lifecycle = 0x0102
    case counter = 0x0103
    case pinStatus = 0x0104
    case capabilities = 0x0105
    case deviceCertificate = 0x0106
    case sealPublicKey = 0x0107
    case personalization = 0x0108
    case auditStatus = 0x0109
    case sealKeyID = 0x010A

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
        }
    }
}

/// BER-TLV tags of the seal data objects (SPEC §7).
public enum SealTag {
    public static let organizationName: BERTag = 0x41
    public static let sealName: BERTag = 0x42
    public static let featureHash: BERTag = 0x43
    public static let pin: BERTag = 0x44
    public static let pinTryLimit: BERTag = 0x45
    public static let puk: BERTag = 0x46
    public static let pukTryLimit: BERTag = 0x47
    public static let remoteAuthorityKey: BERTag = 0x48
    public static let sealPolicy: BERTag = 0x49
    public static let watermarkValidity: BERTag = 0x4A
    public static let watermarkKey: BERTag = 0x4B
    public static let specVersion: BERTag = 0x80
    public static let maxCommandData: BERTag = 0x81
    public static let maxResponseData: BERTag = 0x82
    public static let features: BERTag = 0x83
    public static let aid: BERTag = 0x84
    public static let auditCapacity: BERTag = 0x84
    public static let sealPublicKey: BERTag = 0x86
    public static let documentDigest: BERTag = 0x90
    public static let metadata: BERTag = 0xA1
    public static let time: BERTag = 0x91
    public static let latitude: BERTag = 0x92
    public static let longitude: BERTag = 0x93
    public static let operatorID: BERTag = 0x94
    public static let deviceFingerprint: BERTag = 0x95
    public static let organizationUnit: BERTag = 0x96
    public static let approvalNode: BERTag = 0x97
    public static let metadataDigest: BERTag = 0x98
    public static let previousEntryHash: BERTag = 0x99
    public static let counter: BERTag = 0x9A
    public static let serial: BERTag = 0x9B
    public static let expiry: BERTag = 0x9C
    public static let expirationCode: BERTag = 0x9D
    public static let signature: BERTag = 0x9E
    public static let grant: BERTag = 0xA2
    public static let grantSerial: BERTag = 0xC1
    public static let grantKind: BERTag = 0xC2
    public static let grantFirstCounter: BERTag = 0xC3
    public static let grantLastCounter: BERTag = 0xC4
    public static let grantDigest: BERTag = 0xC5
    public static let grantSignature: BERTag = 0xC6
    public static let attestationStatement: BERTag = 0xB1
    public static let attestationSignature: BERTag = 0xB2
    public static let fci: BERTag = 0x6F
    public static let fciProprietary: BERTag = 0xA5
    /// Tags inside CHANGE REFERENCE DATA / RESET RETRY COUNTER data (SPEC §8.7, §8.8).
    public static let currentPIN: BERTag = 0x81
    public static let newPIN: BERTag = 0x82
    public static let pukValue: BERTag = 0x83
}

/// Reference of the PIN in P2 (SPEC §8.6).
public let sealPINReference: UInt8 = 0x81
/// Key reference of the issuer key in EXTERNAL AUTHENTICATE P2 (SPEC §8.4).
public let issuerKeyReference: UInt8 = 0x01
