import Crypto
import SealGMCrypto
import SealProtocol

/// RAM copies of parsed private keys and their public encodings, keyed by the key's NVM bytes.
///
/// Keyed by the raw scalar read from NVM on every use, so a regenerated or zeroized key can never
/// be served stale: different bytes miss the cache, absent bytes never reach it. At most a few
/// entries (device key, seal key) are kept. Deriving a public point or its affine X9.63 encoding
/// costs about as much as the signature itself, so a secure element computes it once.
///
/// The same holds for what every STAMP reads of the personalization (the seal's identity, the
/// watermark key's MAC state, the serial prefix): parsed once, kept while the NVM bytes stay the
/// same. Comparing an array with the one it was read from last time returns at once (same storage).
///
/// Confined to the chip's isolation domain like the memory; its state is `@exclusivity(unchecked)`
/// for the reason `NonVolatileMemory` gives (accesses only here, never overlapping).
final class KeyObjectCache {
    /// A class, so that finding the seal key on every STAMP retains one object, not four.
    final class Entry {
        let raw: [UInt8]
        let key: P256.Signing.PrivateKey
        let publicKeyX963: [UInt8]
        let keyID: [UInt8]

        init(raw: [UInt8], key: P256.Signing.PrivateKey, publicKeyX963: [UInt8], keyID: [UInt8]) {
            self.raw = raw
            self.key = key
            self.publicKeyX963 = publicKeyX963
            self.keyID = keyID
        }
    }
    /// The same for an SM2 seal key (SPEC §7 tag `4E`).
    struct SM2Entry {
        let raw: [UInt8]
        let key: SM2PrivateKey
        /// The key prepared for signing: Z_A and the OpenSSL context made once, not per stamp.
        let signer: SM2Signer
        let publicKeyX963: [UInt8]
        let keyID: [UInt8]
    }
    @exclusivity(unchecked) private var entries: [Entry] = []
    @exclusivity(unchecked) private var sm2Entry: SM2Entry?
    // What STAMP reads every time is kept in boxes: looking one up retains the box once, where an
    // optional tuple was copied out whole (a retain and a release per array and per hash context).
    @exclusivity(unchecked) private var watermarkMAC: Kept<[UInt8], HMAC<SHA256>>?
    /// The serial prefix and the TBS's start (domain ‖ chip ID) of the chip ID they were made of.
    @exclusivity(unchecked) private var chipParts: Kept<[UInt8], (serialPrefix: [UInt8], tbsChipPart: [UInt8])>?
    /// The seal identity every stamp signs, with the four records it was decoded from.
    @exclusivity(unchecked) private var sealIdentity: (records: SealIdentityRecords, identity: SealIdentity)?
    /// The seal identity and key ID as every TBS carries them, with what they were made of.
    @exclusivity(unchecked) private var tbsSealPart: Kept<(records: SealIdentityRecords, keyID: [UInt8]), [UInt8]>?

    /// A value and what it was made of.
    private final class Kept<Source, Value> {
        let source: Source
        let value: Value

        init(_ source: Source, _ value: Value) {
            self.source = source
            self.value = value
        }
    }
    /// The counter and time of the audit entries read or written last, keyed by their NVM bytes.
    @exclusivity(unchecked) private var auditTimes: [(stored: [UInt8], counter: UInt32, time: UInt64)] = []
    /// Two entries set the time floor (SPEC §8.13); one more is the entry a STAMP just wrote.
    private static let auditTimesCapacity = 3

    /// The counter and time of the audit entry stored as `stored`, or `nil` when it does not
    /// decode. STAMP reads the time floor from the two newest entries every time; decoding both
    /// whole (two strings, four arrays) cost more than the rest of the floor check. Keyed by the
    /// entry's bytes like the key objects, so a rewritten or damaged entry is decoded afresh (`==`
    /// on the same array storage returns at once; other storage is compared byte by byte).
    func auditEntryCounterAndTime(stored: [UInt8]) -> (counter: UInt32, time: UInt64)? {
        if let cached = auditTimes.first(where: { $0.stored == stored }) { return (cached.counter, cached.time) }
        guard let entry = try? AuditEntry(decoding: stored) else { return nil }
        rememberAuditEntry(stored: stored, counter: entry.counter, time: entry.time)
        return (entry.counter, entry.time)
    }

    /// Records the counter and time of an audit entry the chip encoded itself as `stored` (STAMP
    /// after its commit), so the next STAMP's time floor does not decode it again.
    func rememberAuditEntry(stored: [UInt8], counter: UInt32, time: UInt64) {
        auditTimes.removeAll { $0.stored == stored }
        auditTimes.append((stored, counter, time))
        if auditTimes.count > Self.auditTimesCapacity { auditTimes.removeFirst() }
    }

    /// The NVM records of the seal identity (SPEC §9.3): organization, seal name, feature hash and
    /// the optional image hash, as read.
    struct SealIdentityRecords: Equatable {
        let organizationName: [UInt8]
        let sealName: [UInt8]
        let featureHash: [UInt8]
        let sealImageHash: [UInt8]?
    }

    /// The identity decoded from `records`, decoded (two strings) only when they changed.
    func sealIdentity(from records: SealIdentityRecords) -> SealIdentity {
        if let cached = sealIdentity, cached.records == records { return cached.identity }
        let identity = SealIdentity(organizationName: String(decoding: records.organizationName, as: UTF8.self),
                                    sealName: String(decoding: records.sealName, as: UTF8.self),
                                    featureHash: records.featureHash, sealImageHash: records.sealImageHash)
        sealIdentity = (records, identity)
        return identity
    }

    /// The chip's watermark serial prefix (SPEC §10.1), computed once per chip ID.
    func serialPrefix(for chipID: [UInt8]) -> [UInt8] {
        self.chipParts(for: chipID).serialPrefix
    }

    /// The serial prefix and the start of every stamp TBS (`StampTBS.chipPart`), made once per chip ID.
    func chipParts(for chipID: [UInt8]) -> (serialPrefix: [UInt8], tbsChipPart: [UInt8]) {
        if let cached = chipParts, cached.source == chipID { return cached.value }
        let parts = (serialPrefix: Watermark.chipPrefix(chipID: chipID), tbsChipPart: StampTBS.chipPart(chipID: chipID))
        chipParts = Kept(chipID, parts)
        return parts
    }

    /// The seal identity and key ID as a stamp TBS carries them (`StampTBS.sealPart`), encoded
    /// again only when the identity's records or the key ID changed.
    func tbsSealPart(records: SealIdentityRecords, keyID: [UInt8]) -> [UInt8] {
        if let cached = tbsSealPart, cached.source.keyID == keyID, cached.source.records == records { return cached.value }
        let part = StampTBS.sealPart(seal: sealIdentity(from: records), keyID: keyID)
        tbsSealPart = Kept((records, keyID), part)
        return part
    }

    /// An HMAC keyed with `key`, kept while the key's NVM bytes stay the same.
    func keyedMAC(for key: [UInt8]) -> HMAC<SHA256> {
        if let cached = watermarkMAC, cached.source == key { return cached.value }
        let mac = HMAC<SHA256>(key: SymmetricKey(data: key))
        watermarkMAC = Kept(key, mac)
        return mac
    }
    private static let capacity = 4

    /// The parsed SM2 key of `raw`, parsed (and its public point derived by OpenSSL) on first use.
    /// `nil` when `raw` is not a valid SM2 scalar.
    func sm2Entry(for raw: [UInt8]) -> SM2Entry? {
        if let cached = sm2Entry, cached.raw == raw { return cached }
        guard let key = try? SM2PrivateKey(rawRepresentation: raw), let publicKey = try? key.publicKey,
              let signer = try? SM2Signer(key: key) else { return nil }
        let x963 = publicKey.x963Representation
        guard x963.count == 65 else { return nil }
        let entry = SM2Entry(raw: raw, key: key, signer: signer, publicKeyX963: x963, keyID: sealKeyID(publicKeyX963: x963))
        sm2Entry = entry
        return entry
    }

    func entry(for raw: [UInt8]) -> Entry? {
        entries.first { $0.raw == raw }
    }

    @discardableResult
    func store(_ key: P256.Signing.PrivateKey, for raw: [UInt8]) -> Entry {
        let x963 = Array(key.publicKey.x963Representation)
        let entry = Entry(raw: raw, key: key, publicKeyX963: x963, keyID: sealKeyID(publicKeyX963: x963))
        entries.removeAll { $0.raw == raw }
        entries.append(entry)
        if entries.count > Self.capacity { entries.removeFirst() }
        return entry
    }
}
