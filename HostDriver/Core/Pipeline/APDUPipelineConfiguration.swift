import SealProtocol

/// How the APDU pipeline formats commands and bounds response handling.
///
/// ## Long commands: extended length first, chaining as fallback
///
/// A command whose data exceeds 255 bytes (or ``chainingChunkSize``, when a reader with a small
/// buffer lowers it) cannot be sent as one short APDU. The pipeline chooses:
///
/// 1. **Extended length** (one APDU, `00 Lc1 Lc2 data Le1 Le2`) when ``extendedLength`` is `true`,
///    ``longCommandStrategy`` is ``LongCommandStrategy/extendedLength`` and the data fits
///    ``maxExtendedCommandData``. One round trip, and no chain state on the card that another
///    command could interrupt (`6883`). This is the default for seal tokens, whose ATR declares
///    extended length (SPEC §2.2).
/// 2. **Command chaining** (ISO 7816-4 §5.3.3): parts of ``chainingChunkSize`` bytes, CLA bit `10`
///    set on all but the last, when ``commandChaining`` is `true`. Used when the token or the reader
///    cannot carry extended APDUs, or when ``longCommandStrategy`` is
///    ``LongCommandStrategy/commandChaining``.
/// 3. Otherwise ``SealDriverError/Code-swift.struct/notSupportedByToken``.
///
/// ## Expected length
/// With ``extendedLength`` and ``promoteExpectedLength``, a command built with the default Ne of 256
/// (short `Le 00`, "as much as you have") is sent with extended Le `0000` (65 536), so a long
/// response arrives in one APDU. Other Ne values are sent as given. Without extended length, Ne is
/// capped at 256 and longer responses come through GET RESPONSE.
///
/// ## Bounds
/// Every loop is bounded: at most ``maxGetResponseRounds`` GET RESPONSE rounds, at most
/// ``maxResponseLength`` bytes collected, and at most one consecutive `6Cxx` correction.
public struct APDUPipelineConfiguration: Hashable, Sendable {
    /// Which mechanism carries command data longer than 255 bytes when both are available.
    public enum LongCommandStrategy: Hashable, Sendable {
        /// One extended-length APDU (falls back to chaining if the data exceeds ``maxExtendedCommandData``).
        case extendedLength
        /// Always a chain of short APDUs.
        case commandChaining
    }

    /// The token (and reader) accept extended Lc/Le. From the ATR card-capabilities byte (b7).
    public var extendedLength: Bool
    /// The token accepts command chaining. From the ATR card-capabilities byte (b8).
    public var commandChaining: Bool
    /// The preferred mechanism for long commands.
    public var longCommandStrategy: LongCommandStrategy
    /// Send Ne = 256 as extended Ne = 65 536 when ``extendedLength`` is available.
    public var promoteExpectedLength: Bool
    /// Largest data field sent as one extended APDU (the seal chip accepts 4096, SPEC §3.1).
    public var maxExtendedCommandData: Int
    /// Largest command data accepted at all (one APDU or a whole chain); `nil` for no limit besides
    /// what the encodings can carry. ``SealToken`` sets it from the token's capabilities.
    public var maxCommandData: Int?
    /// Data bytes per chained part, 1…255; also the largest data field sent as one short APDU.
    public var chainingChunkSize: Int
    /// Most GET RESPONSE commands sent for one command. 256 rounds of 256 bytes carry a 64 KiB response.
    public var maxGetResponseRounds: Int
    /// Most response data bytes collected for one command.
    public var maxResponseLength: Int
    /// Replace PIN, PUK and personalization data with `2A` (`*`) bytes in trace events.
    public var redactSecretsInTrace: Bool

    /// Creates a configuration. The defaults are conservative (short APDUs, chaining allowed) until
    /// the ATR is known; use `init(answerToReset:)` after connecting.
    public init(
        extendedLength: Bool = false,
        commandChaining: Bool = true,
        longCommandStrategy: LongCommandStrategy = .extendedLength,
        promoteExpectedLength: Bool = true,
        maxExtendedCommandData: Int = SealApplet.maxCommandData,
        maxCommandData: Int? = nil,
        chainingChunkSize: Int = 255,
        maxGetResponseRounds: Int = 256,
        maxResponseLength: Int = 1 << 20,
        redactSecretsInTrace: Bool = true
    ) {
        self.extendedLength = extendedLength
        self.commandChaining = commandChaining
        self.longCommandStrategy = longCommandStrategy
        self.promoteExpectedLength = promoteExpectedLength
        self.maxExtendedCommandData = maxExtendedCommandData
        self.maxCommandData = maxCommandData
        self.chainingChunkSize = chainingChunkSize
        self.maxGetResponseRounds = maxGetResponseRounds
        self.maxResponseLength = maxResponseLength
        self.redactSecretsInTrace = redactSecretsInTrace
    }

    /// A configuration using what the ATR's card-capabilities object declares (ISO 7816-4 §8.1.1.2.7).
    package init(answerToReset atr: AnswerToReset) {
        self.init(extendedLength: atr.supportsExtendedLength, commandChaining: atr.supportsCommandChaining)
    }
}
