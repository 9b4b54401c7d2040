import Synchronization

/// A task handle filled in after the spawn: for tasks that join each other, where each needs
/// the other's handle before it exists.
public final class LateTask: Sendable {
    private let slot = Mutex<Task<Void, Never>?>(nil)

    public init() {}

    /// Fills in the handle.
    public func set(_ task: Task<Void, Never>) { slot.withLock { $0 = task } }

    /// The handle, once it is filled in.
    public func get() async -> Task<Void, Never> {
        while true {
            if let task = slot.withLock({ $0 }) { return task }
            await Task.yield()
        }
    }
}
