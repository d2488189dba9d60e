/// A remote-authority grant that authorizes stamping (SPEC §9.5).
public struct AuthorizationGrant: Hashable, Sendable, Codable {
    /// What a grant authorizes (`C2`).
    public enum Kind: UInt8, Sendable, Codable {
        /// Authorizes one stamp of one document.
        case document = 0x01
        /// Authorizes every stamp whose counter lies in the window.
        case counterWindow = 0x02
    }

    /// The grant serial (`C1`); the chip keeps a bounded set of the serials it used (SPEC §9.5),
    /// so grants may be used in any order.
    public var serial: UInt32
    /// Document or counter window.
    public var kind: Kind
    /// The first signature counter the grant covers.
    public var firstCounter: UInt32
    /// The last signature counter the grant covers.
    public var lastCounter: UInt32
    /// The granted document digest; present exactly for `.document`.
    public var documentDigest: [UInt8]?
    /// The earliest stamp time (metadata time, seconds since the epoch) the grant covers (`C7`).
    public var notBefore: UInt64
    /// The latest stamp time the grant covers, its expiry (`C8`).
    public var notAfter: UInt64
    /// How many stamps a counter-window grant authorizes (`C9`, ≥ 1); 0 for a document grant.
    public var maxStamps: UInt32
    /// The authority's DER ECDSA signature over ``signedBytes(chipID:)``.
    public var signature: [UInt8]

    /// Creates a grant from its fields; ``signature`` must cover ``signedBytes(chipID:)``. A
    /// window grant's `maxStamps` defaults to the size of its window; a document grant's is 0.
    public init(serial: UInt32, kind: Kind, firstCounter: UInt32, lastCounter: UInt32, documentDigest: [UInt8]?,
                notBefore: UInt64 = 0, notAfter: UInt64 = UInt64.max, maxStamps: UInt32? = nil, signature: [UInt8]) {
        self.serial = serial
        self.kind = kind
        self.firstCounter = firstCounter
        self.lastCounter = lastCounter
        self.documentDigest = documentDigest
        self.notBefore = notBefore
        self.notAfter = notAfter
        let windowSize = lastCounter >= firstCounter ? lastCounter - firstCounter &+ 1 : 1
        self.maxStamps = kind == .document ? 0 : (maxStamps ?? (windowSize == 0 ? UInt32.max : windowSize))
        self.signature = signature
    }

    /// The bytes the remote authority signs (SPEC §9.5).
    public func signedBytes(chipID: [UInt8]) -> [UInt8] {
        var out = Array("SEALKIT-GRANT-V2".utf8) + chipID
        out.appendBigEndian(serial)
        out.append(kind.rawValue)
        out.appendBigEndian(firstCounter)
        out.appendBigEndian(lastCounter)
        out += documentDigest ?? [UInt8](repeating: 0, count: 32)
        out.appendBigEndian(notBefore)
        out.appendBigEndian(notAfter)
        out.appendBigEndian(maxStamps)
        return out
    }

    /// The value of template `A2`.
    public func encoded() -> [UInt8] {
        var fields = [
            TLV(tag: SealTag.grantSerial, value: bigEndianBytes(serial)),
            TLV(tag: SealTag.grantKind, value: [kind.rawValue]),
            TLV(tag: SealTag.grantFirstCounter, value: bigEndianBytes(firstCounter)),
            TLV(tag: SealTag.grantLastCounter, value: bigEndianBytes(lastCounter)),
        ]
        if let documentDigest { fields.append(TLV(tag: SealTag.grantDigest, value: documentDigest)) }
        fields.append(TLV(tag: SealTag.grantNotBefore, value: bigEndianBytes(notBefore)))
        fields.append(TLV(tag: SealTag.grantNotAfter, value: bigEndianBytes(notAfter)))
        if kind == .counterWindow { fields.append(TLV(tag: SealTag.grantMaxStamps, value: bigEndianBytes(maxStamps))) }
        fields.append(TLV(tag: SealTag.grantSignature, value: signature))
        return fields.encoded()
    }

    /// Strictly decodes the value of `A2`.
    public init(decoding value: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(value, context: "grant")
        serial = try reader.uint32(SealTag.grantSerial, "grant serial")
        let kindByte = try reader.bytes(SealTag.grantKind, "grant kind", length: 1...1)
        guard let kind = Kind(rawValue: kindByte[0]) else {
            throw SealDataError(.outOfRange, "grant kind \(kindByte[0]) is not 01 or 02")
        }
        self.kind = kind
        firstCounter = try reader.uint32(SealTag.grantFirstCounter, "first counter")
        lastCounter = try reader.uint32(SealTag.grantLastCounter, "last counter")
        documentDigest = kind == .document ? try reader.bytes(SealTag.grantDigest, "granted digest", length: 32...32) : nil
        notBefore = try reader.uint64(SealTag.grantNotBefore, "not before")
        notAfter = try reader.uint64(SealTag.grantNotAfter, "not after")
        maxStamps = kind == .counterWindow ? try reader.uint32(SealTag.grantMaxStamps, "maximum stamps") : 0
        signature = try reader.bytes(SealTag.grantSignature, "grant signature", length: 8...72)
        try reader.finish()
        guard firstCounter <= lastCounter else {
            throw SealDataError(.outOfRange, "grant window \(firstCounter)...\(lastCounter) is empty")
        }
        guard notBefore <= notAfter else {
            throw SealDataError(.outOfRange, "grant validity \(notBefore)...\(notAfter) is empty")
        }
        guard kind == .document || maxStamps >= 1 else {
            throw SealDataError(.outOfRange, "a counter-window grant must allow at least one stamp")
        }
    }
}
