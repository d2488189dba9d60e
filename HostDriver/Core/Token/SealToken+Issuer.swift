import SealProtocol

extension SealToken {
    /// Authenticates the issuer (GET CHALLENGE + EXTERNAL AUTHENTICATE, SPEC §8.3, §8.4, §9.1), in one
    /// transaction. The issuer stays authenticated until a reset, a SELECT or termination.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/issuerSigningFailed`` when `signer` throws; a
    ///   `statusWord` `6300` error when the chip rejects the signature (wrong issuer key).
    ///
    /// When `signer` can also agree keys (``IssuerKeyAgreement``, as ``P256IssuerSigner`` does),
    /// the issuer is authenticated by opening the SCP11a issuer channel instead (SPEC §14.3), which
    /// protocol v2 chips require for PERSONALIZE and SET LIFECYCLE.
    public func authenticateIssuer(using signer: any IssuerSigner) async throws {
        if let keyAgreement = signer as? any IssuerKeyAgreement, secureChannelSettings.opensHolderChannel {
            try await session { try await openChannel(.a, issuerKeyAgreement: keyAgreement) }
            return
        }
        try await session {
            let chipID = try await readChipID()
            let challenge = try await run(SealCommand.getChallenge())
            guard challenge.count == SealApplet.challengeLength else {
                throw SealDriverError(code: .malformedResponse,
                                      reason: "challenge has \(challenge.count) bytes, expected \(SealApplet.challengeLength)")
            }
            let signature: [UInt8]
            do {
                signature = try await signer.sign(issuerAuthenticationTBS(chipID: chipID, challenge: challenge))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw SealDriverError(code: .issuerSigningFailed, reason: "\(error)")
            }
            guard (8...72).contains(signature.count) else {
                throw SealDriverError(code: .issuerSigningFailed,
                                      reason: "signature has \(signature.count) bytes; a DER P-256 signature has 8 to 72")
            }
            _ = try await run(SealCommand.externalAuthenticate(signature: signature))
            logger.debug("issuer authenticated", metadata: ["chipID": "\(hexString(chipID))"])
        }
    }

    /// Personalizes a MANUFACTURED token (PERSONALIZE, SPEC §8.11): the chip stores the data,
    /// generates the seal key pair and enters PERSONALIZED. Requires ``authenticateIssuer(using:)``.
    ///
    /// - Returns: The new seal public key (X9.63, 65 bytes).
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidArgument`` when `data` breaks SPEC §7
    ///   (nothing is sent); `statusWord` `6982` without issuer authentication, `6985` when not MANUFACTURED.
    public func personalize(_ data: PersonalizationData) async throws -> [UInt8] {
        let command: CommandAPDU
        do {
            command = try SealCommand.personalize(data)
        } catch {
            throw SealDriverError(code: .invalidArgument, reason: "personalization data: \(error.reason)")
        }
        return try await session {
            let response = try await run(command)
            recordContextCache = nil
            notePersonalizedSealKeyAlgorithm(data.sealKeyAlgorithm)
            let key = try decode("PERSONALIZE response") { () throws(SealDataError) -> [UInt8] in
                let fields: [TLV]
                do { fields = try TLV.decodeAll(response) } catch {
                    throw SealDataError(.malformedTLV, "\(error)")
                }
                guard fields.count == 1, fields[0].tag == SealTag.sealPublicKey else {
                    throw SealDataError(.missingField, "expected only 86 seal public key")
                }
                return fields[0].value
            }
            try Self.checkSealKey(key, keyID: nil)
            logger.debug("personalized", metadata: ["keyID": "\(hexString(sealKeyID(publicKeyX963: key)))"])
            return key
        }
    }

    /// Moves the token to `state` (SET LIFECYCLE, SPEC §8.12). Requires issuer authentication.
    /// Clears PIN verification; entering TERMINATED zeroizes the seal key.
    public func setLifecycle(_ state: LifecycleState) async throws {
        try await session {
            _ = try await run(SealCommand.setLifecycle(state))
            logger.debug("lifecycle set", metadata: ["state": "\(state)"])
        }
    }
}
