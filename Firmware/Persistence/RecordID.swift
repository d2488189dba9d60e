/// The map of the applet's persistent records onto NVM record ids.
///
/// | id | content | written by |
/// |---|---|---|
/// | `0001` | chip ID (16) | manufacture |
/// | `0002` | device attestation private key, P-256 scalar (32) | manufacture |
/// | `0003` | device certificate, X.509 DER | installDeviceCertificate |
/// | `0004` | issuer public key, X9.63 (65) | manufacture |
/// | `0005` | lifecycle code (1) | manufacture, PERSONALIZE, SET LIFECYCLE |
/// | `0006` | key-agreement private key SK.SD.ECKA, P-256 scalar (32) | manufacture |
/// | `0007` | key-agreement certificate, X.509 DER | installKeyAgreementCertificate |
/// | `0010`–`0016` | organization, seal name, feature hash, policy, validity u32, remote-authority key, watermark key | PERSONALIZE (watermark key zeroized by TERMINATE) |
/// | `0017` | seal image hash (32), absent when none | PERSONALIZE |
/// | `0018` | time rollback tolerance u32 (seconds) | PERSONALIZE |
/// | `0019` | seal key algorithm (1): `02` SM2; absent = P-256 (SPEC §7 tag `4E`) | PERSONALIZE |
/// | `0020` | seal private key, P-256 or SM2 scalar (32) | PERSONALIZE (zeroized by TERMINATE) |
/// | `0021` | seal public key, uncompressed point (65): kept after TERMINATE so the audit log stays checkable | PERSONALIZE |
/// | `0030` / `0031` | PIN reference (salt ‖ HMAC) / PIN try counter (remaining, limit) | PERSONALIZE, VERIFY, CHANGE, RESET RETRY |
/// | `0032` / `0033` | PUK reference / PUK try counter | PERSONALIZE, RESET RETRY |
/// | `0040` | signature counter u32 | manufacture (0), STAMP |
/// | `0041` | grant ledger: floor u32 ‖ (serial u32 ‖ uses u32)* (``GrantLedger``) | manufacture (floor 0), STAMP |
/// | `0042` | audit head: newest counter u32 ‖ head hash (32) | manufacture (zeros), STAMP |
/// | `0043` | time-floor reset: floor u64 ‖ counter u32 at the reset; absent until the first | RESET TIME FLOOR |
/// | `0044` | SES seal directory: total length u32 ‖ chunk count u16; absent when none | PUT SES SEAL |
/// | `0200`–`02FF` | SES seal chunk i, as one PUT SES SEAL wrote it | PUT SES SEAL |
/// | `0100`–`013F` | audit ring slot (n − 1) mod 64: the entry's SPEC §8.14 encoding | STAMP |
struct RecordID: Hashable, Sendable {
    let rawValue: UInt16

    private init(_ rawValue: UInt16) {
        self.rawValue = rawValue
    }

    static let chipID = RecordID(0x0001)
    static let devicePrivateKey = RecordID(0x0002)
    static let deviceCertificate = RecordID(0x0003)
    static let issuerPublicKey = RecordID(0x0004)
    static let lifecycle = RecordID(0x0005)
    static let keyAgreementPrivateKey = RecordID(0x0006)
    static let keyAgreementCertificate = RecordID(0x0007)

    static let organizationName = RecordID(0x0010)
    static let sealName = RecordID(0x0011)
    static let featureHash = RecordID(0x0012)
    static let sealPolicy = RecordID(0x0013)
    static let watermarkValidity = RecordID(0x0014)
    static let remoteAuthorityKey = RecordID(0x0015)
    static let watermarkKey = RecordID(0x0016)
    static let sealImageHash = RecordID(0x0017)
    static let timeTolerance = RecordID(0x0018)
    static let sealKeyAlgorithm = RecordID(0x0019)

    static let sealPrivateKey = RecordID(0x0020)
    static let sealPublicKey = RecordID(0x0021)

    static let pinReference = RecordID(0x0030)
    static let pinTryCounter = RecordID(0x0031)
    static let pukReference = RecordID(0x0032)
    static let pukTryCounter = RecordID(0x0033)

    static let signatureCounter = RecordID(0x0040)
    static let lastGrantSerial = RecordID(0x0041)
    static let auditHead = RecordID(0x0042)
    static let timeFloorReset = RecordID(0x0043)
    static let sesSealDirectory = RecordID(0x0044)

    /// At most this many SES seal chunks (records `0200`–`02FF`).
    static let sesSealChunkCount = 256
    /// The record of SES seal chunk `index` (0-based, below ``sesSealChunkCount``).
    static func sesSealChunk(_ index: Int) -> RecordID {
        RecordID(0x0200 + UInt16(index & 0xFF))
    }

    /// Number of audit ring slots (SPEC §9.6).
    static let auditSlotCount = 64
    private static let firstAuditSlot: UInt16 = 0x0100

    /// The ring slot that holds the audit entry of counter `n` (n ≥ 1).
    static func auditSlot(forCounter n: UInt32) -> RecordID {
        RecordID(firstAuditSlot + UInt16((n &- 1) % UInt32(auditSlotCount)))
    }
}
