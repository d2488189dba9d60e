import Crypto

/// The who/when/where of a stamping (SPEC §9.2, metadata v2): the value of template `A1`.
///
/// The encoding is canonical (ascending tags, each once, minimal lengths) so that chip, host and
/// offline verifier all hash the same bytes. Personal fields — the location, the operator's ID and
/// biometric reference, the device fingerprint — never enter the encoding in clear: each is
/// replaced by a salted SHA-256 commitment (SPEC §9.2.1). Their plaintexts and salts (the
/// *openings*) travel beside the record, so a ledger can keep the signed record without the
/// personal data and a holder of an opening can still prove it.
///
/// A metadata value built on the host holds the plaintexts (``operatorID`` …) and a fresh random
/// salt for each; a value decoded from `A1` holds only the commitments
/// (``withheldCommitments``).
public struct StampMetadata: Hashable, Sendable {
    /// A personal field: committed to, never signed in clear (SPEC §9.2.1).
    public enum PersonalField: String, Hashable, Sendable, CaseIterable, Comparable {
        /// Latitude and longitude together.
        case location
        /// SHA-256 of the biometric template the stamping device matched (never the template).
        case operatorBiometricReference
        /// Who stamped.
        case operatorID
        /// The stamping device.
        case deviceFingerprint

        /// The `A1` child tag of the field's commitment.
        public var tag: BERTag {
            switch self {
            case .location: SealTag.locationCommitment
            case .operatorBiometricReference: SealTag.operatorBiometricCommitment
            case .operatorID: SealTag.operatorIDCommitment
            case .deviceFingerprint: SealTag.deviceFingerprintCommitment
            }
        }

        /// Ordered by tag, the canonical order.
        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.tag.rawValue < rhs.tag.rawValue }
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    public var time: UInt64
    /// The stamped document's name, 1–128 UTF-8 bytes (signed in clear).
    public var documentName: String?
    /// The operator's organization unit, 1–64 UTF-8 bytes (signed in clear).
    public var organizationUnit: String?
    /// The approval step the stamp records, 1–64 UTF-8 bytes (signed in clear).
    public var approvalNode: String?

    /// Latitude in microdegrees, −90 000 000 … 90 000 000; set together with `longitude`. Personal.
    public var latitudeMicrodegrees: Int32? { didSet { ensureSalt(.location) } }
    /// Longitude in microdegrees, −180 000 000 … 180 000 000; set together with `latitude`. Personal.
    public var longitudeMicrodegrees: Int32? { didSet { ensureSalt(.location) } }
    /// Who stamped, 1–64 UTF-8 bytes. Personal.
    public var operatorID: String? { didSet { ensureSalt(.operatorID) } }
    /// SHA-256 of the operator's biometric template (32 bytes), never the template. Personal.
    public var operatorBiometricReference: [UInt8]? { didSet { ensureSalt(.operatorBiometricReference) } }
    /// The stamping device, 1–64 bytes. Personal.
    public var deviceFingerprint: [UInt8]? { didSet { ensureSalt(.deviceFingerprint) } }

    /// The 16-byte salt of each personal field whose plaintext is held. Drawn from the system's
    /// random source when a field is first set; set them explicitly for known-answer tests.
    public var salts: [PersonalField: [UInt8]]
    /// Commitments of personal fields whose plaintext is not held: what a value decoded from
    /// `A1` (or a record without its personal data) knows. A held plaintext takes precedence.
    public var withheldCommitments: [PersonalField: [UInt8]]

    /// The longest text or fingerprint field, in bytes.
    public static let maxTextLength = 64
    /// The longest document name, in bytes.
    public static let maxDocumentNameLength = 128
    /// The length of a commitment salt.
    public static let saltLength = 16
    /// The domain separator of a commitment, `"SEALKIT-COMMIT-V1"`.
    public static let commitmentDomain = Array("SEALKIT-COMMIT-V1".utf8)

    /// Creates metadata; only the time is required, and latitude and longitude go together.
    /// Every personal field given gets a fresh random salt.
    public init(
        time: UInt64,
        latitudeMicrodegrees: Int32? = nil,
        longitudeMicrodegrees: Int32? = nil,
        operatorID: String? = nil,
        deviceFingerprint: [UInt8]? = nil,
        organizationUnit: String? = nil,
        approvalNode: String? = nil,
        documentName: String? = nil,
        operatorBiometricReference: [UInt8]? = nil
    ) {
        self.time = time
        self.latitudeMicrodegrees = latitudeMicrodegrees
        self.longitudeMicrodegrees = longitudeMicrodegrees
        self.operatorID = operatorID
        self.deviceFingerprint = deviceFingerprint
        self.organizationUnit = organizationUnit
        self.approvalNode = approvalNode
        self.documentName = documentName
        self.operatorBiometricReference = operatorBiometricReference
        self.salts = [:]
        self.withheldCommitments = [:]
        for field in PersonalField.allCases { ensureSalt(field) }
    }

    /// Whether the plaintext of `field` is held.
    public func holdsPlaintext(_ field: PersonalField) -> Bool {
        switch field {
        case .location: latitudeMicrodegrees != nil || longitudeMicrodegrees != nil
        case .operatorBiometricReference: operatorBiometricReference != nil
        case .operatorID: operatorID != nil
        case .deviceFingerprint: deviceFingerprint != nil
        }
    }

    private mutating func ensureSalt(_ field: PersonalField) {
        if holdsPlaintext(field), salts[field] == nil {
            var generator = SystemRandomNumberGenerator()
            salts[field] = (0..<Self.saltLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
    }

    /// The committed bytes of a held plaintext (SPEC §9.2.1): lat ‖ lon (i32 each), the UTF-8
    /// operator ID, the 32-byte biometric reference, the fingerprint bytes.
    public func plaintextBytes(_ field: PersonalField) -> [UInt8]? {
        switch field {
        case .location:
            guard let lat = latitudeMicrodegrees, let lon = longitudeMicrodegrees else { return nil }
            return bigEndianBytes(UInt32(bitPattern: lat)) + bigEndianBytes(UInt32(bitPattern: lon))
        case .operatorBiometricReference: return operatorBiometricReference
        case .operatorID: return operatorID.map { Array($0.utf8) }
        case .deviceFingerprint: return deviceFingerprint
        }
    }

    /// commitment = SHA-256("SEALKIT-COMMIT-V1" ‖ tag ‖ salt(16) ‖ plaintext) (SPEC §9.2.1).
    public static func commitment(field: PersonalField, salt: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: commitmentDomain)
        hasher.update(data: field.tag.bytes)
        hasher.update(data: salt)
        hasher.update(data: plaintext)
        return Array(hasher.finalize())
    }

    /// The commitment `A1` carries for `field`: computed from the held plaintext and its salt, else
    /// the withheld commitment, else `nil` (the field is absent).
    public func commitment(for field: PersonalField) -> [UInt8]? {
        if let plaintext = plaintextBytes(field), let salt = salts[field] {
            return Self.commitment(field: field, salt: salt, plaintext: plaintext)
        }
        return withheldCommitments[field]
    }

    /// The same metadata without any personal plaintext: only the commitments remain, so it
    /// encodes to the same `A1` value.
    public var withoutPersonalData: StampMetadata {
        var copy = StampMetadata(time: time, organizationUnit: organizationUnit, approvalNode: approvalNode,
                                 documentName: documentName)
        for field in PersonalField.allCases {
            if let commitment = commitment(for: field) { copy.withheldCommitments[field] = commitment }
        }
        return copy
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
        if let documentName, !(1...Self.maxDocumentNameLength).contains(documentName.utf8.count) {
            throw SealDataError(.invalidLength, "document name must be 1 to \(Self.maxDocumentNameLength) UTF-8 bytes")
        }
        if let fingerprint = deviceFingerprint, !(1...Self.maxTextLength).contains(fingerprint.count) {
            throw SealDataError(.invalidLength, "device fingerprint must be 1 to \(Self.maxTextLength) bytes")
        }
        if let reference = operatorBiometricReference, reference.count != 32 {
            throw SealDataError(.invalidLength, "operator biometric reference must be a 32-byte SHA-256 of the template")
        }
        for (field, salt) in salts where holdsPlaintext(field) && salt.count != Self.saltLength {
            throw SealDataError(.invalidLength, "the salt of \(field.rawValue) must be \(Self.saltLength) bytes")
        }
        for (field, commitment) in withheldCommitments where commitment.count != 32 {
            throw SealDataError(.invalidLength, "the commitment of \(field.rawValue) must be 32 bytes")
        }
    }

    private static func checkText(_ text: String?, _ name: String) throws(SealDataError) {
        if let text, !(1...maxTextLength).contains(text.utf8.count) {
            throw SealDataError(.invalidLength, "\(name) must be 1 to \(maxTextLength) UTF-8 bytes")
        }
    }

    /// The canonical value of template `A1` (metadata v2): `91` time, `92`–`95` commitments,
    /// `96` unit, `97` node, `9F20` document name.
    public func encoded() throws(SealDataError) -> [UInt8] {
        try validate()
        var fields: [TLV] = [TLV(tag: SealTag.time, value: bigEndianBytes(time))]
        for field in PersonalField.allCases.sorted() {
            if let commitment = commitment(for: field) { fields.append(TLV(tag: field.tag, value: commitment)) }
        }
        if let organizationUnit { fields.append(TLV(tag: SealTag.organizationUnit, value: Array(organizationUnit.utf8))) }
        if let approvalNode { fields.append(TLV(tag: SealTag.approvalNode, value: Array(approvalNode.utf8))) }
        if let documentName { fields.append(TLV(tag: SealTag.documentName, value: Array(documentName.utf8))) }
        return fields.encoded()
    }

    /// SHA-256 of the canonical encoding (SPEC §9.2).
    public func digest() throws(SealDataError) -> [UInt8] {
        Array(SHA256.hash(data: try encoded()))
    }

    /// Strictly decodes the value of `A1`: canonical order, known tags, valid lengths. Personal
    /// fields come back as ``withheldCommitments``.
    ///
    /// The chip runs this on every STAMP: the fields are read straight from `value` after the
    /// whole value passed the TLV checks (so a malformed object is reported before a field out of
    /// place, as when it was decoded into `[TLV]` first).
    public init(decoding value: [UInt8]) throws(SealDataError) {
        var time: UInt64?
        // Decoded metadata holds no plaintext, so it needs no salts: start from nothing.
        self.init(decodedTime: 0)
        var fields = try CanonicalFields(value[...], objectsValidated: false)
        while let field = try fields.next() {
            let (fieldTag, fieldValue) = (field.tag, field.value)
            switch fieldTag {
            case SealTag.time: time = try decodeBigEndian(fieldValue, as: UInt64.self, field: "time")
            case SealTag.locationCommitment: try withhold(.location, fieldValue)
            case SealTag.operatorBiometricCommitment: try withhold(.operatorBiometricReference, fieldValue)
            case SealTag.operatorIDCommitment: try withhold(.operatorID, fieldValue)
            case SealTag.deviceFingerprintCommitment: try withhold(.deviceFingerprint, fieldValue)
            case SealTag.organizationUnit: organizationUnit = try Self.text(fieldValue, "organization unit")
            case SealTag.approvalNode: approvalNode = try Self.text(fieldValue, "approval node")
            case SealTag.documentName: documentName = try Self.text(fieldValue, "document name")
            default: throw SealDataError(.unexpectedField, "metadata: unknown tag \(fieldTag)")
            }
        }
        guard let time else { throw SealDataError(.missingField, "metadata: time (91) is required") }
        self.time = time
        try validate()
    }

    /// The fields of an `A1` value in order, after the TLV checks over the whole value (unless
    /// the caller ran them) and with tags checked to ascend with no repeat: the walk both decoders
    /// share, so that they refuse in the same order.
    private struct CanonicalFields {
        private var fields: TLV.Parser
        private var previous: UInt32 = 0

        init(_ value: ArraySlice<UInt8>, objectsValidated: Bool) throws(SealDataError) {
            if !objectsValidated {
                do {
                    try TLV.validateAll(value)
                } catch {
                    throw SealDataError(.malformedTLV, "metadata: \(error)")
                }
            }
            fields = TLV.Parser(bytes: value, strict: true)
        }

        /// The next field, or `nil` after the last.
        mutating func next() throws(SealDataError) -> TLV.Parser.Object? {
            let next: TLV.Parser.Object?
            do {
                next = try fields.nextObject(depth: 0, validatingChildren: false)
            } catch {
                // Unreachable once the objects are validated: the same checks ran over the value.
                throw SealDataError(.malformedTLV, "metadata: \(error)")
            }
            guard let field = next else { return nil }
            guard field.tag.rawValue > previous else {
                throw SealDataError(.notCanonical, "metadata tags must be ascending and unique (tag \(field.tag))")
            }
            previous = field.tag.rawValue
            return field
        }
    }

    /// The time of the `A1` value `value`, after exactly the checks `init(decoding:)` and
    /// `validate()` make of it, without building the metadata: the chip reads only the time of
    /// the metadata it stamps (it signs the digest of `value`), and decoding a whole value built a
    /// dictionary of commitments on every STAMP. Accepts exactly the values `init(decoding:)`
    /// accepts (a test compares the two on mutated requests).
    ///
    /// `objectsValidated`: the caller already ran the TLV checks over `value` (a `TLVFieldReader`
    /// validates the objects inside a constructed field, one level deeper, so `TLV.validateAll`
    /// over the value alone could not fail), and they are not run again.
    package static func validatedTime(ofEncoding value: ArraySlice<UInt8>, objectsValidated: Bool = false) throws(SealDataError) -> UInt64 {
        var time: UInt64?
        var fields = try CanonicalFields(value, objectsValidated: objectsValidated)
        while let field = try fields.next() {
            let (tag, fieldValue) = (field.tag, field.value)
            switch tag {
            case SealTag.time:
                time = try decodeBigEndian(fieldValue, as: UInt64.self, field: "time")
            case SealTag.locationCommitment, SealTag.operatorBiometricCommitment, SealTag.operatorIDCommitment,
                 SealTag.deviceFingerprintCommitment:
                guard fieldValue.count == 32 else {
                    throw SealDataError(.invalidLength, "metadata: a commitment must be 32 bytes")
                }
            case SealTag.organizationUnit, SealTag.approvalNode:
                // `text` then `validate()`: UTF-8, then 1...64 bytes.
                guard String(validating: fieldValue, as: UTF8.self) != nil else {
                    throw SealDataError(.invalidEncoding, "metadata: text is not UTF-8")
                }
                guard (1...maxTextLength).contains(fieldValue.count) else {
                    throw SealDataError(.invalidLength, "metadata: text must be 1 to \(maxTextLength) UTF-8 bytes")
                }
            case SealTag.documentName:
                guard String(validating: fieldValue, as: UTF8.self) != nil else {
                    throw SealDataError(.invalidEncoding, "document name is not UTF-8")
                }
                guard (1...maxDocumentNameLength).contains(fieldValue.count) else {
                    throw SealDataError(.invalidLength, "document name must be 1 to \(maxDocumentNameLength) UTF-8 bytes")
                }
            default:
                throw SealDataError(.unexpectedField, "metadata: unknown tag \(tag)")
            }
        }
        guard let time else { throw SealDataError(.missingField, "metadata: time (91) is required") }
        return time
    }

    /// Metadata with only its time: no plaintext, so no salts drawn (the decoder's start).
    private init(decodedTime time: UInt64) {
        self.time = time
        self.salts = [:]
        self.withheldCommitments = [:]
    }

    private mutating func withhold(_ field: PersonalField, _ commitment: ArraySlice<UInt8>) throws(SealDataError) {
        guard commitment.count == 32 else {
            throw SealDataError(.invalidLength, "metadata: the \(field.rawValue) commitment must be 32 bytes")
        }
        withheldCommitments[field] = Array(commitment)
    }

    private static func text(_ bytes: ArraySlice<UInt8>, _ name: String) throws(SealDataError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SealDataError(.invalidEncoding, "\(name) is not UTF-8")
        }
        return text
    }

    // MARK: Equality

    /// Equal when everything that reaches the encoding or an opening is equal: salts of fields
    /// without a plaintext do not count.
    public static func == (lhs: StampMetadata, rhs: StampMetadata) -> Bool {
        lhs.time == rhs.time && lhs.documentName == rhs.documentName && lhs.organizationUnit == rhs.organizationUnit
            && lhs.approvalNode == rhs.approvalNode && lhs.latitudeMicrodegrees == rhs.latitudeMicrodegrees
            && lhs.longitudeMicrodegrees == rhs.longitudeMicrodegrees && lhs.operatorID == rhs.operatorID
            && lhs.operatorBiometricReference == rhs.operatorBiometricReference
            && lhs.deviceFingerprint == rhs.deviceFingerprint
            && lhs.usedSalts == rhs.usedSalts && lhs.withheldCommitments == rhs.withheldCommitments
    }

    /// Hashes (part of) what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(time)
        hasher.combine(documentName)
        hasher.combine(operatorID)
        hasher.combine(usedSalts)
        hasher.combine(withheldCommitments)
    }

    private var usedSalts: [PersonalField: [UInt8]] {
        salts.filter { holdsPlaintext($0.key) }
    }
}
