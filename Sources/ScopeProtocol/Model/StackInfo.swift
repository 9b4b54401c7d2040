/// One frame of a task's async call stack: a suspended async function, innermost first.
public struct StackFrame: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The function, demangled (`Shop.charge(order:)`), or `nil` when its module has no symbol
    /// for the address.
    public var function: String?
    /// The source file, where the binary has line tables.
    public var file: String?
    /// The line the function resumes at, with `file`.
    public var line: Int?
    /// The module's file name (`OrderService`, `libswift_Concurrency.so`).
    public var module: String
    /// The address's offset in the module, for `addr2line` or a symbol server.
    public var offset: UInt64

    public init(function: String?, file: String? = nil, line: Int? = nil, module: String, offset: UInt64) {
        self.function = function
        self.file = file
        self.line = line
        self.module = module
        self.offset = offset
    }

    /// The function without its signature and module, for a one-line stack: `Shop.checkout` for
    /// `static Orders.Shop.checkout(Int) async -> Int`, `{} in Shop.charge` for a closure in it.
    public var shortName: String {
        guard var name = function else { return moduleOffset }
        let isClosure = name.hasPrefix("closure") || name.hasPrefix("implicit closure")
        if isClosure, let range = name.range(of: " in ", options: .backwards) {
            name = String(name[range.upperBound...])
        }
        if name.hasPrefix("static ") { name.removeFirst("static ".count) }
        if name.hasPrefix("(extension in "), let close = name.range(of: "):") {
            name = String(name[close.upperBound...])
        }
        if let open = name.firstIndex(where: { $0 == "(" || $0 == "<" }) {
            let rest = name[open...]
            name = String(name[..<open])
            // A generic type's member: `Task<A, B>.sleep` is Task.sleep.
            if rest.hasPrefix("<"), let end = rest.firstIndex(of: ">"), rest[rest.index(after: end)...].hasPrefix(".") {
                let member = rest[rest.index(end, offsetBy: 2)...].prefix { $0 != "(" && $0 != "<" }
                name += "." + member
            }
        }
        // Module.Type.function: the module is the same for most frames; the last two parts tell.
        let parts = name.split(separator: ".")
        if parts.count > 2 { name = parts.suffix(2).joined(separator: ".") }
        return isClosure ? "{} in " + name : name
    }

    /// Where the frame is in its module, `module+0xoffset` (`libswift_Concurrency.so+0x659d0`):
    /// known for every frame, with or without symbols and line tables.
    public var moduleOffset: String { "\(module)+0x\(String(offset, radix: 16))" }

    /// Where the frame is, as a report or a screen shows it: `file:line` where the binary has
    /// line tables (the file alone when it has no line), ``moduleOffset`` otherwise.
    public var place: String {
        guard let file else { return moduleOffset }
        return line.map { "\(file):\($0)" } ?? file
    }

    /// `function at file:line`, or `module+0xoffset` when the function is not known.
    public var description: String {
        switch (function, file) {
        case (let function?, _?): "\(function) at \(place)"
        case (let function?, nil): function
        default: moduleOffset
        }
    }
}

/// An async call stack shared by one or more tasks, sent once and referred to by its id.
public struct StackInfo: Codable, Sendable, Hashable {
    /// The stack's id within one reply or snapshot.
    public var id: Int
    /// Innermost first: the function the task waits in, then its callers.
    public var frames: [StackFrame]
    /// Whether the stack went deeper than the depth it was read to.
    public var truncated: Bool

    public init(id: Int, frames: [StackFrame], truncated: Bool = false) {
        self.id = id
        self.frames = frames
        self.truncated = truncated
    }
}

/// Waiting tasks that share an async call stack and a wait reason: one row of Groups by stack,
/// like one stack of a goroutine profile, with the wait and its time.
public struct StackGroup: Codable, Sendable, Hashable {
    /// The stack's id, in ``StackList/stacks``.
    public var stack: Int
    /// The wait reason.
    public var reason: String?
    /// Tasks in the group.
    public var count: Int
    /// The longest any of them has waited, in seconds.
    public var longest: Double
    /// A few task ids, lowest first.
    public var sampleIDs: [UInt64]

    public init(stack: Int, reason: String?, count: Int = 0, longest: Double = 0, sampleIDs: [UInt64] = []) {
        self.stack = stack
        self.reason = reason
        self.count = count
        self.longest = longest
        self.sampleIDs = sampleIDs
    }

    /// Counts a task with this id and wait time into the group, as ``SiteGroup/add(id:inState:)``
    /// counts one into a site's group.
    public mutating func add(id: UInt64, waited: Double) {
        count += 1
        longest = max(longest, waited)
        SiteGroup.sample(id, into: &sampleIDs)
    }
}

/// What a `stacks` request asks: the async stacks of waiting tasks, grouped.
public struct StackQuery: Sendable, Hashable {
    /// Only these tasks (at most ``maxIDs``); all waiting tasks when empty.
    public var ids: [UInt64]
    /// Keep only tasks waiting for this reason.
    public var wait: String?
    /// Groups to return at most, largest first.
    public var limit: Int
    /// Frames per stack at most, `1...StackQuery.maxDepth`; the agent's depth when `nil`.
    public var depth: Int?

    public static let maxIDs = 1_000
    public static let maxDepth = 128

    public init(ids: [UInt64] = [], wait: String? = nil, limit: Int = TaskQuery.defaultLimit, depth: Int? = nil) {
        self.ids = ids
        self.wait = wait
        self.limit = limit
        self.depth = depth
    }
}

/// The `stacks` reply: waiting tasks grouped by async stack and wait reason, largest first,
/// with each stack once.
public struct StackList: Codable, Sendable, Hashable {
    /// Groups in all (before the limit).
    public var total: Int
    public var groups: [StackGroup]
    /// The stacks the groups refer to.
    public var stacks: [StackInfo]
    /// Each asked-for task's stack id (tasks asked for by id only); a task whose stack could
    /// not be read (it was running, or had finished) is absent.
    public var tasks: [String: Int]?
    /// Waiting tasks whose stack could not be read (they resumed while read, or had finished).
    public var unreadable: Int
    /// Why stacks are not available in this process, when they are not (then nothing else is set).
    public var unavailable: String?

    public init(
        total: Int = 0, groups: [StackGroup] = [], stacks: [StackInfo] = [], tasks: [String: Int]? = nil,
        unreadable: Int = 0, unavailable: String? = nil
    ) {
        self.total = total
        self.groups = groups
        self.stacks = stacks
        self.tasks = tasks
        self.unreadable = unreadable
        self.unavailable = unavailable
    }

    /// The stack with id `id`.
    public func stack(_ id: Int) -> StackInfo? { stacks.first { $0.id == id } }
}
