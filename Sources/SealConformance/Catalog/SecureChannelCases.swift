import Foundation
import Crypto
import SealHostDriver
import SealProtocol
import X509

extension ConformanceCatalog {
    /// SPEC §14: the secure channel (SCP11b for the holder, SCP11a for the issuer).
    static func secureChannelCases() -> [ConformanceCase] {
        var list = CaseList("SCP")
        list.add(1, "§14.2", "GET DATA 0120 is the key-agreement certificate: P-256, keyAgreement only, serialNumber = chip ID") { ctx in
            let card = try await ctx.selected()
            let chipID = try await card.chipID()
            let answer = try await card.exchange(SealCommand.getData(.keyAgreementCertificate))
            try expectSW(answer, .success, "GET DATA 0120")
            let certificate = try expectDecodes("key-agreement certificate") { try Certificate(derEncoded: answer.data) }
            try expect(P256.Signing.PublicKey(certificate.publicKey) != nil, "the key-agreement key must be P-256")
            let usage = try certificate.extensions.keyUsage
            try expect(usage?.keyAgreement == true && usage?.digitalSignature == false, "key usage must be keyAgreement only, got \(String(describing: usage))")
            let serials = DeviceCertificateIdentity.subjectSerialNumbers(of: certificate)
            try expect(serials == [hexString(chipID)], "subject serialNumber must be the chip ID, got \(serials)")
            let device = try await card.exchange(SealCommand.getData(.deviceCertificate))
            let deviceCertificate = try expectDecodes("device certificate") { try Certificate(derEncoded: device.data) }
            try expect(deviceCertificate.publicKey != certificate.publicKey, "the key-agreement key must not be the device key")
        }
        list.add(2, "§14.3", "SCP11b: the receipt matches and wrapped commands are answered") { ctx in
            let card = try await ctx.selected()
            let plainID = try await card.chipID()
            try await card.openChannel(.b)
            try expectEqual(try await card.chipID(), plainID, "chip ID read through the channel")
        }
        list.add(3, "§14.3", "SCP11a with the issuer's key: the receipt matches", requires: [.issuerKey]) { ctx in
            let card = try await ctx.selected()
            try await ctx.authenticateIssuer(on: card)
            try expectEqual(await card.channelVariant, SCP11Variant.a, "channel")
            _ = try await card.lifecycle()
        }
        list.add(4, "§14.3", "Key-agreement errors: P1-P2 6A86, length 6700, template 6A80, no channel opened") { ctx in
            let card = try await ctx.selected()
            let data = SCP11KeyAgreement.commandData(variant: .b, hostEphemeralPublicKey: Array(P256.KeyAgreement.PrivateKey().publicKey.x963Representation))
            try expectSW(try await card.send(CommandAPDU(cla: 0x80, ins: 0x88, p1: 0, p2: 0x11, data: data, ne: 256)), .incorrectP1P2, "SCP11b with P2 11")
            try expectSW(try await card.send(CommandAPDU(cla: 0x80, ins: 0x88, p1: 0, p2: 0x13, data: Array(data.prefix(82)), ne: 256)), .wrongLength, "82 bytes")
            try expectSW(try await card.send(CommandAPDU(cla: 0x80, ins: 0x82, p1: 0, p2: 0x11, data: data, ne: 256)), .wrongData, "an SCP11b template under SCP11a")
            try expectSW(try await card.send(apdu("84 CA 01 01 08 00 00 00 00 00 00 00 00 00")), .secureMessagingNotSupported,
                         "a wrapped command without a channel")
        }
        list.add(5, "§14.5", "A wrapped command with a wrong MAC is 6988 and ends the channel") { ctx in
            let card = try await ctx.selected()
            var wrapped = try await card.wrappedForChain(SealCommand.getData(.chipID))
            wrapped.data[wrapped.data.count - 1] ^= 0x01
            try expectSW(try await card.send(try wrapped.encoded()), .secureMessagingDataIncorrect, "changed C-MAC")
            let next = try await card.wrappedForChain(SealCommand.getData(.chipID))
            try expectSW(try await card.send(try next.encoded()), .secureMessagingNotSupported, "the next wrapped command: no channel")
            await card.closeChannel()
        }
        list.add(6, "§14.5", "A replayed wrapped command is 6988") { ctx in
            let card = try await ctx.selected()
            let wrapped = try await card.wrappedForChain(SealCommand.getData(.chipID))
            let first = try await card.unwrap(try await card.send(try wrapped.encoded()))
            try expectSW(first, .success, "the wrapped GET DATA")
            try expectSW(try await card.send(try wrapped.encoded()), .secureMessagingDataIncorrect, "the same bytes again")
            await card.closeChannel()
        }
        list.add(7, "§14.5", "A plain command inside a channel is 6987 and ends it; PIN verification goes with it") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try expectSW(try await card.send(apdu("00 20 00 81")), .success, "VERIFY status inside the channel")
            let wrapped = try await card.wrappedForChain(SealCommand.getData(.chipID))
            await card.closeChannel()
            try expectSW(try await card.send(apdu("00 CA 01 01 00")), .secureMessagingDataMissing, "plain GET DATA inside the channel")
            try expectSW(try await card.send(try wrapped.encoded()), .secureMessagingNotSupported, "the channel ended")
            try await card.expectNotVerified("after the channel ended")
        }
        list.add(8, "§14.6", "Outside a channel VERIFY with a PIN, CHANGE REFERENCE DATA, RESET RETRY COUNTER and STAMP are 6982") { ctx in
            let card = try await ctx.selected()
            let before = try await card.pinStatus()
            let counter = try await card.counter()
            let request = try StampRequest(documentDigest: [UInt8](repeating: 7, count: 32), metadata: StampMetadata(time: 1_700_000_000))
            for (command, name) in [(SealCommand.verify(pin: ctx.pin), "VERIFY"),
                                    (SealCommand.changePIN(current: ctx.pin, new: ctx.pin), "CHANGE REFERENCE DATA"),
                                    (SealCommand.resetRetryCounter(puk: ctx.puk, newPIN: ctx.pin), "RESET RETRY COUNTER"),
                                    (SealCommand.stamp(request), "STAMP")] {
                try expectSW(try await card.exchangeWithoutOpeningChannel(command), .securityStatusNotSatisfied, "\(name) outside a channel")
            }
            try expectEqual(try await card.pinStatus(), before, "PIN status unchanged")
            try expectEqual(try await card.counter(), counter, "counter unchanged")
        }
        list.add(9, "§14.6", "SET LIFECYCLE inside the holder's SCP11b channel is 6982 and the channel stays") { ctx in
            let card = try await ctx.selected()
            await ctx.restoreActiveAfterwards()
            try await card.openChannel(.b)
            try expectSW(try await card.exchangeWithoutOpeningChannel(SealCommand.setLifecycle(.suspended)), .securityStatusNotSatisfied,
                         "SET LIFECYCLE in SCP11b")
            try expectEqual(await card.channelVariant, SCP11Variant.b, "channel still open")
            try expectEqual(try await card.lifecycle(), LifecycleState.active.rawValue, "lifecycle (read in the channel)")
        }
        list.add(10, "§14.5", "A PIN verified in one channel is not verified in the next") { ctx in
            let card = try await ctx.selected()
            try await card.verifyPIN(ctx.pin)
            try await card.expectVerified("in the channel")
            try await card.openChannel(.b)
            try await card.expectNotVerified("in a new channel")
        }
        list.add(11, "§14.4", "Inside the channel an error status word comes bare; a long answer is split with 61xx, never 6Cxx") { ctx in
            let card = try await ctx.selected()
            let unknown = try await card.wrappedForChain(CommandAPDU(cla: 0x00, ins: 0xCA, p1: 0x01, p2: 0x7F, ne: 256))
            let bare = try await card.send(try unknown.encoded())
            try expect(bare.sw == .referencedDataNotFound && bare.data.isEmpty, "unknown tag: 6A88 without data or MAC, got \(bare)")
            var certificate = try await card.wrappedForChain(SealCommand.getData(.deviceCertificate))
            certificate.ne = 16
            let first = try await card.send(try certificate.encoded())
            try expect(first.sw.bytesRemaining != nil && first.data.count == 16, "Le 10 on a wrapped answer: 16 bytes and 61xx, got \(first)")
            var data = first.data
            var sw = first.sw
            while let remaining = sw.bytesRemaining {
                let next = try await card.send(SealCommand.getResponse(ne: remaining))
                data += next.data
                sw = next.sw
            }
            let plain = try await card.unwrap(CardExchange(command: first.command, response: ResponseAPDU(data: data, statusWord: sw)))
            try expectSW(plain, .success, "the device certificate through the channel")
            try expect(plain.data.first == 0x30, "a DER certificate")
        }
        list.add(12, "§14.2", "The key-agreement certificate chains to a trusted vendor root; a host trusting only another root refuses the chip before the key agreement") { ctx in
            guard !ctx.vendorRoots.isEmpty else {
                throw ConformanceSkip("no vendor root certificates configured: the chip cannot be authenticated")
            }
            let card = try await ctx.selected()
            let answer = try await card.exchange(SealCommand.getData(.keyAgreementCertificate))
            try expectSW(answer, .success, "GET DATA 0120")
            do {
                _ = try await SecureChannelCertificate.keyAgreementKey(certificateDER: answer.data,
                                                                      settings: SecureChannelSettings(trustedVendorRoots: ctx.vendorRoots))
            } catch let error as SealDriverError {
                throw ConformanceFailure("the key-agreement certificate does not authenticate under the \(ctx.vendorRoots.count) vendor root(s): \(error.reason)")
            }
            // The driver, trusting only a root that certified nothing on this chip, must refuse it
            // with its typed error before it sends a key agreement.
            let stranger = SealToken(transport: card.transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [try unrelatedRoot()]))
            var refusal: SealDriverError?
            do {
                try await stranger.connect()
            } catch let error as SealDriverError {
                refusal = error
            }
            await stranger.disconnect()
            try await card.connectAndSelect()
            try expect(refusal?.code == .chipNotAuthenticated,
                       "a host trusting an unrelated root must refuse the chip with chipNotAuthenticated, got \(refusal.map { "\($0.code)" } ?? "a connected token")")
        }
        return list.cases
    }

    /// A self-signed CA certificate of a fresh key: a vendor root that certified no chip.
    private static func unrelatedRoot() throws -> Certificate {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("SealKit conformance: an unrelated vendor root") }
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key))
    }
}
