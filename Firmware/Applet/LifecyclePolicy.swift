import SealProtocol

/// SPEC §6: which commands each lifecycle state allows (any other → `6985`).
enum LifecyclePolicy {
    static func allows(_ instruction: SealInstruction, in state: LifecycleState) -> Bool {
        switch instruction {
        case .select, .getResponse, .getChallenge, .externalAuthenticate, .getData:
            return true
        case .personalize:
            return state == .manufactured
        case .setLifecycle:
            return state != .terminated
        case .verify, .changeReferenceData, .resetRetryCounter, .getAttestation, .resetTimeFloor:
            return state == .personalized || state == .active || state == .suspended
        case .stamp, .stampSES:
            return state == .active
        case .putSESSeal:
            return state == .personalized
        case .readAuditLog, .readSESSeal:
            return state != .manufactured
        }
    }
}
