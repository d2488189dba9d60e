import SealProtocol

/// The one error type of the host driver.
///
/// Everything a ``SealToken`` method throws is a `SealDriverError` (or `CancellationError`),
/// whatever the transport: the PC/SC and USB backends wrap their own errors as
/// ``Code-swift.struct/transportFailure``, ``Code-swift.struct/cardRemoved`` or
/// ``Code-swift.struct/noResponse`` and keep the original in ``underlyingError``.
/// ``StampRecord/init(jsonData:)``, ``SealDigest/sha256(contentsOf:)``, ``StampVerifier``'s
/// initializers and ``StampVerificationReport/throwIfInvalid()`` throw it too, so a whole
/// stamp-and-verify flow meets this one type.
///
/// It follows `CodedError` (after `CertificateError` of swift-certificates): a stable ``code``
/// (a struct with static members, so new codes never break a client's `switch`), a ``reason`` for
/// logs, and diagnostics. Equality and hashing consider ``code`` only: compare
/// ``statusWord`` explicitly to tell two card refusals apart. Inspect ``code`` to react; show
/// ``message`` to people — it is one line that says what happened and what to do about it.
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
public struct SealDriverError: CodedError {
    /// The kind of failure.
    public let code: Code
    /// Technical detail for logs. Not part of equality.
    public let reason: String
    /// The status word the token answered, for ``Code-swift.struct/statusWord`` errors (and the
    /// last one seen for ``Code-swift.struct/wrongLengthLoop`` and
    /// ``Code-swift.struct/getResponseLoopExceeded``). Not part of equality.
    public let statusWord: StatusWord?
    /// The command that failed, e.g. `"VERIFY"`, when known. Not part of equality.
    public let command: String?
    /// For ``Code-swift.struct/malformedRecord``: the path of the JSON field that is wrong, e.g.
    /// `"metadata.latitudeMicrodegrees"` (empty when the text is not JSON at all). Not part of
    /// equality.
    public let field: String?
    /// For ``Code-swift.struct/stampInvalid``: the first verification check that failed. Not part
    /// of equality.
    public let failedCheck: StampVerificationCheck.ID?
    /// The backend error this one wraps (a `PCSCError` or `USBError`, an I/O error), for
    /// diagnostics; its description is also in ``reason``. Not part of equality.
    public let underlyingError: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - reason: Technical detail for logs.
    ///   - statusWord: The status word the token answered, if any.
    ///   - command: The name of the command that failed, if known.
    ///   - underlyingError: The backend error being wrapped, if any.
    public init(code: Code, reason: String, statusWord: StatusWord? = nil, command: String? = nil,
                underlyingError: (any Error)? = nil) {
        self.init(code: code, reason: reason, statusWord: statusWord, command: command, field: nil,
                  failedCheck: nil, underlyingError: underlyingError)
    }

    /// An error for a token that refused `command` with `statusWord`.
    package init(statusWord: StatusWord, command: String) {
        self.init(code: .statusWord, reason: "\(command) answered \(statusWord)", statusWord: statusWord, command: command)
    }

    init(code: Code, reason: String, statusWord: StatusWord?, command: String?, field: String?,
         failedCheck: StampVerificationCheck.ID?, underlyingError: (any Error)?) {
        self.code = code
        self.reason = reason
        self.statusWord = statusWord
        self.command = command
        self.field = field
        self.failedCheck = failedCheck
        self.underlyingError = underlyingError
    }

    /// A ``Code-swift.struct/malformedRecord`` error naming the JSON `field` that is wrong.
    static func malformedRecord(field: String, _ reason: String) -> SealDriverError {
        SealDriverError(code: .malformedRecord, reason: reason, statusWord: nil, command: nil, field: field,
                        failedCheck: nil, underlyingError: nil)
    }

    /// A ``Code-swift.struct/stampInvalid`` error for a failed verification check.
    init(failedCheck check: StampVerificationCheck) {
        self.init(code: .stampInvalid, reason: "\(check.id): \(check.detail)", statusWord: nil, command: nil, field: nil,
                  failedCheck: check.id, underlyingError: nil)
    }

    /// `error` as a driver error: itself when it is one, otherwise a
    /// ``Code-swift.struct/transportFailure`` that wraps it (its description in ``reason``, the
    /// error in ``underlyingError``). `CancellationError` is not mapped: callers rethrow it.
    package static func wrapping(_ error: any Error, context: String) -> SealDriverError {
        if let error = error as? SealDriverError { return error }
        return SealDriverError(code: .transportFailure, reason: "\(context): \(error)", underlyingError: error)
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
            // 6581 on a transport failure: a file-based token whose state could not be stored
            // (read-only file, folder or file system, or a full disk). The reader is not the problem.
            if statusWord == .memoryFailure {
                return "The token's storage refused the write, so the command changed nothing (\(reason)); "
                    + "the token's storage is read-only or full: make it writable and retry."
            }
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
        case .malformedRecord:
            // A value out of range or a duplicated key is valid JSON: name the field, not "JSON".
            if let field, !field.isEmpty {
                return "The stamp record is invalid at \"\(field)\" (\(reason)); use the file the stamp produced, unmodified."
            }
            return "The file is not a stamp record (\(reason)); use the file the stamp produced, unmodified."
        case .invalidTrustAnchors:
            return "The trusted root certificates are unusable (\(reason)); give the vendor root certificate as PEM or DER."
        case .fileUnreadable:
            return "Cannot read the file (\(reason)); check the path and its permissions."
        case .stampInvalid:
            return "The stamp does not verify (\(reason)); do not trust it."
        case .chipNotAuthenticated:
            return "The token was not authenticated as a genuine seal chip (\(reason)); give the vendor root certificate that certifies it, or use another token."
        case .counterExhausted:
            return "The token's signature counter is exhausted (\(reason)); it can issue no more stamps: retire it and use another token."
        default:
            return reason
        }
    }

    private var statusWordMessage: String {
        let what = command ?? "The command"
        guard let sw = statusWord else { return "\(what) was refused; check the token state." }
        // The PUK is what RESET RETRY COUNTER checks; VERIFY and CHANGE REFERENCE DATA check the PIN.
        let secret = command == "RESET RETRY COUNTER" ? "PUK" : command == nil ? "PIN or PUK" : "PIN"
        let unblock = secret == "PUK"
            ? "the token can no longer be unblocked; ask the issuer"
            : "unblock it with the PUK (`sealctl pin unblock`, or unblockPIN(puk:newPIN:))"
        if let tries = sw.retriesRemaining {
            // 63C0 answers the try that blocked it: the secret is blocked now, not at the next try.
            return tries == 0
                ? "\(what): wrong \(secret); the \(secret) is now blocked: \(unblock)."
                : "\(what): wrong \(secret), \(tries) \(tries == 1 ? "try" : "tries") left before the \(secret) blocks; check it before trying again."
        }
        switch sw {
        case .authenticationMethodBlocked:
            return "\(what): the \(secret) is blocked; \(unblock)."
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

    /// `SealDriverError.<code>(<status word>): <message>`, e.g.
    /// `SealDriverError.statusWord(63C2): VERIFY: wrong PIN or PUK, 2 tries left; …`.
    public var description: String {
        var head = "SealDriverError.\(code)"
        if let statusWord { head += "(\(statusWord.rawValue.hexWord))" }
        return "\(head): \(message)"
    }

    // MARK: Code

    /// The kind of a ``SealDriverError``. Codes are stable.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case transportFailure, cardRemoved, noResponse, notConnected, statusWord, malformedResponse
            case responseTooLong, getResponseLoopExceeded, wrongLengthLoop, commandTooLong, notSupportedByToken
            case invalidArgument, issuerSigningFailed, auditChainBroken, stampNotRecoverable
            case malformedRecord, invalidTrustAnchors, fileUnreadable, stampInvalid, counterExhausted
            case secureChannelFailure, chipNotAuthenticated
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The transport failed to exchange bytes (reader error, I/O error, protocol error).
        public static let transportFailure = Code(.transportFailure)
        /// The token was removed from the reader.
        public static let cardRemoved = Code(.cardRemoved)
        /// STAMP was refused (`6985`, kept in ``SealDriverError/statusWord``) because the signature
        /// counter is at its end (`FFFFFFFF`): the token can issue no more stamps.
        public static let counterExhausted = Code(.counterExhausted)
        /// The token did not answer at all (mute), e.g. after a power loss.
        public static let noResponse = Code(.noResponse)
        /// A ``SealToken`` operation was called before ``SealToken/connect()``.
        public static let notConnected = Code(.notConnected)
        /// The token answered a status word other than success; see ``SealDriverError/statusWord``.
        public static let statusWord = Code(.statusWord)
        /// The response does not follow ISO 7816-4 or SPEC (too short, bad TLV, wrong lengths).
        public static let malformedResponse = Code(.malformedResponse)
        /// The response data exceeded ``APDUPipelineConfiguration/maxResponseLength``.
        public static let responseTooLong = Code(.responseTooLong)
        /// More than ``APDUPipelineConfiguration/maxGetResponseRounds`` GET RESPONSE rounds.
        public static let getResponseLoopExceeded = Code(.getResponseLoopExceeded)
        /// The token answered `6Cxx` again after the command was re-sent with the length it asked for.
        public static let wrongLengthLoop = Code(.wrongLengthLoop)
        /// The command data exceeds what the token accepts (SPEC §3.1: 4096 bytes).
        public static let commandTooLong = Code(.commandTooLong)
        /// The token lacks a feature the operation needs (e.g. neither chaining nor extended length).
        public static let notSupportedByToken = Code(.notSupportedByToken)
        /// An argument is outside what the protocol allows; nothing was sent.
        public static let invalidArgument = Code(.invalidArgument)
        /// The ``IssuerSigner`` threw.
        public static let issuerSigningFailed = Code(.issuerSigningFailed)
        /// The audit log's hash chain, head or signatures do not verify.
        public static let auditChainBroken = Code(.auditChainBroken)
        /// ``SealToken/recoverStamp(documentDigest:metadata:)`` found no matching audit entry.
        public static let stampNotRecoverable = Code(.stampNotRecoverable)
        /// ``StampRecord/init(jsonData:)`` met text that is not a stamp record; ``SealDriverError/field``
        /// names the JSON field that is wrong.
        public static let malformedRecord = Code(.malformedRecord)
        /// ``StampVerifier`` was given trusted roots that hold no certificate, or a certificate that
        /// does not parse.
        public static let invalidTrustAnchors = Code(.invalidTrustAnchors)
        /// A file (a document to hash) could not be opened or read.
        public static let fileUnreadable = Code(.fileUnreadable)
        /// A stamp record failed verification; ``SealDriverError/failedCheck`` names the first failed
        /// check (``StampVerificationReport/throwIfInvalid()``, ``StampVerifier/validate(_:document:options:)``).
        public static let stampInvalid = Code(.stampInvalid)
        /// The secure channel (SPEC §14) failed: a key-agreement certificate that does not
        /// validate, a receipt or response MAC that does not match. The channel is closed.
        public static let secureChannelFailure = Code(.secureChannelFailure)
        /// The chip was not authenticated (SPEC §14.2): its key-agreement certificate does not
        /// chain to one of ``SecureChannelSettings/trustedVendorRoots``, or no root was given and
        /// the settings do not opt out with ``SecureChannelSettings/allowsUnauthenticatedChip``.
        /// Nothing was sent after the certificate was read: no PIN, no document.
        public static let chipNotAuthenticated = Code(.chipNotAuthenticated)

        /// The code's stable name, e.g. `"statusWord"`.
        public var description: String { value.rawValue }
    }
}

extension UInt16 {
    /// `0x6982` → `"6982"`.
    var hexWord: String { hexString([UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)]) }
}
