import SealProtocol

extension SealToken {
    /// Installs a GB/T 38540 SES_Seal on a PERSONALIZED token with an SM2 seal key (PUT SES SEAL,
    /// SPEC §8.18): the DER seal in chunks at increasing offsets, all in one transaction. Requires
    /// ``authenticateIssuer(using:)``.
    ///
    /// - Parameters:
    ///   - der: The DER SES_Seal, exactly as STAMP-SES will embed it (at most 32 768 bytes).
    ///   - chunkSize: Bytes per command; 2 048 by default, well inside one wrapped APDU.
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidArgument`` for an empty or oversized seal
    ///   or a chunk size outside 1–4 000 (nothing is sent); `statusWord` `6985` when not PERSONALIZED
    ///   or the seal key is not SM2, `6982` without issuer authentication.
    public func installSESSeal(_ der: [UInt8], chunkSize: Int = 2048) async throws {
        guard (1...32_768).contains(der.count) else {
            throw SealDriverError(code: .invalidArgument, reason: "an SES seal is 1 to 32768 bytes, got \(der.count)")
        }
        guard (1...4000).contains(chunkSize) else {
            throw SealDriverError(code: .invalidArgument, reason: "chunk size must be 1 to 4000, got \(chunkSize)")
        }
        try await session {
            // No chunk larger than the chip takes once wrapped (SPEC §3.5: 512 bytes on a constrained chip).
            let limit = Int(capabilities?.maxCommandData ?? UInt16(SealApplet.maxCommandData))
            var size = min(chunkSize, limit)
            while size > 1, SCP03SecureMessaging.wrappedLength(plainLength: size) > limit { size -= 1 }
            var offset = 0
            while offset < der.count {
                let chunk = Array(der[offset..<min(offset + size, der.count)])
                _ = try await run(SealCommand.putSESSeal(offset: UInt16(offset), chunk: chunk))
                offset += chunk.count
            }
        }
    }

    /// The installed SES_Seal (READ SES SEAL, SPEC §8.19, read in pieces from increasing offsets);
    /// `nil` when none is installed.
    public func sesSeal() async throws -> [UInt8]? {
        try await session {
            var seal: [UInt8] = []
            while seal.count <= 32_768 {
                let response = try await exchange(SealCommand.readSESSeal(offset: UInt16(seal.count), ne: 1024))
                if response.statusWord == .referencedDataNotFound, seal.isEmpty { return nil }
                guard response.statusWord == .success else {
                    throw SealDriverError(statusWord: response.statusWord, command: "READ SES SEAL")
                }
                if response.data.isEmpty { return seal }
                seal += response.data
            }
            throw SealDriverError(code: .malformedResponse, reason: "READ SES SEAL returned more than 32768 bytes")
        }
    }

    /// Verifies the PIN and sends STAMP-SES (SPEC §8.17) in one transaction, then checks the
    /// native signature (9E) over the rebuilt TBS of SPEC §9.3 under the seal key.
    ///
    /// The SES signature (`9F21`) covers the `TBS_Sign` the chip composed (SPEC §9.7); the caller
    /// recomposes it (`SealESeal`'s `SESSignatureBuilder` with the receipt of
    /// `SESStampReceipt`), checks the signature and assembles the `SES_Signature`.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidArgument`` for a bad PIN format (nothing
    ///   is sent); `statusWord` `6985` when not ACTIVE, the key is not SM2 or no seal is installed,
    ///   `6A80` when `request.sealHash` is not the installed seal's; `malformedResponse` when the
    ///   native signature does not verify.
    public func stampSES(_ request: SESStampRequest, pin: String) async throws -> SESStampResponse {
        try Self.checkPIN(pin, name: "PIN")
        return try await session {
            try await selectAppletInSession()
            _ = try await run(SealCommand.verify(pin: pin))
            return try await stampSESInSession(request)
        }
    }

    /// STAMP-SES (SPEC §8.17) with the PIN verified earlier (``verifyPIN(_:)``), as
    /// ``stamp(documentDigest:metadata:grant:)`` is to STAMP: for a caller that holds a login
    /// rather than the PIN (the SKF view, libsealkit-skf). Checks the native signature as
    /// ``stampSES(_:pin:)`` does.
    ///
    /// - Throws: as ``stampSES(_:pin:)``; `statusWord` `6982` when the PIN is not verified.
    public func stampSES(_ request: SESStampRequest) async throws -> SESStampResponse {
        try await session { try await stampSESInSession(request) }
    }

    private func stampSESInSession(_ request: SESStampRequest) async throws -> SESStampResponse {
        let context = try await recordContext()
        let bytes = try await run(SealCommand.stampSES(request))
        let response = try decode("STAMP-SES response") { () throws(SealDataError) in try SESStampResponse(decoding: bytes) }
        let tbs = StampTBS(
            chipID: context.chipID, counter: response.stamp.counter, serial: response.stamp.serial,
            expiry: response.stamp.expiry, expirationCode: response.stamp.expirationCode,
            documentDigest: request.stamp.documentDigest, metadataDigest: sha256(request.stamp.metadataEncoding),
            seal: context.personalization.sealIdentity, keyID: context.keyID, grantSerial: request.stamp.grant?.serial ?? 0)
        guard try isValidSealSignature(response.stamp.signature, over: tbs.encoded(), key: context.sealPublicKey,
                                       algorithm: context.sealKeyAlgorithm) else {
            throw SealDriverError(code: .malformedResponse,
                                  reason: "STAMP-SES \(response.stamp.counter): the native signature does not verify under the seal key")
        }
        return response
    }
}
