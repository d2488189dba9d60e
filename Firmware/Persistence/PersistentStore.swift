import Crypto
import SealGMCrypto
import SealProtocol

/// Typed access to the applet's NVM records (layout: ``RecordID``).
///
/// Reads never fail on a missing optional record; a record that must exist but is absent or
/// malformed is a memory failure (`6581`). Every NVM error maps to ``CommandFailure``:
/// `powerLost` → ``CommandFailure/powerLost`` (the chip goes mute), anything else → `6581`
/// after the open transaction was rolled back (SPEC §11).
struct PersistentStore {
    let nvm: NonVolatileMemory
    /// Parsed key objects, as a secure element keeps a key object usable after loading it rather
    /// than re-deriving the public point (a full scalar multiplication) on every signature.
    let keyObjects = KeyObjectCache()

    // MARK: - Raw records

    func read(_ id: RecordID) -> [UInt8]? {
        nvm.read(id.rawValue)
    }

    /// A record that must exist, optionally of an exact length.
    func required(_ id: RecordID, length: Int? = nil) throws(CommandFailure) -> [UInt8] {
        guard let value = read(id), length.map({ value.count == $0 }) ?? true else {
            throw .memoryFailure
        }
        return value
    }

    func write(_ id: RecordID, _ value: [UInt8]) throws(CommandFailure) {
        do {
            try nvm.write(id.rawValue, value)
        } catch {
            throw Self.failure(error)
        }
    }

    func erase(_ id: RecordID) throws(CommandFailure) {
        do {
            try nvm.erase(id.rawValue)
        } catch {
            throw Self.failure(error)
        }
    }

    /// Runs `body` inside one NVM transaction and commits it; on any failure the transaction is
    /// rolled back (or, after a power loss, recovery will discard or roll it forward).
    func atomically<T>(_ body: () throws(CommandFailure) -> T) throws(CommandFailure) -> T {
        do {
            try nvm.beginTransaction()
        } catch {
            throw Self.failure(error)
        }
        let value: T
        do {
            value = try body()
        } catch {
            nvm.abortTransaction()
            throw error
        }
        do {
            try nvm.commitTransaction()
        } catch {
            nvm.abortTransaction()
            throw Self.failure(error)
        }
        return value
    }

    static func failure(_ error: NVMError) -> CommandFailure {
        error.code == .powerLost ? .powerLost : .memoryFailure
    }

    // MARK: - Identity

    /// Whether manufacture completed: chip ID, device key, issuer key and a valid lifecycle exist.
    var isManufactured: Bool {
        read(.chipID)?.count == 16 && read(.devicePrivateKey)?.count == 32 && read(.issuerPublicKey)?.count == 65
            && read(.lifecycle).flatMap { $0.count == 1 ? LifecycleState(rawValue: $0[0]) : nil } != nil
    }

    func chipID() throws(CommandFailure) -> [UInt8] {
        try required(.chipID, length: 16)
    }

    func lifecycle() throws(CommandFailure) -> LifecycleState {
        let value = try required(.lifecycle, length: 1)
        guard let state = LifecycleState(rawValue: value[0]) else { throw .memoryFailure }
        return state
    }

    func issuerPublicKey() throws(CommandFailure) -> P256.Signing.PublicKey {
        try Self.publicKey(try required(.issuerPublicKey, length: 65))
    }

    func devicePrivateKey() throws(CommandFailure) -> P256.Signing.PrivateKey {
        try privateKey(try required(.devicePrivateKey, length: 32))
    }

    // MARK: - Personalization

    /// The seal key's algorithm (SPEC §7 tag `4E`); P-256 when the record is absent (chips
    /// personalized before SM2 keys existed, and every P-256 personalization).
    func sealKeyAlgorithm() throws(CommandFailure) -> SealKeyAlgorithm {
        guard let value = read(.sealKeyAlgorithm) else { return .p256 }
        guard value.count == 1, let algorithm = SealKeyAlgorithm(rawValue: value[0]) else { throw .memoryFailure }
        return algorithm
    }

    /// The seal private key, parsed for its algorithm.
    func sealSigningKey() throws(CommandFailure) -> SealSigningKey {
        let raw = try required(.sealPrivateKey, length: 32)
        switch try sealKeyAlgorithm() {
        case .p256: return .p256(try privateKey(raw))
        case .sm2: return .sm2(try sm2KeyObject(raw).signer)
        }
    }

    /// The seal private key and its key ID (SPEC §9.3), for a stamp: the private-key record read
    /// once for both (``sealSigningKey()`` and ``sealKeyIDValue()`` give the same).
    func sealKeyForStamp() throws(CommandFailure) -> (key: SealSigningKey, keyID: [UInt8]) {
        let raw = try required(.sealPrivateKey, length: 32)
        switch try sealKeyAlgorithm() {
        case .p256:
            let entry = try keyObject(raw)
            return (.p256(entry.key), entry.keyID)
        case .sm2:
            let entry = try sm2KeyObject(raw)
            return (.sm2(entry.signer), entry.keyID)
        }
    }

    /// The seal public key, an uncompressed point (65): the stored copy (it outlives the private
    /// key, SPEC §6), else derived from the stored private key.
    func sealPublicKey() throws(CommandFailure) -> [UInt8] {
        if let stored = read(.sealPublicKey) {
            guard stored.count == 65 else { throw .memoryFailure }
            return stored
        }
        let raw = try required(.sealPrivateKey, length: 32)
        switch try sealKeyAlgorithm() {
        case .p256: return try keyObject(raw).publicKeyX963
        case .sm2: return try sm2KeyObject(raw).publicKeyX963
        }
    }

    /// Whether a seal public key is held (PERSONALIZED and after, TERMINATED included).
    var holdsSealPublicKey: Bool {
        read(.sealPublicKey) != nil || read(.sealPrivateKey) != nil
    }

    /// The seal image hash, when one was personalized.
    func sealImageHash() throws(CommandFailure) -> [UInt8]? {
        guard let value = read(.sealImageHash) else { return nil }
        guard value.count == 32 else { throw .memoryFailure }
        return value
    }

    /// The time rollback tolerance (SPEC §8.13 "Time"); the default when not personalized.
    func timeTolerance() throws(CommandFailure) -> UInt32 {
        guard let value = read(.timeTolerance) else { return PersonalizationData.defaultTimeTolerance }
        guard value.count == 4 else { throw .memoryFailure }
        return readBigEndian(value, as: UInt32.self)
    }

    /// The time floor of the next STAMP (SPEC §8.13 "Time"): the earlier time of the two newest
    /// audit entries, 0 while fewer than two exist. Taking the earlier of two means one stamp
    /// dated in the future cannot raise the floor on its own. After an issuer's RESET TIME FLOOR
    /// (SPEC §8.16) only entries stamped after the reset count, and the reset's value stands in
    /// until two such entries exist.
    ///
    /// Only the time field is needed, so an entry that cannot be read here gives no floor beyond
    /// the reset's: STAMP does not fail on it (READ AUDIT LOG reports a damaged entry as `6581`).
    func timeFloor(head: AuditHead) throws(CommandFailure) -> UInt64 {
        let reset = try timeFloorReset()
        let base = reset?.floor ?? 0
        let firstCounting = (reset?.counter ?? 0) &+ 1
        guard head.newestCounter >= 2, head.newestCounter - 1 >= firstCounting else { return base }
        func time(_ n: UInt32) -> UInt64? {
            guard head.retains(n), let stored = read(.auditSlot(forCounter: n)),
                  let entry = keyObjects.auditEntryCounterAndTime(stored: stored), entry.counter == n else { return nil }
            return entry.time
        }
        guard let newest = time(head.newestCounter), let previous = time(head.newestCounter - 1) else { return base }
        return min(newest, previous)
    }

    /// The issuer's last time-floor reset (SPEC §8.16): its floor and the signature counter when it
    /// was made; nil when the floor was never reset.
    func timeFloorReset() throws(CommandFailure) -> (floor: UInt64, counter: UInt32)? {
        guard let value = read(.timeFloorReset) else { return nil }
        guard value.count == 12 else { throw .memoryFailure }
        return (readBigEndian(value[0..<8], as: UInt64.self), readBigEndian(value[8..<12], as: UInt32.self))
    }

    /// The seal policy byte (SPEC §7 tag `49`).
    func sealPolicy() throws(CommandFailure) -> UInt8 {
        try required(.sealPolicy, length: 1)[0]
    }

    /// What every stamp signs about the seal (SPEC §9.3), decoded again only when its records
    /// changed (``KeyObjectCache``).
    func sealIdentity() throws(CommandFailure) -> SealIdentity {
        keyObjects.sealIdentity(from: try sealIdentityRecords())
    }

    /// The seal identity and `keyID` as every stamp TBS carries them (`StampTBS.sealPart`),
    /// encoded again only when the records or the key changed (``KeyObjectCache``).
    func tbsSealPart(keyID: [UInt8]) throws(CommandFailure) -> [UInt8] {
        keyObjects.tbsSealPart(records: try sealIdentityRecords(), keyID: keyID)
    }

    private func sealIdentityRecords() throws(CommandFailure) -> KeyObjectCache.SealIdentityRecords {
        KeyObjectCache.SealIdentityRecords(
            organizationName: try required(.organizationName), sealName: try required(.sealName),
            featureHash: try featureHash(), sealImageHash: try sealImageHash())
    }

    func featureHash() throws(CommandFailure) -> [UInt8] {
        try required(.featureHash, length: 32)
    }

    /// Seal policy byte (SPEC §7 tag `49`).
    func requiresRemoteAuthorization() throws(CommandFailure) -> Bool {
        try required(.sealPolicy, length: 1)[0] & 0x01 != 0
    }

    func watermarkValidity() throws(CommandFailure) -> UInt32 {
        readBigEndian(try required(.watermarkValidity, length: 4), as: UInt32.self)
    }

    /// An HMAC keyed with the watermark key (SPEC §10.2), cached as long as the key is unchanged.
    func watermarkMAC() throws(CommandFailure) -> HMAC<SHA256> {
        keyObjects.keyedMAC(for: try watermarkKey())
    }

    func watermarkKey() throws(CommandFailure) -> [UInt8] {
        try required(.watermarkKey, length: 32)
    }

    /// The remote-authority key, if one was personalized.
    func remoteAuthorityKey() throws(CommandFailure) -> P256.Signing.PublicKey? {
        guard let value = read(.remoteAuthorityKey) else { return nil }
        guard value.count == 65 else { throw .memoryFailure }
        return try Self.publicKey(value)
    }

    /// GET DATA `0108`.
    func personalizationInfo() throws(CommandFailure) -> PersonalizationInfo {
        let organization = try required(.organizationName)
        let name = try required(.sealName)
        let remoteKey = read(.remoteAuthorityKey)
        return PersonalizationInfo(
            organizationName: String(decoding: organization, as: UTF8.self),
            sealName: String(decoding: name, as: UTF8.self),
            featureHash: try featureHash(),
            requiresRemoteAuthorization: try requiresRemoteAuthorization(),
            watermarkValiditySeconds: try watermarkValidity(),
            remoteAuthorityKey: remoteKey, sealImageHash: try sealImageHash(), policyByte: try sealPolicy())
    }

    // MARK: - PIN and PUK

    func tryCounter(_ id: RecordID) throws(CommandFailure) -> TryCounter {
        guard let counter = TryCounter(stored: try required(id)) else { throw .memoryFailure }
        return counter
    }

    func reference(_ id: RecordID) throws(CommandFailure) -> [UInt8] {
        try required(id, length: ReferenceData.storedLength)
    }

    // MARK: - Counter, grants, audit log

    /// The signature counter; 0 before the first stamp.
    func signatureCounter() throws(CommandFailure) -> UInt32 {
        try optionalUInt32(.signatureCounter)
    }

    /// The used grant serials (SPEC §9.5); empty when the record is absent.
    func grantLedger() throws(CommandFailure) -> GrantLedger {
        guard let stored = read(.lastGrantSerial) else { return .empty }
        guard let ledger = GrantLedger(stored: stored) else { throw .memoryFailure }
        return ledger
    }

    func auditHead() throws(CommandFailure) -> AuditHead {
        guard let stored = read(.auditHead) else { return .empty }
        guard let head = AuditHead(stored: stored) else { throw .memoryFailure }
        return head
    }

    /// Why the counter and the audit log contradict each other, or `nil` when they agree
    /// (SPEC §11, power-on check). STAMP commits the counter and the audit head in one
    /// transaction, so the counter is never below the newest audit entry; an image where it is
    /// (or where the counter record is missing or malformed) would make the next STAMP re-issue
    /// an existing counter and serial.
    func counterConsistencyFault() -> String? {
        guard let counterRecord = read(.signatureCounter) else {
            return "the signature counter record is missing"
        }
        guard counterRecord.count == 4 else {
            return "the signature counter record is malformed (\(counterRecord.count) bytes, not 4)"
        }
        let counter = readBigEndian(counterRecord, as: UInt32.self)
        let head: AuditHead
        if let stored = read(.auditHead) {
            guard let decoded = AuditHead(stored: stored) else {
                return "the audit head record is malformed (\(stored.count) bytes, not \(AuditHead.storedLength))"
            }
            head = decoded
        } else {
            head = .empty
        }
        guard counter >= head.newestCounter else {
            return "the signature counter (\(counter)) is lower than the newest audit entry (\(head.newestCounter)), "
                + "so the next stamp would re-issue an existing counter and serial"
        }
        return nil
    }

    /// The retained audit entry of counter `n`; `nil` when not retained.
    func auditEntry(counter n: UInt32, head: AuditHead) throws(CommandFailure) -> AuditEntry? {
        guard head.retains(n) else { return nil }
        let stored = try required(.auditSlot(forCounter: n))
        guard let entry = try? AuditEntry(decoding: stored), entry.counter == n else { throw .memoryFailure }
        return entry
    }

    // MARK: - Helpers

    private func optionalUInt32(_ id: RecordID) throws(CommandFailure) -> UInt32 {
        guard let value = read(id) else { return 0 }
        guard value.count == 4 else { throw .memoryFailure }
        return readBigEndian(value, as: UInt32.self)
    }

    private func privateKey(_ raw: [UInt8]) throws(CommandFailure) -> P256.Signing.PrivateKey {
        try keyObject(raw).key
    }

    private func keyObject(_ raw: [UInt8]) throws(CommandFailure) -> KeyObjectCache.Entry {
        if let entry = keyObjects.entry(for: raw) { return entry }
        guard let key = try? P256.Signing.PrivateKey(rawRepresentation: raw) else { throw .memoryFailure }
        return keyObjects.store(key, for: raw)
    }

    private func sm2KeyObject(_ raw: [UInt8]) throws(CommandFailure) -> KeyObjectCache.SM2Entry {
        guard let entry = keyObjects.sm2Entry(for: raw) else { throw .memoryFailure }
        return entry
    }

    /// The seal key's ID, SHA-256 of its 65-byte public point (SPEC §9.3).
    func sealKeyIDValue() throws(CommandFailure) -> [UInt8] {
        if let raw = read(.sealPrivateKey) {
            guard raw.count == 32 else { throw .memoryFailure }
            switch try sealKeyAlgorithm() {
            case .p256: return try keyObject(raw).keyID
            case .sm2: return try sm2KeyObject(raw).keyID
            }
        }
        return sealKeyID(publicKeyX963: try sealPublicKey())
    }

    private static func publicKey(_ x963: [UInt8]) throws(CommandFailure) -> P256.Signing.PublicKey {
        guard let key = try? P256.Signing.PublicKey(x963Representation: x963) else { throw .memoryFailure }
        return key
    }
}
