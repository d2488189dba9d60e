/// The result of one check of a ``StampVerifier`` run.
public struct StampVerificationCheck: Hashable, Sendable, CustomStringConvertible {
    /// The stable identifier of a check; also the ``SealDriverError/failedCheck`` of the
    /// ``SealDriverError/Code-swift.struct/stampInvalid`` error it raises.
    ///
    /// Raw values are stable strings such as `"stamp-signature"`, fit for logs, JSON reports and
    /// scripts. They are documented in `docs/stamp-record.md` ("Verification procedure").
    public struct ID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The stable string, e.g. `"document-digest"`.
        public let rawValue: String
        /// Wraps a raw identifier.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The record's format version is supported and its byte strings have their SPEC lengths.
        public static let recordFormat = ID(rawValue: "record-format")
        /// SHA-256 of the document equals the record's document digest.
        public static let documentDigest = ID(rawValue: "document-digest")
        /// The metadata fields encode canonically (SPEC §9.2) to exactly the recorded `A1` value.
        public static let metadataEncoding = ID(rawValue: "metadata-encoding")
        /// SHA-256 of the recorded `A1` value equals the metadata digest.
        public static let metadataDigest = ID(rawValue: "metadata-digest")
        /// Every personal field's opening (plaintext and salt) reproduces its signed commitment.
        public static let personalData = ID(rawValue: "personal-data")
        /// The key ID is SHA-256 of the seal public key.
        public static let keyID = ID(rawValue: "key-id")
        /// The serial is well formed and its check symbol matches (SPEC §10.1).
        public static let serialFormat = ID(rawValue: "serial-format")
        /// The serial's prefix belongs to the chip ID.
        public static let serialChip = ID(rawValue: "serial-chip")
        /// The serial's counter equals the record's counter.
        public static let serialCounter = ID(rawValue: "serial-counter")
        /// The expiration code is 8 ASCII digits.
        public static let expirationCodeFormat = ID(rawValue: "expiration-code-format")
        /// The expiration code equals the HMAC code of SPEC §10.2 (only with the watermark key).
        public static let expirationCode = ID(rawValue: "expiration-code")
        /// The expiry lies after the metadata time.
        public static let expiryAfterStampTime = ID(rawValue: "expiry-after-stamp-time")
        /// The expiry is not before the verification time.
        public static let notExpired = ID(rawValue: "not-expired")
        /// The seal key's ECDSA signature verifies over the rebuilt stamp TBS (SPEC §9.3).
        public static let stampSignature = ID(rawValue: "stamp-signature")
        /// The device certificate chains to a trusted root under RFC 5280 at the verification time.
        public static let deviceCertificateChain = ID(rawValue: "device-certificate-chain")
        /// The device certificate's subject serialNumber is the chip ID in 32 uppercase hex digits.
        public static let deviceCertificateChipID = ID(rawValue: "device-certificate-chip-id")
        /// The device certificate has a P-256 key, digitalSignature key usage and CA:false (SPEC §12).
        public static let deviceCertificateProfile = ID(rawValue: "device-certificate-profile")
        /// The attestation statement parses (SPEC §9.4).
        public static let attestationFormat = ID(rawValue: "attestation-format")
        /// The attestation statement is signed by the device certificate's key.
        public static let attestationSignature = ID(rawValue: "attestation-signature")
        /// The attestation names the record's chip ID.
        public static let attestationChipID = ID(rawValue: "attestation-chip-id")
        /// The attestation names the record's seal public key.
        public static let attestationSealKey = ID(rawValue: "attestation-seal-key")
        /// The attestation names the record's key ID.
        public static let attestationKeyID = ID(rawValue: "attestation-key-id")
        /// The attestation names the record's physical-feature hash.
        public static let attestationFeatureHash = ID(rawValue: "attestation-feature-hash")
        /// The attestation's key policy has the generated-on-chip bit.
        public static let attestationKeyPolicy = ID(rawValue: "attestation-key-policy")
        /// The attestation's nonce is SHA-256 of the stamp signature and its counter is at least the
        /// stamp's, so it was made after the stamp.
        public static let attestationBinding = ID(rawValue: "attestation-binding")
        /// The counter is greater than the last counter the caller saw from this chip.
        public static let counterFreshness = ID(rawValue: "counter-freshness")
        /// The record's RFC 3161 timestamp token parses and its message imprint is SHA-256 of the
        /// stamp signature (skipped when the record carries no token).
        public static let timestampImprint = ID(rawValue: "timestamp-imprint")
        /// The token's CMS signature verifies: signed attributes over the TSTInfo, signed by the
        /// certificate the token names (skipped without a token).
        public static let timestampSignature = ID(rawValue: "timestamp-signature")
        /// The token's TSA certificate has the timeStamping usage and chains to a configured TSA
        /// root at the token's time (skipped without a token or without TSA roots).
        public static let timestampAuthority = ID(rawValue: "timestamp-authority")

        /// Every check, in the order ``StampVerifier`` runs them.
        public static let allCases: [ID] = [
            .recordFormat, .documentDigest, .metadataEncoding, .metadataDigest, .personalData, .keyID,
            .serialFormat, .serialChip, .serialCounter, .expirationCodeFormat, .expirationCode,
            .expiryAfterStampTime, .notExpired, .stampSignature,
            .deviceCertificateChain, .deviceCertificateChipID, .deviceCertificateProfile,
            .attestationFormat, .attestationSignature, .attestationChipID, .attestationSealKey,
            .attestationKeyID, .attestationFeatureHash, .attestationKeyPolicy, .attestationBinding,
            .counterFreshness, .timestampImprint, .timestampSignature, .timestampAuthority,
        ]

        public var description: String { rawValue }
    }

    /// How a check ended.
    public enum Outcome: String, Hashable, Sendable {
        /// The check ran and held.
        case passed
        /// The check ran and failed.
        case failed
        /// The check needs an input the caller did not give (watermark key, last seen counter).
        case skipped
    }

    /// Which check.
    public var id: ID
    /// How it ended.
    public var outcome: Outcome
    /// What was compared, or why it failed or was skipped.
    public var detail: String

    /// Creates a check result.
    package init(id: ID, outcome: Outcome, detail: String) {
        self.id = id
        self.outcome = outcome
        self.detail = detail
    }

    /// `true` only when the check ran and held.
    public var passed: Bool { outcome == .passed }

    /// `"[passed] stamp-signature: …"`.
    public var description: String { "[\(outcome.rawValue)] \(id): \(detail)" }
}
