import Foundation
import SwiftASN1

/// An electronic signature, `SES_Signature`: GM/T 0031-2014 (TBS_Sign version 1 or 2),
/// GB/T 38540-2020 (version 4) or GM/T 0031-2025 (version 5), parsed from its bytes as received.
///
/// The signer's signature covers ``signedBytes``, the original bytes of `TBS_Sign`.
public struct SESSignature: Hashable, Sendable {
    /// The signature's bytes as received (without trailing bytes).
    public let derRepresentation: [UInt8]
    /// `TBS_Sign.version`.
    public let version: Int
    /// The seal the signature was made with.
    public let seal: SESeal
    /// `timeInfo`: when the document was signed, the time validity and chains are judged at.
    public let timeInfo: Date
    /// `dataHash`: the hash of the signed data (SM3 for SM2-with-SM3).
    public let dataHash: [UInt8]
    /// `propertyInfo`: what the signature protects (in OFD, the path of `Signature.xml`).
    public let propertyInfo: String
    /// `extDatas` of TBS_Sign (v4, v5), empty when absent.
    public let extensions: [SESExtension]
    /// The signer's DER certificate.
    public let signerCertificate: [UInt8]
    /// The dotted signature algorithm OID (`1.2.156.10197.1.501` for SM2-with-SM3).
    public let signatureAlgorithm: String
    /// The signer's signature as the BIT STRING carries it (DER, or r‖s in some files).
    public let signature: [UInt8]
    /// The bytes the signer signed: `TBS_Sign` as received.
    public let signedBytes: [UInt8]
    /// The `timeStamp` over the signature (not verified by SealKit yet), if present.
    public let timeStamp: [UInt8]?
    /// What this signature (seal included) carries that strict DER or the standard's text does not allow.
    public let quirks: [SESQuirk]

    /// Parses a signature. Bytes after the outer value are ignored and reported as a quirk.
    ///
    /// - Throws: ``SESError``.
    public init(derEncoded bytes: [UInt8]) throws {
        let (node, trailing) = try parseFirstElement(bytes)
        var quirks: [SESQuirk] = []
        if trailing > 0 { quirks.append(SESQuirk(.trailingBytes, at: "SES_Signature (\(trailing) bytes)")) }
        let fields = try FieldReader(node, structure: "SES_Signature")
        let tbsNode = try fields.next("toSign", .sequence)
        let tbs = try FieldReader(tbsNode, structure: "SES_Signature.toSign")
        let version = try tbs.integer("version")
        guard [1, 2, 4, 5].contains(version) else {
            throw SESError(code: .unsupportedVersion, reason: "SES_Signature.toSign.version is \(version)")
        }
        let isV1 = version <= 2
        let seal = try SESeal(node: tbs.next("eseal", .sequence), quirks: [], location: "SES_Signature.toSign.eseal")
        guard seal.isVersion1Layout == isV1 else {
            throw SESError(code: .malformed, reason: "a version \(version) signature holds a version \(seal.header.version) seal")
        }
        quirks += seal.quirks
        let timeInfo: Date
        let dataHash: [UInt8]
        var extensions: [SESExtension] = []
        let certificateNode: ASN1Node
        let algorithmNode: ASN1Node
        let signatureNode: ASN1Node
        var timeStamp: [UInt8]? = nil
        if isV1 {
            timeInfo = try v1TimeInfo(tbs.next("timeInfo"), quirks: &quirks)
            dataHash = try v1BitString(tbs.next("dataHash"), location: "SES_Signature.toSign.dataHash", quirks: &quirks)
            let propertyInfo = try tbs.ia5String("propertyInfo")
            certificateNode = try tbs.next("cert", .octetString)
            algorithmNode = try tbs.next("signatureAlgorithm", .objectIdentifier)
            try tbs.expectEnd()
            signatureNode = try fields.next("signature", .bitString)
            try fields.expectEnd()
            self.propertyInfo = propertyInfo
        } else {
            timeInfo = try tbs.generalizedTime("timeInfo")
            dataHash = try tbs.bitString("dataHash")
            propertyInfo = try tbs.ia5String("propertyInfo")
            if let next = tbs.nextIdentifier {
                let node = try tbs.next("extDatas")
                let list: ASN1Node
                if next == .sequence {
                    quirks.append(SESQuirk(.untaggedOptionalField, at: "SES_Signature.toSign.extDatas"))
                    list = node
                } else if next == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific), case .constructed(let inner) = node.content {
                    var iterator = inner.makeIterator()
                    guard let only = iterator.next(), iterator.next() == nil, only.identifier == .sequence else {
                        throw SESError(code: .ambiguousEncoding, reason: "SES_Signature.toSign.extDatas [0] does not wrap one SEQUENCE OF ExtData")
                    }
                    list = only
                } else {
                    throw SESError(code: .malformed, reason: "SES_Signature.toSign.extDatas has tag \(next)")
                }
                extensions = try parseExtensions(list, location: "SES_Signature.toSign.extDatas", quirks: &quirks)
            }
            try tbs.expectEnd()
            certificateNode = try fields.next("cert", .octetString)
            algorithmNode = try fields.next("signatureAlgID", .objectIdentifier)
            signatureNode = try fields.next("signature", .bitString)
            if !fields.isAtEnd {
                timeStamp = try optionalTaggedBitString(try fields.next("timeStamp"), location: "SES_Signature.timeStamp", quirks: &quirks)
            }
            try fields.expectEnd()
        }
        do { signatureAlgorithm = try ASN1ObjectIdentifier(derEncoded: algorithmNode).description } catch {
            throw SESError(code: .malformed, reason: "SES_Signature signature algorithm is not an OBJECT IDENTIFIER")
        }
        derRepresentation = Array(node.encodedBytes)
        self.version = version
        self.seal = seal
        self.timeInfo = timeInfo
        self.dataHash = dataHash
        self.extensions = extensions
        signerCertificate = Array(primitiveBytes(certificateNode))
        signature = try bitStringBytes(signatureNode, "SES_Signature.signature")
        if isRawSignature(signature) { quirks.append(SESQuirk(.rawSignature, at: "SES_Signature.signature")) }
        signedBytes = Array(tbsNode.encodedBytes)
        self.timeStamp = timeStamp
        self.quirks = quirks
    }
}

/// GM/T 0031-2014 gives timeInfo as a BIT STRING (a timestamp or a time); real files hold the
/// time as text there, or use a time type directly.
private func v1TimeInfo(_ node: ASN1Node, quirks: inout [SESQuirk]) throws -> Date {
    let location = "SES_Signature.toSign.timeInfo"
    do {
        if node.identifier == .generalizedTime { return try GeneralizedTime(derEncoded: node).date }
        if node.identifier == .utcTime { return try UTCTime(derEncoded: node).date }
    } catch {
        throw SESError(code: .malformed, reason: "\(location) is not a DER time")
    }
    let bytes = try v1BitString(node, location: location, quirks: &quirks)
    guard let date = textTime(bytes) else {
        throw SESError(code: .malformed, reason: "\(location) holds no time SealKit can read")
    }
    quirks.append(SESQuirk(.textTimeInfo, at: location))
    return date
}

/// Reads `yyyyMMddHHmmss` digits from text such as `20210111102941Z` or `2021-01-11 10:29:41`
/// (UTC; an explicit `+hh:mm` or `+hhmm` offset after the seconds is applied).
func textTime(_ bytes: [UInt8]) -> Date? {
    guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
    let digits = text.filter(\.isASCII).filter(\.isNumber)
    guard digits.count >= 14, let year = Int(digits.prefix(4)) else { return nil }
    let numbers = stride(from: 4, to: 14, by: 2).map { start -> Int? in
        let from = digits.index(digits.startIndex, offsetBy: start)
        return Int(digits[from..<digits.index(from, offsetBy: 2)])
    }
    guard numbers.allSatisfy({ $0 != nil }) else { return nil }
    var components = DateComponents()
    components.year = year
    components.month = numbers[0]
    components.day = numbers[1]
    components.hour = numbers[2]
    components.minute = numbers[3]
    components.second = numbers[4]
    guard let month = numbers[0], (1...12).contains(month), let day = numbers[1], (1...31).contains(day),
          let hour = numbers[2], hour < 24, let minute = numbers[3], minute < 60, let second = numbers[4], second < 61 else { return nil }
    var date = utcDate(components, fraction: 0)
    if let sign = text.lastIndex(where: { $0 == "+" || $0 == "-" }), text.distance(from: sign, to: text.endIndex) <= 6,
       text.distance(from: text.startIndex, to: sign) >= 14 {
        let offsetDigits = text[text.index(after: sign)...].filter(\.isNumber)
        if offsetDigits.count == 4, let hours = Int(offsetDigits.prefix(2)), let minutes = Int(offsetDigits.suffix(2)) {
            let offset = TimeInterval(hours * 3600 + minutes * 60)
            date = text[sign] == "+" ? date.addingTimeInterval(-offset) : date.addingTimeInterval(offset)
        }
    }
    return date
}

/// A GM/T 0031-2014 BIT STRING field, OCTET STRING tolerated (ofdrw does the same).
private func v1BitString(_ node: ASN1Node, location: String, quirks: inout [SESQuirk]) throws -> [UInt8] {
    if node.identifier == .octetString {
        quirks.append(SESQuirk(.octetStringForBitString, at: location))
        return Array(primitiveBytes(node))
    }
    guard node.identifier == .bitString else {
        throw SESError(code: .malformed, reason: "\(location) has tag \(node.identifier)")
    }
    return try bitStringBytes(node, location)
}
