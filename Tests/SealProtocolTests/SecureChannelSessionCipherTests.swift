import Crypto
import Foundation
import Testing
@testable import SealProtocol

/// The session cipher's fewer library calls give the bytes of the one-operation-per-call
/// functions (which the known-answer tests pin to independent implementations), at every counter
/// the batching treats differently: the first, batch boundaries, a jump back, and the last.
struct SecureChannelSessionCipherTests {
    static let encryptionKey = SymmetricKey(data: (0..<16).map { UInt8($0 * 7 + 1) })
    static let macKey = SymmetricKey(data: (0..<16).map { UInt8($0 * 5 + 3) })
    static let counters: [UInt32] = [1, 2, 31, 32, 33, 64, 65, 7, 1_000, UInt32.max - 33, UInt32.max - 1]

    @Test("One-call CBC with its ICV equals ICV by AES.permute then AES-CBC, for commands and responses")
    func encryptionMatchesTwoCalls() throws {
        let cipher = try SCP03SessionCipher(encryptionKey: Self.encryptionKey, commandMACKey: Self.macKey, responseMACKey: Self.macKey)
        for (index, counter) in Self.counters.enumerated() {
            let data = (0..<(index * 5 + 1)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            for forResponse in [false, true] {
                let iv = try SCP03Cryptography.initialChainingVector(key: Self.encryptionKey, counter: counter, forResponse: forResponse)
                let expected = try SCP03Cryptography.encrypt(SCP03Cryptography.pad(data), key: Self.encryptionKey, iv: iv)
                #expect(try cipher.encrypt(data, counter: counter, forResponse: forResponse) == expected)
            }
        }
    }

    @Test("Batched ICVs (AES-CTR key stream) decrypt what the single-block ICV encrypted, at batch edges and the last counter")
    func decryptionWithBatchedVectors() throws {
        var cipher = try SCP03SessionCipher(encryptionKey: Self.encryptionKey, commandMACKey: Self.macKey, responseMACKey: Self.macKey)
        for (index, counter) in Self.counters.enumerated() {
            let data = (0..<(index * 3 + 2)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ index) }
            for forResponse in [false, true] {
                let iv = try SCP03Cryptography.initialChainingVector(key: Self.encryptionKey, counter: counter, forResponse: forResponse)
                let ciphertext = try SCP03Cryptography.encrypt(SCP03Cryptography.pad(data), key: Self.encryptionKey, iv: iv)
                #expect(try cipher.decrypt(ciphertext[...], counter: counter, forResponse: forResponse) == data)
            }
        }
        // A wrong counter's ICV garbles the first block: the batch is looked up by counter.
        let iv = try SCP03Cryptography.initialChainingVector(key: Self.encryptionKey, counter: 40, forResponse: false)
        let ciphertext = try SCP03Cryptography.encrypt(SCP03Cryptography.pad([1, 2, 3]), key: Self.encryptionKey, iv: iv)
        #expect((try? cipher.decrypt(ciphertext[...], counter: 41, forResponse: false)) != [1, 2, 3])
        #expect(try cipher.decrypt(ciphertext[...], counter: 40, forResponse: false) == [1, 2, 3])
    }

    @Test("MACs from the kept CMAC context equal a fresh AES-CMAC over the concatenation, again and again")
    func macsMatchFreshContexts() throws {
        let cipher = try SCP03SessionCipher(encryptionKey: Self.encryptionKey, commandMACKey: Self.macKey, responseMACKey: Self.encryptionKey)
        for length in [0, 1, 15, 16, 17, 100] {
            let chaining = (0..<16).map { UInt8($0 + length) }
            let header: [UInt8] = [0x84, 0x54, 0, 0, UInt8(length + 8)]
            let ciphertext = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 3) }
            #expect(cipher.commandMAC(chainingValue: chaining, header: header, ciphertext: ciphertext[...])
                    == (try SCP03Cryptography.cmac(key: Self.macKey, chaining + header + ciphertext)))
            #expect(cipher.responseMAC(chainingValue: chaining, ciphertext: ciphertext[...], status: StatusWord(rawValue: 0x63C1))
                    == (try SCP03Cryptography.cmac(key: Self.encryptionKey, chaining + ciphertext + [0x63, 0xC1])))
        }
    }

    @Test("A session whose keys are not AES keys refuses to wrap with cryptoFailure")
    func nonAESKeys() throws {
        let short = SymmetricKey(data: [UInt8](repeating: 1, count: 10))
        var session = SCP03SecureMessaging(encryptionKey: short, commandMACKey: short, responseMACKey: short,
                                           macChainingValue: [UInt8](repeating: 0, count: 16))
        #expect(throws: SecureChannelError(code: .cryptoFailure, reason: "")) {
            try session.wrapCommand(CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [1], ne: 256))
        }
    }
}
