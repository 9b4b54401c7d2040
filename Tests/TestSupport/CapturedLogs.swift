import Logging
import Synchronization

/// Log messages kept for a test to read: a `Logger` whose handler records every
/// message (with its level and metadata) instead of printing it.
public final class CapturedLogs: Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// A logger that records into this capture.
    public var logger: Logger {
        Logger(label: "taskscope-test") { _ in Handler(capture: self) }
    }

    /// The messages so far.
    public var all: [Entry] { entries.withLock { $0 } }

    /// Whether a message containing `text` was logged at `level` or above.
    public func contains(_ text: String, atLeast level: Logger.Level = .trace) -> Bool {
        all.contains { $0.level >= level && $0.message.contains(text) }
    }

    fileprivate func record(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let capture: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.record(
                Entry(
                    level: event.level, message: "\(event.message)",
                    metadata: merged.mapValues { "\($0)" }))
        }
    }
}
