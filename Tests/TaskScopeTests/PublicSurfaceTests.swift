import Synchronization
import TaskScope
import TestSupport
import Testing

// This file imports TaskScope alone (not ScopeProtocol, not @testable): what a service
// embedding the agent writes. That it compiles is half the test.

/// `import TaskScope` is enough to read warnings and count tasks, and one bug that leaks many
/// resources at one line gives one warning with the count, not one per resource.
@Suite(.timeLimit(.minutes(1))) struct PublicSurfaceTests {
    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    @Test func warningsAndRulesNeedOnlyTaskScope() {
        let settings = TaskScope.RuleSettings(disabled: [LeakRule.stuckWait])
        #expect(settings.disabled == [.stuckWait])
        let warnings: [Warning] = TaskScope.warnings()
        let definite = warnings.filter { $0.severity == LeakRule.Severity.definite }
        #expect(definite.allSatisfy { $0.rule.severity == .definite })
        let site = SourceSite(file: "App/Main.swift", line: 1)
        #expect(site.line == 1)
        #expect(WaitReason.channelSend == "channel.send")
    }

    @Test func theLiveTaskCountCountsTrackedTasksInProcess() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let started = Counter()
        let tasks = (0..<50).map { _ in
            Task.tracked(Self.unique("counted")) {
                started.add()
                for await _ in gate {}
            }
        }
        try await eventually("all started") { started.count == 50 }
        #expect(TaskScope.liveTaskCount >= 50)
        open.finish()
        for task in tasks { await task.value }
    }

    @Test func oneBugLeakingManyChannelsAtOneLineIsOneWarning() async throws {
        let name = Self.unique("per-request")
        // Buggy: each of 206 requests drops the receiver of its reply channel; its worker's send hangs.
        let repliers = (0..<206).map { _ in
            let (reply, _) = TrackedChannel<Int>.make(capacity: 0, name: name)
            return Task.tracked(Self.unique("replier")) {
                try? await reply.send(1)
            }
        }
        // The process's registry is shared with every other test: leave no leak behind.
        defer { for replier in repliers { replier.cancel() } }
        try await eventually("all 206 are blocked and orphaned", timeout: .seconds(30)) {
            TaskScope.warnings().first { $0.name == name }?.tasks == 206
        }
        let ours = TaskScope.warnings().filter { $0.name == name }
        #expect(ours.count == 1)
        let warning = try #require(ours.first)
        #expect(warning.rule == .orphanedChannel)
        #expect(warning.tasks == 206)
        #expect(warning.taskIDs.count == 10, "a capped list of ids")
        #expect(warning.resource == nil, "many resources")
        #expect(warning.message.hasPrefix("206 resources"))
    }

    @Test func oneBugLeakingManyContinuationsAtOneLineIsOneWarning() async throws {
        let name = Self.unique("callback")
        for _ in 0..<206 {
            // Buggy: the callback is dropped on a path, unresumed.
            Task.tracked(Self.unique("caller")) {
                await withTrackedContinuation(name) { (_: TrackedContinuation<Int, Never>) in }
            }
        }
        try await eventually("all 206 are leaked", timeout: .seconds(30)) {
            TaskScope.warnings().first { $0.name == name }?.tasks == 206
        }
        let ours = TaskScope.warnings().filter { $0.name == name }
        #expect(ours.count == 1)
        #expect(ours.first?.rule == .leakedContinuation)
        #expect(ours.first?.taskIDs.count == 10)

        // Fixed: every continuation is resumed; nothing is reported.
        let fixed = Self.unique("callback-fixed")
        for _ in 0..<206 {
            _ = await Task.tracked(Self.unique("caller-fixed")) {
                await withTrackedContinuation(fixed) { (continuation: TrackedContinuation<Int, Never>) in
                    continuation.resume(returning: 1)
                }
            }.value
        }
        #expect(!TaskScope.warnings().contains { $0.name == fixed })
    }
}
