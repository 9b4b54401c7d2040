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

    /// Reads the framing of a snapshot chunk line without decoding it: the
    /// request id, the chunk kind, and the byte offset where its data begins.
    /// `nil` when the line is not a chunk. Cost: a scan of the prefix only.
    public static func chunkHeader(_ line: some Collection<UInt8>) -> (id: Int64, kind: String, dataOffset: Int)? {
        let bytes = line.prefix(80)
        let opening = Array(#"{"id":"#.utf8)
        let middle = Array(#","chunk":""#.utf8)
        let closing = Array(#"","data":"#.utf8)
        guard bytes.starts(with: opening) else { return nil }
        var index = bytes.index(bytes.startIndex, offsetBy: opening.count)
        var digits = ""
        while index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || (bytes[index] >= 48 && bytes[index] <= 57) {
            digits.append(Character(UnicodeScalar(bytes[index])))
            index = bytes.index(after: index)
        }
        guard let id = Int64(digits), bytes[index...].starts(with: middle) else { return nil }
        index = bytes.index(index, offsetBy: middle.count)
        guard let quote = bytes[index...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        let kind = String(decoding: bytes[index..<quote], as: UTF8.self)
        guard bytes[quote...].starts(with: closing) else { return nil }
        let offset = bytes.distance(from: bytes.startIndex, to: quote) + closing.count
        return (id, kind, offset)
    }

    /// Chunk kind of the first chunk: the snapshot document without its tasks.
    public static let headChunk = "head"
    /// Chunk kind of the chunks that carry an array of tasks.
    public static let tasksChunk = "tasks"
}
