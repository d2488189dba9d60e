import SealProtocol

extension SealToken {
    /// Adds (or replaces) the verifier the token uses for seals of `verifier.algorithm`.
    ///
    /// The token checks every signature it returns or reads (STAMP, a recovered stamp, the audit
    /// log) under the seal key itself. P-256 is built in; a token personalized with an SM2 seal key
    /// needs the SM2 verifier of the `SealSM2Verifier` target (the driver core links no C library):
    ///
    /// ```swift
    /// await token.addSignatureVerifier(SM2SealSignatureVerifier())
    /// ```
    public func addSignatureVerifier(_ verifier: any SealSignatureVerifier) {
        signatureVerifiers.add(verifier)
    }

    /// The seal key's algorithm, from the capabilities object read at connect (`85`, SPEC §8.5;
    /// absent = P-256), kept true across ``personalize(_:)``; no APDU.
    var sealKeyAlgorithm: SealKeyAlgorithm {
        capabilities?.sealKeyAlgorithm ?? .p256
    }

    /// Whether `signature` is the seal's signature over `message` under `key` for `algorithm`.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/notSupportedByToken`` when this token has no
    ///   verifier for `algorithm` (an SM2 seal without ``addSignatureVerifier(_:)``).
    func isValidSealSignature(_ signature: [UInt8], over message: [UInt8], key: [UInt8],
                              algorithm: SealKeyAlgorithm) throws -> Bool {
        guard let verifier = signatureVerifiers.verifier(for: algorithm) else {
            throw SealDriverError(code: .notSupportedByToken,
                                  reason: "the seal key is \(algorithm) and no \(algorithm) signature verifier was added "
                                      + "(SealToken.addSignatureVerifier; SM2: SealSM2Verifier)")
        }
        return verifier.isValidSignature(signature, over: message, publicKey: key)
    }
}
