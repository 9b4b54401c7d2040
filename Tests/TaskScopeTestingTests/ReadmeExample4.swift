// The README's XCTest leak-check example, compiled (scripts/test checks that the two match).
import TaskScope
import TaskScopeTesting
import XCTest

final class OrderTests: XCTestCase {
    func testOrdersAreConsumed() async throws {
        let alreadyRunning = TaskLeaks.aliveNow()
        let (orders, inbox) = TrackedChannel<Int>.make(capacity: 0, name: "orders")
        let consumer = Task.tracked("order-consumer") { try await inbox.receive() }
        try await orders.send(3)
        _ = try await consumer.value
        await XCTAssertNoTaskLeaks(TaskLeakOptions(ignoringTasks: alreadyRunning))
    }
}
