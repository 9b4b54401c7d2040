import Foundation

/// A successful reply: `{"id":…,"result":…}`.
public struct Reply<Result: Codable & Sendable>: Codable, Sendable {
    public var id: Int64
    public var result: Result

    public init(id: Int64, result: Result) {
        self.id = id
        self.result = result
    }
}

/// An error reply: `{"id":…,"error":{…}}`; `id` is `null` when the request line had none.
public struct ErrorReply: Codable, Sendable, Hashable {
    public var id: Int64?
    public var error: ProtocolError

    public init(id: Int64?, error: ProtocolError) {
        self.id = id
        self.error = error
    }

    private enum CodingKeys: String, CodingKey { case id, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)  // explicit null, so every error reply has an id key
        try container.encode(error, forKey: .error)
    }
}

/// A summary the agent pushes to a subscribed client: `{"type":"summary","summary":{…}}`.
public struct SummaryPush: Codable, Sendable, Hashable {
    public var type: String
    public var summary: Summary

    public init(summary: Summary) {
        self.type = "summary"
        self.summary = summary
    }
}

/// The fields every incoming line is first read for, to route it:
/// replies have an `id`, pushes a `type`, snapshot chunks an `id` and a `chunk`.
public struct Envelope: Decodable, Sendable {
    public var id: Int64?
    public var type: String?
    public var chunk: String?
    public var error: ProtocolError?
}

/// Encoding and decoding of whole protocol lines.
public enum Wire {
    /// Encodes a message as one line, newline included.
    /// Cost: one `JSONEncoder` pass; use ``JSONWriter`` for bulk data.
    public static func line(_ message: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8]
        do {
            bytes = [UInt8](try encoder.encode(message))
        } catch {
            bytes = [UInt8](#"{"id":null,"error":{"code":"internal","message":"a reply could not be encoded"}}"#.utf8)
        }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// The prefix of a snapshot chunk line for request `id` and chunk kind `kind`;
    /// the chunk's JSON data follows it, then `}` and a newline.
    ///
    /// Chunks are framed this way so that a client can copy the data into a
    /// file without decoding it.
    public static func chunkPrefix(id: Int64, kind: String) -> [UInt8] {
        Array(#"{"id":\#(id),"chunk":"\#(kind)","data":"#.utf8)
    }

    /// Chunk kind of the first chunk: the snapshot document without its tasks.
    public static let headChunk = "head"
    /// Chunk kind of the chunks that carry an array of tasks.
    public static let tasksChunk = "tasks"
}
