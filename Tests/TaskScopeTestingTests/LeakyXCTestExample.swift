import Foundation
import TaskScope
import TaskScopeTesting
import XCTest

/// A deliberately leaking XCTest, run only by the test that checks how it fails.
final class LeakyXCTestExample: XCTestCase {
    func testLeaksAConsumer() async throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["TASKSCOPE_LEAKY_EXAMPLES"] == "1")
        let alreadyRunning = TaskLeaks.aliveNow()
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: "orders")
        Task.tracked("order-consumer") { while (try? await receiver.receive()) != nil {} }
        try await sender.send(1)
        await XCTAssertNoTaskLeaks(TaskLeakOptions(ignoringTasks: alreadyRunning, settle: .milliseconds(100)))
    }
}
