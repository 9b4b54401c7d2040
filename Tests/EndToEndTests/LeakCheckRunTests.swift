import Foundation
import TestSupport
import Testing

/// The leak checks of TaskScopeTesting, run on deliberately leaking tests in a process of their
/// own (this test bundle, asked to run only those), as a test suite would see them fail.
@Suite(.serialized, .timeLimit(.minutes(2))) struct LeakCheckRunTests {
    static var testBundle: String {
        CLI.executable.deletingLastPathComponent().appendingPathComponent("taskscopePackageTests.xctest").path
    }

    @Test func aLeakingSwiftTestingTestFailsWithWhatLeakedAndTheFix() async throws {
        let run = try await Program.run(
            Self.testBundle, ["--testing-library", "swift-testing", "--filter", "LeakyExamples"],
            environment: ["TASKSCOPE_LEAKY_EXAMPLES": "1", "NO_COLOR": "1"])
        let output = run.stdout + run.stderr
        #expect(run.status != 0, "\(output)")
        #expect(output.contains("Test leaksAConsumer() recorded an issue at TaskLeakCheckTests.swift:"), "\(output)")
        #expect(output.contains("1 tracked task started during this test is still running"))
        #expect(
            output.contains(
                #"1 × "order-consumer" waiting on channel.receive at TaskScopeTestingTests/TaskLeakCheckTests.swift:"#))
        #expect(output.contains(#"definite orphaned-channel: channel "orders""#))
        #expect(output.contains("fix: finish() the channel"))
        #expect(output.contains("Test run with 1 test"))
    }

    @Test func aLeakingXCTestFailsAtTheAssertionsLine() async throws {
        let run = try await Program.run(
            Self.testBundle, ["TaskScopeTestingTests.LeakyXCTestExample/testLeaksAConsumer"],
            environment: ["TASKSCOPE_LEAKY_EXAMPLES": "1"])
        let output = run.stdout + run.stderr
        #expect(run.status != 0, "\(output)")
        #expect(
            output.range(
                of:
                    #"LeakyXCTestExample\.swift:\d+: error: LeakyXCTestExample\.testLeaksAConsumer : failed - 1 tracked task"#,
                options: .regularExpression) != nil, "\(output)")
        #expect(output.contains(#""order-consumer" waiting on channel.receive"#))
        #expect(output.contains("Executed 1 test, with 1 failure"))
    }
}
