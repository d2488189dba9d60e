import Crypto
import SealGMCrypto
import SealProtocol
import SwiftASN1

extension SealAppletRuntime {
    /// STAMP-SES (SPEC §8.17): `80 5E 00 00 Lc 90 digest A1 metadata [A2 grant] 9F22 propertyInfo
    /// 9F23 sealHash [Le]`.
    ///
    /// A STAMP (same checks, same counter, same audit entry, same transaction) whose response also
    /// carries the seal key's SM2 signature over a GB/T 38540 v4 `TBS_Sign` that the chip composes
    /// itself from the installed SES_Seal, the stamp time, this stamp's document digest as
    /// `dataHash`, the host's `propertyInfo`, and this stamp's own receipt as the only extension
    /// (SPEC §9.7): the chip never signs a `TBS_Sign` it did not build, so it is no signing oracle.
    func stampSES(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .stampSES)
        guard try store.sealKeyAlgorithm() == .sm2, let seal = try store.sesSeal() else { throw .conditionsNotSatisfied }
        guard security.pinVerified else { throw .securityNotSatisfied }
        guard let request = try? SESStampRequest(decoding: command.data) else { throw .wrongData }
        let sealHash = seal.withUnsafeBytes { Array(SHA256.hash(data: $0)) }
        // The host built its copy of TBS_Sign with this seal: it must be the installed one.
        guard request.sealHash == sealHash else { throw .wrongData }
        guard let timeInfo = SESTimeInfo.generalizedTime(secondsSince1970: request.stamp.metadata.time) else { throw .wrongData }

        let issued = try issueStamp(StampRequestFields(request.stamp)) { (pending) throws(CommandFailure) -> [UInt8] in
            guard case .sm2(let key) = pending.sealKey else { throw .conditionsNotSatisfied }
            let receipt = SESStampReceipt(
                counter: pending.response.counter, serial: pending.response.serial, expiry: pending.response.expiry,
                expirationCode: pending.response.expirationCode, metadataDigest: pending.metadataDigest,
                grantSerial: pending.grantSerial, sealHash: sealHash, nativeSignature: pending.response.signature)
            guard let tbsSign = SESTimeInfo.tbsSign(seal: seal, timeInfo: timeInfo, dataHash: Array(pending.request.documentDigest),
                                                     propertyInfo: request.propertyInfo, receipt: receipt.encoded()),
                  let signature = try? key.signature(for: tbsSign) else { throw .internalError }
            return signature
        }
        guard let sesSignature = issued.extra else { throw .internalError }
        return CommandResult(data: SESStampResponse(stamp: issued.response, sesSignature: sesSignature).encoded())
    }
}

/// The DER pieces of a GB/T 38540 v4 `TBS_Sign` that STAMP-SES composes (SPEC §9.7).
enum SESTimeInfo {
    /// `timeInfo`: the stamp time as a DER GeneralizedTime `YYYYMMDDHHMMSSZ`; `nil` past year 9999.
    static func generalizedTime(secondsSince1970 seconds: UInt64) -> GeneralizedTime? {
        // Days to a proleptic Gregorian civil date (H. Hinnant's days_from_civil, inverted).
        let days = Int64(seconds / 86_400)
        let secondOfDay = Int(seconds % 86_400)
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard year <= 9999 else { return nil }
        return try? GeneralizedTime(year: Int(year), month: month, day: day, hours: secondOfDay / 3600,
                                    minutes: secondOfDay / 60 % 60, seconds: secondOfDay % 60, fractionalSeconds: 0)
    }

    /// DER `TBS_Sign { 4, eseal, timeInfo, dataHash, propertyInfo, [0] { { receiptOID, receipt } } }`
    /// with the seal's bytes as stored; `nil` when serialization fails.
    static func tbsSign(seal: [UInt8], timeInfo: GeneralizedTime, dataHash: [UInt8], propertyInfo: String,
                        receipt: [UInt8]) -> [UInt8]? {
        var serializer = DER.Serializer()
        do {
            try serializer.appendConstructedNode(identifier: .sequence) { body in
                try body.serialize(4)
                body.serializeRawBytes(seal)
                try body.serialize(timeInfo)
                try body.serialize(ASN1BitString(bytes: dataHash[...]))
                body.appendPrimitiveNode(identifier: .ia5String) { $0 += Array(propertyInfo.utf8) }
                try body.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { tagged in
                    try tagged.appendConstructedNode(identifier: .sequence) { list in
                        try list.appendConstructedNode(identifier: .sequence) { entry in
                            try entry.serialize(try ASN1ObjectIdentifier(dotRepresentation: SESStampReceipt.extensionOID))
                            entry.appendPrimitiveNode(identifier: .octetString) { $0 += receipt }
                        }
                    }
                }
            }
        } catch {
            return nil
        }
        return serializer.serializedBytes
    }
}
