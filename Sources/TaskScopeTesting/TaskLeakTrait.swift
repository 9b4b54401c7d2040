import Testing

/// The Swift Testing trait that checks a test (or every test of a suite) for task
/// leaks: `@Test(.checksTaskLeaks)`. A leak is recorded as an issue at the test.
public struct TaskLeakTrait: TestTrait, SuiteTrait, TestScoping {
    public var options: TaskLeakOptions
    public var isRecursive: Bool { true }

    public init(options: TaskLeakOptions) { self.options = options }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's trait scopes each test case on its own.
        guard testCase != nil || !test.isSuite else { return try await function() }
        let location = test.sourceLocation
        if let report = try await withTaskLeakCheck(
            options, fileID: location.fileID, line: location.line, { try await function() })
        {
            Issue.record(Comment(rawValue: report.description), sourceLocation: location)
        }
    }
}

extension Trait where Self == TaskLeakTrait {
    /// Fails the test when tracked tasks it started are still running at its end, or when
    /// a leak rule fires for its tasks or the resources it made (after a one-second settle).
    public static var checksTaskLeaks: Self { TaskLeakTrait(options: TaskLeakOptions()) }

    /// ``checksTaskLeaks`` with options: what to ignore, and how long to let tasks finish.
    public static func checksTaskLeaks(
        ignoringNames: Set<String> = [], ignoringSpawnSites: [String] = [], settle: Duration = .seconds(1)
    ) -> Self {
        TaskLeakTrait(
            options: TaskLeakOptions(
                ignoringNames: ignoringNames, ignoringSpawnSites: ignoringSpawnSites, settle: settle))
    }
}

/// Records an issue when tracked tasks are still running (all of them but those
/// `options` ignores: pass ``TaskLeaks/aliveNow()`` taken at the test's start as
/// `ignoringTasks` to keep only the test's own), or when a leak rule fires about them.
/// Waits `options.settle` for tasks that are finishing first.
///
/// Tests running in parallel cannot be told apart this way; the trait and
/// ``withTaskLeakCheck(_:fileID:line:_:)`` can.
public func expectNoTaskLeaks(
    _ options: TaskLeakOptions = TaskLeakOptions(), sourceLocation: SourceLocation = #_sourceLocation
) async {
    if let report = await TaskLeaks.find(options, scope: nil) {
        Issue.record(Comment(rawValue: report.description), sourceLocation: sourceLocation)
    }
}
