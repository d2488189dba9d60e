/// Builders for every seal command (SPEC §8), used by the host driver and the conformance suite.
///
/// Each returns one logical command; splitting into a chain and fetching 61xx is the transport
/// pipeline's job. `ne` defaults to 256 (short `Le 00`) for commands with a response: the pipeline
/// promotes it to extended length when the token declares extended length.
public enum SealCommand {
    public static func select(aid: [UInt8] = SealApplet.aid, returnFCI: Bool = true) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.select.rawValue, p1: 0x04, p2: returnFCI ? 0x00 : 0x0C,
                    data: aid, ne: returnFCI ? 256 : nil)
    }

    public static func getResponse(ne: Int) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.getResponse.rawValue, p1: 0, p2: 0, data: [], ne: ne)
    }

    public static func getChallenge() -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.getChallenge.rawValue, p1: 0, p2: 0, data: [], ne: SealApplet.challengeLength)
    }

    public static func externalAuthenticate(signature: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.externalAuthenticate.rawValue, p1: 0, p2: issuerKeyReference,
                    data: signature, ne: nil)
    }

    public static func getData(_ object: SealDataObject, ne: Int = 256) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: SealInstruction.getData.rawValue, p1: UInt8(object.rawValue >> 8),
                    p2: UInt8(object.rawValue & 0xFF), data: [], ne: ne)
    }

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

    public static func changePIN(current: String, new: String) -> CommandAPDU {
        let data = [TLV(tag: SealTag.currentPIN, value: Array(current.utf8)), TLV(tag: SealTag.newPIN, value: Array(new.utf8))].encoded()
        return CommandAPDU(cla: 0x00, ins: SealInstruction.changeReferenceData.rawValue, p1: 0, p2: sealPINReference, data: data, ne: nil)
    }

    public static func resetRetryCounter(puk: String, newPIN: String) -> CommandAPDU {
        let data = [TLV(tag: SealTag.pukValue, value: Array(puk.utf8)), TLV(tag: SealTag.newPIN, value: Array(newPIN.utf8))].encoded()
        return CommandAPDU(cla: 0x00, ins: SealInstruction.resetRetryCounter.rawValue, p1: 0, p2: sealPINReference, data: data, ne: nil)
    }

    public static func personalize(_ data: PersonalizationData) throws(SealDataError) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.personalize.rawValue, p1: 0, p2: 0, data: try data.encoded(), ne: 256)
    }

    public static func setLifecycle(_ target: LifecycleState) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.setLifecycle.rawValue, p1: target.rawValue, p2: 0, data: [], ne: nil)
    }

    public static func stamp(_ request: StampRequest) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.stamp.rawValue, p1: 0, p2: 0, data: request.encoded(), ne: 256)
    }

    /// READ AUDIT LOG; counter 0 asks for the newest entry (SPEC §8.14).
    public static func readAuditLog(counter: UInt32) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.readAuditLog.rawValue, p1: 0, p2: 0, data: bigEndianBytes(counter), ne: 256)
    }

    public static func getAttestation(nonce: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x80, ins: SealInstruction.getAttestation.rawValue, p1: 0, p2: 0, data: nonce, ne: 256)
    }
}
