/// The data field of STAMP-SES (SPEC §8.17): the STAMP fields `90 A1 [A2]`, then `9F22` the
/// `propertyInfo` of the GB/T 38540 signature and `9F23` SHA-256 of the SES_Seal the host expects
/// the chip to hold.
///
/// The document digest is the signature's `dataHash` (SM3 of the signed data for GB/T 38540).
public struct SESStampRequest: Hashable, Sendable {
    /// The STAMP part: digest (the SES dataHash), metadata (its time is the SES timeInfo), grant.
    public var stamp: StampRequest
    /// `TBS_Sign.propertyInfo`, IA5 (ASCII) text of 1 to 255 bytes (in OFD, the path of `Signature.xml`).
    public var propertyInfo: String
    /// SHA-256 of the DER SES_Seal the host built its copy of `TBS_Sign` with.
    public var sealHash: [UInt8]

    /// Creates a request.
    ///
    /// - Throws: ``SealDataError`` for a property info that is not 1–255 ASCII bytes or a seal
    ///   hash that is not 32 bytes.
    public init(stamp: StampRequest, propertyInfo: String, sealHash: [UInt8]) throws(SealDataError) {
        guard (1...255).contains(propertyInfo.utf8.count), propertyInfo.utf8.allSatisfy({ $0 < 0x80 }) else {
            throw SealDataError(.invalidEncoding, "propertyInfo must be 1 to 255 ASCII bytes")
        }
        guard sealHash.count == 32 else { throw SealDataError(.invalidLength, "SES seal hash must be 32 bytes, got \(sealHash.count)") }
        self.stamp = stamp
        self.propertyInfo = propertyInfo
        self.sealHash = sealHash
    }

    /// `90 A1 [A2] 9F22 9F23`.
    public func encoded() -> [UInt8] {
        stamp.encoded() + [
            TLV(tag: SealTag.sesPropertyInfo, value: Array(propertyInfo.utf8)),
            TLV(tag: SealTag.sesSealHash, value: sealHash),
        ].encoded()
    }

    /// Strictly decodes a STAMP-SES data field; the chip answers any error with `6A80`.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        let fields: [TLV]
        do { fields = try TLV.decodeAll(bytes, strict: true) } catch {
            throw SealDataError(.malformedTLV, "STAMP-SES: \(error)")
        }
        guard fields.count >= 4, fields[fields.count - 2].tag == SealTag.sesPropertyInfo,
              fields[fields.count - 1].tag == SealTag.sesSealHash else {
            throw SealDataError(.missingField, "STAMP-SES: 9F22 propertyInfo then 9F23 seal hash must end the data")
        }
        let stamp = try StampRequest(decoding: fields.dropLast(2).map { $0 }.encoded())
        guard let propertyInfo = String(validating: fields[fields.count - 2].value, as: UTF8.self) else {
            throw SealDataError(.invalidEncoding, "STAMP-SES: propertyInfo is not ASCII")
        }
        try self.init(stamp: stamp, propertyInfo: propertyInfo, sealHash: fields[fields.count - 1].value)
    }
}

/// The response of STAMP-SES (SPEC §8.17): the STAMP response `9A 9B 9C 9D 9E` (the native
/// receipt's values), then `9F21` the seal key's SM2 signature over DER(TBS_Sign).
public struct SESStampResponse: Hashable, Sendable {
    /// Counter, serial, expiry, expiration code and the native signature over the TBS of SPEC §9.3.
    public var stamp: StampResponse
    /// The SM2-with-SM3 signature (DER) over DER(TBS_Sign) as the chip composed it (SPEC §9.7).
    public var sesSignature: [UInt8]

    /// Creates a response from its parts.
    public init(stamp: StampResponse, sesSignature: [UInt8]) {
        self.stamp = stamp
        self.sesSignature = sesSignature
    }

    /// `9A 9B 9C 9D 9E 9F21`.
    public func encoded() -> [UInt8] {
        stamp.encoded() + TLV(tag: SealTag.sesSignature, value: sesSignature).encoded()
    }

    /// Strictly decodes a STAMP-SES response.
    ///
    /// - Throws: ``SealDataError`` naming the field out of order, missing or of the wrong length.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        let fields: [TLV]
        do { fields = try TLV.decodeAll(bytes, strict: true) } catch {
            throw SealDataError(.malformedTLV, "STAMP-SES response: \(error)")
        }
        guard let last = fields.last, last.tag == SealTag.sesSignature, (8...72).contains(last.value.count) else {
            throw SealDataError(.missingField, "STAMP-SES response: 9F21 SES signature (8 to 72 bytes) must end it")
        }
        stamp = try StampResponse(decoding: fields.dropLast().map { $0 }.encoded())
        sesSignature = last.value
    }
}

/// The chip's own receipt that a STAMP-SES signature carries in its `TBS_Sign` extension
/// (SPEC §9.7), so that everything a native stamp proves travels with the GB/T 38540 signature.
///
/// ```
/// "SEALKIT-SES-RECEIPT-V1" ‖ counter u32 ‖ serial (30 ASCII) ‖ expiry u64 ‖ expirationCode (8 digits)
///   ‖ metadataDigest (32) ‖ grantSerial u32 ‖ SHA-256(SES_Seal) (32) ‖ u8 len ‖ native signature (DER)
/// ```
public struct SESStampReceipt: Hashable, Sendable {
    /// The domain separator the receipt starts with.
    public static let domain = Array("SEALKIT-SES-RECEIPT-V1".utf8)
    /// The extension's OID, under IANA's enterprise number for documentation (32473, RFC 5612)
    /// until SealKit registers an arc of its own. (A UUID OID, 2.25, has a 128-bit arc that
    /// swift-asn1's OBJECT IDENTIFIER, and so SealESeal's parser, cannot hold; and swift-asn1 1.7.4
    /// reads back `2.x` with x ≥ 40 wrongly, e.g. 2.999 as 26.39.)
    public static let extensionOID = "1.3.6.1.4.1.32473.38540.1"

    /// The stamp's counter.
    public var counter: UInt32
    /// The watermark serial (SPEC §10.1).
    public var serial: String
    /// The watermark expiry, seconds since the epoch.
    public var expiry: UInt64
    /// The expiration code (SPEC §10.2).
    public var expirationCode: String
    /// SHA-256 of the `A1` metadata value.
    public var metadataDigest: [UInt8]
    /// The grant serial, 0 when none.
    public var grantSerial: UInt32
    /// SHA-256 of the installed SES_Seal.
    public var sealHash: [UInt8]
    /// The seal key's signature (DER) over the native TBS of SPEC §9.3.
    public var nativeSignature: [UInt8]

    /// Creates a receipt from its fields.
    public init(counter: UInt32, serial: String, expiry: UInt64, expirationCode: String, metadataDigest: [UInt8],
                grantSerial: UInt32, sealHash: [UInt8], nativeSignature: [UInt8]) {
        self.counter = counter
        self.serial = serial
        self.expiry = expiry
        self.expirationCode = expirationCode
        self.metadataDigest = metadataDigest
        self.grantSerial = grantSerial
        self.sealHash = sealHash
        self.nativeSignature = nativeSignature
    }

    /// The receipt bytes (the extension's OCTET STRING value).
    public func encoded() -> [UInt8] {
        var out = Self.domain
        out.appendBigEndian(counter)
        out += Array(serial.utf8)
        out.appendBigEndian(expiry)
        out += Array(expirationCode.utf8)
        out += metadataDigest
        out.appendBigEndian(grantSerial)
        out += sealHash
        out.append(UInt8(truncatingIfNeeded: nativeSignature.count))
        out += nativeSignature
        return out
    }

    /// Decodes receipt bytes.
    ///
    /// - Throws: ``SealDataError`` when the domain, a length or a field is wrong.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        let fixed = Self.domain.count + 4 + Watermark.serialLength + 8 + Watermark.codeDigits + 32 + 4 + 32 + 1
        guard bytes.count > fixed, Array(bytes.prefix(Self.domain.count)) == Self.domain else {
            throw SealDataError(.invalidEncoding, "not a SEALKIT-SES-RECEIPT-V1 receipt")
        }
        var index = Self.domain.count
        func take(_ count: Int) -> [UInt8] {
            defer { index += count }
            return Array(bytes[index..<(index + count)])
        }
        counter = readBigEndian(take(4), as: UInt32.self)
        serial = String(decoding: take(Watermark.serialLength), as: UTF8.self)
        expiry = readBigEndian(take(8), as: UInt64.self)
        expirationCode = String(decoding: take(Watermark.codeDigits), as: UTF8.self)
        metadataDigest = take(32)
        grantSerial = readBigEndian(take(4), as: UInt32.self)
        sealHash = take(32)
        let length = Int(take(1)[0])
        guard bytes.count - index == length, (8...72).contains(length) else {
            throw SealDataError(.invalidLength, "receipt native signature length \(length) does not match its size")
        }
        nativeSignature = take(length)
    }
}
