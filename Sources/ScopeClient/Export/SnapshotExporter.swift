import Foundation
import NIOCore
import NIOFoundationCompat
import ScopeProtocol
import Synchronization

/// The formats a snapshot can be written in.
public enum SnapshotFormat: String, Sendable, CaseIterable {
    /// The snapshot document (JSON), readable by `taskscope view` and other tools.
    case json
    /// The grouped, human report.
    case text
}

/// Streams a snapshot from an agent into a sink, never holding every task:
/// JSON chunks are copied through undecoded; the text report is built group by group.
public enum SnapshotExporter {
    /// Writes the snapshot of `connection` to `sink` in `format`, stopping with
    /// ``ScopeClientError/snapshotTooLarge(path:limit:)`` once the agent has sent `maxBytes`.
    ///
    /// Cost: for JSON, a copy of the bytes received; for text, a decode of each task.
    @discardableResult
    public static func export(
        from connection: ScopeConnection, options: SnapshotOptions = SnapshotOptions(), format: SnapshotFormat,
        maxBytes: Int = ScopeConnection.defaultMaxSnapshotBytes, to sink: some ByteSink
    ) async throws(ScopeClientError) -> SnapshotDone {
        switch format {
        case .json:
            let state = Mutex(JSONAssembly())
            let path = connection.path
            let done = try await connection.snapshot(options, maxBytes: maxBytes) { kind, data in
                // The head is small: check its numbers, so a file is never written from a head
                // no reader would accept. Tasks are copied through unchecked (decoding them all
                // would cost ~10 µs each); `view` checks them when it reads the file.
                if kind == Wire.headChunk { _ = try decode(SnapshotHead.self, from: ByteBuffer(data), path: path) }
                try state.withLock { try $0.add(kind: kind, data: data, to: sink) }
            }
            try state.withLock { $0 }.finish(to: sink)
            return done
        case .text:
            let report = Mutex(GroupedReport())
            let path = connection.path
            let done = try await connection.snapshot(options, maxBytes: maxBytes) { kind, data in
                let buffer = ByteBuffer(data)
                if kind == Wire.headChunk {
                    let head = try decode(SnapshotHead.self, from: buffer, path: path)
                    report.withLock { $0.head = head }
                } else if kind == Wire.tasksChunk {
                    let tasks = try decode([TaskInfo].self, from: buffer, path: path, field: "tasks")
                    report.withLock { report in
                        for task in tasks { report.add(task) }
                    }
                }
            }
            try sink.write(Array(report.withLock { $0.render() }.utf8))
            return done
        }
    }

    private static func decode<T: Decodable & WireValidatable>(
        _ type: T.Type, from buffer: ByteBuffer, path: String, field: String = ""
    ) throws(ScopeClientError) -> T {
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: buffer)
        } catch {
            throw .badReply("a snapshot chunk that does not decode: \(error)")
        }
        do {
            try value.validate(at: field)
        } catch {
            throw .notAnAgent(path: path, reason: error.description)
        }
        return value
    }
}

/// Joins the head and task chunks back into one snapshot document.
private struct JSONAssembly: Sendable {
    var sawHead = false
    var wroteTask = false

    mutating func add(kind: String, data: ByteBufferView, to sink: some ByteSink) throws(ScopeClientError) {
        switch kind {
        case Wire.headChunk:
            // The head is the document without "tasks": reopen it to append them.
            guard !sawHead, data.first == UInt8(ascii: "{"), data.last == UInt8(ascii: "}") else {
                throw .badReply("a snapshot head that is not an object")
            }
            sawHead = true
            try sink.write(data.dropLast())
            try sink.write(Array(#","tasks":["#.utf8))
        case Wire.tasksChunk:
            guard sawHead, data.first == UInt8(ascii: "["), data.last == UInt8(ascii: "]") else {
                throw .badReply("a task chunk that is not an array")
            }
            let inner = data.dropFirst().dropLast()
            guard !inner.isEmpty else { return }
            if wroteTask { try sink.write(CollectionOfOne(UInt8(ascii: ","))) }
            try sink.write(inner)
            wroteTask = true
        default:
            break  // chunk kinds of later protocol versions are skipped
        }
    }

    func finish(to sink: some ByteSink) throws(ScopeClientError) {
        guard sawHead else { throw .badReply("a snapshot without its head") }
        try sink.write(Array("]}\n".utf8))
    }
}
