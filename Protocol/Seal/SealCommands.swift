/// Builders for every seal command (SPEC §8), used by the host driver and the conformance suite.
///
/// Each returns one logical command; splitting into a chain and fetching 61xx is the transport
/// pipeline's job. `ne` defaults to 256 (short `Le 00`) for commands with a response: the pipeline
/// promotes it to extended length when the token declares extended length.
public enum SealCommand {
    /// SELECT by AID (SPEC §8.1); with `returnFCI` the response is the FCI (P2 `00`), else nothing
    /// (P2 `0C`).
    public static func select(aid: [UInt8] = SealApplet.aid, returnFCI: Bool = true) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.select.rawValue, p1: 0x04, p2: returnFCI ? 0x00 : 0x0C,
                    data: aid, ne: returnFCI ? 256 : nil)
    }

    /// GET RESPONSE for up to `ne` pending bytes (SPEC §8.2).
    public static func getResponse(ne: Int) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.getResponse.rawValue, p1: 0, p2: 0, data: [], ne: ne)
    }

    /// GET CHALLENGE: 16 random bytes the issuer signs next (SPEC §8.3).
    public static func getChallenge() -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.getChallenge.rawValue, p1: 0, p2: 0, data: [], ne: SealApplet.challengeLength)
    }

    /// EXTERNAL AUTHENTICATE with the issuer's DER ECDSA signature over the SPEC §9.1 bytes.
    public static func externalAuthenticate(signature: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.externalAuthenticate.rawValue, p1: 0, p2: issuerKeyReference,
                    data: signature, ne: nil)
    }

    /// GET DATA of one object (SPEC §8.5).
    public static func getData(_ object: SealDataObject, ne: Int = 256) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.getData.rawValue, p1: UInt8(object.rawValue >> 8),
                    p2: UInt8(object.rawValue & 0xFF), data: [], ne: ne)
    }

    /// VERIFY with the PIN's ASCII digits (SPEC §8.6).
    public static func verify(pin: String) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.verify.rawValue, p1: 0, p2: sealPINReference, data: Array(pin.utf8), ne: nil)
    }

    /// VERIFY without data: asks the verification status (SPEC §8.6).
    public static func verifyStatus() -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.verify.rawValue, p1: 0, p2: sealPINReference, data: [], ne: nil)
    }

    /// VERIFY P1 `FF`: clears the PIN-verified flag (SPEC §8.6).
    public static func logout() -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.verify.rawValue, p1: 0xFF, p2: sealPINReference, data: [], ne: nil)
    }

    /// CHANGE REFERENCE DATA: `81` current PIN, `82` new PIN (SPEC §8.7).
    public static func changePIN(current: String, new: String) -> CommandAPDU {
        let data = [TLV(tag: SealTag.currentPIN, value: Array(current.utf8)), TLV(tag: SealTag.newPIN, value: Array(new.utf8))].encoded()
        return CommandAPDU(cla: 0x00, ins: SealInstruction.changeReferenceData.rawValue, p1: 0, p2: sealPINReference, data: data, ne: nil)
    }

    /// RESET RETRY COUNTER: `83` PUK, `82` new PIN (SPEC §8.8).
    public static func resetRetryCounter(puk: String, newPIN: String) -> CommandAPDU {
        let data = [TLV(tag: SealTag.pukValue, value: Array(puk.utf8)), TLV(tag: SealTag.newPIN, value: Array(newPIN.utf8))].encoded()
        return CommandAPDU(cla: 0x00, ins: SealInstruction.resetRetryCounter.rawValue, p1: 0, p2: sealPINReference, data: data, ne: nil)
    }

    /// RESET RETRY COUNTER P1 `02`, the issuer's unblock: `82` new PIN only; needs issuer
    /// authentication (SPEC §8.8).
    public static func issuerResetRetryCounter(newPIN: String) -> CommandAPDU {
        let data = TLV(tag: SealTag.newPIN, value: Array(newPIN.utf8)).encoded()
        return CommandAPDU(cla: 0x00, ins: SealInstruction.resetRetryCounter.rawValue, p1: issuerUnblockP1, p2: sealPINReference,
                           data: data, ne: nil)
    }

    /// PERSONALIZE with `data` encoded (SPEC §8.11); long enough to need chaining.
    ///
    /// - Throws: ``SealDataError`` when `data` fails ``PersonalizationData/validate()``.
    public static func personalize(_ data: PersonalizationData) throws(SealDataError) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.personalize.rawValue, p1: 0, p2: 0, data: try data.encoded(), ne: 256)
    }

    /// SET LIFECYCLE to `target` (SPEC §8.12).
    public static func setLifecycle(_ target: LifecycleState) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.setLifecycle.rawValue, p1: target.rawValue, p2: 0, data: [], ne: nil)
    }

    /// RESET TIME FLOOR to `floor`, seconds since the epoch (SPEC §8.16): the issuer's answer to
    /// stamps dated in the future; accepted only inside the SCP11a issuer channel (SPEC §14.6).
    public static func resetTimeFloor(to floor: UInt64) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.resetTimeFloor.rawValue, p1: 0, p2: 0, data: bigEndianBytes(floor), ne: nil)
    }

    /// STAMP with `request` as data (SPEC §8.13).
    public static func stamp(_ request: StampRequest) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.stamp.rawValue, p1: 0, p2: 0, data: request.encoded(), ne: 256)
    }

    /// READ AUDIT LOG; counter 0 asks for the newest entry (SPEC §8.14).
    public static func readAuditLog(counter: UInt32) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.readAuditLog.rawValue, p1: 0, p2: 0, data: bigEndianBytes(counter), ne: 256)
    }

    /// PUT SES SEAL: `chunk` of the DER SES_Seal at `offset` (SPEC §8.18); offset 0 starts a new seal.
    public static func putSESSeal(offset: UInt16, chunk: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.putSESSeal.rawValue, p1: UInt8(offset >> 8), p2: UInt8(offset & 0xFF),
                    data: chunk, ne: nil)
    }

    /// READ SES SEAL: up to `ne` bytes of the installed SES_Seal from `offset` (SPEC §8.19).
    public static func readSESSeal(offset: UInt16, ne: Int = 256) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.readSESSeal.rawValue, p1: UInt8(offset >> 8), p2: UInt8(offset & 0xFF),
                    data: [], ne: ne)
    }

    /// STAMP-SES with `request` as data (SPEC §8.17).
    public static func stampSES(_ request: SESStampRequest) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.stampSES.rawValue, p1: 0, p2: 0, data: request.encoded(), ne: 256)
    }

    /// GET ATTESTATION with a nonce of 0–32 bytes (SPEC §8.15).
    public static func getAttestation(nonce: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.getAttestation.rawValue, p1: 0, p2: 0, data: nonce, ne: 256)
    }
}
