import SealProtocol

extension SealToken {
    /// Reads the token's public state: chip ID, lifecycle, counter, PIN status, capabilities,
    /// personalization and seal key (the last three when present).
    public func info() async throws -> SealTokenInfo {
        try await session {
            let chipID = try await readChipID()
            let lifecycle = try await readLifecycle()
            let counter = try await readCounter()
            let pinStatus = try await getData(.pinStatus).map { bytes in
                try decode("PIN status") { () throws(SealDataError) in try PINStatus(decoding: bytes) }
            }
            let capabilitiesBytes = try await requiredData(.capabilities)
            let capabilities = try decode("capabilities") { () throws(SealDataError) in
                try SealCapabilities(decoding: capabilitiesBytes)
            }
            let personalization = try await getData(.personalization).map { bytes in
                try decode("personalization") { () throws(SealDataError) in try PersonalizationInfo(decoding: bytes) }
            }
            let sealPublicKey = try await getData(.sealPublicKey)
            let keyID = try await getData(.sealKeyID)
            if let sealPublicKey {
                try Self.checkSealKey(sealPublicKey, keyID: keyID)
            }
            return SealTokenInfo(
                chipID: chipID, lifecycle: lifecycle, counter: counter, pinStatus: pinStatus,
                capabilities: capabilities, personalization: personalization, sealPublicKey: sealPublicKey,
                sealKeyID: keyID, answerToReset: answerToReset?.bytes ?? [])
        }
    }

    /// The 16-byte chip ID.
    public func chipID() async throws -> [UInt8] {
        try await session { try await readChipID() }
    }

    /// The chip's device certificate, X.509 DER (SPEC §12).
    public func deviceCertificateDER() async throws -> [UInt8] {
        try await session { try await requiredData(.deviceCertificate) }
    }

    /// Asks the chip to attest its seal key (GET ATTESTATION, SPEC §8.15).
    ///
    /// - Parameter nonce: 0 to 32 bytes echoed in the signed statement; use a fresh random value to
    ///   prove freshness.
    /// - Returns: The parsed statement and the exact signed bytes with the device signature. The
    ///   signature is not verified here; see ``SealAttestation/isSigned(by:)`` and ``StampVerifier``.
    public func attestation(nonce: [UInt8]) async throws -> SealAttestation {
        guard nonce.count <= SealApplet.maxAttestationNonce else {
            throw SealDriverError(code: .invalidArgument,
                                  reason: "attestation nonce has \(nonce.count) bytes, at most \(SealApplet.maxAttestationNonce) allowed")
        }
        return try await session { try await fetchAttestation(nonce: nonce) }
    }

    // MARK: Internals

    func fetchAttestation(nonce: [UInt8]) async throws -> SealAttestation {
        let bytes = try await run(SealCommand.getAttestation(nonce: nonce))
        let response = try decode("attestation") { () throws(SealDataError) in try AttestationResponse(decoding: bytes) }
        let statement = try decode("attestation statement") { () throws(SealDataError) in
            try AttestationStatement(decoding: response.statementBytes)
        }
        guard statement.nonce == nonce else {
            throw SealDriverError(code: .malformedResponse, reason: "attestation statement carries a different nonce")
        }
        return SealAttestation(statement: statement, statementBytes: response.statementBytes, signature: response.signature)
    }

    func readLifecycle() async throws -> LifecycleState {
        let bytes = try await requiredData(.lifecycle)
        guard bytes.count == 1, let state = LifecycleState(rawValue: bytes[0]) else {
            throw SealDriverError(code: .malformedResponse, reason: "lifecycle \(hexString(bytes)) is not a state code")
        }
        return state
    }

    func readCounter() async throws -> UInt32 {
        let bytes = try await requiredData(.counter)
        return try decode("counter") { () throws(SealDataError) in try decodeBigEndian(bytes, as: UInt32.self, field: "counter") }
    }

    /// Checks that a seal key is a 65-byte uncompressed point and that its key ID matches.
    static func checkSealKey(_ key: [UInt8], keyID: [UInt8]?) throws {
        guard key.count == 65, key.first == 0x04 else {
            throw SealDriverError(code: .malformedResponse, reason: "seal public key is not a 65-byte uncompressed point")
        }
        if let keyID, keyID != sealKeyID(publicKeyX963: key) {
            throw SealDriverError(code: .malformedResponse, reason: "seal key ID is not SHA-256 of the seal public key")
        }
    }
}
