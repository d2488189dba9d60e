/// A remote-authority grant that authorizes stamping (SPEC §9.5).
public struct AuthorizationGrant: Hashable, Sendable, Codable {
    /// What a grant authorizes (`C2`).
    public enum Kind: UInt8, Sendable, Codable {
        /// Authorizes one stamp of one document.
        case document = 0x01
        /// Authorizes every stamp whose counter lies in the window.
        case counterWindow = 0x02
    }

    /// The grant serial (`C1`); the chip accepts only serials above the last one used, or the same
    /// serial again for a counter window.
    public var serial: UInt32
    /// Document or counter window.
    public var kind: Kind
    /// The first signature counter the grant covers.
    public var firstCounter: UInt32
    /// The last signature counter the grant covers.
    public var lastCounter: UInt32
    /// The granted document digest; present exactly for `.document`.
    public var documentDigest: [UInt8]?
    /// The authority's DER ECDSA signature over ``signedBytes(chipID:)``.
    public var signature: [UInt8]

    /// Creates a grant from its fields; ``signature`` must cover ``signedBytes(chipID:)``.
    public init(serial: UInt32, kind: Kind, firstCounter: UInt32, lastCounter: UInt32, documentDigest: [UInt8]?, signature: [UInt8]) {
        self.serial = serial
        self.kind = kind
        self.firstCounter = firstCounter
        self.lastCounter = lastCounter
        self.documentDigest = documentDigest
        self.signature = signature
    }

    /// The bytes the remote authority signs (SPEC §9.5).
    public func signedBytes(chipID: [UInt8]) -> [UInt8] {
        var out = Array("SEALKIT-GRANT-V1".utf8) + chipID
        out.appendBigEndian(serial)
        out.append(kind.rawValue)
        out.appendBigEndian(firstCounter)
        out.appendBigEndian(lastCounter)
        out += documentDigest ?? [UInt8](repeating: 0, count: 32)
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
        signature = try reader.bytes(SealTag.grantSignature, "grant signature", length: 8...72)
        try reader.finish()
        guard firstCounter <= lastCounter else {
            throw SealDataError(.outOfRange, "grant window \(firstCounter)...\(lastCounter) is empty")
        }
    }
}
