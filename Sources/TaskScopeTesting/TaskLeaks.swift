import ScopeProtocol
import TaskScope

/// Leak checks for test suites, the way goleak checks Go tests: a test fails when
/// tracked tasks it started are still running at its end, or when a leak rule fires
/// for the channels, timers and continuations it created.
///
/// Use the Swift Testing trait (`@Test(.checksTaskLeaks)`), ``withTaskLeakCheck(_:fileID:line:_:)``
/// around a test's body, ``expectNoTaskLeaks(_:sourceLocation:)`` at its end, or
/// `XCTAssertNoTaskLeaks` in XCTest.
public enum TaskLeaks {
    /// The ids of the tracked tasks alive now: pass them as `ignoringTasks` to a check at
    /// the end of the test to ignore everything that was already running when it began.
    public static func aliveNow() -> Set<UInt64> { LeakProbe.liveTaskIDs() }

    /// Looks for leaks, waiting up to `options.settle` for tasks that are finishing.
    ///
    /// - Parameter scope: only tasks descending from this tracked task (a scope made by
    ///   ``withTaskLeakCheck(_:fileID:line:_:)``); every live task when `nil`.
    /// - Returns: `nil` when there is no leak.
    package static func find(_ options: TaskLeakOptions, scope: UInt64?) async -> TaskLeakReport? {
        let start = ContinuousClock.now
        var pause = Duration.milliseconds(10)
        var lookedAgain = false
        while true {
            let (live, all) = LeakProbe.tasks(descendingFrom: scope)
            let tasks = live.filter { !ignored($0, options) }
            let ids = Set(tasks.map(\.id))
            // A warning is this test's when it names one of the leaked tasks, or when the task
            // that owns or created its resource is one of the test's (finished ones included).
            let creators = LeakProbe.resourceCreators()
            let ours = all.subtracting(options.ignoredTasks)
            let warnings = LeakProbe.warnings().filter { warning in
                guard !ignoredWarning(warning, options) else { return false }
                return !ids.isDisjoint(with: warning.taskIDs) || warning.owner.map(ours.contains) == true
                    || warning.resource.flatMap { creators[$0] }.map(ours.contains) == true
            }
            let waited = ContinuousClock.now - start
            if tasks.isEmpty && warnings.isEmpty { return nil }
            if waited >= options.settle {
                // One more look once the work already queued has had a turn: on a busy machine the
                // settle can run out while a finishing task (its sleep just ended) waits for a thread.
                if !lookedAgain {
                    lookedAgain = true
                    await Task.yield()
                    continue
                }
                return TaskLeakReport(tasks: tasks.sorted { $0.id < $1.id }, warnings: warnings, waited: waited)
            }
            try? await Task.sleep(for: min(pause, options.settle - waited))
            pause = min(pause * 2, .milliseconds(200))
        }
    }

    private static func ignored(_ task: TaskInfo, _ options: TaskLeakOptions) -> Bool {
        options.ignoredTasks.contains(task.id) || options.ignoredNames.contains(task.name)
            || matches(task.spawnSite, options.ignoredSpawnSites)
    }

    private static func ignoredWarning(_ warning: Warning, _ options: TaskLeakOptions) -> Bool {
        warning.site.map { matches($0, options.ignoredSpawnSites) } ?? false
    }

    /// Whether `site` is one of `patterns`: `File.swift`, `Module/File.swift`, or either with `:line`.
    static func matches(_ site: SourceSite, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in
            let (file, line): (Substring, Int?) =
                if let colon = pattern.lastIndex(of: ":"), let line = Int(pattern[pattern.index(after: colon)...]) {
                    (pattern[..<colon], line)
                } else {
                    (pattern[...], nil)
                }
            let sameFile = site.file == file || site.file.hasSuffix("/" + file)
            return sameFile && (line == nil || line == site.line)
        }
    }
}

/// Runs `body` as a tracked scope and then checks it for leaks: tracked tasks started
/// inside it (directly or through any task it started) still running, and leak warnings
/// that name those tasks or whose resource the scope or one of its tasks made or owns.
/// Returns the report, `nil` when clean.
///
/// Parallel tests are told apart: each scope sees only its own descendants. What it cannot
/// attribute: tasks started with `Task.detached` (they inherit no task-local, so no parent),
/// and tasks whose chain of ancestors was dropped by the registry's retention.
public func withTaskLeakCheck(
    _ options: TaskLeakOptions = TaskLeakOptions(), fileID: String = #fileID, line: Int = #line,
    _ body: () async throws -> Void
) async throws -> TaskLeakReport? {
    let scope = try await LeakProbe.withTrackedScope(named: "test at \(fileID):\(line)", fileID: fileID, line: line) {
        try await body()
    }
    return await TaskLeaks.find(options, scope: scope == 0 ? nil : scope)
}
