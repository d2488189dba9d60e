import CSealKit
import SealProtocol

/// An error the C layer raises itself: bad arguments from C and failures of the bridge. Driver
/// errors pass through unchanged and are mapped to C codes by ``CErrorDetails``.
struct CLibraryError: CodedError {
    /// The kind of failure.
    let code: Code
    /// What was wrong, for the C caller's message.
    let reason: String

    init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The kinds of ``CLibraryError``, each with its `SEALKIT_E_*` value.
    struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            case invalidArgument, internalFailure
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// `SEALKIT_E_INVALID_ARGUMENT`: a NULL, non-UTF-8 or out-of-range argument.
        static let invalidArgument = Code(.invalidArgument)
        /// `SEALKIT_E_INTERNAL`: the bridge itself failed.
        static let internalFailure = Code(.internalFailure)

        /// The stable C code.
        var cCode: Int32 {
            switch kind {
            case .invalidArgument: SEALKIT_E_INVALID_ARGUMENT
            case .internalFailure: SEALKIT_E_INTERNAL
            }
        }

        var description: String {
            switch kind {
            case .invalidArgument: "invalidArgument"
            case .internalFailure: "internalFailure"
            }
        }
    }

    static func invalidArgument(_ reason: String) -> CLibraryError {
        CLibraryError(code: .invalidArgument, reason: reason)
    }
}
