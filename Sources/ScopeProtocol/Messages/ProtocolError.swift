/// An error reply: `{"id":…,"error":{"code":…,"message":…}}`.
public struct ProtocolError: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    /// Machine-readable error codes. Clients switch on these; messages are for people.
    public struct Code: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
        public var description: String { rawValue }

        /// The line is not valid JSON (or not UTF-8).
        public static let invalidJSON = Code(rawValue: "invalid-json")
        /// The line is JSON but not a request object (no `op`, not an object, bad `id`).
        public static let invalidRequest = Code(rawValue: "invalid-request")
        /// `op` names no operation of this protocol version.
        public static let unknownOperation = Code(rawValue: "unknown-op")
        /// A field has the wrong type or an out-of-range value.
        public static let invalidField = Code(rawValue: "invalid-field")
        /// A field that the operation does not take.
        public static let unknownField = Code(rawValue: "unknown-field")
        /// The task (or other object) asked for does not exist.
        public static let notFound = Code(rawValue: "not-found")
        /// The line is longer than the agent accepts; the agent closes the connection after this reply.
        public static let lineTooLong = Code(rawValue: "line-too-long")
        /// Another snapshot is already streaming on this connection.
        public static let busy = Code(rawValue: "busy")
        /// The agent serves as many clients as it may; it closes the connection after this line.
        public static let tooManyClients = Code(rawValue: "too-many-clients")
    }

    /// What went wrong, for programs.
    public var code: Code
    /// What went wrong, for people.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
