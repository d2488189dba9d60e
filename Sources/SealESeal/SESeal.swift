import Foundation
import SealGMCrypto
import SwiftASN1

/// A departure from strict DER or from the standard's text that real files carry and that SealKit
/// accepts, reported so that a caller can see what was tolerated (docs/gbt38540.md lists them).
public struct SESQuirk: Hashable, Sendable, CustomStringConvertible {
    /// What was found.
    public let kind: Kind
    /// Where, e.g. `SESeal.eSealInfo.extDatas[0].critical`.
    public let location: String

    /// Creates a quirk record.
    init(_ kind: Kind, at location: String) {
        self.kind = kind
        self.location = location
    }

    /// The kinds of tolerated departure.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case explicitDefaultFalse, rawSignature, trailingBytes, pictureTypeOFD, untaggedOptionalField
            case certificateListEntryNotCertificate, textTimeInfo, octetStringForBitString, generalizedTimeInV1
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// `critical BOOLEAN DEFAULT FALSE` written out as `01 01 00` (not DER; GOMAIN, Koal, Gede).
        public static let explicitDefaultFalse = Kind(.explicitDefaultFalse)
        /// A signature given as 64 bytes of r‖s instead of DER (Koal); verified after conversion.
        public static let rawSignature = Kind(.rawSignature)
        /// Bytes after the outer DER value; ignored.
        public static let trailingBytes = Kind(.trailingBytes)
        /// The picture type `ofd` (an embedded OFD document, tax-bureau seals), which the standard's
        /// list of image types does not name.
        public static let pictureTypeOFD = Kind(.pictureTypeOFD)
        /// An optional field the standard tags `[0]` written without the tag.
        public static let untaggedOptionalField = Kind(.untaggedOptionalField)
        /// A GM/T 0031-2014 certificate list entry that is not an OCTET STRING certificate (dms360
        /// writes IA5String `"1"`); skipped.
        public static let certificateListEntryNotCertificate = Kind(.certificateListEntryNotCertificate)
        /// A GM/T 0031-2014 timeInfo holding the time as text in a BIT STRING.
        public static let textTimeInfo = Kind(.textTimeInfo)
        /// An OCTET STRING where GM/T 0031-2014 has a BIT STRING (timeInfo, dataHash).
        public static let octetStringForBitString = Kind(.octetStringForBitString)
        /// A GeneralizedTime where GM/T 0031-2014 has UTCTime.
        public static let generalizedTimeInV1 = Kind(.generalizedTimeInV1)

        /// The kind's name, e.g. `explicitDefaultFalse`.
        public var description: String { value.rawValue }
    }

    /// `kind at location`.
    public var description: String { "\(kind) at \(location)" }
}

/// `SES_Header`: the `ES` identifier, the format version and the vendor's ID.
public struct SESHeader: Hashable, Sendable {
    /// Always `ES`.
    public let identifier: String
    /// 1 or 2 for GM/T 0031-2014, 4 for GB/T 38540-2020, 5 for GM/T 0031-2025.
    public let version: Int
    /// The maker system's vendor ID (`Vid`), free text.
    public let vendorID: String

    /// Creates a header.
    public init(identifier: String = "ES", version: Int, vendorID: String) {
        self.identifier = identifier
        self.version = version
        self.vendorID = vendorID
    }
}

/// `ExtData`: one extension of a seal or a signature.
public struct SESExtension: Hashable, Sendable {
    /// The dotted extension OID.
    public let oid: String
    /// Whether a verifier that does not know `oid` must reject.
    public let isCritical: Bool
    /// The extension value (the OCTET STRING's content).
    public let value: [UInt8]

    /// Creates an extension.
    public init(oid: String, isCritical: Bool, value: [UInt8]) {
        self.oid = oid
        self.isCritical = isCritical
        self.value = value
    }
}

/// `SES_ESPropertyInfo`: what the seal is and whom it is for.
public struct SESSealProperty: Hashable, Sendable {
    /// The seal type (1 organisation, 2 personal in GM/T 0031; other values by vendor).
    public let type: Int
    /// The seal's name.
    public let name: String
    /// `certListType`: 1 = certificates, 2 = certificate digests; nil in GM/T 0031-2014 seals,
    /// which always list certificates.
    public let certificateListType: Int?
    /// The DER certificates of the signers allowed to use the seal (``certificateListType`` 1 or nil).
    public let signerCertificates: [[UInt8]]
    /// The signers' certificate digests (``certificateListType`` 2): hash name and value.
    public let signerCertificateDigests: [SESCertificateDigest]
    /// When the seal was made.
    public let createDate: Date
    /// Start of the seal's validity period.
    public let validStart: Date
    /// End of the seal's validity period.
    public let validEnd: Date
}

/// `CertDigestObj`: a digest of a signer certificate.
public struct SESCertificateDigest: Hashable, Sendable {
    /// The hash algorithm's name as the file gives it (e.g. `SM3`).
    public let type: String
    /// The digest.
    public let value: [UInt8]
}

/// `SES_ESPictrueInfo`: the seal image.
public struct SESSealPicture: Hashable, Sendable {
    /// `PNG`, `JPG`, `GIF`, `BMP`, `SVG`, or `ofd` in real tax seals.
    public let type: String
    /// The image (or embedded document) bytes.
    public let data: [UInt8]
    /// Width in millimetres.
    public let width: Int
    /// Height in millimetres.
    public let height: Int

    /// Creates a picture.
    public init(type: String, data: [UInt8], width: Int, height: Int) {
        self.type = type
        self.data = data
        self.width = width
        self.height = height
    }
}

/// An electronic seal, `SESeal`: GM/T 0031-2014 (header version 1 or 2), GB/T 38540-2020
/// (version 4) or GM/T 0031-2025 (version 5), parsed from its bytes as received.
///
/// The maker's signature covers ``makerSignedBytes``: the original bytes of `SES_SealInfo` (v4, v5),
/// or `SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }` built around the original bytes of
/// those three fields (v1). Nothing is re-encoded.
public struct SESeal: Hashable, Sendable {
    /// The seal's bytes as received (without trailing bytes).
    public let derRepresentation: [UInt8]
    /// `SES_Header`.
    public let header: SESHeader
    /// `esID`, the seal's unique ID.
    public let sealID: String
    /// `SES_ESPropertyInfo`.
    public let property: SESSealProperty
    /// `SES_ESPictrueInfo`.
    public let picture: SESSealPicture
    /// `extDatas`, empty when absent.
    public let extensions: [SESExtension]
    /// The seal maker's DER certificate.
    public let makerCertificate: [UInt8]
    /// The dotted signature algorithm OID (`1.2.156.10197.1.501` for SM2-with-SM3).
    public let signatureAlgorithm: String
    /// The maker's signature as the BIT STRING carries it (DER, or r‖s in some files).
    public let makerSignature: [UInt8]
    /// The bytes the maker signed.
    public let makerSignedBytes: [UInt8]
    /// The v5 `timeStamp` over the signature (not verified by SealKit yet), if present.
    public let timeStamp: [UInt8]?
    /// What this seal carries that strict DER or the standard's text does not allow.
    public let quirks: [SESQuirk]

    /// Whether this is a GM/T 0031-2014 seal (header version 1 or 2).
    public var isVersion1Layout: Bool { header.version <= 2 }

    /// Parses a seal. Bytes after the outer value are ignored and reported as a quirk.
    ///
    /// - Throws: ``SESError``.
    public init(derEncoded bytes: [UInt8]) throws {
        let (node, trailing) = try parseFirstElement(bytes)
        var quirks: [SESQuirk] = []
        if trailing > 0 { quirks.append(SESQuirk(.trailingBytes, at: "SESeal (\(trailing) bytes)")) }
        try self.init(node: node, quirks: quirks, location: "SESeal")
    }

    init(node: ASN1Node, quirks initialQuirks: [SESQuirk], location: String) throws {
        var quirks = initialQuirks
        let fields = try FieldReader(node, structure: location)
        let sealInfoNode = try fields.next("eSealInfo", .sequence)
        let info = try FieldReader(sealInfoNode, structure: "\(location).eSealInfo")
        let header = try Self.header(info.next("header", .sequence), location: "\(location).eSealInfo.header")
        let isV1 = header.version <= 2
        let sealID = try info.ia5String("esID")
        let property = try Self.property(info.next("property", .sequence), v1: isV1,
                                         location: "\(location).eSealInfo.property", quirks: &quirks)
        let picture = try Self.picture(info.next("picture", .sequence), location: "\(location).eSealInfo.picture")
        if picture.type.lowercased() == "ofd" {
            quirks.append(SESQuirk(.pictureTypeOFD, at: "\(location).eSealInfo.picture.type"))
        }
        var extensions: [SESExtension] = []
        if let next = info.nextIdentifier {
            let extensionNode = try info.next("extDatas")
            let list: ASN1Node
            if next == .sequence {
                list = extensionNode
                if isV1 { quirks.append(SESQuirk(.untaggedOptionalField, at: "\(location).eSealInfo.extDatas")) }
            } else if next == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific), case .constructed(let inner) = extensionNode.content {
                var innerIterator = inner.makeIterator()
                guard let only = innerIterator.next(), innerIterator.next() == nil, only.identifier == .sequence else {
                    throw SESError(code: .ambiguousEncoding, reason: "\(location).eSealInfo.extDatas [0] does not wrap one SEQUENCE OF ExtData")
                }
                list = only
            } else {
                throw SESError(code: .malformed, reason: "\(location).eSealInfo.extDatas has tag \(next)")
            }
            extensions = try parseExtensions(list, location: "\(location).eSealInfo.extDatas", quirks: &quirks)
        }
        try info.expectEnd()

        let makerCertificateNode: ASN1Node
        let algorithmNode: ASN1Node
        let signatureNode: ASN1Node
        var timeStamp: [UInt8]? = nil
        if isV1 {
            let signInfo = try FieldReader(fields.next("signInfo", .sequence), structure: "\(location).signInfo")
            makerCertificateNode = try signInfo.next("cert", .octetString)
            algorithmNode = try signInfo.next("signatureAlgorithm", .objectIdentifier)
            signatureNode = try signInfo.next("signData", .bitString)
            try signInfo.expectEnd()
        } else {
            makerCertificateNode = try fields.next("cert", .octetString)
            algorithmNode = try fields.next("signAlgID", .objectIdentifier)
            signatureNode = try fields.next("signedValue", .bitString)
            if !fields.isAtEnd {
                timeStamp = try optionalTaggedBitString(try fields.next("timeStamp"), location: "\(location).timeStamp", quirks: &quirks)
            }
        }
        try fields.expectEnd()

        let algorithm: String
        do { algorithm = try ASN1ObjectIdentifier(derEncoded: algorithmNode).description } catch {
            throw SESError(code: .malformed, reason: "\(location) signature algorithm is not an OBJECT IDENTIFIER")
        }
        if isV1 {
            // GM/T 0031-2014 signs SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }: the three
            // fields' original bytes under a new SEQUENCE header.
            let content = Array(sealInfoNode.encodedBytes) + Array(makerCertificateNode.encodedBytes) + Array(algorithmNode.encodedBytes)
            makerSignedBytes = derSequence(content)
        } else {
            makerSignedBytes = Array(sealInfoNode.encodedBytes)
        }
        derRepresentation = Array(node.encodedBytes)
        self.header = header
        self.sealID = sealID
        self.property = property
        self.picture = picture
        self.extensions = extensions
        makerCertificate = Array(primitiveBytes(makerCertificateNode))
        signatureAlgorithm = algorithm
        makerSignature = try bitStringBytes(signatureNode, "\(location) signature")
        if isRawSignature(makerSignature) { quirks.append(SESQuirk(.rawSignature, at: "\(location) signature")) }
        self.timeStamp = timeStamp
        self.quirks = quirks
    }

    private static func header(_ node: ASN1Node, location: String) throws -> SESHeader {
        let fields = try FieldReader(node, structure: location)
        let identifier = try fields.ia5String("ID")
        let version = try fields.integer("version")
        let vendor = try fields.ia5String("Vid")
        try fields.expectEnd()
        guard identifier == "ES" else {
            throw SESError(code: .malformed, reason: "\(location).ID is \"\(identifier)\", not \"ES\"")
        }
        guard [1, 2, 4, 5].contains(version) else {
            throw SESError(code: .unsupportedVersion, reason: "\(location).version is \(version)")
        }
        return SESHeader(identifier: identifier, version: version, vendorID: vendor)
    }

    private static func property(_ node: ASN1Node, v1: Bool, location: String, quirks: inout [SESQuirk]) throws -> SESSealProperty {
        let fields = try FieldReader(node, structure: location)
        let type = try fields.integer("type")
        let name = try fields.utf8String("name")
        let listType: Int? = v1 ? nil : try fields.integer("certListType")
        let listNode = try fields.next("certList", .sequence)
        var certificates: [[UInt8]] = []
        var digests: [SESCertificateDigest] = []
        guard case .constructed(let entries) = listNode.content else {
            throw SESError(code: .malformed, reason: "\(location).certList is not constructed")
        }
        for (index, entry) in entries.enumerated() {
            switch (listType, entry.identifier) {
            case (2, .sequence):
                let digest = try FieldReader(entry, structure: "\(location).certList[\(index)]")
                let typeNode = try digest.next("type", .printableString)
                let value = try digest.octetString("value")
                try digest.expectEnd()
                digests.append(SESCertificateDigest(type: String(decoding: primitiveBytes(typeNode), as: UTF8.self), value: value))
            case (1, .octetString), (nil, .octetString):
                certificates.append(Array(primitiveBytes(entry)))
            case (nil, _):
                quirks.append(SESQuirk(.certificateListEntryNotCertificate, at: "\(location).certList[\(index)]"))
            default:
                throw SESError(code: .malformed, reason: "\(location).certList[\(index)] has tag \(entry.identifier) for certListType \(listType.map(String.init) ?? "-")")
            }
        }
        if let listType, listType != 1, listType != 2 {
            throw SESError(code: .malformed, reason: "\(location).certListType is \(listType), not 1 or 2")
        }
        var dates: [Date] = []
        for field in ["createDate", "validStart", "validEnd"] {
            dates.append(try sealDate(fields.next(field), v1: v1, location: "\(location).\(field)", quirks: &quirks))
        }
        try fields.expectEnd()
        return SESSealProperty(type: type, name: name, certificateListType: listType, signerCertificates: certificates,
                               signerCertificateDigests: digests, createDate: dates[0], validStart: dates[1], validEnd: dates[2])
    }

    private static func picture(_ node: ASN1Node, location: String) throws -> SESSealPicture {
        let fields = try FieldReader(node, structure: location)
        let type = try fields.ia5String("type")
        let data = try fields.octetString("data")
        let width = try fields.integer("width")
        let height = try fields.integer("height")
        try fields.expectEnd()
        return SESSealPicture(type: type, data: data, width: width, height: height)
    }
}

/// A seal date: GeneralizedTime (v4, v5), UTCTime (v1; GeneralizedTime tolerated there).
private func sealDate(_ node: ASN1Node, v1: Bool, location: String, quirks: inout [SESQuirk]) throws -> Date {
    do {
        if node.identifier == .generalizedTime {
            if v1 { quirks.append(SESQuirk(.generalizedTimeInV1, at: location)) }
            return try GeneralizedTime(derEncoded: node).date
        }
        if v1, node.identifier == .utcTime { return try UTCTime(derEncoded: node).date }
    } catch {
        throw SESError(code: .malformed, reason: "\(location) is not a DER time")
    }
    throw SESError(code: .malformed, reason: "\(location) has tag \(node.identifier)")
}

/// `ExtensionDatas`, with `critical` read by hand: real files write the DEFAULT FALSE out.
func parseExtensions(_ node: ASN1Node, location: String, quirks: inout [SESQuirk]) throws -> [SESExtension] {
    guard node.identifier == .sequence, case .constructed(let entries) = node.content else {
        throw SESError(code: .malformed, reason: "\(location) is not a SEQUENCE OF ExtData")
    }
    // A loop, not `map`: a throwing closure that captures the inout `quirks` crashes the Swift 6.3
    // optimizer (CopyPropagation) in release builds.
    var extensions: [SESExtension] = []
    for (index, entry) in entries.enumerated() {
        let here = "\(location)[\(index)]"
        let fields = try FieldReader(entry, structure: here)
        let oid = try fields.objectIdentifier("extnID")
        var critical = false
        if fields.nextIdentifier == .boolean {
            let value = Array(primitiveBytes(try fields.next("critical")))
            if value == [0xFF] {
                critical = true
            } else if value == [0x00] {
                quirks.append(SESQuirk(.explicitDefaultFalse, at: "\(here).critical"))
            } else {
                throw SESError(code: .ambiguousEncoding, reason: "\(here).critical is not 00 or FF")
            }
        }
        let value = try fields.octetString("extnValue")
        try fields.expectEnd()
        extensions.append(SESExtension(oid: oid, isCritical: critical, value: value))
    }
    return extensions
}

/// An optional `[0] BIT STRING` at the end of a structure: EXPLICIT (ofdrw), IMPLICIT, or untagged
/// (Chingliu's decoder) — each reads one way only, since nothing else may follow.
func optionalTaggedBitString(_ node: ASN1Node, location: String, quirks: inout [SESQuirk]) throws -> [UInt8] {
    let tag0 = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    if node.identifier == .bitString {
        quirks.append(SESQuirk(.untaggedOptionalField, at: location))
        return try bitStringBytes(node, location)
    }
    guard node.identifier == tag0 else {
        throw SESError(code: .malformed, reason: "\(location) has tag \(node.identifier)")
    }
    switch node.content {
    case .primitive:
        return try bitStringBytes(node, location)
    case .constructed(let inner):
        var iterator = inner.makeIterator()
        guard let only = iterator.next(), iterator.next() == nil, only.identifier == .bitString else {
            throw SESError(code: .ambiguousEncoding, reason: "\(location) [0] does not wrap one BIT STRING")
        }
        return try bitStringBytes(only, location)
    }
}

/// `30 len content` with a definite DER length.
func derSequence(_ content: [UInt8]) -> [UInt8] {
    var header: [UInt8] = [0x30]
    let count = content.count
    if count < 0x80 {
        header.append(UInt8(count))
    } else {
        var lengthBytes: [UInt8] = []
        var remaining = count
        while remaining > 0 {
            lengthBytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        }
        header.append(0x80 | UInt8(lengthBytes.count))
        header += lengthBytes
    }
    return header + content
}

/// 64 bytes that are not one DER `SEQUENCE { r, s }`: the r‖s form some vendors write.
func isRawSignature(_ value: [UInt8]) -> Bool {
    value.count == SM2Signature.rawByteCount && !SM2Signature.isDER(value)
}
