import SealProtocol

/// Why a command did not complete normally — the firmware's `ISOException`.
///
/// Handlers throw ``status(_:)`` for every rejected input (SPEC §5: the command then changed no
/// state) and for execution results without data. ``powerLost`` is not an answer: the NVM lost
/// power under the command, so the chip goes mute and stays unpowered until the next power-on.
enum CommandFailure: Error, Equatable {
    /// Answer this status word with no response data.
    case status(StatusWord)
    /// The NVM reported a power loss; the chip must not answer at all.
    case powerLost

    static let wrongLength = CommandFailure.status(.wrongLength)
    static let incorrectP1P2 = CommandFailure.status(.incorrectP1P2)
    static let insNotSupported = CommandFailure.status(.insNotSupported)
    static let conditionsNotSatisfied = CommandFailure.status(.conditionsOfUseNotSatisfied)
    static let securityNotSatisfied = CommandFailure.status(.securityStatusNotSatisfied)
    static let blocked = CommandFailure.status(.authenticationMethodBlocked)
    static let wrongData = CommandFailure.status(.wrongData)
    static let referencedDataNotFound = CommandFailure.status(.referencedDataNotFound)
    static let memoryFailure = CommandFailure.status(.memoryFailure)
    /// An internal failure no input can provoke (e.g. the crypto library refusing to sign).
    static let internalError = CommandFailure.status(.noPreciseDiagnosis)
}
