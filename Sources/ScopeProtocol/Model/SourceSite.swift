/// A place in the host's source code: where a task was spawned or where it waits.
public struct SourceSite: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The `#fileID` of the site, for example `MyService/Worker.swift`.
    public var file: String
    /// The line number.
    public var line: Int
    /// The enclosing function, when known (spawn sites record it, wait sites do not).
    public var function: String?

    /// Creates a site from its parts.
    public init(file: String, line: Int, function: String? = nil) {
        self.file = file
        self.line = line
        self.function = function
    }

    /// `file:line`, the form grouped reports and tables show.
    public var description: String { "\(file):\(line)" }

    /// The route a request scope was given as its function (`GET /users/{id}`, as
    /// `TaskScopeMiddleware` names it), when `function` is one: a Swift function's name
    /// (`#function`, such as `handle(_:)`) has no space, a route does. Screens show it first,
    /// since it says which requests a group holds better than the middleware's file does.
    public var route: String? {
        guard let function, function.contains(" ") else { return nil }
        return function
    }
}
