import Crypto
import SealProtocol

extension SealAppletRuntime {
    /// STAMP (SPEC §8.13): `80 54 00 00 Lc 90 digest A1 metadata [A2 grant] [Le]`.
    ///
    /// Checks in the order of §8.13; then signs, commits counter + audit entry + audit head (+ grant
    /// serial) in ONE transaction, and only after the commit returns the stamp.
    func stamp(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .stamp)
        guard security.pinVerified else { throw .securityNotSatisfied }
        // The fields the chip uses, as slices of the command data: the same checks as decoding a
        // `StampRequest`, without building the metadata (the chip signs its encoding's digest).
        guard let request = try? StampRequestFields(decoding: command.data) else { throw .wrongData }
        let issued = try issueStamp(request, extraSignature: nil)
        return CommandResult(data: issued.response.encoded())
    }

    /// A stamp about to be committed: what STAMP-SES's extra signature needs of it.
    struct PendingStamp {
        let request: StampRequestFields
        let chipID: [UInt8]
        let response: StampResponse
        let metadataDigest: [UInt8]
        let grantSerial: UInt32
        let sealKey: SealSigningKey
    }

    /// Steps 6–8 of §8.13 and the processing of a stamp, shared by STAMP and STAMP-SES (§8.17):
    /// time, grant and counter checks, watermark, TBS and signature, then `extraSignature` (run
    /// before anything is written, so its refusal changes nothing), then ONE transaction, then
    /// (PIN always) the PIN verification consumed.
    func issueStamp(_ request: StampRequestFields,
                    extraSignature: ((PendingStamp) throws(CommandFailure) -> [UInt8])?)
        throws(CommandFailure) -> (response: StampResponse, extra: [UInt8]?) {
        let validity = try store.watermarkValidity()
        let (expiry, overflow) = request.time.addingReportingOverflow(UInt64(validity))
        guard !overflow else { throw .wrongData }
        // Time (SPEC §8.13): no stamp dated more than the tolerance before the time floor, so the
        // host cannot roll time back.
        let head = try store.auditHead()
        let (latest, beyondRange) = request.time.addingReportingOverflow(UInt64(try store.timeTolerance()))
        let floor = try store.timeFloor(head: head)
        guard beyondRange || latest >= floor else { throw .wrongData }

        let chipID = try store.chipID()
        let counter = try store.signatureCounter()
        let nextCounter = UInt64(counter) + 1
        var grantSerial: UInt32 = 0
        let ledger = try store.grantLedger()
        if let grant = request.grant {
            // A grant, when present, must be valid even if the policy does not require one.
            guard let authorityKey = try store.remoteAuthorityKey(),
                  GrantValidator.accepts(grant, authorityKey: authorityKey, chipID: chipID, newCounter: nextCounter,
                                         stampTime: request.time, documentDigest: Array(request.documentDigest),
                                         ledger: ledger) else {
                throw .securityNotSatisfied
            }
            grantSerial = grant.serial
        } else if try store.requiresRemoteAuthorization() {
            throw .securityNotSatisfied
        }
        guard counter < UInt32.max else { throw .conditionsNotSatisfied }
        let n = counter + 1

        // 1. Watermark.
        let chipParts = store.keyObjects.chipParts(for: chipID)
        let serial = Watermark.serial(chipPrefix: chipParts.serialPrefix, counter: n)
        let code = Watermark.expirationCode(keyedMAC: try store.watermarkMAC(), serial: serial, expiry: expiry)
        // 2. TBS and signature, with the seal key's algorithm (SPEC §7.1).
        let (sealKey, keyID) = try store.sealKeyForStamp()
        var metadataHasher = SHA256()
        request.metadataEncoding.withUnsafeBytes { metadataHasher.update(bufferPointer: $0) }
        let metadataDigest = metadataHasher.finalize().withUnsafeBytes { Array($0) }
        let sealPart = try store.tbsSealPart(keyID: keyID)
        // One buffer holds what the audit chain hashes (SPEC §9.6): "SEALKIT-AUDIT-V1" ‖ previous
        // entry hash ‖ TBS ‖ signature. The TBS is written into it in place (the parts every stamp
        // shares kept from the last), signed where it lies, the signature appended after it, and
        // the chain hash taken over the whole buffer in one update.
        let chainStart = AuditEntry.chainDomain.count + head.hash.count
        let tbsLength = chipParts.tbsChipPart.count + StampTBS.stampPartLength(serial: serial, expirationCode: code)
            + request.documentDigest.count + metadataDigest.count + sealPart.count + 4
        var chained: [UInt8] = []
        chained.reserveCapacity(chainStart + tbsLength + ChipSigner.maximumSignatureLength)
        chained += AuditEntry.chainDomain
        chained += head.hash
        StampTBS.append(chipPart: chipParts.tbsChipPart, counter: n, serial: serial, expiry: expiry, expirationCode: code,
                        documentDigest: request.documentDigest, metadataDigest: metadataDigest, sealPart: sealPart,
                        grantSerial: grantSerial, to: &chained)
        let signature = try ChipSigner.sign(chained[chainStart...], with: sealKey)
        let response = StampResponse(counter: n, serial: serial, expiry: expiry, expirationCode: code, signature: signature)
        let extra = try extraSignature?(PendingStamp(request: request, chipID: chipID, response: response,
                                                     metadataDigest: metadataDigest, grantSerial: grantSerial, sealKey: sealKey))
        // 3. One transaction: counter, audit entry, audit head, grant serial.
        chained += signature
        var chainHasher = SHA256()
        chained.withUnsafeBytes { chainHasher.update(bufferPointer: $0) }
        let newHead = chainHasher.finalize().withUnsafeBytes { AuditHead.encoded(newestCounter: n, hash: $0) }
        let storedEntry = AuditEntry.encoded(
            counter: n, time: request.time, documentDigest: request.documentDigest, metadataDigest: metadataDigest,
            serial: serial, expiry: expiry, expirationCode: code, grantSerial: grantSerial, previousHash: head.hash,
            signature: signature)
        try store.atomically { () throws(CommandFailure) in
            try store.write(.signatureCounter, bigEndianBytes(n))
            try store.write(.auditSlot(forCounter: n), storedEntry)
            try store.write(.auditHead, newHead)
            if request.grant != nil {
                try store.write(.lastGrantSerial, ledger.recording(grantSerial).encoded)
            }
        }
        // The next STAMP's time floor reads this entry: its time is known without decoding it.
        store.keyObjects.rememberAuditEntry(stored: storedEntry, counter: n, time: request.time)
        // PIN always (seal policy bit 1): this STAMP consumed the verification. Cleared only after
        // the commit, so a STAMP refused with an error leaves the security state as it was (§5).
        if try store.sealPolicy() & SealPolicy.pinPerStamp != 0 {
            security.pinVerified = false
        }
        // 4. Only now does the signature leave the chip.
        return (response, extra)
    }
}
