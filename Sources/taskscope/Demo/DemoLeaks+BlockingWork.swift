import Dispatch
import Foundation
import TaskScope

extension DemoLeaks {
    /// blocked-executor: image resizes that wait for a `DispatchSemaphore` inside async code, one
    /// per thread of the cooperative pool at once, so every task of the process (the demo's own
    /// screen too) waits 2 s behind them every half minute. Beside them, the fixed resizes do the
    /// same blocking wait on a thread of their own and await it, leaving the pool free.
    ///
    /// 2 s: the probe of an idle pool comes once a second, and a stall is seen when the probe sent
    /// into it waits the rule's threshold (250 ms), so a stall of 1.25 s or more (and a little, for
    /// a probe sent just before it) is always seen.
    static func blockingWork() async {
        let width = ProcessInfo.processInfo.activeProcessorCount
        try? await Task.sleep(for: .seconds(2))
        while !Task.isCancelled {
            await withTrackedTaskGroup(of: Void.self) { group in
                for index in 0..<width {
                    group.addTask("image-resize-\(index)") { resizeBlocking() }
                }
                for index in 0..<width {
                    group.addTask("async-resize-\(index)") { await resizeOffThePool() }
                }
            }
            try? await Task.sleep(for: .seconds(30))
        }
    }

    /// Waits for the slow work (2 s) the way blocking code does: holding its thread.
    private static func resizeBlocking() {
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(2)) { done.signal() }
        done.wait()
    }

    /// The same wait on a dispatch thread, which the task awaits without holding a cooperative one.
    private static func resizeOffThePool() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                resizeBlocking()
                continuation.resume()
            }
        }
    }
}
