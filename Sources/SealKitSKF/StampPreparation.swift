import CSealKitSKF
import Foundation
import SealESeal
import SealHostDriver
import SealProtocol
import SwiftASN1

/// A seal application's TBS_Sign, checked and turned into the STAMP-SES request the chip accepts
/// for it (SPEC §8.17), and the TBS_Sign the chip then signs: the application's, with the
/// chip's receipt as the one extension (SPEC §9.7).
///
/// The application's bytes must be exactly what ``SESSignatureBuilder`` writes for their own
/// fields (version 4, the installed seal as written, time to the second in UTC, a 32-byte data
/// hash, ASCII property info, no extensions): re-encoding and comparing refuses every other
/// encoding of the same values, so what the application hashes later is what the chip signed.
struct StampPreparation {
    let seal: SESeal
    let time: UInt64
    let dataHash: [UInt8]
    let propertyInfo: String
    let sesRequest: SESStampRequest

    init(applicationTBS: [UInt8], installedSeal: [UInt8]) throws {
        func refuse(_ reason: String) -> SKFFailure { SKFFailure(SAR_INDATAERR, "pbTBSSign: \(reason)") }
        let root: ASN1Node
        do { root = try DER.parse(applicationTBS) } catch { throw refuse("not DER (\(error))") }
        guard root.identifier == .sequence, case .constructed(let children) = root.content else {
            throw refuse("not a SEQUENCE")
        }
        var fields = children.makeIterator()
        guard let versionNode = fields.next(), let version = try? Int(derEncoded: versionNode), version == 4 else {
            throw refuse("version is not 4 (GB/T 38540-2020)")
        }
        guard let sealNode = fields.next(), Array(sealNode.encodedBytes) == installedSeal else {
            throw refuse("eseal is not the SES_Seal installed on the token, byte for byte")
        }
        guard let timeNode = fields.next(), let generalized = try? GeneralizedTime(derEncoded: timeNode),
              let date = Self.date(generalized), date.timeIntervalSince1970 >= 0 else {
            throw refuse("timeInfo is not a GeneralizedTime after 1970")
        }
        guard let hashNode = fields.next(), let bits = try? ASN1BitString(derEncoded: hashNode),
              bits.paddingBits == 0, bits.bytes.count == 32 else {
            throw refuse("dataHash is not a 32-byte BIT STRING (the SM3 of the signed data)")
        }
        guard let propertyNode = fields.next(), propertyNode.identifier == .ia5String,
              case .primitive(let propertyBytes) = propertyNode.content,
              (1...255).contains(propertyBytes.count), propertyBytes.allSatisfy({ $0 < 0x80 }) else {
            throw refuse("propertyInfo is not an IA5String of 1 to 255 characters")
        }
        guard fields.next() == nil else {
            throw refuse("has extDatas: the token adds its own receipt as the only extension")
        }
        seal = try SESeal(derEncoded: installedSeal)
        time = UInt64(date.timeIntervalSince1970)
        dataHash = Array(bits.bytes)
        propertyInfo = String(decoding: propertyBytes, as: UTF8.self)
        guard try SESSignatureBuilder(seal: seal, time: date, dataHash: dataHash, propertyInfo: propertyInfo).tbsSignDER() == applicationTBS else {
            throw refuse("not the DER GB/T 38540 gives these values (e.g. fractional seconds or a non-UTC time)")
        }
        sesRequest = try SESStampRequest(
            stamp: try StampRequest(documentDigest: dataHash, metadata: StampMetadata(time: time)),
            propertyInfo: propertyInfo, sealHash: SealDigest.sha256(installedSeal))
    }

    /// The TBS_Sign the chip signed for `response`.
    func signedTBS(_ response: SESStampResponse) throws -> [UInt8] {
        try signedTBS(receipt: SESStampReceipt(
            counter: response.stamp.counter, serial: response.stamp.serial, expiry: response.stamp.expiry,
            expirationCode: response.stamp.expirationCode, metadataDigest: SealDigest.sha256(sesRequest.stamp.metadataEncoding),
            grantSerial: 0, sealHash: sesRequest.sealHash, nativeSignature: response.stamp.signature))
    }

    /// The most bytes ``signedTBS(_:)`` can give: the receipt at its largest (a 72-byte native
    /// signature; every other receipt field has a fixed size).
    func signedTBSBound() throws -> Int {
        try signedTBS(receipt: SESStampReceipt(
            counter: 0, serial: String(repeating: "0", count: 30), expiry: 0, expirationCode: "00000000",
            metadataDigest: [UInt8](repeating: 0, count: 32), grantSerial: 0, sealHash: sesRequest.sealHash,
            nativeSignature: [UInt8](repeating: 0, count: 72))).count
    }

    private func signedTBS(receipt: SESStampReceipt) throws -> [UInt8] {
        try SESSignatureBuilder(
            seal: seal, time: Date(timeIntervalSince1970: TimeInterval(time)), dataHash: dataHash, propertyInfo: propertyInfo,
            extensions: [SESExtension(oid: SESStampReceipt.extensionOID, isCritical: false, value: receipt.encoded())]).tbsSignDER()
    }

    private static func date(_ time: GeneralizedTime) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { return nil }
        calendar.timeZone = utc
        let components = DateComponents(year: time.year, month: time.month, day: time.day,
                                        hour: time.hours, minute: time.minutes, second: time.seconds)
        return calendar.date(from: components)
    }
}
