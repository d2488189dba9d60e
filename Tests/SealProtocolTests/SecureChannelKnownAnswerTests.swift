import Crypto
import Foundation
import Testing
@testable import SealProtocol

/// The secure channel's cryptography byte for byte against independent implementations
/// (Fixtures/scp11/vectors.json): Samsung's SCP11a emulation, Yubico's SCP03 unit vectors, and an
/// SCP11b exchange between yubikey-manager's host code and an independent card emulator.
struct SecureChannelKnownAnswerTests {
    struct Vectors: Decodable {
        let samsungSCP11a: [String: String]
        let yubicoSCP03: YubicoVectors
        let selfGeneratedSCP11b: [String: AnyField]
    }
    struct YubicoVectors: Decodable {
        let encryptionKey, plainCommandData, encryptedCommandData: String
        let commandCounter: UInt32
        let commandMACKey, commandMACChainingValue, commandWithoutData, macedCommand: String
        let responseEncryptionKey, encryptedResponseData, plainResponseData: String
        let responseCounter: UInt32
        let responseMACKey, responseMACChainingValue, responseStatus, responseMAC: String
    }
    /// A field that is either a string or an object (the label map of the self-generated vector).
    enum AnyField: Decodable {
        case text(String), labels([String: String])
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self = .text(text) } else { self = .labels(try container.decode([String: String].self)) }
        }
        var text: String { if case .text(let value) = self { value } else { "" } }
    }

    static func load() throws -> Vectors {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/scp11/vectors.json")
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }

    static func hex(_ text: String?) throws -> [UInt8] {
        try #require(bytesFromHex(text ?? "x"))
    }

    static func keyBytes(_ key: SymmetricKey) -> [UInt8] { key.withUnsafeBytes { Array($0) } }

    @Test("Samsung SCP11a: ECDH, X9.63 KDF, key split, receipt, command wrap, and the card's response byte for byte")
    func samsungSCP11a() throws {
        let v = try Self.load().samsungSCP11a
        let hostEphemeral = try P256.KeyAgreement.PrivateKey(rawRepresentation: Self.hex(v["hostEphemeralPrivateKey"]))
        let hostStatic = try P256.KeyAgreement.PrivateKey(rawRepresentation: Self.hex(v["hostStaticPrivateKey"]))
        let cardStatic = try SCP11KeyAgreement.publicKey(Self.hex(v["cardStaticPublicKey"]))
        let cardEphemeral = try SCP11KeyAgreement.publicKey(Self.hex(v["cardEphemeralPublicKey"]))

        let ephemeralSecret = try SCP11KeyAgreement.sharedSecret(hostEphemeral, cardEphemeral)
        let staticSecret = try SCP11KeyAgreement.sharedSecret(hostStatic, cardStatic)
        #expect(ephemeralSecret == (try Self.hex(v["ephemeralSharedSecret"])))
        #expect(staticSecret == (try Self.hex(v["staticSharedSecret"])))
        let keys = SCP11KeyAgreement.deriveSessionKeys(sharedSecrets: ephemeralSecret + staticSecret)
        #expect(Self.keyBytes(keys.receiptKey) == (try Self.hex(v["receiptKey"])))
        #expect(Self.keyBytes(keys.encryption) == (try Self.hex(v["encryptionKey"])))
        #expect(Self.keyBytes(keys.commandMAC) == (try Self.hex(v["commandMACKey"])))
        #expect(Self.keyBytes(keys.responseMAC) == (try Self.hex(v["responseMACKey"])))
        #expect(Self.keyBytes(keys.dataEncryption) == (try Self.hex(v["dataEncryptionKey"])))

        // The host's handshake produces Samsung's command field (P1 there is their key version 03).
        var handshake = try SCP11HostHandshake(variant: .a, cardStaticKey: cardStatic, issuerStaticSharedSecret: staticSecret,
                                               ephemeralKey: hostEphemeral)
        let expectedCommand = try CommandAPDU(decoding: Self.hex(v["keyAgreementCommand"]))
        #expect(handshake.commandData == expectedCommand.data)
        #expect(handshake.command.ins == expectedCommand.ins && handshake.command.p2 == expectedCommand.p2)
        var host = try handshake.complete(with: ResponseAPDU(decoding: Self.hex(v["keyAgreementResponse"])))
        #expect(host.macChainingValue == (try Self.hex(v["receipt"])))
        #expect(try SCP03Cryptography.initialChainingVector(key: keys.encryption, counter: 1, forResponse: false)
                == Self.hex(v["commandICVCounter1"]))

        let plain = try CommandAPDU(decoding: Self.hex(v["plainCommand"]))
        var wrapped = try host.wrapCommand(plain)
        wrapped.ne = nil  // Samsung's command goes without Le
        #expect(try wrapped.encoded() == Self.hex(v["wrappedCommand"]))

        // The card side: the same keys from the same secrets unwrap the command; re-wrapping the
        // plain response gives Samsung's response byte for byte.
        let wrappedResponse = try ResponseAPDU(decoding: Self.hex(v["wrappedResponse"]))
        let plainResponse = try host.unwrapResponse(wrappedResponse)
        #expect(plainResponse.statusWord == .success && !plainResponse.data.isEmpty)
        var card = SCP03SecureMessaging(keys: keys, receipt: try Self.hex(v["receipt"]))
        let unwrapped = try card.unwrapCommand(cla: wrapped.cla, ins: wrapped.ins, p1: wrapped.p1, p2: wrapped.p2, data: wrapped.data)
        #expect(unwrapped == plain.data)
        #expect(try card.wrapResponse(data: plainResponse.data, status: .success) == wrappedResponse.data)
    }

    @Test("Yubico SCP03: command encryption at counter 94, C-MAC, R-MAC and response decryption")
    func yubicoSCP03() throws {
        let v = try Self.load().yubicoSCP03
        let encryptionKey = SymmetricKey(data: try Self.hex(v.encryptionKey))
        let iv = try SCP03Cryptography.initialChainingVector(key: encryptionKey, counter: v.commandCounter, forResponse: false)
        let encrypted = try SCP03Cryptography.encrypt(SCP03Cryptography.pad(Self.hex(v.plainCommandData)), key: encryptionKey, iv: iv)
        #expect(encrypted == (try Self.hex(v.encryptedCommandData)))

        // C-MAC of a command without data, checked by the card side (the vector keeps CLA 00).
        let macKey = SymmetricKey(data: try Self.hex(v.commandMACKey))
        let maced = try Self.hex(v.macedCommand)
        var card = SCP03SecureMessaging(encryptionKey: macKey, commandMACKey: macKey, responseMACKey: macKey,
                                        macChainingValue: try Self.hex(v.commandMACChainingValue))
        #expect(try card.unwrapCommand(cla: maced[0], ins: maced[1], p1: maced[2], p2: maced[3], data: Array(maced.dropFirst(5))) == [])
        var tampered = SCP03SecureMessaging(encryptionKey: macKey, commandMACKey: macKey, responseMACKey: macKey,
                                            macChainingValue: try Self.hex(v.commandMACChainingValue))
        #expect(throws: SecureChannelError(code: .macMismatch, reason: "")) {
            try tampered.unwrapCommand(cla: maced[0], ins: 0xFE, p1: maced[2], p2: maced[3], data: Array(maced.dropFirst(5)))
        }
        #expect(!tampered.isOpen)

        // R-MAC over R ‖ SW, then decryption with the response ICV of counter 1.
        let responseKey = SymmetricKey(data: try Self.hex(v.responseEncryptionKey))
        let status = try Self.hex(v.responseStatus)
        let mac = try SCP03Cryptography.cmac(key: SymmetricKey(data: try Self.hex(v.responseMACKey)),
                                             Self.hex(v.responseMACChainingValue) + Self.hex(v.encryptedResponseData) + status)
        #expect(Array(mac.prefix(8)) == (try Self.hex(v.responseMAC)))
        let responseIV = try SCP03Cryptography.initialChainingVector(key: responseKey, counter: v.responseCounter, forResponse: true)
        let decrypted = try SCP03Cryptography.unpad(SCP03Cryptography.decrypt(Self.hex(v.encryptedResponseData), key: responseKey, iv: responseIV))
        #expect(decrypted == (try Self.hex(v.plainResponseData)))
    }

    @Test("SCP11b: host and card handshakes agree with yubikey-manager's bytes, both directions")
    func selfGeneratedSCP11b() throws {
        let v = try Self.load().selfGeneratedSCP11b
        func key(_ label: String) throws -> P256.KeyAgreement.PrivateKey {
            try P256.KeyAgreement.PrivateKey(rawRepresentation: Array(SHA256.hash(data: Array(label.utf8))))
        }
        let cardStatic = try key("SK.SD.ECKA"), cardEphemeral = try key("eSK.SD.ECKA"), hostEphemeral = try key("eSK.OCE.ECKA")
        #expect(try SCP11KeyAgreement.sharedSecret(hostEphemeral, cardEphemeral.publicKey) == Self.hex(v["ephemeralSharedSecret"]?.text))
        #expect(try SCP11KeyAgreement.sharedSecret(hostEphemeral, cardStatic.publicKey) == Self.hex(v["staticSharedSecret"]?.text))

        var handshake = try SCP11HostHandshake(variant: .b, cardStaticKey: cardStatic.publicKey, ephemeralKey: hostEphemeral)
        #expect(handshake.command.ins == 0x88 && handshake.command.p2 == 0x13 && handshake.commandData.count == 83)
        let cardResult = try SCP11CardHandshake.respond(variant: .b, commandData: handshake.commandData, cardStaticKey: cardStatic,
                                                         issuerStaticKey: nil, ephemeralKey: cardEphemeral)
        #expect(Array(cardResult.responseData.suffix(16)) == (try Self.hex(v["receipt"]?.text)))
        var host = try handshake.complete(with: ResponseAPDU(data: cardResult.responseData, statusWord: .success))
        var card = cardResult.session

        let plain = try CommandAPDU(decoding: Self.hex(v["plainCommand"]?.text))
        var wrapped = try host.wrapCommand(plain)
        wrapped.ne = nil
        #expect(try wrapped.encoded() == Self.hex(v["wrappedCommand"]?.text))
        #expect(try card.unwrapCommand(cla: wrapped.cla, ins: wrapped.ins, p1: wrapped.p1, p2: wrapped.p2, data: wrapped.data) == plain.data)
        let plainResponse = try ResponseAPDU(decoding: Self.hex(v["plainResponse"]?.text))
        let wrappedData = try card.wrapResponse(data: plainResponse.data, status: plainResponse.statusWord)
        let expectedResponse = try ResponseAPDU(decoding: Self.hex(v["wrappedResponse"]?.text))
        #expect(wrappedData == expectedResponse.data)
        #expect(try host.unwrapResponse(expectedResponse) == plainResponse)
    }
}

/// Behaviour of the channel beyond the vectors: counters, error status words, failures closing it.
struct SecureChannelBehaviourTests {
    static func openPair(variant: SCP11Variant = .b) throws -> (host: SCP03SecureMessaging, card: SCP03SecureMessaging) {
        let cardStatic = P256.KeyAgreement.PrivateKey()
        var handshake = try SCP11HostHandshake(variant: .b, cardStaticKey: cardStatic.publicKey)
        let result = try SCP11CardHandshake.respond(variant: .b, commandData: handshake.commandData, cardStaticKey: cardStatic,
                                                     issuerStaticKey: nil, ephemeralKey: P256.KeyAgreement.PrivateKey())
        return (try handshake.complete(with: ResponseAPDU(data: result.responseData, statusWord: .success)), result.session)
    }

    @Test("SCP11a: the card derives the host's keys only from the issuer's static key")
    func scp11aNeedsTheIssuerKey() throws {
        let cardStatic = P256.KeyAgreement.PrivateKey(), issuer = P256.KeyAgreement.PrivateKey()
        let secret = try SCP11KeyAgreement.sharedSecret(issuer, cardStatic.publicKey)
        var good = try SCP11HostHandshake(variant: .a, cardStaticKey: cardStatic.publicKey, issuerStaticSharedSecret: secret)
        let answer = try SCP11CardHandshake.respond(variant: .a, commandData: good.commandData, cardStaticKey: cardStatic,
                                                     issuerStaticKey: issuer.publicKey, ephemeralKey: .init())
        _ = try good.complete(with: ResponseAPDU(data: answer.responseData, statusWord: .success))

        let impostor = try SCP11KeyAgreement.sharedSecret(P256.KeyAgreement.PrivateKey(), cardStatic.publicKey)
        var bad = try SCP11HostHandshake(variant: .a, cardStaticKey: cardStatic.publicKey, issuerStaticSharedSecret: impostor)
        let badAnswer = try SCP11CardHandshake.respond(variant: .a, commandData: bad.commandData, cardStaticKey: cardStatic,
                                                        issuerStaticKey: issuer.publicKey, ephemeralKey: .init())
        #expect(throws: SecureChannelError(code: .receiptMismatch, reason: "")) {
            try bad.complete(with: ResponseAPDU(data: badAnswer.responseData, statusWord: .success))
        }
        // The card refuses an SCP11b field under the SCP11a instruction.
        #expect(throws: SecureChannelError(code: .malformedKeyAgreementData, reason: "")) {
            try SCP11CardHandshake.respond(variant: .a, commandData: SCP11KeyAgreement.commandData(
                variant: .b, hostEphemeralPublicKey: Array(issuer.publicKey.x963Representation)),
                cardStaticKey: cardStatic, issuerStaticKey: issuer.publicKey, ephemeralKey: .init())
        }
    }

    @Test("A receipt from a card without the certified key is refused")
    func wrongCardKey() throws {
        let certified = P256.KeyAgreement.PrivateKey(), other = P256.KeyAgreement.PrivateKey()
        var handshake = try SCP11HostHandshake(variant: .b, cardStaticKey: certified.publicKey)
        let answer = try SCP11CardHandshake.respond(variant: .b, commandData: handshake.commandData, cardStaticKey: other,
                                                     issuerStaticKey: nil, ephemeralKey: .init())
        #expect(throws: SecureChannelError(code: .receiptMismatch, reason: "")) {
            try handshake.complete(with: ResponseAPDU(data: answer.responseData, statusWord: .success))
        }
    }

    @Test("Commands without data count too; replayed, reordered and altered commands are refused and close the card's side")
    func replayReorderAlter() throws {
        var (host, card) = try Self.openPair()
        let first = try host.wrapCommand(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [1, 2, 3], ne: 256))
        let second = try host.wrapCommand(CommandAPDU(cla: 0x00, ins: 0x20, p1: 0, p2: 0x81))
        #expect(second.data.count == 8)
        #expect(host.encryptionCounter == 3)
        // Reordered: the second before the first.
        var reordered = card
        #expect(throws: SecureChannelError(code: .macMismatch, reason: "")) {
            try reordered.unwrapCommand(cla: second.cla, ins: second.ins, p1: second.p1, p2: second.p2, data: second.data)
        }
        #expect(!reordered.isOpen)
        // In order, then a replay of the first.
        #expect(try card.unwrapCommand(cla: first.cla, ins: first.ins, p1: first.p1, p2: first.p2, data: first.data) == [1, 2, 3])
        var replayed = card
        #expect(throws: SecureChannelError(code: .macMismatch, reason: "")) {
            try replayed.unwrapCommand(cla: first.cla, ins: first.ins, p1: first.p1, p2: first.p2, data: first.data)
        }
        // Altered ciphertext.
        var altered = card
        var flipped = first.data
        flipped[0] ^= 1
        #expect(throws: SecureChannelError(code: .macMismatch, reason: "")) {
            try altered.unwrapCommand(cla: first.cla, ins: first.ins, p1: first.p1, p2: first.p2, data: flipped)
        }
        #expect(throws: SecureChannelError(code: .channelClosed, reason: "")) {
            try altered.unwrapCommand(cla: second.cla, ins: second.ins, p1: second.p1, p2: second.p2, data: second.data)
        }
        #expect(try card.unwrapCommand(cla: second.cla, ins: second.ins, p1: second.p1, p2: second.p2, data: second.data) == [])
    }

    @Test("Error status words travel bare; a success without R-MAC or with a wrong one is refused by the host")
    func responses() throws {
        var (host, card) = try Self.openPair()
        let command = try host.wrapCommand(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [9], ne: 256))
        _ = try card.unwrapCommand(cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2, data: command.data)
        #expect(try card.wrapResponse(data: [], status: .securityStatusNotSatisfied) == [])
        #expect(try host.unwrapResponse(ResponseAPDU(data: [], statusWord: .securityStatusNotSatisfied)).statusWord == .securityStatusNotSatisfied)

        var strict = host
        #expect(throws: SecureChannelError(code: .macMismatch, reason: "")) {
            try strict.unwrapResponse(ResponseAPDU(data: [], statusWord: .success))
        }
        let warning = try card.wrapResponse(data: [], status: StatusWord(rawValue: 0x63C2))
        #expect(warning.count == 8)
        var changed = warning
        changed[7] ^= 0x80
        var rejecting = host
        #expect(throws: SecureChannelError(code: .macMismatch, reason: "")) {
            try rejecting.unwrapResponse(ResponseAPDU(data: changed, statusWord: StatusWord(rawValue: 0x63C2)))
        }
        #expect(try host.unwrapResponse(ResponseAPDU(data: warning, statusWord: StatusWord(rawValue: 0x63C2))).data == [])
    }

    @Test("Long commands: Lc' over 255 is MACed in its three-byte form and the wrapped command is extended")
    func longCommand() throws {
        var (host, card) = try Self.openPair()
        let data = (0..<600).map { UInt8(truncatingIfNeeded: $0) }
        let wrapped = try host.wrapCommand(CommandAPDU(cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: data))
        #expect(wrapped.data.count == SCP03SecureMessaging.wrappedLength(plainLength: 600))
        #expect(wrapped.encodingForm == .extended)
        #expect(try card.unwrapCommand(cla: wrapped.cla, ins: wrapped.ins, p1: wrapped.p1, p2: wrapped.p2, data: wrapped.data) == data)
    }

    @Test("Method-2 padding: stripped only when well-formed")
    func padding() throws {
        #expect(SCP03Cryptography.pad([]) == [0x80] + [UInt8](repeating: 0, count: 15))
        #expect(SCP03Cryptography.pad([UInt8](repeating: 1, count: 16)).count == 32)
        #expect(try SCP03Cryptography.unpad([1, 2, 0x80, 0]) == [1, 2])
        #expect(throws: SecureChannelError(code: .badPadding, reason: "")) { try SCP03Cryptography.unpad([1, 2, 0, 0]) }
        #expect(throws: SecureChannelError(code: .badPadding, reason: "")) { try SCP03Cryptography.unpad([0x80] + [UInt8](repeating: 0, count: 16)) }
    }
}
