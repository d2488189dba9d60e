import SealGMCrypto
import Testing

/// e = SM3(Z_A ‖ M) composed here must be what OpenSSL's EVP_DigestSign signs (it computes Z_A
/// internally): a signature OpenSSL made over the message verifies over our digest, and over
/// no digest of another ID, key or message.
@Suite struct SM2DigestTests {
    let message = Array("DER(TBS_Sign) stand-in".utf8)

    @Test func opensslSignaturesVerifyOverTheComposedDigest() throws {
        let key = try SM2PrivateKey()
        let publicKey = try key.publicKey
        let signature = try key.signature(for: message)
        let digest = try publicKey.signedDigest(for: message)
        #expect(digest.count == 32)
        #expect(publicKey.isValidSignature(signature, forDigest: digest))
        #expect(!publicKey.isValidSignature(signature, forDigest: try publicKey.signedDigest(for: message + [0])))
        #expect(!publicKey.isValidSignature(signature, forDigest: try publicKey.signedDigest(for: message, distinguishingID: Array("ALICE123@YAHOO.COM".utf8))))
        #expect(!(try SM2PrivateKey().publicKey).isValidSignature(signature, forDigest: digest))
        #expect(!publicKey.isValidSignature(signature, forDigest: Array(digest.prefix(31))))

        let otherID = Array("ALICE123@YAHOO.COM".utf8)
        let signedWithOther = try key.signature(for: message, distinguishingID: otherID)
        #expect(publicKey.isValidSignature(signedWithOther, forDigest: try publicKey.signedDigest(for: message, distinguishingID: otherID)))
    }

    @Test func identityDigestDependsOnIDAndKey() throws {
        let publicKey = try SM2PrivateKey().publicKey
        let za = try publicKey.identityDigest()
        #expect(za.count == 32)
        #expect(try publicKey.identityDigest(distinguishingID: []) != za)
        #expect(try SM2PrivateKey().publicKey.identityDigest() != za)
        #expect(throws: GMCryptoError(code: .invalidKey, reason: "")) {
            try publicKey.identityDigest(distinguishingID: [UInt8](repeating: 0x41, count: 8192))
        }
    }

    @Test func preparedSignerSignaturesVerifyLikeOneShotOnes() throws {
        let key = try SM2PrivateKey()
        let signer = try SM2Signer(key: key)
        let publicKey = try key.publicKey
        for length in [0, 1, 219, 4096] {
            let text = [UInt8](repeating: UInt8(length & 0xFF), count: length)
            let signature = try signer.signature(for: text)
            #expect(SM2Signature.isDER(signature))
            #expect(publicKey.isValidSignature(signature, for: text))
            #expect(!publicKey.isValidSignature(signature, for: text + [1]))
        }
        // Another ID gives another Z_A: the signature verifies only under it.
        let otherID = Array("ALICE123@YAHOO.COM".utf8)
        let other = try SM2Signer(key: key, distinguishingID: otherID).signature(for: message)
        #expect(publicKey.isValidSignature(other, for: message, distinguishingID: otherID))
        #expect(!publicKey.isValidSignature(other, for: message))
    }
}
