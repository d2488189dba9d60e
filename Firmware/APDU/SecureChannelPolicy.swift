import SealProtocol

/// SPEC §14.6: which commands the chip accepts only inside a secure channel, and of which kind.
enum SecureChannelPolicy {
    enum Requirement: Equatable {
        /// Plain or wrapped.
        case none
        /// Inside any channel (SCP11b holder or SCP11a issuer).
        case anyChannel
        /// Inside an SCP11a (issuer) channel.
        case issuerChannel
    }

    /// The requirement of a complete command. VERIFY's status query and log-out carry no secret and
    /// stay plain; a VERIFY with a PIN, the PIN-changing commands and STAMP need a channel; the
    /// issuer commands (PERSONALIZE, SET LIFECYCLE, RESET TIME FLOOR) need the issuer's.
    static func requirement(for instruction: SealInstruction, hasData: Bool) -> Requirement {
        switch instruction {
        case .personalize, .setLifecycle, .resetTimeFloor, .putSESSeal:
            return .issuerChannel
        case .changeReferenceData, .resetRetryCounter, .stamp, .stampSES:
            return .anyChannel
        case .verify:
            return hasData ? .anyChannel : .none
        case .select, .getResponse, .getChallenge, .externalAuthenticate, .getData, .readAuditLog, .getAttestation, .readSESSeal:
            return .none
        }
    }

    /// The key-agreement commands (`80 82`, `80 88`) and the variant each opens.
    static func handshakeVariant(classByte: UInt8, ins: UInt8) -> SCP11Variant? {
        guard classByte == SealClass.proprietary else { return nil }
        switch ins {
        case SCP11Variant.a.instruction: return .a
        case SCP11Variant.b.instruction: return .b
        default: return nil
        }
    }
}

/// The chip's open secure channel: its variant and its messaging state. RAM only.
struct ChipSecureChannel {
    let variant: SCP11Variant
    var session: SCP03SecureMessaging
}
