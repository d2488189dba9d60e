import Crypto

/// One stamp as the chip's audit log keeps it (SPEC §8.14, §9.6).
public struct AuditEntry: Hashable, Sendable {
    /// The domain separator of the chain hash, `"SEALKIT-AUDIT-V1"`.
    public static let chainDomain = Array("SEALKIT-AUDIT-V1".utf8)

    /// The stamp's signature counter.
    public var counter: UInt32
    /// The metadata time, seconds since the epoch.
    public var time: UInt64
    /// SHA-256 of the stamped document.
    public var documentDigest: [UInt8]
    /// SHA-256 of the metadata encoding.
    public var metadataDigest: [UInt8]
    /// The watermark serial.
    public var serial: String
    /// Expiry, seconds since the epoch.
    public var expiry: UInt64
    /// The 8-digit expiration code.
    public var expirationCode: String
    /// The serial of the remote-authority grant used, 0 when none.
    public var grantSerial: UInt32
    /// The chain hash of the entry before, 32 zero bytes for the first.
    public var previousHash: [UInt8]
    /// The seal key's DER ECDSA signature over the stamp's TBS (SPEC §9.3).
    public var signature: [UInt8]

    /// Creates an entry from its fields.
    public init(
        counter: UInt32, time: UInt64, documentDigest: [UInt8], metadataDigest: [UInt8], serial: String,
        expiry: UInt64, expirationCode: String, grantSerial: UInt32, previousHash: [UInt8], signature: [UInt8]
    ) {
        self.counter = counter
        self.time = time
        self.documentDigest = documentDigest
        self.metadataDigest = metadataDigest
        self.serial = serial
        self.expiry = expiry
        self.expirationCode = expirationCode
        self.grantSerial = grantSerial
        self.previousHash = previousHash
        self.signature = signature
    }

    /// Rebuilds the TBS this entry's signature covers, given the chip's identity and personalization.
    public func tbs(chipID: [UInt8], seal: SealIdentity, keyID: [UInt8]) -> StampTBS {
        StampTBS(
            chipID: chipID, counter: counter, serial: serial, expiry: expiry, expirationCode: expirationCode,
            documentDigest: documentDigest, metadataDigest: metadataDigest, seal: seal, keyID: keyID,
            grantSerial: grantSerial)
    }

    /// entryHash(n) = SHA-256("SEALKIT-AUDIT-V1" || entryHash(n-1) || TBS(n) || signature(n)).
    public static func chainHash(previous: [UInt8], tbs: [UInt8], signature: [UInt8]) -> [UInt8] {
        // Part by part, without an array of the parts; the digest copied out of its buffer in one
        // go (`Array(digest)` walks it byte by byte). The chip chains every stamp.
        var hasher = SHA256()
        chainDomain.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        previous.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        tbs.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        signature.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().withUnsafeBytes { Array($0) }
    }

    /// The READ AUDIT LOG response, fields in the order of SPEC §8.14.
    public func encoded() -> [UInt8] {
        Self.encoded(counter: counter, time: time, documentDigest: documentDigest[...], metadataDigest: metadataDigest,
                     serial: serial, expiry: expiry, expirationCode: expirationCode, grantSerial: grantSerial,
                     previousHash: previousHash, signature: signature)
    }

    /// The encoding of the entry with these fields (`encoded()`): the chip writes the entry it
    /// stores from the stamp's parts, without an entry value to build and destroy.
    package static func encoded(
        counter: UInt32, time: UInt64, documentDigest: ArraySlice<UInt8>, metadataDigest: [UInt8], serial: String,
        expiry: UInt64, expirationCode: String, grantSerial: UInt32, previousHash: [UInt8], signature: [UInt8]
    ) -> [UInt8] {
        var writer = TLVWriter(capacity: 250)
        writer.append(SealTag.counter, bigEndian: counter)
        writer.append(SealTag.time, bigEndian: time)
        writer.append(SealTag.documentDigest, documentDigest)
        writer.append(SealTag.metadataDigest, metadataDigest)
        writer.append(SealTag.serial, utf8: serial)
        writer.append(SealTag.expiry, bigEndian: expiry)
        writer.append(SealTag.expirationCode, utf8: expirationCode)
        writer.append(SealTag.grantSerial, bigEndian: grantSerial)
        writer.append(SealTag.previousEntryHash, previousHash)
        writer.append(SealTag.signature, signature)
        return writer.bytes
    }

    /// Strictly decodes a READ AUDIT LOG response.
    ///
    /// - Throws: ``SealDataError`` naming the field out of order, missing or of the wrong length.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(bytes, context: "audit entry")
        counter = try reader.uint32(SealTag.counter, "counter")
        time = try reader.uint64(SealTag.time, "time")
        documentDigest = try reader.bytes(SealTag.documentDigest, "document digest", length: 32...32)
        metadataDigest = try reader.bytes(SealTag.metadataDigest, "metadata digest", length: 32...32)
        serial = try reader.ascii(SealTag.serial, "serial", length: Watermark.serialLength...Watermark.serialLength)
        expiry = try reader.uint64(SealTag.expiry, "expiry")
        expirationCode = try reader.ascii(SealTag.expirationCode, "expiration code", length: Watermark.codeDigits...Watermark.codeDigits)
        grantSerial = try reader.uint32(SealTag.grantSerial, "grant serial")
        previousHash = try reader.bytes(SealTag.previousEntryHash, "previous hash", length: 32...32)
        signature = try reader.bytes(SealTag.signature, "signature", length: 8...72)
        try reader.finish()
    }
}

/// GET DATA `0109` (SPEC §8.5): the audit log's window and head.
public struct AuditStatus: Hashable, Sendable {
    /// The counter of the oldest entry still retained; 0 when the log is empty.
    public var oldestCounter: UInt32
    /// The counter of the newest entry; 0 when the log is empty.
    public var newestCounter: UInt32
    /// The chain hash of the newest entry (32 zero bytes when empty).
    public var headHash: [UInt8]

    /// Creates a status from its fields.
    public init(oldestCounter: UInt32, newestCounter: UInt32, headHash: [UInt8]) {
        self.oldestCounter = oldestCounter
        self.newestCounter = newestCounter
        self.headHash = headHash
    }

    /// The 40 bytes: oldest u32, newest u32, head hash.
    public func encoded() -> [UInt8] {
        bigEndianBytes(oldestCounter) + bigEndianBytes(newestCounter) + headHash
    }

    /// Decodes the 40 bytes.
    ///
    /// - Throws: ``SealDataError`` (`invalidLength`) for any other size.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        guard bytes.count == 40 else { throw SealDataError(.invalidLength, "audit status must be 40 bytes, got \(bytes.count)") }
        oldestCounter = readBigEndian(bytes[0..<4], as: UInt32.self)
        newestCounter = readBigEndian(bytes[4..<8], as: UInt32.self)
        headHash = Array(bytes[8..<40])
    }
}
