import Foundation
import ScopeProtocol
import TaskScope
import Testing

@testable import TaskScopeTesting

/// Tasks that wait until their test lets them go, so that a test can leak them on purpose
/// and still clean up after itself.
final class Gate: Sendable {
    let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: "gate")

    func open() { sender.finish() }
}

@Suite(.timeLimit(.minutes(1))) struct TaskLeakCheckTests {
    @Test func aLeakingTestIsToldWhatLeakedWhereAndHowToFixIt() async throws {
        let gate = Gate()
        let line = #line + 5
        let report = try await withTaskLeakCheck(TaskLeakOptions(settle: .milliseconds(200))) {
            // An orphaned channel: its sender is dropped, so the receiver waits for ever.
            let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: "results")
            for index in 0..<2 {
                Task.tracked("result-reader") { _ = try? await receiver.receive() }
                _ = index
            }
            _ = sender
            Task.tracked("gatekeeper") { _ = try? await gate.receiver.receive() }
        }
        gate.open()
        let found = try #require(report)
        #expect(found.tasks.count == 3)
        let text = found.description
        #expect(text.hasPrefix("3 tracked tasks started during this test are still running (after waiting "))
        #expect(
            text.contains(
                "  2 × \"result-reader\" waiting on channel.receive at TaskScopeTestingTests/TaskLeakCheckTests.swift:\(line), "
                    + "spawned at TaskScopeTestingTests/TaskLeakCheckTests.swift:\(line)"), "\(text)")
        #expect(text.contains("1 × \"gatekeeper\" waiting on channel.receive"))
        #expect(text.contains("leak warnings:\n  definite orphaned-channel: "))
        #expect(text.contains("\"results\""))
        #expect(text.contains("    fix: "))
        #expect(!text.contains("\"gate\""), "the gate's own channel still has its sender: no warning")
    }

    @Test func aResourceTheTestMadeAndLeftOrphanedIsReportedWithoutAnyTask() async throws {
        var kept: TrackedSender<Int>?
        let report = try await withTaskLeakCheck(TaskLeakOptions(settle: .milliseconds(100))) {
            // A value sent and never received: the receiver is dropped at the end of the body.
            let (sender, receiver) = TrackedChannel<Int>.make(capacity: 4, name: "undelivered")
            try await sender.send(1)
            _ = receiver
            kept = sender
        }
        let found = try #require(report)
        #expect(found.tasks.isEmpty)
        #expect(found.warnings.map(\.rule) == [.orphanedChannel])
        #expect(found.warnings.map(\.name) == ["undelivered"])
        #expect(found.description.hasPrefix("leak warnings:\n  definite orphaned-channel: "))
        kept?.finish()
    }

    @Test func aCleanTestPassesEvenWhileItsTasksAreFinishing() async throws {
        // A generous settle: the check returns as soon as the tasks are done, and a busy
        // machine (the rest of this suite runs alongside) may take a while to run them.
        let report = try await withTaskLeakCheck(TaskLeakOptions(settle: .seconds(10))) {
            for index in 0..<5 {
                // Still running when the body returns; done well within the settle.
                Task.tracked("finishing-\(index)") { try? await TaskScope.sleep(for: .milliseconds(50 * index)) }
            }
            let (sender, receiver) = TrackedChannel<Int>.make(capacity: 1, name: "handled")
            try await sender.send(1)
            sender.finish()
            _ = try await receiver.receive()
        }
        #expect(report == nil, "\(report?.description ?? "")")
    }

    @Test func ignoredNamesSitesAndTasksAreNotLeaks() async throws {
        let gate = Gate()
        defer { gate.open() }
        let before = Task.tracked("already-running") { _ = try? await gate.receiver.receive() }
        try await Task.sleep(for: .milliseconds(10))
        let aliveBefore = TaskLeaks.aliveNow()
        let report = try await withTaskLeakCheck(
            TaskLeakOptions(
                ignoringNames: ["cache-warmer"], ignoringSpawnSites: ["Poller.swift"], settle: .milliseconds(100))
        ) {
            Task.tracked("cache-warmer") { _ = try? await gate.receiver.receive() }
            startPoller(waitingFor: gate)
        }
        #expect(report == nil, "\(report?.description ?? "")")
        // The function form with nothing ignored sees everything; with what was alive before ignored, only the new.
        let everything = Task.tracked("after") { _ = try? await gate.receiver.receive() }
        await withKnownIssue {
            await expectNoTaskLeaks(TaskLeakOptions(ignoringTasks: aliveBefore, settle: .milliseconds(100)))
        } matching: { issue in
            let text = issue.comments.map(\.rawValue).joined()
            return text.contains("\"after\"") && !text.contains("\"already-running\"")
        }
        gate.open()
        _ = await (before.value, everything.value)
    }

    @Test func parallelTestsDoNotSeeEachOthersTasks() async throws {
        let gate = Gate()
        async let leaky = withTaskLeakCheck(TaskLeakOptions(settle: .milliseconds(300))) {
            Task.tracked("leaky-one") { _ = try? await gate.receiver.receive() }
            try await Task.sleep(for: .milliseconds(100))
        }
        // The clean scope's settle is generous: its check returns as soon as its own task is done,
        // and on a busy machine (the rest of the suite runs alongside) that task may wait a while
        // for a thread. Were the scopes not told apart, it would see "leaky-one", which never ends.
        async let clean = withTaskLeakCheck(TaskLeakOptions(settle: .seconds(10))) {
            Task.tracked("clean-one") { try? await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(100))
        }
        let (leakyReport, cleanReport) = try await (leaky, clean)
        gate.open()
        #expect(cleanReport == nil, "\(cleanReport?.description ?? "")")
        #expect(leakyReport?.tasks.map(\.name) == ["leaky-one"])
    }

    @Test func theTraitRecordsTheLeakAtTheTest() async throws {
        let gate = Gate()
        defer { gate.open() }
        let trait: TaskLeakTrait = .checksTaskLeaks(settle: .milliseconds(100))
        let test = try #require(Test.current)
        try await withKnownIssue {
            try await trait.provideScope(for: test, testCase: Test.Case.current) {
                Task.tracked("left-behind") { _ = try? await gate.receiver.receive() }
            }
        } matching: { issue in
            issue.comments.contains { $0.rawValue.contains("1 tracked task started during this test is still running") }
                && issue.sourceLocation == test.sourceLocation
        }
    }

    @Test func sitesMatchByFileOrFileAndLine() {
        let site = SourceSite(file: "App/Jobs.swift", line: 12)
        #expect(TaskLeaks.matches(site, ["Jobs.swift"]))
        #expect(TaskLeaks.matches(site, ["App/Jobs.swift:12"]))
        #expect(!TaskLeaks.matches(site, ["Jobs.swift:13"]))
        #expect(!TaskLeaks.matches(site, ["bs.swift"]))
    }
}

/// Deliberately leaking tests, run only by the tests that check how they fail
/// (`TASKSCOPE_LEAKY_EXAMPLES=1`), in a process of their own.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TASKSCOPE_LEAKY_EXAMPLES"] == "1"))
struct LeakyExamples {
    @Test(.checksTaskLeaks(settle: .milliseconds(100)))
    func leaksAConsumer() async throws {
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: "orders")
        Task.tracked("order-consumer") { while (try? await receiver.receive()) != nil {} }
        try await sender.send(1)
        // The sender goes away unfinished: the consumer waits for ever.
    }
}
