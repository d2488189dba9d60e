import Foundation
import SealGMCrypto
import SwiftASN1

/// Builds a GB/T 38540-2020 v4 signature (`SES_Signature`): the DER `TBS_Sign` a signer signs,
/// and the signature assembled around a signer's SM2 signature over it.
///
/// Signing happens elsewhere (a software key, or a SealKit chip's STAMP-SES, which composes the
/// same `TBS_Sign` itself and signs it with its seal key); ``assemble(tbsSign:signerCertificate:signature:)``
/// checks that the result parses.
public struct SESSignatureBuilder: Sendable {
    /// The seal, embedded as its bytes as received.
    public var seal: SESeal
    /// `timeInfo`, written to the second in UTC.
    public var time: Date
    /// `dataHash`: SM3 of the signed data.
    public var dataHash: [UInt8]
    /// `propertyInfo` (IA5 text; in OFD, the path of `Signature.xml`).
    public var propertyInfo: String
    /// `extDatas`, written as `[0] SEQUENCE OF ExtData` (critical only when set); none by default.
    public var extensions: [SESExtension]

    /// Creates a builder.
    public init(seal: SESeal, time: Date, dataHash: [UInt8], propertyInfo: String, extensions: [SESExtension] = []) {
        self.seal = seal
        self.time = time
        self.dataHash = dataHash
        self.propertyInfo = propertyInfo
        self.extensions = extensions
    }

    /// DER `TBS_Sign { 4, eseal, timeInfo, dataHash, propertyInfo, [0] extDatas }`.
    ///
    /// - Throws: ``SESError`` `.malformed` for a property info that is not ASCII or an OID that is
    ///   not dotted.
    public func tbsSignDER() throws -> [UInt8] {
        guard propertyInfo.allSatisfy(\.isASCII) else { throw SESError(code: .malformed, reason: "propertyInfo must be ASCII (IA5String)") }
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { body in
            try body.serialize(4)
            body.serializeRawBytes(seal.derRepresentation)
            try body.serialize(try utcGeneralizedTime(time))
            try body.serialize(ASN1BitString(bytes: dataHash[...]))
            body.appendPrimitiveNode(identifier: .ia5String) { $0 += Array(propertyInfo.utf8) }
            if !extensions.isEmpty {
                try body.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { tagged in
                    try tagged.appendConstructedNode(identifier: .sequence) { list in
                        for item in extensions {
                            try list.appendConstructedNode(identifier: .sequence) { entry in
                                try entry.serialize(try ASN1ObjectIdentifier(dotted: item.oid))
                                if item.isCritical { try entry.serialize(true) }
                                entry.appendPrimitiveNode(identifier: .octetString) { $0 += item.value }
                            }
                        }
                    }
                }
            }
        }
        return serializer.serializedBytes
    }

    /// `SES_Signature { TBS_Sign, cert, SM2-with-SM3, signature }`, parsed back.
    ///
    /// - Parameters:
    ///   - tbsSign: The DER `TBS_Sign` that was signed (e.g. ``tbsSignDER()``).
    ///   - signerCertificate: The signer's DER certificate.
    ///   - signature: The SM2 signature (DER) over `tbsSign`.
    /// - Throws: ``SESError`` when the result does not parse as a signature.
    public static func assemble(tbsSign: [UInt8], signerCertificate: [UInt8], signature: [UInt8]) throws -> SESSignature {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { body in
            body.serializeRawBytes(tbsSign)
            body.appendPrimitiveNode(identifier: .octetString) { $0 += signerCertificate }
            try body.serialize(try ASN1ObjectIdentifier(dotted: SESVerifier.sm2WithSM3))
            try body.serialize(ASN1BitString(bytes: signature[...]))
        }
        return try SESSignature(derEncoded: serializer.serializedBytes)
    }
}

/// `date` as a DER GeneralizedTime in UTC, to the second.
func utcGeneralizedTime(_ date: Date) throws -> GeneralizedTime {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    return try GeneralizedTime(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1,
                               hours: parts.hour ?? 0, minutes: parts.minute ?? 0, seconds: parts.second ?? 0,
                               fractionalSeconds: 0)
}
