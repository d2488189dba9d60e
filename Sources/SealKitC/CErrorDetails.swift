import CSealKit
import SealHostDriver
import SealKitCBridge
import SealPCSC
import SealProtocol
import SealUSB

/// What a `sealkit_error` reports for a Swift error: the stable C code, one line for people, and
/// for card refusals the status word and PIN tries left.
///
/// This is the one place where the driver's error codes meet the C codes; docs/c-library.md has
/// the table.
struct CErrorDetails: Equatable, Sendable {
    var code: Int32
    var message: String
    /// The status word for card refusals, else -1.
    var statusWord: Int32 = -1
    /// PIN tries left for a wrong PIN, else -1.
    var triesRemaining: Int32 = -1

    init(code: Int32, message: String, statusWord: Int32 = -1, triesRemaining: Int32 = -1) {
        self.code = code
        self.message = message
        self.statusWord = statusWord
        self.triesRemaining = triesRemaining
    }

    init(_ error: any Error) {
        switch error {
        case let error as CLibraryError:
            self.init(code: error.code.cCode, message: error.reason)
        case let error as SealDriverError:
            self.init(error)
        case let error as PCSCError:
            self.init(code: Self.code(for: error), message: error.message)
        case let error as USBError:
            self.init(code: Self.code(for: error), message: error.message)
        case let error as BlockingCallError:
            self.init(code: SEALKIT_E_WRONG_THREAD, message: error.reason)
        case is CancellationError:
            self.init(code: SEALKIT_E_INTERNAL, message: "the operation was cancelled")
        default:
            self.init(code: SEALKIT_E_INTERNAL, message: "unexpected failure: \(error)")
        }
    }

    private init(_ error: SealDriverError) {
        if error.code == .statusWord, let statusWord = error.statusWord {
            let code: Int32 =
                if error.isPINIncorrect { SEALKIT_E_PIN_INCORRECT }
                else if error.isBlocked { SEALKIT_E_PIN_BLOCKED }
                else if error.isSecurityStatusNotSatisfied { SEALKIT_E_NOT_AUTHORIZED }
                else if error.isConditionsOfUseNotSatisfied { SEALKIT_E_WRONG_LIFECYCLE }
                else if error.isReferencedDataNotFound { SEALKIT_E_DATA_NOT_FOUND }
                else { SEALKIT_E_CARD_REFUSED }
            self.init(code: code, message: error.message, statusWord: Int32(statusWord.rawValue),
                      triesRemaining: error.triesRemaining.map { Int32($0) } ?? -1)
            return
        }
        // STAMP's 6985 at counter FFFFFFFF: a card refusal with its status word; the message says
        // the counter is exhausted (6985 is not a lifecycle problem here).
        if error.code == .counterExhausted, let statusWord = error.statusWord {
            self.init(code: SEALKIT_E_CARD_REFUSED, message: error.message, statusWord: Int32(statusWord.rawValue), triesRemaining: -1)
            return
        }
        // A backend failure the transport wrapped says more than the driver's code (pcscd down,
        // reader held exclusively, no permission), and its message says what to do about it.
        switch error.underlyingError {
        case let backend as PCSCError:
            self.init(code: Self.code(for: backend), message: backend.message)
        case let backend as USBError:
            self.init(code: Self.code(for: backend), message: backend.message)
        default:
            self.init(code: Self.code(for: error.code), message: error.message)
        }
    }

    static func code(for code: SealDriverError.Code) -> Int32 {
        switch code {
        case .transportFailure: SEALKIT_E_TRANSPORT
        case .cardRemoved: SEALKIT_E_CARD_REMOVED
        case .noResponse: SEALKIT_E_NO_RESPONSE
        case .notConnected: SEALKIT_E_NOT_CONNECTED
        case .statusWord: SEALKIT_E_CARD_REFUSED
        case .malformedResponse: SEALKIT_E_MALFORMED_RESPONSE
        case .responseTooLong: SEALKIT_E_RESPONSE_TOO_LONG
        case .getResponseLoopExceeded, .wrongLengthLoop: SEALKIT_E_RESPONSE_LOOP
        case .commandTooLong: SEALKIT_E_COMMAND_TOO_LONG
        case .notSupportedByToken: SEALKIT_E_NOT_SUPPORTED
        case .invalidArgument: SEALKIT_E_INVALID_ARGUMENT
        case .auditChainBroken: SEALKIT_E_AUDIT_CHAIN_BROKEN
        case .malformedRecord: SEALKIT_E_RECORD_INVALID
        case .invalidTrustAnchors: SEALKIT_E_ROOTS_INVALID
        case .fileUnreadable: SEALKIT_E_FILE_UNREADABLE
        case .chipNotAuthenticated: SEALKIT_E_CHIP_NOT_AUTHENTICATED
        case .secureChannelFailure: SEALKIT_E_SECURE_CHANNEL
        // issuerSigningFailed, stampNotRecoverable and stampInvalid come from operations the C API
        // does not offer (issuer commands, stamp recovery, validate); a new driver code lands here
        // until it is mapped.
        default: SEALKIT_E_INTERNAL
        }
    }

    /// PC/SC failures of finding and opening a reader have codes of their own; the rest are what
    /// the transport makes of them.
    static func code(for error: PCSCError) -> Int32 {
        switch error.code {
        case .serviceUnavailable, .platformUnsupported: SEALKIT_E_SERVICE_UNAVAILABLE
        case .readerNotFound: SEALKIT_E_TARGET_NOT_FOUND
        case .readerAmbiguous: SEALKIT_E_TARGET_AMBIGUOUS
        case .invalidArgument: SEALKIT_E_TARGET_INVALID
        case .sharingViolation: SEALKIT_E_TARGET_BUSY
        default: code(for: error.driverCode)
        }
    }

    /// USB failures of finding and opening a device have codes of their own; the rest are what
    /// the transport makes of them.
    static func code(for error: USBError) -> Int32 {
        switch error.code {
        case .invalidAddress: SEALKIT_E_TARGET_INVALID
        case .deviceNotFound, .noCCIDInterface: SEALKIT_E_TARGET_NOT_FOUND
        case .deviceBusy, .importFailed: SEALKIT_E_TARGET_BUSY
        case .permissionDenied: SEALKIT_E_PERMISSION_DENIED
        case .noUSBDevices, .libusbUnavailable, .connectionFailed: SEALKIT_E_SERVICE_UNAVAILABLE
        default: code(for: error.driverCode)
        }
    }

    /// The `SEALKIT_E_*` name of every code, for `sealkit_code_name`.
    static let names: [Int32: StaticString] = [
        SEALKIT_OK: "SEALKIT_OK",
        SEALKIT_E_INVALID_ARGUMENT: "SEALKIT_E_INVALID_ARGUMENT",
        SEALKIT_E_INTERNAL: "SEALKIT_E_INTERNAL",
        SEALKIT_E_WRONG_THREAD: "SEALKIT_E_WRONG_THREAD",
        SEALKIT_E_TRANSPORT: "SEALKIT_E_TRANSPORT",
        SEALKIT_E_CARD_REMOVED: "SEALKIT_E_CARD_REMOVED",
        SEALKIT_E_NO_RESPONSE: "SEALKIT_E_NO_RESPONSE",
        SEALKIT_E_NOT_CONNECTED: "SEALKIT_E_NOT_CONNECTED",
        SEALKIT_E_MALFORMED_RESPONSE: "SEALKIT_E_MALFORMED_RESPONSE",
        SEALKIT_E_RESPONSE_TOO_LONG: "SEALKIT_E_RESPONSE_TOO_LONG",
        SEALKIT_E_RESPONSE_LOOP: "SEALKIT_E_RESPONSE_LOOP",
        SEALKIT_E_COMMAND_TOO_LONG: "SEALKIT_E_COMMAND_TOO_LONG",
        SEALKIT_E_NOT_SUPPORTED: "SEALKIT_E_NOT_SUPPORTED",
        SEALKIT_E_AUDIT_CHAIN_BROKEN: "SEALKIT_E_AUDIT_CHAIN_BROKEN",
        SEALKIT_E_CHIP_NOT_AUTHENTICATED: "SEALKIT_E_CHIP_NOT_AUTHENTICATED",
        SEALKIT_E_SECURE_CHANNEL: "SEALKIT_E_SECURE_CHANNEL",
        SEALKIT_E_CARD_REFUSED: "SEALKIT_E_CARD_REFUSED",
        SEALKIT_E_PIN_INCORRECT: "SEALKIT_E_PIN_INCORRECT",
        SEALKIT_E_PIN_BLOCKED: "SEALKIT_E_PIN_BLOCKED",
        SEALKIT_E_NOT_AUTHORIZED: "SEALKIT_E_NOT_AUTHORIZED",
        SEALKIT_E_WRONG_LIFECYCLE: "SEALKIT_E_WRONG_LIFECYCLE",
        SEALKIT_E_DATA_NOT_FOUND: "SEALKIT_E_DATA_NOT_FOUND",
        SEALKIT_E_TARGET_INVALID: "SEALKIT_E_TARGET_INVALID",
        SEALKIT_E_TARGET_NOT_FOUND: "SEALKIT_E_TARGET_NOT_FOUND",
        SEALKIT_E_TARGET_AMBIGUOUS: "SEALKIT_E_TARGET_AMBIGUOUS",
        SEALKIT_E_TARGET_BUSY: "SEALKIT_E_TARGET_BUSY",
        SEALKIT_E_PERMISSION_DENIED: "SEALKIT_E_PERMISSION_DENIED",
        SEALKIT_E_SERVICE_UNAVAILABLE: "SEALKIT_E_SERVICE_UNAVAILABLE",
        SEALKIT_E_RECORD_INVALID: "SEALKIT_E_RECORD_INVALID",
        SEALKIT_E_ROOTS_INVALID: "SEALKIT_E_ROOTS_INVALID",
        SEALKIT_E_FILE_UNREADABLE: "SEALKIT_E_FILE_UNREADABLE",
    ]
}
