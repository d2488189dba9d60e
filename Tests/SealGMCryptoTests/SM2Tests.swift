import SealTestSupport
import Foundation
import SealGMCrypto
import Testing

@Suite struct SM2Tests {
    let message = Array("GB/T 38540 TBS_Sign stand-in".utf8)

    @Test func signAndVerifyRoundTrip() throws {
        let key = try SM2PrivateKey()
        let signature = try key.signature(for: message)
        #expect((70...72).contains(signature.count))
        #expect(try key.publicKey.isValidSignature(signature, for: message))
        #expect(try !key.publicKey.isValidSignature(signature, for: message + [0]))
        // Z_A covers the ID: the same signature fails under another ID or the empty one.
        #expect(try !key.publicKey.isValidSignature(signature, for: message, distinguishingID: Array("ALICE123@YAHOO.COM".utf8)))
        #expect(try !key.publicKey.isValidSignature(signature, for: message, distinguishingID: []))
        let otherID = Array("ALICE123@YAHOO.COM".utf8)
        let signedWithOther = try key.signature(for: message, distinguishingID: otherID)
        #expect(try key.publicKey.isValidSignature(signedWithOther, for: message, distinguishingID: otherID))
    }

    @Test func keysRoundTripThroughPEM() throws {
        let key = try SM2PrivateKey()
        let reread = try SM2PrivateKey(pemRepresentation: key.pemRepresentation)
        let signature = try reread.signature(for: message)
        let publicKey = try SM2PublicKey(pemRepresentation: key.publicKey.pemRepresentation)
        #expect(publicKey.isValidSignature(signature, for: message))
        #expect(try SM2PublicKey(derRepresentation: publicKey.derRepresentation).derRepresentation == publicKey.derRepresentation)
    }

    @Test func refusesWhatIsNotAnSM2Key() throws {
        #expect(throws: GMCryptoError(code: .invalidKey, reason: "")) { try SM2PublicKey(derRepresentation: [0x30, 0x00]) }
        #expect(throws: GMCryptoError(code: .invalidKey, reason: "")) { try SM2PrivateKey(pemRepresentation: "not a key") }
        let spkiWithTrailingByte = try SM2PrivateKey().publicKey.derRepresentation + [0]
        #expect(throws: GMCryptoError(code: .invalidKey, reason: "")) { try SM2PublicKey(derRepresentation: spkiWithTrailingByte) }
    }

    @Test func rawAndDERSignaturesConvert() throws {
        let key = try SM2PrivateKey()
        let der = try key.signature(for: message)
        let raw = try SM2Signature.rawFromDER(der)
        #expect(raw.count == 64)
        #expect(try SM2Signature.derFromRaw(raw) == der)
        #expect(!SM2Signature.isDER(raw))
        #expect(throws: GMCryptoError(code: .invalidSignatureEncoding, reason: "")) { try SM2Signature.derFromRaw(raw.dropLast()) }
        #expect(throws: GMCryptoError(code: .invalidSignatureEncoding, reason: "")) { try SM2Signature.rawFromDER(der + [0]) }
    }

    @Test(.enabled(if: OpenSSLCommandLine.isAvailable))
    func openSSLCommandLineVerifiesOurSignature() throws {
        let directory = try OpenSSLCommandLine.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try SM2PrivateKey()
        try Data(key.publicKey.pemRepresentation.utf8).write(to: directory.appendingPathComponent("public.pem"))
        try Data(message).write(to: directory.appendingPathComponent("message"))
        try Data(key.signature(for: message)).write(to: directory.appendingPathComponent("signature.der"))
        let verified = try OpenSSLCommandLine.run(["dgst", "-sm3", "-verify", "public.pem", "-sigopt", "distid:1234567812345678",
                                                   "-signature", "signature.der", "message"], in: directory)
        #expect(verified.status == 0 && verified.output.contains("Verified OK"), "\(verified.output)")
        // And it is the ID that makes it verify: openssl without it refuses.
        let withoutID = try OpenSSLCommandLine.run(["dgst", "-sm3", "-verify", "public.pem", "-signature", "signature.der", "message"],
                                                   in: directory)
        #expect(withoutID.status != 0)
    }

    @Test(.enabled(if: OpenSSLCommandLine.isAvailable))
    func weVerifyTheOpenSSLCommandLinesSignature() throws {
        let directory = try OpenSSLCommandLine.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(message).write(to: directory.appendingPathComponent("message"))
        for step in [["genpkey", "-algorithm", "SM2", "-out", "key.pem"],
                     ["pkey", "-in", "key.pem", "-pubout", "-out", "public.pem"],
                     ["dgst", "-sm3", "-sign", "key.pem", "-sigopt", "distid:1234567812345678", "-out", "signature.der", "message"]] {
            let result = try OpenSSLCommandLine.run(step, in: directory)
            try #require(result.status == 0, "openssl \(step.joined(separator: " ")): \(result.output)")
        }
        let publicKey = try SM2PublicKey(pemRepresentation: String(contentsOf: directory.appendingPathComponent("public.pem"), encoding: .utf8))
        let signature = try [UInt8](Data(contentsOf: directory.appendingPathComponent("signature.der")))
        #expect(publicKey.isValidSignature(signature, for: message))
        #expect(!publicKey.isValidSignature(signature, for: message, distinguishingID: []))
        #expect(!publicKey.isValidSignature(signature, for: Array(message.dropLast())))
        // The private key OpenSSL wrote signs here too, and OpenSSL's public key verifies it.
        let privateKey = try SM2PrivateKey(pemRepresentation: String(contentsOf: directory.appendingPathComponent("key.pem"), encoding: .utf8))
        #expect(publicKey.isValidSignature(try privateKey.signature(for: message), for: message))
    }
}
