import Crypto
import SealProtocol

/// The factory interface (SPEC §12): not reachable through APDUs.
extension SealChip {
    /// Largest device certificate the chip stores.
    public static let maximumCertificateLength = 8192

    /// Manufactures a chip in `nvm`: sets the chip ID, generates the device attestation key pair on
    /// chip from `random`, installs the issuer public key, zeroes the signature counter, grant serial
    /// and audit head, and enters MANUFACTURED — all in one NVM transaction.
    ///
    /// - Parameters:
    ///   - nvm: the chip's memory, powered on and never manufactured.
    ///   - chipID: 16 bytes.
    ///   - issuerPublicKey: the issuer's P-256 public key, X9.63 uncompressed (65 bytes).
    ///   - random: the source of the device key (``SystemChipRandom`` for a real-like chip).
    /// - Returns: the device attestation public key, X9.63 (65 bytes), for the vendor CA to certify.
    ///   The private key never leaves the chip.
    /// - Throws: ``SealChipError`` (`invalidChipID`, `invalidIssuerKey`, `alreadyManufactured`,
    ///   `keyGenerationFailed`) or the ``NVMError`` of the write; nothing is written on failure.
    @discardableResult
    public static func manufacture(
        nvm: NonVolatileMemory, chipID: [UInt8], issuerPublicKey: [UInt8], random: any ChipRandomSource
    ) throws -> [UInt8] {
        guard chipID.count == 16 else {
            throw SealChipError(.invalidChipID, "chip ID must be 16 bytes, got \(chipID.count)")
        }
        guard issuerPublicKey.count == 65, issuerPublicKey.first == 0x04,
              (try? P256.Signing.PublicKey(x963Representation: issuerPublicKey)) != nil else {
            throw SealChipError(.invalidIssuerKey, "issuer key must be a 65-byte uncompressed P-256 point")
        }
        let store = PersistentStore(nvm: nvm)
        guard store.read(.chipID) == nil, store.read(.lifecycle) == nil else {
            throw SealChipError(.alreadyManufactured, "the NVM already holds a chip")
        }
        // The key-agreement key of the secure channel (SPEC §14) is a separate key: the device
        // key only signs attestations, this one only agrees keys.
        guard let deviceKey = ChipKeyGenerator.generateSigningKey(using: random),
              let keyAgreementKey = ChipKeyGenerator.generateSigningKey(using: random) else {
            throw SealChipError(.keyGenerationFailed, "the random source produced no valid P-256 scalar")
        }
        try transaction(nvm) { () throws(NVMError) in
            try nvm.write(RecordID.chipID.rawValue, chipID)
            try nvm.write(RecordID.devicePrivateKey.rawValue, Array(deviceKey.rawRepresentation))
            try nvm.write(RecordID.keyAgreementPrivateKey.rawValue, Array(keyAgreementKey.rawRepresentation))
            try nvm.write(RecordID.issuerPublicKey.rawValue, issuerPublicKey)
            try nvm.write(RecordID.signatureCounter.rawValue, bigEndianBytes(UInt32(0)))
            try nvm.write(RecordID.lastGrantSerial.rawValue, bigEndianBytes(UInt32(0)))
            try nvm.write(RecordID.auditHead.rawValue, AuditHead.empty.encoded)
            try nvm.write(RecordID.lifecycle.rawValue, [LifecycleState.manufactured.rawValue])
        }
        return Array(deviceKey.publicKey.x963Representation)
    }

    /// Installs the device certificate made by the vendor CA for the key
    /// ``manufacture(nvm:chipID:issuerPublicKey:random:)`` returned. Allowed once, in MANUFACTURED.
    ///
    /// The firmware does not parse X.509; it only checks that `der` is one well-formed DER SEQUENCE
    /// of at most ``maximumCertificateLength`` bytes.
    ///
    /// - Throws: ``SealChipError`` (`notManufactured`, `certificateNotAllowed`, `invalidCertificate`)
    ///   or the ``NVMError`` of the write.
    public static func installDeviceCertificate(nvm: NonVolatileMemory, der: [UInt8]) throws {
        let store = PersistentStore(nvm: nvm)
        guard store.isManufactured else {
            throw SealChipError(.notManufactured, "manufacture the chip before installing its certificate")
        }
        guard (try? store.lifecycle()) == .manufactured, store.read(.deviceCertificate) == nil else {
            throw SealChipError(.certificateNotAllowed, "a certificate is installed once, in MANUFACTURED")
        }
        guard (1...maximumCertificateLength).contains(der.count), der.first == 0x30,
              (try? TLV(decoding: der, strict: true)) != nil else {
            throw SealChipError(.invalidCertificate, "the device certificate must be one DER SEQUENCE")
        }
        try transaction(nvm) { () throws(NVMError) in
            try nvm.write(RecordID.deviceCertificate.rawValue, der)
        }
    }

    /// The public key of the chip's secure-channel key-agreement key (PK.SD.ECKA, SPEC §14.2),
    /// X9.63 (65 bytes), for the vendor CA to certify with key usage keyAgreement.
    ///
    /// - Throws: ``SealChipError`` `notManufactured` when the NVM holds no manufactured chip or a
    ///   chip made before the secure channel existed.
    public static func keyAgreementPublicKey(nvm: NonVolatileMemory) throws -> [UInt8] {
        let store = PersistentStore(nvm: nvm)
        guard store.isManufactured, let scalar = store.read(.keyAgreementPrivateKey),
              let key = try? P256.KeyAgreement.PrivateKey(rawRepresentation: scalar) else {
            throw SealChipError(.notManufactured, "the NVM holds no chip with a key-agreement key")
        }
        return Array(key.publicKey.x963Representation)
    }

    /// Installs the key-agreement certificate made by the vendor CA for
    /// ``keyAgreementPublicKey(nvm:)``. Allowed once, in MANUFACTURED; the firmware checks only
    /// that `der` is one DER SEQUENCE of at most ``maximumCertificateLength`` bytes.
    ///
    /// - Throws: ``SealChipError`` (`notManufactured`, `certificateNotAllowed`, `invalidCertificate`)
    ///   or the ``NVMError`` of the write.
    public static func installKeyAgreementCertificate(nvm: NonVolatileMemory, der: [UInt8]) throws {
        let store = PersistentStore(nvm: nvm)
        guard store.isManufactured, store.read(.keyAgreementPrivateKey) != nil else {
            throw SealChipError(.notManufactured, "manufacture the chip before installing its certificate")
        }
        guard (try? store.lifecycle()) == .manufactured, store.read(.keyAgreementCertificate) == nil else {
            throw SealChipError(.certificateNotAllowed, "a certificate is installed once, in MANUFACTURED")
        }
        guard (1...maximumCertificateLength).contains(der.count), der.first == 0x30,
              (try? TLV(decoding: der, strict: true)) != nil else {
            throw SealChipError(.invalidCertificate, "the key-agreement certificate must be one DER SEQUENCE")
        }
        try transaction(nvm) { () throws(NVMError) in
            try nvm.write(RecordID.keyAgreementCertificate.rawValue, der)
        }
    }

    private static func transaction(_ nvm: NonVolatileMemory, _ body: () throws(NVMError) -> Void) throws(NVMError) {
        try nvm.beginTransaction()
        do {
            try body()
            try nvm.commitTransaction()
        } catch {
            nvm.abortTransaction()
            throw error
        }
    }
}
