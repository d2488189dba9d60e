/// The chip's capabilities, GET DATA `0105`, and the proprietary part of the SELECT FCI (SPEC §8.1, §8.5).
public struct SealCapabilities: Hashable, Sendable {
    /// The feature bits (`83`).
    public struct Features: OptionSet, Hashable, Sendable {
        /// The feature byte.
        public let rawValue: UInt8
        /// Wraps a feature byte.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Bit 0: the chip accepts command chaining (SPEC §3.4).
        public static let commandChaining = Features(rawValue: 0x01)
        /// Bit 1: the chip accepts extended Lc and Le (SPEC §3.1).
        public static let extendedLength = Features(rawValue: 0x02)
        /// Bit 2: the chip supports remote-authority grants (SPEC §9.5).
        public static let remoteAuthorization = Features(rawValue: 0x04)
    }

    /// The spec version, two bytes (`01 00`).
    public var specVersion: [UInt8]
    /// The largest command data field, one APDU or a whole chain.
    public var maxCommandData: UInt16
    /// The largest response the chip produces.
    public var maxResponseData: UInt32
    /// Chaining, extended length, remote authorization.
    public var features: Features
    /// How many audit entries the chip retains.
    public var auditLogCapacity: UInt16
    /// The seal key's algorithm (`85`), present once the chip is personalized; `nil` before, and
    /// from chips that predate SM2 seal keys (they hold P-256 keys).
    public var sealKeyAlgorithm: SealKeyAlgorithm? = nil

    /// Creates capabilities; the defaults are those of the reference chip (SPEC §8.5).
    public init(specVersion: [UInt8] = SealApplet.specVersion, maxCommandData: UInt16 = UInt16(SealApplet.maxCommandData),
                maxResponseData: UInt32 = UInt32(SealApplet.maxResponseData),
                features: Features = [.commandChaining, .extendedLength, .remoteAuthorization],
                auditLogCapacity: UInt16 = UInt16(SealApplet.auditLogCapacity)) {
        self.specVersion = specVersion
        self.maxCommandData = maxCommandData
        self.maxResponseData = maxResponseData
        self.features = features
        self.auditLogCapacity = auditLogCapacity
    }

    /// `80 81 82 83` — the FCI's `A5` content.
    public func fciProprietary() -> [UInt8] {
        [
            TLV(tag: SealTag.specVersion, value: specVersion),
            TLV(tag: SealTag.maxCommandData, value: bigEndianBytes(maxCommandData)),
            TLV(tag: SealTag.maxResponseData, value: bigEndianBytes(maxResponseData)),
            TLV(tag: SealTag.features, value: [features.rawValue]),
        ].encoded()
    }

    /// GET DATA `0105`: the FCI content plus `84` audit capacity and, once personalized, `85` the
    /// seal key algorithm.
    public func encoded() -> [UInt8] {
        var out = fciProprietary() + [TLV(tag: SealTag.auditCapacity, value: bigEndianBytes(auditLogCapacity))].encoded()
        if let sealKeyAlgorithm {
            out += TLV(tag: SealTag.capabilitiesSealKeyAlgorithm, value: [sealKeyAlgorithm.rawValue]).encoded()
        }
        return out
    }

    /// Strictly decodes GET DATA `0105`.
    ///
    /// - Throws: ``SealDataError`` naming the field out of order, missing or of the wrong length.
    public init(decoding bytes: [UInt8]) throws(SealDataError) {
        var reader = try TLVFieldReader(bytes, context: "capabilities")
        specVersion = try reader.bytes(SealTag.specVersion, "spec version", length: 2...2)
        maxCommandData = try decodeBigEndian(try reader.bytes(SealTag.maxCommandData, "max command data", length: 2...2), as: UInt16.self, field: "max command data")
        maxResponseData = try reader.uint32(SealTag.maxResponseData, "max response data")
        features = Features(rawValue: try reader.bytes(SealTag.features, "features", length: 1...1)[0])
        auditLogCapacity = try decodeBigEndian(try reader.bytes(SealTag.auditCapacity, "audit capacity", length: 2...2), as: UInt16.self, field: "audit capacity")
        if let algorithm = try reader.optionalBytes(SealTag.capabilitiesSealKeyAlgorithm, "seal key algorithm", length: 1...1) {
            guard let known = SealKeyAlgorithm(rawValue: algorithm[0]) else {
                throw SealDataError(.outOfRange, "capabilities: unknown seal key algorithm \(algorithm[0])")
            }
            sealKeyAlgorithm = known
        }
        try reader.finish()
    }

    /// The FCI returned by SELECT with P2 `00`.
    public func fci() -> [UInt8] {
        [TLV(tag: SealTag.fci, value: [
            TLV(tag: SealTag.aid, value: SealApplet.aid),
            TLV(tag: SealTag.fciProprietary, value: fciProprietary()),
        ].encoded())].encoded()
    }
}

// MARK: - Size limits (SPEC §3.5, issue 9 finding 10)

extension SealCapabilities {
    /// The least command data (one APDU or a whole chain, wrapped bytes included) a chip may
    /// report in `81` (SPEC §3.5).
    public static let minimumCommandData = 512
    /// The least response data a chip may report in `82` (SPEC §3.5).
    public static let minimumResponseData = 1024
    /// The largest length a Java Card applet can express (a `short`): a Java Card chip reports at
    /// most this much in `81` and `82` (SPEC §3.5).
    public static let javaCardMaximumLength = 32767

    /// The reference chip's capabilities: a 4096-byte command buffer, 65536-byte responses,
    /// chaining and extended length.
    public static let reference = SealCapabilities()

    /// A chip at the spec's minimums, as a 2 KB-RAM secure element builds it: a 512-byte chain
    /// buffer, 1024-byte responses, chaining but no extended length (the simulated chip's `capabilities: .constrained`).
    public static let constrained = SealCapabilities(maxCommandData: UInt16(minimumCommandData), maxResponseData: UInt32(minimumResponseData),
                                                     features: [.commandChaining, .remoteAuthorization])

    /// What in these capabilities breaks SPEC §3.5, one phrase per problem; empty when they conform.
    public var sizeViolations: [String] {
        var problems: [String] = []
        if Int(maxCommandData) < Self.minimumCommandData {
            problems.append("max command data \(maxCommandData) is below the minimum \(Self.minimumCommandData)")
        }
        if Int(maxResponseData) < Self.minimumResponseData {
            problems.append("max response data \(maxResponseData) is below the minimum \(Self.minimumResponseData)")
        }
        if !features.contains(.commandChaining) && !features.contains(.extendedLength) && maxCommandData > 255 {
            problems.append("max command data \(maxCommandData) needs chaining or extended length, and neither is offered")
        }
        return problems
    }

    /// The historical bytes of the ATR (SPEC §2.2) whose card-capabilities object announces what
    /// these capabilities offer: chaining (b8) and extended Lc/Le (b7) of the third byte.
    public var historicalBytes: [UInt8] {
        var bytes = SealApplet.historicalBytes
        var third: UInt8 = 0
        if features.contains(.commandChaining) { third |= 0x80 }
        if features.contains(.extendedLength) { third |= 0x40 }
        bytes[4] = third
        return bytes
    }
}
