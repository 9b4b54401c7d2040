import Foundation

/// A request of protocol v1, without its `id`.
public enum Request: Sendable, Hashable {
    /// Send the hello message again.
    case hello
    /// Live counts.
    case summary
    /// A filtered, sorted page of tasks.
    case tasks(TaskQuery)
    /// One task with its parent and children.
    case task(id: UInt64)
    /// The sampler's history, the last `limit` samples (all when `nil`).
    case history(limit: Int?)
    /// Tracked channels, timers, tickers, semaphores and continuations.
    case resources(ResourceQuery)
    /// The leak warnings, evaluated now.
    case warnings
    /// Live tasks grouped by wait reason, wait site and spawn site.
    case groups(GroupQuery)
    /// The async call stacks of waiting tasks, grouped by stack and wait reason.
    case stacks(StackQuery)
    /// The whole snapshot document, streamed in chunks.
    case snapshot(SnapshotOptions)
    /// Push a summary every `interval` seconds (the sampler's interval when `nil`).
    case subscribe(interval: Double?)
    /// Stop pushing summaries.
    case unsubscribe

    /// The operation's name on the wire.
    public var operation: String {
        switch self {
        case .hello: "hello"
        case .summary: "summary"
        case .tasks: "tasks"
        case .task: "task"
        case .history: "history"
        case .resources: "resources"
        case .warnings: "warnings"
        case .groups: "groups"
        case .stacks: "stacks"
        case .snapshot: "snapshot"
        case .subscribe: "subscribe"
        case .unsubscribe: "unsubscribe"
        }
    }

    /// Every operation name of protocol v1.
    public static let operations = [
        "hello", "summary", "tasks", "task", "history", "resources", "warnings", "groups", "stacks", "snapshot",
        "subscribe", "unsubscribe",
    ]

    /// The shortest interval a subscription may ask for, in seconds.
    public static let minimumSubscribeInterval = 0.1
    /// The longest interval a subscription may ask for, in seconds (an hour).
    public static let maximumSubscribeInterval = 3600.0

    /// Encodes the request as one protocol line, newline included.
    ///
    /// Cost: one small `JSONEncoder` pass; requests are tiny.
    public func line(id: Int64) -> [UInt8] {
        var fields: [String: JSONValue] = ["id": .integer(id), "op": .string(operation)]
        switch self {
        case .hello, .summary, .unsubscribe, .warnings:
            break
        case .resources(let query):
            if let kind = query.kind { fields["kind"] = .string(kind.rawValue) }
            if query.orphanedOnly { fields["orphaned"] = .bool(true) }
            fields["offset"] = .integer(Int64(query.offset))
            fields["limit"] = .integer(Int64(query.limit))
        case .tasks(let query):
            if let state = query.state { fields["state"] = .string(state.rawValue) }
            if let wait = query.wait { fields["wait"] = .string(wait) }
            if let text = query.text { fields["text"] = .string(text) }
            if let minWait = query.minWait { fields["minWait"] = .number(minWait) }
            fields["sort"] = .string(query.sort.rawValue)
            if let descending = query.descending { fields["order"] = .string(descending ? "desc" : "asc") }
            fields["offset"] = .integer(Int64(query.offset))
            fields["limit"] = .integer(Int64(query.limit))
            if let site = query.waitSite { fields["waitSite"] = .string(site.description) }
            if let site = query.spawnSite { fields["spawnSite"] = .string(site.description) }
            if let resource = query.resource { fields["resource"] = .integer(Int64(clamping: resource)) }
            if let site = query.resourceSite { fields["resourceSite"] = .string(site.description) }
            if let ids = query.ids { fields["ids"] = .array(ids.map { .integer(Int64(clamping: $0)) }) }
            if let rule = query.rule { fields["rule"] = .string(rule.rawValue) }
            if let trace = query.trace { fields["trace"] = .string(trace) }
        case .groups(let query):
            if let wait = query.wait { fields["wait"] = .string(wait) }
            fields["limit"] = .integer(Int64(query.limit))
        case .stacks(let query):
            if !query.ids.isEmpty { fields["ids"] = .array(query.ids.map { .integer(Int64(clamping: $0)) }) }
            if let wait = query.wait { fields["wait"] = .string(wait) }
            if let depth = query.depth { fields["depth"] = .integer(Int64(depth)) }
            fields["limit"] = .integer(Int64(query.limit))
        case .task(let taskID):
            fields["task"] = .integer(Int64(clamping: taskID))
        case .history(let limit):
            if let limit { fields["limit"] = .integer(Int64(limit)) }
        case .snapshot(let options):
            if let wait = options.wait { fields["wait"] = .string(wait) }
            if let trace = options.trace { fields["trace"] = .string(trace) }
            fields["chunk"] = .integer(Int64(options.chunkSize))
            if options.stacks { fields["stacks"] = .bool(true) }
        case .subscribe(let interval):
            if let interval { fields["interval"] = .number(interval) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a dictionary of JSONValue cannot fail.
        var bytes = [UInt8]((try? encoder.encode(fields)) ?? Data())
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}

/// A request line as the agent read it: the echoed id and the request.
public struct RequestLine: Sendable, Hashable {
    public var id: Int64
    public var request: Request

    public init(id: Int64, request: Request) {
        self.id = id
        self.request = request
    }
}

/// Why a request line was refused, with the id to echo when the line had one.
public struct RequestFailure: Error, Sendable, Hashable {
    public var id: Int64?
    public var error: ProtocolError

    public init(id: Int64?, error: ProtocolError) {
        self.id = id
        self.error = error
    }
}

extension RequestLine {
    /// Parses one request line (without its newline), checking every field.
    ///
    /// A line that nests arrays and objects deeper than
    /// `JSONNesting.maximumRequestDepth` is refused as `invalid-request`
    /// before it is decoded.
    ///
    /// Cost: linear in the line's length: one byte scan for the nesting depth,
    /// then one parse of a line of bounded depth (`JSONValue.init(parsing:)`).
    public static func parse(_ line: some Collection<UInt8>) -> Result<RequestLine, RequestFailure> {
        parse(line) { try JSONValue(parsing: $0) }
    }

    /// Parses as `parse(_:)` does, with `decode` turning the line into a value
    /// (tests pass one that counts its calls).
    static func parse<Line: Collection<UInt8>>(
        _ line: Line, decode: (Line) throws -> JSONValue
    ) -> Result<RequestLine, RequestFailure> {
        let limit = JSONNesting.maximumRequestDepth
        guard JSONNesting.depth(of: line, stoppingAbove: limit) <= limit else {
            return .failure(
                .init(
                    id: nil,
                    error: .init(
                        .invalidRequest,
                        "the request nests arrays and objects more than \(limit) deep (the nesting depth limit is \(limit))"
                    )))
        }
        let value: JSONValue
        do {
            value = try decode(line)
        } catch {
            return .failure(.init(id: nil, error: .init(.invalidJSON, "the line is not valid JSON")))
        }
        guard case .object(let object) = value else {
            return .failure(
                .init(id: nil, error: .init(.invalidRequest, "a request must be a JSON object, not \(value.typeName)"))
            )
        }
        var fields = FieldReader(object)
        let id: Int64
        switch object["id"] {
        case .integer(let value)?: id = value
        case nil:
            return .failure(.init(id: nil, error: .init(.invalidRequest, "the request has no \"id\"")))
        case let other?:
            return .failure(
                .init(id: nil, error: .init(.invalidRequest, "\"id\" must be an integer, not \(other.typeName)"))
            )
        }
        fields.consume("id")
        do {
            let request = try parseRequest(&fields)
            try fields.rejectUnconsumed()
            return .success(RequestLine(id: id, request: request))
        } catch {
            return .failure(.init(id: id, error: error))
        }
    }

    private static func parseRequest(_ fields: inout FieldReader) throws(ProtocolError) -> Request {
        let op: String
        do throws(ProtocolError) {
            guard let name = try fields.string("op") else {
                throw ProtocolError(.invalidRequest, "the request has no \"op\"")
            }
            op = name
        } catch {
            throw ProtocolError(.invalidRequest, error.message)
        }
        switch op {
        case "hello": return .hello
        case "summary": return .summary
        case "unsubscribe": return .unsubscribe
        case "warnings": return .warnings
        case "resources":
            var query = ResourceQuery()
            if let kind = try fields.string("kind") {
                guard let parsed = ResourceKind(rawValue: kind) else {
                    throw .init(.invalidField, "\"kind\" must be one of \(listed(ResourceKind.allCases))")
                }
                query.kind = parsed
            }
            query.orphanedOnly = try fields.bool("orphaned") ?? false
            query.offset = try fields.integer("offset", in: 0...Int.max) ?? 0
            query.limit = try fields.integer("limit", in: 1...TaskQuery.maxLimit) ?? TaskQuery.defaultLimit
            return .resources(query)
        case "tasks":
            var query = TaskQuery()
            if let state = try fields.string("state") {
                guard let filter = TaskQuery.StateFilter(rawValue: state) else {
                    throw .init(.invalidField, "\"state\" must be one of \(listed(TaskQuery.StateFilter.allCases))")
                }
                query.state = filter
            }
            query.wait = try fields.string("wait")
            query.text = try fields.string("text")
            query.minWait = try fields.number("minWait", in: 0...TaskQuery.maxMinWait)
            if let sort = try fields.string("sort") {
                guard let key = TaskQuery.SortKey(rawValue: sort) else {
                    throw .init(.invalidField, "\"sort\" must be one of \(listed(TaskQuery.SortKey.allCases))")
                }
                query.sort = key
            }
            if let order = try fields.string("order") {
                switch order {
                case "asc": query.descending = false
                case "desc": query.descending = true
                default: throw .init(.invalidField, "\"order\" must be \"asc\" or \"desc\"")
                }
            }
            query.offset = try fields.integer("offset", in: 0...Int.max) ?? 0
            query.limit = try fields.integer("limit", in: 1...TaskQuery.maxLimit) ?? TaskQuery.defaultLimit
            query.waitSite = try fields.site("waitSite")
            query.spawnSite = try fields.site("spawnSite")
            query.resource = try fields.integer("resource", in: 1...Int.max).map(UInt64.init)
            query.resourceSite = try fields.site("resourceSite")
            query.ids = try fields.ids("ids")
            if let rule = try fields.string("rule") {
                guard let known = LeakRule(rawValue: rule) else {
                    throw .init(.invalidField, "\"rule\" must be one of \(listed(LeakRule.allCases))")
                }
                query.rule = known
            }
            query.trace = try fields.string("trace")
            return .tasks(query)
        case "groups":
            var query = GroupQuery()
            query.wait = try fields.string("wait")
            query.limit = try fields.integer("limit", in: 1...TaskQuery.maxLimit) ?? TaskQuery.defaultLimit
            return .groups(query)
        case "stacks":
            var query = StackQuery()
            query.ids = try fields.ids("ids", limit: StackQuery.maxIDs) ?? []
            query.wait = try fields.string("wait")
            query.depth = try fields.integer("depth", in: 1...StackQuery.maxDepth)
            query.limit = try fields.integer("limit", in: 1...TaskQuery.maxLimit) ?? TaskQuery.defaultLimit
            return .stacks(query)
        case "task":
            guard let taskID = try fields.integer("task", in: 1...Int.max) else {
                throw .init(.invalidField, "\"task\" (the task id) is required")
            }
            return .task(id: UInt64(taskID))
        case "history":
            return .history(limit: try fields.integer("limit", in: 1...Int.max))
        case "snapshot":
            var options = SnapshotOptions()
            options.wait = try fields.string("wait")
            options.trace = try fields.string("trace")
            options.chunkSize =
                try fields.integer("chunk", in: 1...SnapshotOptions.maxChunkSize) ?? SnapshotOptions.defaultChunkSize
            options.stacks = try fields.bool("stacks") ?? false
            return .snapshot(options)
        case "subscribe":
            return .subscribe(
                interval: try fields.number(
                    "interval", in: Request.minimumSubscribeInterval...Request.maximumSubscribeInterval))
        default:
            throw .init(
                .unknownOperation, "unknown op \"\(op)\"; protocol 1 has \(Request.operations.joined(separator: ", "))")
        }
    }

    private static func listed<T: RawRepresentable>(_ cases: [T]) -> String where T.RawValue == String {
        cases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
    }
}

/// Reads a request's fields by name, remembering which were read so that
/// any field left over can be reported as unknown.
struct FieldReader {
    private let object: [String: JSONValue]
    private var consumed: Set<String> = []

    init(_ object: [String: JSONValue]) { self.object = object }

    mutating func consume(_ key: String) { consumed.insert(key) }

    mutating func string(_ key: String) throws(ProtocolError) -> String? {
        consumed.insert(key)
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw ProtocolError(.invalidField, "\"\(key)\" must be a string, not \(other.typeName)")
        }
    }

    /// A site written `file:line`.
    mutating func site(_ key: String) throws(ProtocolError) -> SourceSite? {
        guard let text = try string(key) else { return nil }
        guard let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]),
            colon > text.startIndex
        else {
            throw ProtocolError(.invalidField, "\"\(key)\" must be a site written file:line")
        }
        return SourceSite(file: String(text[..<colon]), line: line)
    }

    mutating func bool(_ key: String) throws(ProtocolError) -> Bool? {
        consumed.insert(key)
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw ProtocolError(.invalidField, "\"\(key)\" must be a boolean, not \(other.typeName)")
        }
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(ProtocolError) -> Int? {
        consumed.insert(key)
        let value: Int?
        switch object[key] {
        case nil, .null?: return nil
        case .integer(let raw)?: value = Int(exactly: raw)
        case .number(let raw)? where raw.rounded() == raw && abs(raw) < 9e15: value = Int(raw)
        default: value = nil
        }
        guard let value, range.contains(value) else {
            throw ProtocolError(
                .invalidField, "\"\(key)\" must be an integer from \(range.lowerBound)\(upperText(range))")
        }
        return value
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>) throws(ProtocolError) -> Double? {
        consumed.insert(key)
        let value: Double
        switch object[key] {
        case nil, .null?: return nil
        case .integer(let raw)?: value = Double(raw)
        case .number(let raw)?: value = raw
        case let other?: throw ProtocolError(.invalidField, "\"\(key)\" must be a number, not \(other.typeName)")
        }
        guard value.isFinite, range.contains(value) else {
            throw ProtocolError(
                .invalidField, "\"\(key)\" must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A short list of task ids (at most `limit`, ``ResourceInfo/idLimit`` by default).
    mutating func ids(_ key: String, limit: Int = ResourceInfo.idLimit) throws(ProtocolError) -> [UInt64]? {
        consumed.insert(key)
        let error = ProtocolError(
            .invalidField, "\"\(key)\" must be a list of at most \(limit) task ids")
        switch object[key] {
        case nil, .null?: return nil
        case .array(let values)?:
            guard values.count <= limit else { throw error }
            return try values.map { (value: JSONValue) throws(ProtocolError) -> UInt64 in
                guard case .integer(let raw) = value, raw >= 1 else { throw error }
                return UInt64(raw)
            }
        default: throw error
        }
    }

    func rejectUnconsumed() throws(ProtocolError) {
        let unknown = object.keys.filter { !consumed.contains($0) }.sorted()
        if let first = unknown.first {
            throw ProtocolError(.unknownField, "unknown field \"\(first)\"")
        }
    }

    private func upperText(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? " up" : " to \(range.upperBound)"
    }
}
