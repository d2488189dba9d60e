import Crypto
import Foundation
import SealGMCrypto
import SealHostDriver
import SealProtocol
import SwiftASN1

extension ConformanceCatalog {
    // MARK: SES — §8.17 STAMP-SES, §8.18 PUT SES SEAL, §8.19 READ SES SEAL, §9.7

    static func stampSESCases() -> [ConformanceCase] {
        var list = CaseList("SES")
        list.add(1, "§8.18", "A 17 000-byte seal goes in with PUT SES SEAL in chunks at offsets and READ SES SEAL returns it byte for byte",
                 requires: freshReq) { ctx in
            let token = try await sesToken(ctx, sealLength: 17_000, activate: false)
            // 1000-byte pieces need an extended Le; a chip without extended length is read 256 at a time (§3.5).
            let pieces = try await token.card.reportedCapabilities().features.contains(.extendedLength) ? 1000 : 256
            try expectBytes(try await readSESSeal(token.card, pieces: pieces), token.seal, "READ SES SEAL in \(pieces)-byte pieces")
            try expectSW(try await token.card.exchange(SealCommand.readSESSeal(offset: UInt16(token.seal.count + 1))), .incorrectP1P2,
                         "READ SES SEAL past the end")
        }
        list.add(2, "§8.18", "PUT SES SEAL refuses an offset that is neither 0 nor the length written (6A86) and keeps the seal",
                 requires: freshReq) { ctx in
            let token = try await sesToken(ctx, sealLength: 300, activate: false)
            try await ctx.authenticateIssuer(on: token.card)
            for offset in [UInt16(301), 299] {
                try expectSW(try await token.card.exchange(SealCommand.putSESSeal(offset: offset, chunk: [0x00])), .incorrectP1P2,
                             "PUT SES SEAL at offset \(offset) of a 300-byte seal")
            }
            try expectBytes(try await readSESSeal(token.card, pieces: 256), token.seal, "seal after the refused writes")
        }
        list.add(3, "§8.17", "STAMP-SES: the counter advances by one, 9E verifies over the §9.3 TBS and 9F21 over the §9.7 TBS_Sign (SM2, ID 1234567812345678)",
                 requires: freshReq) { ctx in
            let token = try await sesToken(ctx, sealLength: 2_000, activate: true)
            let card = token.card
            let facts = try await card.facts()
            try await card.verifyPIN(SuiteData.freshPIN)
            let before = try await card.counter()
            let digest = Array(SHA256.hash(data: Array(ctx.caseID.utf8)))
            let metadata = StampMetadata(time: 1_765_000_000)
            let stamp = try StampRequest(documentDigest: digest, metadata: metadata)
            let request = try SESStampRequest(stamp: stamp, propertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml",
                                              sealHash: Array(SHA256.hash(data: token.seal)))
            let answer = try await card.exchange(SealCommand.stampSES(request))
            try expectSW(answer, .success, "STAMP-SES")
            let response = try expectDecodes("STAMP-SES response") { try SESStampResponse(decoding: answer.data) }
            try expectEqual(response.stamp.counter, before + 1, "STAMP-SES counter")
            try expectEqual(try await card.counter(), before + 1, "GET DATA 0103 after STAMP-SES")
            let outcome = StampOutcome(request: stamp, exchange: answer, response: response.stamp)
            try outcome.checkSignature(facts)
            let receipt = SESStampReceipt(
                counter: response.stamp.counter, serial: response.stamp.serial, expiry: response.stamp.expiry,
                expirationCode: response.stamp.expirationCode, metadataDigest: outcome.metadataDigest, grantSerial: 0,
                sealHash: request.sealHash, nativeSignature: response.stamp.signature)
            let tbsSign = try composeTBSSign(seal: token.seal, time: metadata.time, dataHash: digest,
                                             propertyInfo: request.propertyInfo, receipt: receipt.encoded())
            try checkSM2(publicKey: facts.sealPublicKey, signature: response.sesSignature, message: tbsSign,
                         "STAMP-SES signature over DER(TBS_Sign) (SPEC §9.7)")
        }
        list.add(4, "§8.17", "STAMP-SES refuses a seal hash other than the installed seal's (6A80) and, without a seal, answers 6985; the counter stays",
                 requires: freshReq) { ctx in
            let token = try await sesToken(ctx, sealLength: 500, activate: true)
            let card = token.card
            try await card.verifyPIN(SuiteData.freshPIN)
            let before = try await card.counter()
            let stamp = try StampRequest(documentDigest: [UInt8](repeating: 0x11, count: 32), metadata: StampMetadata(time: 1_765_000_000))
            let wrong = try SESStampRequest(stamp: stamp, propertyInfo: "p", sealHash: [UInt8](repeating: 0xEE, count: 32))
            try expectSW(try await card.exchange(SealCommand.stampSES(wrong)), .wrongData, "STAMP-SES with another seal's hash")
            try expectEqual(try await card.counter(), before, "counter after the refused STAMP-SES")

            let bare = try await ctx.personalizedCard(sm2Personalization())
            try await bare.card.verifyPIN(SuiteData.freshPIN)
            try expectSW(try await bare.card.exchange(SealCommand.stampSES(wrong)), .conditionsOfUseNotSatisfied, "STAMP-SES without a seal")
            try expectEqual(try await bare.card.counter(), 0, "counter of the token without a seal")
        }
        list.add(5, "§8.17", "STAMP-SES on a P-256 seal answers 6985 and PUT SES SEAL on it answers 6985", requires: freshReq) { ctx in
            let token = try await ctx.personalizedCard(activate: false)
            try await ctx.authenticateIssuer(on: token.card)
            try expectSW(try await token.card.exchange(SealCommand.putSESSeal(offset: 0, chunk: [0x30, 0x00])), .conditionsOfUseNotSatisfied,
                         "PUT SES SEAL on a P-256 seal")
            try expectSW(try await token.card.send(SealCommand.setLifecycle(.active)), .success, "SET LIFECYCLE ACTIVE")
            try await token.card.select()
            try await token.card.verifyPIN(SuiteData.freshPIN)
            let stamp = try StampRequest(documentDigest: [UInt8](repeating: 0x22, count: 32), metadata: StampMetadata(time: 1_765_000_000))
            let request = try SESStampRequest(stamp: stamp, propertyInfo: "p", sealHash: [UInt8](repeating: 0, count: 32))
            try expectSW(try await token.card.exchange(SealCommand.stampSES(request)), .conditionsOfUseNotSatisfied, "STAMP-SES on a P-256 seal")
        }
        return list.cases
    }
}

/// A fresh SM2 token with an opaque `sealLength`-byte DER SEQUENCE installed as its SES_Seal (the
/// chip does not parse the seal, §8.18), ACTIVE when `activate`.
private func sesToken(_ ctx: ConformanceContext, sealLength: Int, activate: Bool) async throws -> (card: ConformanceCard, seal: [UInt8]) {
    let token = try await ctx.personalizedCard(sm2Personalization(), activate: false)
    let body = (0..<(sealLength - 4)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    let seal = [0x30, 0x82, UInt8((sealLength - 4) >> 8), UInt8((sealLength - 4) & 0xFF)] + body
    try await ctx.authenticateIssuer(on: token.card)
    // Chunks as large as the chip takes once wrapped (SPEC §3.5: a constrained chip takes 512 bytes).
    let limit = Int(try await token.card.reportedCapabilities().maxCommandData)
    var chunkSize = min(2000, limit)
    while chunkSize > 1, SCP03SecureMessaging.wrappedLength(plainLength: chunkSize) > limit { chunkSize -= 1 }
    var offset = 0
    while offset < seal.count {
        let chunk = Array(seal[offset..<min(offset + chunkSize, seal.count)])
        try expectSW(try await token.card.exchange(SealCommand.putSESSeal(offset: UInt16(offset), chunk: chunk)), .success,
                     "PUT SES SEAL at offset \(offset)")
        offset += chunk.count
    }
    if activate {
        try expectSW(try await token.card.send(SealCommand.setLifecycle(.active)), .success, "SET LIFECYCLE ACTIVE")
    }
    try await token.card.select()
    return (token.card, seal)
}

/// READ SES SEAL from offset 0 in `pieces`-byte reads until an empty answer.
private func readSESSeal(_ card: ConformanceCard, pieces: Int) async throws -> [UInt8] {
    var out: [UInt8] = []
    for _ in 0..<200 {
        let answer = try await card.exchange(SealCommand.readSESSeal(offset: UInt16(out.count), ne: pieces))
        try expectSW(answer, .success, "READ SES SEAL at offset \(out.count)")
        if answer.data.isEmpty { return out }
        out += answer.data
    }
    throw ConformanceFailure("READ SES SEAL did not reach the end in 200 reads")
}

/// The suite's own composition of SPEC §9.7's DER TBS_Sign, independent of the chip's.
private func composeTBSSign(seal: [UInt8], time: UInt64, dataHash: [UInt8], propertyInfo: String, receipt: [UInt8]) throws -> [UInt8] {
    let date = Date(timeIntervalSince1970: TimeInterval(time))
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    let timeInfo = try GeneralizedTime(year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0, hours: parts.hour ?? 0,
                                       minutes: parts.minute ?? 0, seconds: parts.second ?? 0, fractionalSeconds: 0)
    var serializer = DER.Serializer()
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
    return serializer.serializedBytes
}
