import Crypto

/// The who/when/where of a stamping (SPEC §9.2): the value of template `A1`.
///
/// The encoding is canonical (ascending tags, each once, minimal lengths) so that chip, host and
/// offline verifier all hash the same bytes.
public struct StampMetadata: Hashable, Sendable, Codable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var time: UInt64
    /// Latitude in microdegrees, −90 000 000 … 90 000 000; set together with `longitude`.
    public var latitudeMicrodegrees: Int32?
    /// Longitude in microdegrees, −180 000 000 … 180 000 000; set together with `latitude`.
    public var longitudeMicrodegrees: Int32?
    /// Who stamped, 1–64 UTF-8 bytes.
    public var operatorID: String?
    /// The stamping device, 1–64 bytes.
    public var deviceFingerprint: [UInt8]?
    /// The operator's organization unit, 1–64 UTF-8 bytes.
    public var organizationUnit: String?
    /// The approval step the stamp records, 1–64 UTF-8 bytes.
    public var approvalNode: String?

    /// The longest text or fingerprint field, in bytes.
    public static let maxTextLength = 64

    /// Creates metadata; only the time is required, and latitude and longitude go together.
    public init(
        time: UInt64,
        latitudeMicrodegrees: Int32? = nil,
        longitudeMicrodegrees: Int32? = nil,
        operatorID: String? = nil,
        deviceFingerprint: [UInt8]? = nil,
        organizationUnit: String? = nil,
        approvalNode: String? = nil
    ) {
        self.time = time
        self.latitudeMicrodegrees = latitudeMicrodegrees
        self.longitudeMicrodegrees = longitudeMicrodegrees
        self.operatorID = operatorID
        self.deviceFingerprint = deviceFingerprint
        self.organizationUnit = organizationUnit
        self.approvalNode = approvalNode
    }

    /// Checks ranges and lengths; the encoder refuses what the chip would refuse.
    public func validate() throws(SealDataError) {
        switch (latitudeMicrodegrees, longitudeMicrodegrees) {
        case (nil, nil): break
        case let (lat?, lon?):
            guard (-90_000_000...90_000_000).contains(lat) else {
                throw SealDataError(.outOfRange, "latitude \(lat) µ° is outside ±90°")
            }
            guard (-180_000_000...180_000_000).contains(lon) else {
                throw SealDataError(.outOfRange, "longitude \(lon) µ° is outside ±180°")
            }
        default:
            throw SealDataError(.missingField, "latitude and longitude must be given together")
        }
        // Checked one by one rather than through an array of (name, text) pairs: the chip runs
        // this on every STAMP.
        try Self.checkText(operatorID, "operator ID")
        try Self.checkText(organizationUnit, "organization unit")
        try Self.checkText(approvalNode, "approval node")
        if let fingerprint = deviceFingerprint, !(1...Self.maxTextLength).contains(fingerprint.count) {
            throw SealDataError(.invalidLength, "device fingerprint must be 1 to \(Self.maxTextLength) bytes")
        }
    }

    private static func checkText(_ text: String?, _ name: String) throws(SealDataError) {
        if let text, !(1...maxTextLength).contains(text.utf8.count) {
            throw SealDataError(.invalidLength, "\(name) must be 1 to \(maxTextLength) UTF-8 bytes")
        }
    }

    /// The canonical value of template `A1`.
    public func encoded() throws(SealDataError) -> [UInt8] {
        try validate()
        var fields: [TLV] = [TLV(tag: SealTag.time, value: bigEndianBytes(time))]
        if let lat = latitudeMicrodegrees, let lon = longitudeMicrodegrees {
            fields.append(TLV(tag: SealTag.latitude, value: bigEndianBytes(UInt32(bitPattern: lat))))
            fields.append(TLV(tag: SealTag.longitude, value: bigEndianBytes(UInt32(bitPattern: lon))))
        }
        if let operatorID { fields.append(TLV(tag: SealTag.operatorID, value: Array(operatorID.utf8))) }
        if let deviceFingerprint { fields.append(TLV(tag: SealTag.deviceFingerprint, value: deviceFingerprint)) }
        if let organizationUnit { fields.append(TLV(tag: SealTag.organizationUnit, value: Array(organizationUnit.utf8))) }
        if let approvalNode { fields.append(TLV(tag: SealTag.approvalNode, value: Array(approvalNode.utf8))) }
        return fields.encoded()
    }

    /// SHA-256 of the canonical encoding (SPEC §9.2).
    public func digest() throws(SealDataError) -> [UInt8] {
        Array(SHA256.hash(data: try encoded()))
    }

    /// Strictly decodes the value of `A1`: canonical order, known tags, valid lengths.
    public init(decoding value: [UInt8]) throws(SealDataError) {
        let fields: [TLV]
        do {
            fields = try TLV.decodeAll(value, strict: true)
        } catch {
            throw SealDataError(.malformedTLV, "metadata: \(error)")
        }
        var previous: UInt32 = 0
        var time: UInt64?
        var metadata = StampMetadata(time: 0)
        for field in fields {
            let tag = field.tag.rawValue
            guard tag > previous else {
                throw SealDataError(.notCanonical, "metadata tags must be ascending and unique (tag \(field.tag))")
            }
            previous = tag
            switch field.tag {
            case SealTag.time: time = try decodeBigEndian(field.value, as: UInt64.self, field: "time")
            case SealTag.latitude:
                metadata.latitudeMicrodegrees = Int32(bitPattern: try decodeBigEndian(field.value, as: UInt32.self, field: "latitude"))
            case SealTag.longitude:
                metadata.longitudeMicrodegrees = Int32(bitPattern: try decodeBigEndian(field.value, as: UInt32.self, field: "longitude"))
            case SealTag.operatorID: metadata.operatorID = try Self.text(field.value, "operator ID")
            case SealTag.deviceFingerprint: metadata.deviceFingerprint = field.value
            case SealTag.organizationUnit: metadata.organizationUnit = try Self.text(field.value, "organization unit")
            case SealTag.approvalNode: metadata.approvalNode = try Self.text(field.value, "approval node")
            default: throw SealDataError(.unexpectedField, "metadata: unknown tag \(field.tag)")
            }
        }
        guard let time else { throw SealDataError(.missingField, "metadata: time (91) is required") }
        metadata.time = time
        try metadata.validate()
        self = metadata
    }

    private static func text(_ bytes: [UInt8], _ name: String) throws(SealDataError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SealDataError(.invalidEncoding, "\(name) is not UTF-8")
        }
        return text
    }
}
