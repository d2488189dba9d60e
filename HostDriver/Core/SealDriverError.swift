import SealProtocol

/// The one error type of the host driver.
///
/// Modelled on `CertificateError` from swift-certificates: a struct with a stable ``code`` (a struct
/// with static members, so new codes never break a client's `switch`), plus diagnostics. Inspect
/// ``code`` to react; show ``message`` to people — it is one line that says what happened and what
/// to do about it.
///
/// Card refusals are ``Code-swift.struct/statusWord`` errors carrying the ``statusWord`` and the
/// ``command`` name. Helpers such as ``isPINIncorrect``, ``triesRemaining`` and ``isBlocked``
/// interpret the common ones, so a wrong PIN is simply:
///
/// ```swift
/// do { try await token.verifyPIN(pin) }
/// catch let error as SealDriverError where error.isPINIncorrect {
///     print("Wrong PIN, \(error.triesRemaining ?? 0) tries left")
/// }
/// ```
///
/// `Equatable` and `Hashable` consider ``code`` and ``statusWord`` only; ``reason`` and
/// ``command`` are diagnostics.
public struct SealDriverError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public let code: Code
    /// The status word the token answered, for ``Code-swift.struct/statusWord`` errors.
    public let statusWord: StatusWord?
    /// The command that failed, e.g. `"VERIFY"`, when known.
    public let command: String?
    /// Technical detail for logs. Not part of equality.
    public let reason: String

    /// Creates an error.
    public init(code: Code, reason: String, statusWord: StatusWord? = nil, command: String? = nil) {
        self.code = code
        self.reason = reason
        self.statusWord = statusWord
        self.command = command
    }

    /// An error for a token that refused `command` with `statusWord`.
    public init(statusWord: StatusWord, command: String) {
        self.init(code: .statusWord, reason: "\(command) answered \(statusWord)", statusWord: statusWord, command: command)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code && lhs.statusWord == rhs.statusWord
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(statusWord)
    }

    // MARK: Status-word helpers

    /// `63Cx`: the PIN (or PUK) was wrong; see ``triesRemaining``.
    public var isPINIncorrect: Bool { statusWord?.retriesRemaining != nil }

    /// For `63Cx`, the number of tries left before the PIN (or PUK) blocks.
    public var triesRemaining: Int? { statusWord?.retriesRemaining }

    /// `6983`: the PIN or PUK is blocked.
    public var isBlocked: Bool { statusWord == .authenticationMethodBlocked }

    /// `6982`: the PIN is not verified, the issuer is not authenticated, or a required grant is missing.
    public var isSecurityStatusNotSatisfied: Bool { statusWord == .securityStatusNotSatisfied }

    /// `6985`: the command is not allowed in the token's lifecycle state (or has no precondition met).
    public var isConditionsOfUseNotSatisfied: Bool { statusWord == .conditionsOfUseNotSatisfied }

    /// `6A88`: the requested data object or audit entry does not exist.
    public var isReferencedDataNotFound: Bool { statusWord == .referencedDataNotFound }

    // MARK: Messages

    /// One line for people: what happened and what to do.
    public var message: String {
        switch code {
        case .transportFailure:
            return "Communication with the token failed (\(reason)); check the reader connection and retry."
        case .cardRemoved:
            return "The token was removed; reinsert it and connect again."
        case .noResponse:
            return "The token did not answer (it may have lost power); reconnect it, and if a stamp was in progress call recoverStamp."
        case .notConnected:
            return "The token is not connected; call connect() first."
        case .statusWord:
            return statusWordMessage
        case .malformedResponse:
            return "The token's answer does not follow the seal protocol (\(reason)); check that this is a seal token and report it to the vendor."
        case .responseTooLong:
            return "The token's response exceeded the driver's size limit (\(reason)); reset the token and retry."
        case .getResponseLoopExceeded:
            return "The token kept announcing more response data (61xx) past the round limit; reset the token and retry."
        case .wrongLengthLoop:
            return "The token rejected the corrected response length twice (6Cxx); reset the token and retry."
        case .commandTooLong:
            return "The command data is too long for the token (\(reason)); send less data."
        case .notSupportedByToken:
            return "The token does not support this (\(reason)); use a token or reader that does."
        case .invalidArgument:
            return "Invalid argument: \(reason); correct it and retry."
        case .issuerSigningFailed:
            return "The issuer signer failed (\(reason)); check the issuer key or HSM and retry."
        case .auditChainBroken:
            return "The token's audit log does not verify (\(reason)); stop using the token and contact the issuer."
        case .stampNotRecoverable:
            return "The token's newest audit entry is not the requested stamp (\(reason)); the stamp was not issued, stamp again."
        default:
            return reason
        }
    }

    private var statusWordMessage: String {
        let what = command ?? "The command"
        guard let sw = statusWord else { return "\(what) was refused; check the token state." }
        if let tries = sw.retriesRemaining {
            return tries == 0
                ? "\(what): wrong PIN or PUK, no tries left; the next attempt finds it blocked."
                : "\(what): wrong PIN or PUK, \(tries) tries left; check it before trying again."
        }
        switch sw {
        case .authenticationMethodBlocked:
            return "\(what): the PIN or PUK is blocked; unblock the PIN with the PUK, or ask the issuer if the PUK is blocked."
        case .securityStatusNotSatisfied:
            return "\(what): not authorized; verify the PIN (or authenticate the issuer, or supply a valid grant) first."
        case .conditionsOfUseNotSatisfied:
            return "\(what): not allowed in the token's current lifecycle state; check info().lifecycle."
        case .authenticationFailed:
            return "\(what): issuer authentication failed; check that the issuer key matches this token."
        case .referencedDataNotFound:
            return "\(what): the requested data is not on the token."
        case .wrongData:
            return "\(what): the token rejected the data (\(sw)); check the input values."
        case .memoryFailure:
            return "\(what): the token's memory write failed; retry, and replace the token if it persists."
        case .fileNotFound:
            return "\(what): the seal applet is not on this card; insert a seal token."
        case .insNotSupported, .claNotSupported:
            return "\(what): the token does not know this command (\(sw)); select the seal applet or use a newer token."
        case .wrongLength:
            return "\(what): the token rejected the length (\(sw)); check the input size."
        default:
            return "\(what) failed with \(sw); check the token state and retry."
        }
    }

    public var description: String {
        var head = "SealDriverError.\(code)"
        if let statusWord { head += "(\(statusWord.rawValue.hexWord))" }
        return "\(head): \(message)"
    }

    // MARK: Code

    /// The kind of a ``SealDriverError``. Codes are stable.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The transport failed to exchange bytes (reader error, I/O error, protocol error).
        public static let transportFailure = Code("transportFailure")
        /// The token was removed from the reader.
        public static let cardRemoved = Code("cardRemoved")
        /// The token did not answer at all (mute), e.g. after a power loss.
        public static let noResponse = Code("noResponse")
        /// A ``SealToken`` operation was called before ``SealToken/connect()``.
        public static let notConnected = Code("notConnected")
        /// The token answered a status word other than success; see ``SealDriverError/statusWord``.
        public static let statusWord = Code("statusWord")
        /// The response does not follow ISO 7816-4 or SPEC (too short, bad TLV, wrong lengths).
        public static let malformedResponse = Code("malformedResponse")
        /// The response data exceeded ``APDUPipelineConfiguration/maxResponseLength``.
        public static let responseTooLong = Code("responseTooLong")
        /// More than ``APDUPipelineConfiguration/maxGetResponseRounds`` GET RESPONSE rounds.
        public static let getResponseLoopExceeded = Code("getResponseLoopExceeded")
        /// The token answered `6Cxx` again after the command was re-sent with the length it asked for.
        public static let wrongLengthLoop = Code("wrongLengthLoop")
        /// The command data exceeds what the token accepts (SPEC §3.1: 4096 bytes).
        public static let commandTooLong = Code("commandTooLong")
        /// The token lacks a feature the operation needs (e.g. neither chaining nor extended length).
        public static let notSupportedByToken = Code("notSupportedByToken")
        /// An argument is outside what the protocol allows; nothing was sent.
        public static let invalidArgument = Code("invalidArgument")
        /// The ``IssuerSigner`` threw.
        public static let issuerSigningFailed = Code("issuerSigningFailed")
        /// The audit log's hash chain, head or signatures do not verify.
        public static let auditChainBroken = Code("auditChainBroken")
        /// ``SealToken/recoverStamp(documentDigest:metadata:)`` found no matching audit entry.
        public static let stampNotRecoverable = Code("stampNotRecoverable")

        public var description: String { name }
    }
}

extension UInt16 {
    /// `0x6982` → `"6982"`.
    var hexWord: String { hexString([UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)]) }
}
