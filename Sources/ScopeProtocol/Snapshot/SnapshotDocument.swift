import Foundation

/// Who a snapshot was taken of.
public struct ProcessDescription: Codable, Sendable, Hashable {
    public var pid: Int32
    public var name: String
    public var agentVersion: String
    /// When the agent started (Unix seconds).
    public var started: Double

    public init(pid: Int32, name: String, agentVersion: String, started: Double) {
        self.pid = pid
        self.name = name
        self.agentVersion = agentVersion
        self.started = started
    }
}

/// The snapshot document without its tasks: what the agent sends as the
/// first chunk of a streamed snapshot.
public struct SnapshotHead: Codable, Sendable, Hashable {
    /// Always ``SnapshotDocument/formatName``.
    public var format: String
    /// The document version; readers refuse versions newer than they know.
    public var version: Int
    public var process: ProcessDescription
    /// When the snapshot was taken (Unix seconds).
    public var capturedAt: Double
    /// The wait reason the tasks were filtered by, if any.
    public var filter: String?
    /// The trace the tasks were filtered by (see ``SnapshotOptions/trace``), if any.
    public var trace: String?
    public var summary: Summary
    public var history: History
    /// Every tracked channel, timer, ticker, semaphore and pending or leaked continuation.
    public var resources: [ResourceInfo]
    /// Every leak warning at capture time, definite ones first.
    public var warnings: [Warning]
    /// The leak rules' settings the agent applied; absent from snapshots older than this field
    /// (readers then assume ``RuleThresholds/defaults``).
    /// The async call stacks of the snapshot's waiting tasks, each once (snapshots taken with
    /// stacks: ``SnapshotOptions/stacks``); tasks refer to them by id.
    public var stacks: [StackInfo]?
    /// Why stacks were asked for and not read, if so.
    public var stacksUnavailable: String?
    public var rules: RuleThresholds?

    public init(
        process: ProcessDescription, capturedAt: Double, filter: String?, summary: Summary, history: History,
        resources: [ResourceInfo] = [], warnings: [Warning] = [], rules: RuleThresholds? = nil, trace: String? = nil
    ) {
        self.format = SnapshotDocument.formatName
        self.trace = trace
        self.version = SnapshotDocument.currentVersion
        self.process = process
        self.capturedAt = capturedAt
        self.filter = filter
        self.summary = summary
        self.history = history
        self.resources = resources
        self.warnings = warnings
        self.rules = rules
    }
}

/// The snapshot document: one JSON object with process info, counts,
/// history, every task, every resource and every warning.
public struct SnapshotDocument: Codable, Sendable, Hashable {
    /// The value of the `format` field of every snapshot.
    public static let formatName = "taskscope.snapshot"
    /// The version this package writes and the newest it reads.
    public static let currentVersion = 1

    public var format: String
    public var version: Int
    public var process: ProcessDescription
    public var capturedAt: Double
    public var filter: String?
    /// The trace the tasks were filtered by, if any.
    public var trace: String?
    public var summary: Summary
    public var history: History
    public var resources: [ResourceInfo]
    public var warnings: [Warning]
    /// The leak rules' settings, when the agent said (see ``SnapshotHead/rules``).
    /// The async call stacks the tasks refer to (see ``SnapshotHead/stacks``).
    public var stacks: [StackInfo]?
    public var stacksUnavailable: String?
    public var rules: RuleThresholds?
    public var tasks: [TaskInfo]

    public init(head: SnapshotHead, tasks: [TaskInfo]) {
        format = head.format
        version = head.version
        process = head.process
        capturedAt = head.capturedAt
        filter = head.filter
        trace = head.trace
        summary = head.summary
        history = head.history
        resources = head.resources
        warnings = head.warnings
        rules = head.rules
        stacks = head.stacks
        stacksUnavailable = head.stacksUnavailable
        self.tasks = tasks
    }

    /// Reads a snapshot document, refusing anything that is not one, and any number out of
    /// its ``WireRange`` (a time a thousand years away, a negative count).
    ///
    /// Cost: a full `JSONDecoder` pass, about 10 µs per task, and a check of its numbers.
    public static func decode(_ data: Data) throws(SnapshotError) -> SnapshotDocument {
        let document = try decodeUnchecked(data)
        do {
            try document.validate()
        } catch {
            throw .outOfRange(error)
        }
        return document
    }

    private static func decodeUnchecked(_ data: Data) throws(SnapshotError) -> SnapshotDocument {
        struct Probe: Decodable {
            var format: String?
            var version: Int?
        }
        let probe: Probe
        do {
            probe = try JSONDecoder().decode(Probe.self, from: data)
        } catch {
            throw data.isEmpty ? .empty : .notJSON
        }
        guard probe.format == formatName else { throw .notASnapshot }
        guard let version = probe.version else { throw .malformed("it has no version") }
        guard version <= currentVersion else { throw .futureVersion(version) }
        do {
            return try JSONDecoder().decode(SnapshotDocument.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .malformed("field \"\(path(context.codingPath + [key]))\" is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .malformed("field \"\(path(context.codingPath))\" has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw .malformed("field \"\(path(context.codingPath))\" is null")
        } catch let DecodingError.dataCorrupted(context) {
            // Corruption the first look did not reach (inside a string, say) is no field's fault.
            if context.codingPath.isEmpty { throw .notJSON }
            throw .malformed("field \"\(path(context.codingPath))\" is invalid")
        } catch {
            throw .malformed("\(error)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
    }
}

/// Why a file could not be read as a snapshot.
public enum SnapshotError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case notJSON
    case notASnapshot
    case futureVersion(Int)
    case malformed(String)
    /// A number that cannot be what its field says.
    case outOfRange(WireValueError)

    public var description: String {
        switch self {
        case .empty: "the file is empty"
        case .notJSON: "it is not valid JSON (truncated or corrupt?)"
        case .notASnapshot: "it is not a taskscope snapshot (no \"format\": \"\(SnapshotDocument.formatName)\")"
        case .futureVersion(let version):
            "it is snapshot version \(version); this taskscope reads up to version \(SnapshotDocument.currentVersion)"
        case .malformed(let detail): "it is a damaged snapshot: \(detail)"
        case .outOfRange(let error): "not a valid snapshot: \(error)"
        }
    }
}
