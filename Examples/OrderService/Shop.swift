#if Hummingbird
import Hummingbird
import ServiceLifecycle
import TaskScope

/// The order handler's world: a database, a pricing service and a payment gateway, each a
/// simulated call of `delay`, and the pool of payment workers behind a channel.
final class Shop: Service, Sendable {
    struct Order: Sendable {
        var id: Int
        var amount: Int
    }

    /// A payment handed to the workers, with the request's reply.
    struct Payment: Sendable {
        var order: Order
        var reply: TrackedContinuation<String, any Error>
    }

    struct Declined: Error {}

    let delay: Duration
    let workers: Int
    let leaky: Bool
    private let payments: TrackedSender<Payment>
    private let inbox: TrackedReceiver<Payment>
    /// The gateway takes this many payments at once.
    private let gateway: TrackedSemaphore

    init(delay: Duration, workers: Int, leaky: Bool) {
        self.delay = delay
        self.workers = workers
        self.leaky = leaky
        (payments, inbox) = TrackedChannel<Payment>.make(capacity: workers * 4, name: "payments")
        gateway = TrackedSemaphore(permits: workers, name: "payment-gateway")
    }

    /// `GET /orders/{id}`: look the order up, price it beside the payment, charge it.
    func order(_ id: Int) async throws -> String {
        let order = try await TaskScope.waiting(on: "db.query") { try await io(Order(id: id, amount: id * 100)) }
        let price = Task.tracked("price lookup") { try await self.io(order.amount + order.amount / 5) }
        let receipt: String
        do {
            receipt = try await withTrackedThrowingContinuation("payment reply") { reply in
                // The channel has room for every worker four times over; a full one waits here.
                let payments = self.payments
                Task.tracked("hand payment to the pool") {
                    try await payments.send(Payment(order: order, reply: reply))
                }
            }
        } catch is Declined {
            price.cancel()
            throw HTTPError(
                .init(code: 402, reasonPhrase: "Payment Required"), message: "payment for order \(id) was declined\n")
        }
        return "order \(id): \(try await price.value) charged, \(receipt)\n"
    }

    /// The payment workers, for the life of the service group.
    func run() async throws {
        await withTrackedTaskGroup(of: Void.self) { group in
            for index in 0..<workers {
                group.addTask("payment worker \(index)") { await self.work() }
            }
            // The workers end when the channel is finished, at the group's graceful shutdown.
            await withGracefulShutdownHandler {
                await group.waitForAll()
            } onGracefulShutdown: {
                self.payments.finish()
            }
        }
    }

    private func work() async {
        do {
            for try await payment in inbox.receiving() {
                do {
                    let receipt = try await gateway.withPermit { try await charge(payment.order) }
                    payment.reply.resume(returning: receipt)
                } catch {
                    // The bug --leak switches on: the error path forgets the reply, and the request
                    // that waits for it never ends. The fix is the line below it.
                    if leaky { continue }
                    payment.reply.resume(throwing: error)
                }
            }
        } catch {}
    }

    private func charge(_ order: Order) async throws -> String {
        // The gateway declines every thirteenth order.
        guard order.id % 13 != 0 else { throw Declined() }
        return try await io("receipt \(order.id)-\(order.amount)")
    }

    /// A simulated remote call: `delay`, or a yield when it is zero.
    private func io<T: Sendable>(_ value: T) async throws -> T {
        if delay == .zero {
            await Task.yield()
        } else {
            try await Task.sleep(for: delay)
        }
        return value
    }
}
#endif
