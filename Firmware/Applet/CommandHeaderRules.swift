import SealProtocol

/// SPEC §5 step 5: the P1-P2 each instruction accepts (SPEC §8).
enum CommandHeaderRules {
    static func acceptsP1P2(_ instruction: SealInstruction, p1: UInt8, p2: UInt8) -> Bool {
        switch instruction {
        case .select:
            return p1 == 0x04 && (p2 == 0x00 || p2 == 0x0C)
        case .getResponse, .getChallenge, .personalize, .stamp, .readAuditLog, .getAttestation, .resetTimeFloor, .stampSES:
            return p1 == 0x00 && p2 == 0x00
        case .putSESSeal, .readSESSeal:
            // P1-P2 is the offset; whether it fits what is stored is checked with the data.
            return true
        case .externalAuthenticate:
            return p1 == 0x00 && p2 == issuerKeyReference
        case .getData:
            // P1-P2 is the object tag; an unknown tag is referenced data not found (6A88), step 9.
            return true
        case .verify:
            return (p1 == 0x00 || p1 == 0xFF) && p2 == sealPINReference
        case .changeReferenceData:
            return p1 == 0x00 && p2 == sealPINReference
        case .resetRetryCounter:
            // P1 00: with the PUK; P1 02: the issuer's unblock, new PIN only (SPEC v2 §8.8).
            return (p1 == 0x00 || p1 == issuerUnblockP1) && p2 == sealPINReference
        case .setLifecycle:
            return p2 == 0x00 && LifecycleState(rawValue: p1) != nil
        }
    }

    /// The status word for a refused P1-P2: `6B00` for GET RESPONSE, `6A86` otherwise (SPEC §4).
    static func rejection(for instruction: SealInstruction) -> StatusWord {
        instruction == .getResponse ? .wrongP1P2 : .incorrectP1P2
    }
}
