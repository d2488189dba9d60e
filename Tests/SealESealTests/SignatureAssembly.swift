import SealTestSupport
import Foundation
import SealESeal
import SealGMCrypto
import SwiftASN1

/// A GB/T 38540 v4 `SES_Signature` put together in the test from its parts (SealKit does not
/// stamp SES signatures yet: that is the chip's STAMP-SES), signed by the test PKI's signer.
struct SignatureAssembly {
    let seal: SESeal
    let time: Date
    let document: [UInt8]
    /// Sign with the maker's key and certificate (not in the seal's list) instead of the signer's.
    var signedByMaker = false
    /// Write the signature as 64 bytes of r‖s.
    var rawSignerSignature = false
    var trailingBytes: [UInt8] = []

    init(seal: SESeal, time: Date, document: [UInt8], signedByMaker: Bool = false) {
        self.seal = seal
        self.time = time
        self.document = document
        self.signedByMaker = signedByMaker
    }

    func der(_ pki: SM2TestPKI) throws -> [UInt8] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time)
        let generalized = try GeneralizedTime(year: parts.year!, month: parts.month!, day: parts.day!, hours: parts.hour!,
                                              minutes: parts.minute!, seconds: parts.second!, fractionalSeconds: 0)
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { body in
            try body.serialize(4)
            body.serializeRawBytes(seal.derRepresentation)
            try body.serialize(generalized)
            try body.serialize(ASN1BitString(bytes: SM3.hash(document)[...]))
            body.appendPrimitiveNode(identifier: .ia5String) { $0 += Array("/Doc_0/Signs/Sign_0/Signature.xml".utf8) }
        }
        let key = signedByMaker ? pki.makerKey : pki.signerKey
        let certificate = signedByMaker ? pki.maker : pki.signer
        var signature = try key.signature(for: tbs.serializedBytes)
        if rawSignerSignature { signature = try SM2Signature.rawFromDER(signature) }
        var outer = DER.Serializer()
        try outer.appendConstructedNode(identifier: .sequence) { body in
            body.serializeRawBytes(tbs.serializedBytes)
            body.appendPrimitiveNode(identifier: .octetString) { $0 += certificate.derRepresentation }
            try body.serialize(ASN1ObjectIdentifier(dotRepresentation: SESVerifier.sm2WithSM3))
            try body.serialize(ASN1BitString(bytes: signature[...]))
        }
        return outer.serializedBytes + trailingBytes
    }
}
