import SealProtocol

/// SPEC §3.2: the class bytes the applet accepts, and the status word for any other.
enum ClassByteRules {
    /// `nil` when `cla` is `00`, `10`, `80` or `90`, or one of them with the secure-messaging bit
    /// `04` (SPEC §14.4); otherwise the status word of SPEC §3.2: logical-channel bits (`03`) →
    /// `6881`, else other secure-messaging bits (`0C`) → `6882`, else `6E00`.
    static func rejection(for cla: UInt8) -> StatusWord? {
        switch cla {
        case 0x00, 0x10, 0x80, 0x90, 0x04, 0x14, 0x84, 0x94:
            return nil
        case _ where cla & 0x03 != 0:
            return .logicalChannelNotSupported
        case _ where cla & 0x0C != 0:
            return .secureMessagingNotSupported
        default:
            return .claNotSupported
        }
    }

    /// Whether CLA announces that more parts of a chain follow (bit `10`).
    static func isChainedPart(_ cla: UInt8) -> Bool {
        cla & SealClass.chainingBit != 0
    }

    /// Whether CLA announces a wrapped command (secure-messaging bit `04`, SPEC §14.4).
    static func isWrapped(_ cla: UInt8) -> Bool {
        cla & SCP03SecureMessaging.secureMessagingBit != 0
    }
}
