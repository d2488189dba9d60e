/// The data field of STAMP (SPEC §8.13): `90` digest, `A1` metadata, optional `A2` grant.
public struct StampRequest: Hashable, Sendable {
    /// SHA-256 of the document, 32 bytes.
    public var documentDigest: [UInt8]
    /// Who, when and where.
    public var metadata: StampMetadata
    /// The remote authority's grant, when the seal policy requires one.
    public var grant: AuthorizationGrant?
    /// The `A1` value exactly as carried, which is what the metadata digest covers (SPEC §9.2).
    public let metadataEncoding: [UInt8]

    /// Creates a request, encoding the metadata once.
    ///
    /// - Throws: ``SealDataError`` when the digest is not 32 bytes or the metadata fails
    ///   ``StampMetadata/validate()``.
    public init(documentDigest: [UInt8], metadata: StampMetadata, grant: AuthorizationGrant? = nil) throws(SealDataError) {
        guard documentDigest.count == 32 else {
            throw SealDataError(.invalidLength, "document digest must be 32 bytes (SHA-256), got \(documentDigest.count)")
        }
        self.documentDigest = documentDigest
        self.metadata = metadata
        self.grant = grant
        self.metadataEncoding = try metadata.encoded()
    }

    /// The STAMP data field: `90` digest, `A1` metadata, optional `A2` grant.
    public func encoded() -> [UInt8] {
        var fields = [TLV(tag: SealTag.documentDigest, value: documentDigest), TLV(tag: SealTag.metadata, value: metadataEncoding)]
        if let grant { fields.append(TLV(tag: SealTag.grant, value: grant.encoded())) }
        return fields.encoded()
    }

    /// Strictly decodes a STAMP data field; the chip answers any error with `6A80`.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(bytes, context: "STAMP")
        documentDigest = try reader.bytes(SealTag.documentDigest, "document digest", length: 32...32)
        metadataEncoding = try reader.bytes(SealTag.metadata, "metadata", length: 1...1024)
        metadata = try StampMetadata(decoding: metadataEncoding)
        if let grantValue = try reader.optionalBytes(SealTag.grant, "grant", length: 1...512) {
            grant = try AuthorizationGrant(decoding: grantValue)
        } else {
            grant = nil
        }
        try reader.finish()
    }
}

/// What the chip reads of a STAMP data field (SPEC §8.13): the fields as slices of the command
/// data, the metadata's time and the grant. `init(decoding:)` accepts exactly the data fields
/// `StampRequest/init(decoding:)` accepts (the chip answers every refusal `6A80`), without
/// building the metadata: the chip signs the digest of its encoding and reads only its time. A
/// test compares the two on mutated requests.
package struct StampRequestFields {
    /// The `90` value, 32 bytes.
    package let documentDigest: ArraySlice<UInt8>
    /// The `A1` value exactly as carried (what the metadata digest covers, SPEC §9.2).
    package let metadataEncoding: ArraySlice<UInt8>
    /// The metadata's time (`91`).
    package let time: UInt64
    /// The `A2` grant, when present.
    package let grant: AuthorizationGrant?

    /// Strictly decodes a STAMP data field, as `StampRequest/init(decoding:)` does.
    package init(decoding bytes: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(bytes, context: "STAMP")
        let digest = try reader.slice(SealTag.documentDigest, "document digest", length: 32...32)
        let metadata = try reader.slice(SealTag.metadata, "metadata", length: 1...1024)
        // The reader validated the whole data field, the objects inside `A1` included.
        let time = try StampMetadata.validatedTime(ofEncoding: metadata, objectsValidated: true)
        var grant: AuthorizationGrant?
        if let grantValue = try reader.optionalBytes(SealTag.grant, "grant", length: 1...512) {
            grant = try AuthorizationGrant(decoding: grantValue)
        }
        try reader.finish()
        self.documentDigest = digest
        self.metadataEncoding = metadata
        self.time = time
        self.grant = grant
    }

    /// The fields of a request decoded already (STAMP-SES carries a STAMP request inside its own).
    package init(_ request: StampRequest) {
        documentDigest = request.documentDigest[...]
        metadataEncoding = request.metadataEncoding[...]
        time = request.metadata.time
        grant = request.grant
    }
}

/// The response of STAMP (SPEC §8.13).
public struct StampResponse: Hashable, Sendable {
    /// The new signature counter.
    public var counter: UInt32
    /// The watermark serial minted for this stamp (SPEC §10.1).
    public var serial: String
    /// Expiry, seconds since the epoch.
    public var expiry: UInt64
    /// The 8-digit expiration code (SPEC §10.2).
    public var expirationCode: String
    /// The seal key's DER ECDSA signature over the TBS (SPEC §9.3).
    public var signature: [UInt8]

    /// Creates a response from its fields.
    public init(counter: UInt32, serial: String, expiry: UInt64, expirationCode: String, signature: [UInt8]) {
        self.counter = counter
        self.serial = serial
        self.expiry = expiry
        self.expirationCode = expirationCode
        self.signature = signature
    }

    /// `9A 9B 9C 9D 9E`, in that order.
    public func encoded() -> [UInt8] {
        // 132 bytes at most (a 72-byte signature), and room for the status word the chip appends.
        var writer = TLVWriter(capacity: 134)
        writer.append(SealTag.counter, bigEndian: counter)
        writer.append(SealTag.serial, utf8: serial)
        writer.append(SealTag.expiry, bigEndian: expiry)
        writer.append(SealTag.expirationCode, utf8: expirationCode)
        writer.append(SealTag.signature, signature)
        return writer.bytes
    }

    /// Strictly decodes a STAMP response.
    ///
    /// - Throws: ``SealDataError`` naming the field out of order, missing or of the wrong length.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(bytes, context: "STAMP response")
        counter = try reader.uint32(SealTag.counter, "counter")
        serial = try reader.ascii(SealTag.serial, "serial", length: Watermark.serialLength...Watermark.serialLength)
        expiry = try reader.uint64(SealTag.expiry, "expiry")
        expirationCode = try reader.ascii(SealTag.expirationCode, "expiration code", length: Watermark.codeDigits...Watermark.codeDigits)
        signature = try reader.bytes(SealTag.signature, "signature", length: 8...72)
        try reader.finish()
    }
}
