/// Errors of the simulator runtime (token store, factory, in-process transport), with stable codes.
public struct SimulatorError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let invalidCredentials = Code(name: "invalidCredentials")
        public static let stateFile = Code(name: "stateFile")
        public static let manufacture = Code(name: "manufacture")
        public static let personalization = Code(name: "personalization")
        public static let invalidArgument = Code(name: "invalidArgument")
        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
