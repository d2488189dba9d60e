#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import SealProtocol

extension SealToken {
    /// Stamps the document `document` (its bytes): hashes it with SHA-256 and calls
    /// ``stamp(documentDigest:metadata:grant:)``.
    ///
    /// - Throws: what ``stamp(documentDigest:metadata:grant:)`` throws.
    public nonisolated func stamp(document: [UInt8], metadata: StampMetadata,
                                  grant: AuthorizationGrant? = nil) async throws -> StampRecord {
        try await stamp(documentDigest: SealDigest.sha256(document), metadata: metadata, grant: grant)
    }

    /// Stamps the file at `url`: hashes it with SHA-256 in constant memory
    /// (``SealDigest/sha256(contentsOf:)``, before the token is engaged) and calls
    /// ``stamp(documentDigest:metadata:grant:)``.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/fileUnreadable`` when the file cannot be read
    ///   (nothing is sent); otherwise what ``stamp(documentDigest:metadata:grant:)`` throws.
    public nonisolated func stamp(documentAt url: URL, metadata: StampMetadata,
                                  grant: AuthorizationGrant? = nil) async throws -> StampRecord {
        let digest = try SealDigest.sha256(contentsOf: url)
        return try await stamp(documentDigest: digest, metadata: metadata, grant: grant)
    }

    /// Stamps a document (STAMP, SPEC §8.13) and returns a complete, offline-verifiable record.
    ///
    /// Requires the ACTIVE state and a verified PIN (``verifyPIN(_:)``); a remote-authorization
    /// policy also requires a `grant`. In one transaction the token:
    /// 1. reads the static record parts (chip ID, personalization, seal key, key ID, device
    ///    certificate) unless cached;
    /// 2. sends STAMP and checks the returned signature against the seal key locally;
    /// 3. fetches an attestation whose nonce is SHA-256 of the stamp signature.
    ///
    /// If the token stops answering after STAMP was sent (``SealDriverError/Code-swift.struct/noResponse``,
    /// a lost response, a failure in step 3), the stamp may have been issued: reconnect and call
    /// ``recoverStamp(documentDigest:metadata:)`` with the same arguments rather than stamping again.
    ///
    /// - Parameters:
    ///   - documentDigest: SHA-256 of the document (32 bytes).
    ///   - metadata: Time and optional place, operator and workflow fields (SPEC §9.2).
    ///   - grant: A remote authorization grant (SPEC §9.5), when the seal policy requires one.
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidArgument`` for a bad digest or metadata
    ///   (nothing is sent); `statusWord` `6982` without a verified PIN or valid grant, `6985` when not ACTIVE;
    ///   ``SealDriverError/Code-swift.struct/counterExhausted`` (status word `6985`) when the
    ///   signature counter is at `FFFFFFFF` and the token can stamp no more.
    public func stamp(documentDigest: [UInt8], metadata: StampMetadata,
                      grant: AuthorizationGrant? = nil) async throws -> StampRecord {
        let request = try Self.stampRequest(documentDigest: documentDigest, metadata: metadata, grant: grant)
        return try await session {
            try await stampInSession(request, documentDigest: documentDigest, metadata: metadata, grant: grant)
        }
    }

    /// Verifies the PIN and stamps a document in ONE transport transaction: SELECT, VERIFY, STAMP
    /// (with its GET RESPONSEs) and the record reads never interleave with another application's
    /// commands on a shared reader (PC/SC `SCardBeginTransaction`), which could otherwise reset or
    /// reselect the card — clearing the PIN verification — between ``verifyPIN(_:)`` and
    /// ``stamp(documentDigest:metadata:grant:)``. The applet is selected again first, so the
    /// stamp does not depend on what other applications did since ``connect()``.
    ///
    /// - Parameters:
    ///   - documentDigest: SHA-256 of the document (32 bytes).
    ///   - metadata: Time and optional place, operator and workflow fields (SPEC §9.2).
    ///   - pin: The PIN, 6 to 12 digits.
    ///   - grant: A remote authorization grant (SPEC §9.5), when the seal policy requires one.
    /// - Throws: what ``verifyPIN(_:)`` and ``stamp(documentDigest:metadata:grant:)`` throw
    ///   (a bad PIN format, digest or metadata is refused before anything is sent).
    public func stamp(documentDigest: [UInt8], metadata: StampMetadata, pin: String,
                      grant: AuthorizationGrant? = nil) async throws -> StampRecord {
        try Self.checkPIN(pin, name: "PIN")
        let request = try Self.stampRequest(documentDigest: documentDigest, metadata: metadata, grant: grant)
        return try await session {
            try await selectAppletInSession()
            _ = try await run(SealCommand.verify(pin: pin))
            return try await stampInSession(request, documentDigest: documentDigest, metadata: metadata, grant: grant)
        }
    }

    /// Stamps the document `document` (its bytes) with the PIN verified in the same transaction:
    /// ``stamp(documentDigest:metadata:pin:grant:)`` over its SHA-256.
    public nonisolated func stamp(document: [UInt8], metadata: StampMetadata, pin: String,
                                  grant: AuthorizationGrant? = nil) async throws -> StampRecord {
        try await stamp(documentDigest: SealDigest.sha256(document), metadata: metadata, pin: pin, grant: grant)
    }

    /// Stamps the file at `url` with the PIN verified in the same transaction: hashes it in constant
    /// memory first (nothing is sent when it cannot be read), then
    /// ``stamp(documentDigest:metadata:pin:grant:)``.
    public nonisolated func stamp(documentAt url: URL, metadata: StampMetadata, pin: String,
                                  grant: AuthorizationGrant? = nil) async throws -> StampRecord {
        let digest = try SealDigest.sha256(contentsOf: url)
        return try await stamp(documentDigest: digest, metadata: metadata, pin: pin, grant: grant)
    }

    /// Rebuilds the record of a stamp whose STAMP response was lost, from the newest audit entry
    /// (SPEC §8.13, §8.14).
    ///
    /// The newest entry must be for this document and metadata (same document digest, metadata
    /// digest and time), its signature must verify under the seal key and its chain hash must be
    /// the audit head.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/stampNotRecoverable`` when the log is empty or the
    ///   newest entry is for something else — the stamp was not issued, so stamp again;
    ///   ``SealDriverError/Code-swift.struct/auditChainBroken`` when the entry does not verify.
    public func recoverStamp(documentDigest: [UInt8], metadata: StampMetadata) async throws -> StampRecord {
        guard documentDigest.count == 32 else {
            throw SealDriverError(code: .invalidArgument, reason: "document digest must be 32 bytes (SHA-256), got \(documentDigest.count)")
        }
        let metadataEncoding: [UInt8]
        do {
            metadataEncoding = try metadata.encoded()
        } catch {
            throw SealDriverError(code: .invalidArgument, reason: error.reason)
        }
        return try await session {
            let context = try await recordContext()
            let response = try await exchange(SealCommand.readAuditLog(counter: 0))
            if response.statusWord == .referencedDataNotFound {
                throw SealDriverError(code: .stampNotRecoverable, reason: "the audit log is empty")
            }
            guard response.statusWord == .success else {
                throw SealDriverError(statusWord: response.statusWord, command: "READ AUDIT LOG")
            }
            let entry = try decode("audit entry") { () throws(SealDataError) in try AuditEntry(decoding: response.data) }
            guard entry.documentDigest == documentDigest else {
                throw SealDriverError(code: .stampNotRecoverable, reason: "newest entry \(entry.counter) is for another document")
            }
            guard entry.metadataDigest == sha256(metadataEncoding), entry.time == metadata.time else {
                throw SealDriverError(code: .stampNotRecoverable, reason: "newest entry \(entry.counter) has different metadata")
            }
            let tbs = entry.tbs(chipID: context.chipID, seal: context.personalization.sealIdentity, keyID: context.keyID)
            let tbsBytes = tbs.encoded()
            guard try isValidSealSignature(entry.signature, over: tbsBytes, key: context.sealPublicKey,
                                           algorithm: context.sealKeyAlgorithm) else {
                throw SealDriverError(code: .auditChainBroken, reason: "entry \(entry.counter): signature does not verify")
            }
            let status = try await readAuditStatus()
            let head = AuditEntry.chainHash(previous: entry.previousHash, tbs: tbsBytes, signature: entry.signature)
            guard status.newestCounter == entry.counter, status.headHash == head else {
                throw SealDriverError(code: .auditChainBroken, reason: "entry \(entry.counter) is not the audit head")
            }
            logger.debug("stamp recovered", metadata: ["counter": "\(entry.counter)"])
            let attestation = try await fetchAttestation(nonce: StampRecord.attestationNonce(signature: entry.signature))
            return Self.record(context: context, tbs: tbs, signature: entry.signature, metadata: metadata,
                               metadataEncoding: metadataEncoding, attestation: attestation)
        }
    }

    // MARK: Internals

    static func stampRequest(documentDigest: [UInt8], metadata: StampMetadata,
                             grant: AuthorizationGrant?) throws -> StampRequest {
        do {
            return try StampRequest(documentDigest: documentDigest, metadata: metadata, grant: grant)
        } catch {
            throw SealDriverError(code: .invalidArgument, reason: error.reason)
        }
    }

    /// STAMP and the record around it; runs inside ``session(_:)``.
    func stampInSession(_ request: StampRequest, documentDigest: [UInt8], metadata: StampMetadata,
                        grant: AuthorizationGrant?) async throws -> StampRecord {
        let context = try await recordContext()
        let bytes: [UInt8]
        do {
            bytes = try await run(SealCommand.stamp(request))
        } catch let error as SealDriverError where error.isConditionsOfUseNotSatisfied {
            // 6985 is both "not ACTIVE" and "the counter is at FFFFFFFF" (SPEC §8.13): the counter
            // tells them apart, so the caller is not sent to check a lifecycle that is fine.
            if (try? await readCounter()) == UInt32.max {
                throw SealDriverError(code: .counterExhausted, reason: "STAMP answered 6985 at counter FFFFFFFF",
                                      statusWord: error.statusWord, command: error.command, field: nil,
                                      failedCheck: nil, underlyingError: nil)
            }
            throw error
        }
        let response = try decode("STAMP response") { () throws(SealDataError) in try StampResponse(decoding: bytes) }
        let tbs = StampTBS(
            chipID: context.chipID, counter: response.counter, serial: response.serial, expiry: response.expiry,
            expirationCode: response.expirationCode, documentDigest: documentDigest,
            metadataDigest: sha256(request.metadataEncoding), seal: context.personalization.sealIdentity,
            keyID: context.keyID, grantSerial: grant?.serial ?? 0)
        guard try isValidSealSignature(response.signature, over: tbs.encoded(), key: context.sealPublicKey,
                                       algorithm: context.sealKeyAlgorithm) else {
            throw SealDriverError(code: .malformedResponse,
                                  reason: "stamp \(response.counter): signature does not verify under the token's seal key")
        }
        logger.debug("stamped", metadata: ["counter": "\(response.counter)", "serial": "\(response.serial)"])
        let attestation = try await fetchAttestation(nonce: StampRecord.attestationNonce(signature: response.signature))
        return Self.record(context: context, tbs: tbs, signature: response.signature, metadata: metadata,
                           metadataEncoding: request.metadataEncoding, attestation: attestation)
    }

    /// The cached static record parts, read on first use.
    func recordContext() async throws -> RecordContext {
        if let cached = recordContextCache { return cached }
        let chipID = try await readChipID()
        let personalizationBytes = try await requiredData(.personalization)
        let personalization = try decode("personalization") { () throws(SealDataError) in
            try PersonalizationInfo(decoding: personalizationBytes)
        }
        let key = try await requiredData(.sealPublicKey)
        let keyID = try await requiredData(.sealKeyID)
        try Self.checkSealKey(key, keyID: keyID)
        let certificate = try await requiredData(.deviceCertificate)
        let algorithm = sealKeyAlgorithm
        let context = RecordContext(chipID: chipID, personalization: personalization, sealPublicKey: key,
                                    keyID: keyID, deviceCertificate: certificate, sealKeyAlgorithm: algorithm)
        recordContextCache = context
        return context
    }

    static func record(context: RecordContext, tbs: StampTBS, signature: [UInt8], metadata: StampMetadata,
                       metadataEncoding: [UInt8], attestation: SealAttestation) -> StampRecord {
        StampRecord(
            chipID: tbs.chipID, counter: tbs.counter, serial: tbs.serial, expiry: tbs.expiry,
            expirationCode: tbs.expirationCode, documentDigest: tbs.documentDigest, metadata: metadata,
            metadataEncoding: metadataEncoding, metadataDigest: tbs.metadataDigest, featureHash: tbs.seal.featureHash,
            keyID: tbs.keyID, sealPublicKey: context.sealPublicKey, grantSerial: tbs.grantSerial, signature: signature,
            organizationName: tbs.seal.organizationName, sealName: tbs.seal.sealName, sealImageHash: tbs.seal.sealImageHash,
            attestationStatement: attestation.statementBytes, attestationSignature: attestation.signature,
            deviceCertificate: context.deviceCertificate)
    }
}
