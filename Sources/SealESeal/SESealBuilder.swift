import Foundation
import SealGMCrypto
import SwiftASN1

/// Builds a GB/T 38540-2020 seal (`SESeal`, header version 4) for a seal maker: header, seal ID,
/// properties, picture and optional extensions in DER, signed by the maker's SM2 key over the DER
/// `SES_SealInfo`. The result is parsed back, so it is exactly what a verifier reads.
public struct SESealBuilder: Sendable {
    /// `Vid`: the maker system's vendor ID.
    public var vendorID: String
    /// `esID`: the seal's unique ID (ASCII).
    public var sealID: String
    /// The seal type (1 organisation, 2 personal, …).
    public var type: Int
    /// The seal's name.
    public var name: String
    /// The DER certificates of the signers allowed to use the seal (`certListType` 1).
    public var signerCertificates: [[UInt8]]
    /// When the seal is made.
    public var createDate: Date
    /// Start of the validity period.
    public var validStart: Date
    /// End of the validity period.
    public var validEnd: Date
    /// The seal image: type `PNG`, `JPG`, `GIF`, `BMP` or `SVG`, with its bytes and size in mm.
    public var picture: SESSealPicture
    /// Extensions (`extDatas`), written without the `[0]` tag as real v4 files do; none by default.
    public var extensions: [SESExtension]

    /// The picture types GB/T 38540 names.
    public static let pictureTypes: Set<String> = ["PNG", "JPG", "GIF", "BMP", "SVG"]

    /// Creates a builder.
    public init(vendorID: String, sealID: String, type: Int, name: String, signerCertificates: [[UInt8]],
                createDate: Date, validStart: Date, validEnd: Date, picture: SESSealPicture, extensions: [SESExtension] = []) {
        self.vendorID = vendorID
        self.sealID = sealID
        self.type = type
        self.name = name
        self.signerCertificates = signerCertificates
        self.createDate = createDate
        self.validStart = validStart
        self.validEnd = validEnd
        self.picture = picture
        self.extensions = extensions
    }

    /// The DER `SES_SealInfo` the maker signs.
    ///
    /// - Throws: ``SESError`` `.malformed` for a field the standard does not allow (non-ASCII
    ///   IDs, an empty certificate list, validEnd before validStart, an unknown picture type).
    public func sealInfoDER() throws -> [UInt8] {
        guard vendorID.allSatisfy(\.isASCII), sealID.allSatisfy(\.isASCII), !sealID.isEmpty else {
            throw SESError(code: .malformed, reason: "Vid and esID must be non-empty ASCII (IA5String)")
        }
        guard Self.pictureTypes.contains(picture.type) else {
            throw SESError(code: .malformed, reason: "picture type \(picture.type) is not one of \(Self.pictureTypes.sorted())")
        }
        guard !signerCertificates.isEmpty else { throw SESError(code: .malformed, reason: "no signer certificate") }
        guard validStart <= validEnd else { throw SESError(code: .malformed, reason: "validEnd is before validStart") }
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try info.appendConstructedNode(identifier: .sequence) { header in
                header.appendPrimitiveNode(identifier: .ia5String) { $0 += Array("ES".utf8) }
                try header.serialize(4)
                header.appendPrimitiveNode(identifier: .ia5String) { $0 += Array(vendorID.utf8) }
            }
            info.appendPrimitiveNode(identifier: .ia5String) { $0 += Array(sealID.utf8) }
            try info.appendConstructedNode(identifier: .sequence) { property in
                try property.serialize(type)
                property.appendPrimitiveNode(identifier: .utf8String) { $0 += Array(name.utf8) }
                try property.serialize(1)
                property.appendConstructedNode(identifier: .sequence) { list in
                    for certificate in signerCertificates {
                        list.appendPrimitiveNode(identifier: .octetString) { $0 += certificate }
                    }
                }
                for date in [createDate, validStart, validEnd] { try property.serialize(try generalizedTime(date)) }
            }
            try info.appendConstructedNode(identifier: .sequence) { image in
                image.appendPrimitiveNode(identifier: .ia5String) { $0 += Array(picture.type.utf8) }
                image.appendPrimitiveNode(identifier: .octetString) { $0 += picture.data }
                try image.serialize(picture.width)
                try image.serialize(picture.height)
            }
            if !extensions.isEmpty {
                try info.appendConstructedNode(identifier: .sequence) { list in
                    for item in extensions {
                        try list.appendConstructedNode(identifier: .sequence) { entry in
                            try entry.serialize(try ASN1ObjectIdentifier(dotted: item.oid))
                            // DEFAULT FALSE is omitted in DER.
                            if item.isCritical { try entry.serialize(true) }
                            entry.appendPrimitiveNode(identifier: .octetString) { $0 += item.value }
                        }
                    }
                }
            }
        }
        return serializer.serializedBytes
    }

    /// Builds and signs the seal.
    ///
    /// - Parameters:
    ///   - makerCertificate: The maker's SM2 certificate, embedded in the seal.
    ///   - makerKey: The private key of `makerCertificate`.
    /// - Throws: ``SESError`` for an invalid field or a key that does not match the certificate,
    ///   `GMCryptoError` (SealGMCrypto) when OpenSSL cannot sign.
    public func build(makerCertificate: SM2Certificate, makerKey: SM2PrivateKey) throws -> SESeal {
        guard try makerKey.publicKey.derRepresentation == makerCertificate.publicKey.derRepresentation else {
            throw SESError(code: .malformed, reason: "the maker key does not belong to the maker certificate")
        }
        let sealInfo = try sealInfoDER()
        let signature = try makerKey.signature(for: sealInfo)
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { seal in
            seal.serializeRawBytes(sealInfo)
            seal.appendPrimitiveNode(identifier: .octetString) { $0 += makerCertificate.derRepresentation }
            try seal.serialize(try ASN1ObjectIdentifier(dotted: SESVerifier.sm2WithSM3))
            try seal.serialize(ASN1BitString(bytes: signature[...]))
        }
        return try SESeal(derEncoded: serializer.serializedBytes)
    }
}

private func generalizedTime(_ date: Date) throws -> GeneralizedTime {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    return try GeneralizedTime(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1,
                               hours: parts.hour ?? 0, minutes: parts.minute ?? 0, seconds: parts.second ?? 0,
                               fractionalSeconds: 0)
}

extension ASN1ObjectIdentifier {
    init(dotted: String) throws {
        do { try self.init(dotRepresentation: dotted) } catch {
            throw SESError(code: .malformed, reason: "\(dotted) is not a dotted OID")
        }
    }
}
