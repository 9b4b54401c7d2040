// The README's leak-check example, compiled and run (scripts/test checks that the two match).
import TaskScope
import TaskScopeTesting
import Testing

@Test(.checksTaskLeaks)
func ordersAreConsumed() async throws {
    let (orders, inbox) = TrackedChannel<Int>.make(capacity: 0, name: "orders")
    let consumer = Task.tracked("order-consumer") {
        var total = 0
        for try await order in inbox.receiving() { total += order }
        return total
    }
    try await orders.send(3)
    orders.finish()  // without it the consumer waits for ever: the test fails and says where
    #expect(try await consumer.value == 3)
}
