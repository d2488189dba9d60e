import SealProtocol

/// Errors of the simulator: the token store, the factory, the in-process transport and the
/// `sealsim serve` servers. Equality is by ``code`` only (`CodedError`).
public struct SimulatorError: CodedError {
    /// The kind of failure; stable across releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case invalidCredentials, stateFile, manufacture, personalization, invalidArgument
            case controlSocket, controlCommand, cardServer, tokenInUse
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A key or certificate of the vendor CA or issuer does not load.
        public static let invalidCredentials = Code(.invalidCredentials)
        /// A token state file is missing, unreadable or damaged.
        public static let stateFile = Code(.stateFile)
        /// Manufacturing a chip failed.
        public static let manufacture = Code(.manufacture)
        /// Personalizing a chip failed.
        public static let personalization = Code(.personalization)
        /// An argument is out of range (a chip ID of the wrong length, a bad slot number).
        public static let invalidArgument = Code(.invalidArgument)
        /// The control socket of a running simulator could not be reached, or answered badly.
        public static let controlSocket = Code(.controlSocket)
        /// The simulator refused a control command (`error …` reply).
        public static let controlCommand = Code(.controlCommand)
        /// A card server could not start (sockets, state directory, another instance).
        public static let cardServer = Code(.cardServer)
        /// Another process has the file-based token open (its lock is held) and did not let go
        /// within the wait (`SEALKIT_TOKEN_WAIT`, 10 s by default): retry later.
        public static let tokenInUse = Code(.tokenInUse)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let reason: String

    /// Creates an error.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    package init(_ code: Code, _ reason: String) {
        self.init(code: code, reason: reason)
    }

    /// The reason alone: it is written to be shown as it is.
    public var description: String { reason }
}
