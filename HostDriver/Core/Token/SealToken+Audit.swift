import SealProtocol

extension SealToken {
    /// Reads one audit entry (READ AUDIT LOG, SPEC §8.14); counter 0 reads the newest.
    ///
    /// - Throws: a `statusWord` `6A88` error (``SealDriverError/isReferencedDataNotFound``) when the
    ///   entry is not retained (older than the newest 64, not yet issued, or the log is empty).
    public func auditEntry(counter: UInt32) async throws -> AuditEntry {
        try await session { try await readAuditEntry(counter: counter) }
    }

    /// The audit log window and head hash (GET DATA `0109`); counters are 0 and the head is zeros
    /// while the log is empty.
    public func auditStatus() async throws -> AuditStatus {
        try await session { try await readAuditStatus() }
    }

    /// All retained audit entries, oldest first (newest last), after checking the log end to end:
    /// consecutive counters, every entry's signature over its rebuilt TBS, every previous-hash link,
    /// the first entry linking to zeros when the log starts at counter 1, and the head hash.
    ///
    /// - Parameter sealPublicKey: The seal public key to check signatures with. Defaults to the
    ///   token's; pass the key from a ``StampRecord`` for a TERMINATED token, whose key is zeroized.
    /// - Throws: ``SealDriverError/Code-swift.struct/auditChainBroken`` when anything does not verify;
    ///   ``SealDriverError/Code-swift.struct/notSupportedByToken`` when no seal key is available.
    public func auditLog(sealPublicKey: [UInt8]? = nil) async throws -> [AuditEntry] {
        try await session {
            let status = try await readAuditStatus()
            guard status.newestCounter != 0 else {
                guard status.headHash.allSatisfy({ $0 == 0 }) else {
                    throw SealDriverError(code: .auditChainBroken, reason: "empty log with a non-zero head hash")
                }
                return []
            }
            let capacity = UInt32(max(Int(capabilities?.auditLogCapacity ?? UInt16(SealApplet.auditLogCapacity)), 1))
            guard status.oldestCounter >= 1, status.oldestCounter <= status.newestCounter,
                  status.newestCounter - status.oldestCounter < capacity else {
                throw SealDriverError(code: .malformedResponse,
                                      reason: "audit window \(status.oldestCounter)...\(status.newestCounter) exceeds capacity \(capacity)")
            }

            var key = sealPublicKey ?? recordContextCache?.sealPublicKey
            if key == nil { key = try await getData(.sealPublicKey) }
            guard let key else {
                throw SealDriverError(code: .notSupportedByToken,
                                      reason: "the seal key is zeroized; pass the seal public key from a stamp record to check the log")
            }
            try Self.checkSealKey(key, keyID: nil)
            let algorithm = sealKeyAlgorithm
            let chipID = try await readChipID()
            var seal = recordContextCache?.personalization.sealIdentity
            if seal == nil, let bytes = try await getData(.personalization) {
                seal = try decode("personalization") { () throws(SealDataError) in
                    try PersonalizationInfo(decoding: bytes).sealIdentity
                }
            }
            guard let seal else {
                throw SealDriverError(code: .malformedResponse, reason: "audit entries on a token without personalization")
            }
            var entries: [AuditEntry] = []
            for counter in status.oldestCounter...status.newestCounter {
                entries.append(try await readAuditEntry(counter: counter))
            }
            guard let verifier = signatureVerifiers.verifier(for: algorithm) else {
                throw SealDriverError(code: .notSupportedByToken,
                                      reason: "the seal key is \(algorithm) and no \(algorithm) signature verifier was added "
                                          + "(SealToken.addSignatureVerifier; SM2: SealSM2Verifier)")
            }
            try Self.verifyAuditChain(entries, chipID: chipID, seal: seal, sealPublicKey: key, headHash: status.headHash,
                                      signatureVerifier: verifier)
            return entries
        }
    }

    /// Checks a run of audit entries end to end (SPEC §9.6), without a token: consecutive counters,
    /// every entry's signature under `sealPublicKey` over the TBS rebuilt from `chipID` and `seal`,
    /// every previous-hash link, the first entry linking to zeros when it is counter 1, and the last
    /// entry's chain hash equal to `headHash`. `auditLog(sealPublicKey:)` runs it on what it reads;
    /// a ledger runs it on pushed entries. `signatureVerifier` checks the seal's algorithm (P-256 by
    /// default; SM2 through SealSM2Verifier).
    ///
    /// - Throws: `SealDriverError` `.auditChainBroken` naming the first entry that
    ///   does not verify.
    package static func verifyAuditChain(_ entries: [AuditEntry], chipID: [UInt8], seal: SealIdentity, sealPublicKey key: [UInt8],
                                        headHash: [UInt8],
                                        signatureVerifier: any SealSignatureVerifier = P256SealSignatureVerifier()) throws(SealDriverError) {
        guard let first = entries.first else {
            guard headHash.allSatisfy({ $0 == 0 }) else {
                throw SealDriverError(code: .auditChainBroken, reason: "empty log with a non-zero head hash")
            }
            return
        }
        let keyID = sealKeyID(publicKeyX963: key)
        var previous = first.previousHash
        if first.counter == 1, previous != [UInt8](repeating: 0, count: 32) {
            throw SealDriverError(code: .auditChainBroken, reason: "entry 1 does not link to the zero hash")
        }
        var expectedCounter = first.counter
        for entry in entries {
            guard entry.counter == expectedCounter else {
                throw SealDriverError(code: .auditChainBroken, reason: "entry \(entry.counter) follows entry \(expectedCounter &- 1)")
            }
            guard entry.previousHash == previous else {
                throw SealDriverError(code: .auditChainBroken, reason: "entry \(entry.counter) does not link to entry \(entry.counter &- 1)")
            }
            let tbs = entry.tbs(chipID: chipID, seal: seal, keyID: keyID).encoded()
            guard signatureVerifier.isValidSignature(entry.signature, over: tbs, publicKey: key) else {
                throw SealDriverError(code: .auditChainBroken, reason: "entry \(entry.counter): signature does not verify")
            }
            previous = AuditEntry.chainHash(previous: entry.previousHash, tbs: tbs, signature: entry.signature)
            expectedCounter &+= 1
        }
        guard previous == headHash else {
            throw SealDriverError(code: .auditChainBroken, reason: "the chain does not end at the audit head")
        }
    }

    // MARK: Internals

    func readAuditEntry(counter: UInt32) async throws -> AuditEntry {
        let bytes = try await run(SealCommand.readAuditLog(counter: counter))
        let entry = try decode("audit entry") { () throws(SealDataError) in try AuditEntry(decoding: bytes) }
        guard counter == 0 || entry.counter == counter else {
            throw SealDriverError(code: .malformedResponse, reason: "asked for audit entry \(counter), got \(entry.counter)")
        }
        return entry
    }

    func readAuditStatus() async throws -> AuditStatus {
        let bytes = try await requiredData(.auditStatus)
        return try decode("audit status") { () throws(SealDataError) in try AuditStatus(decoding: bytes) }
    }
}
