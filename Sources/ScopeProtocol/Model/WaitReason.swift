/// The built-in wait reasons. Wait reasons are plain strings on the wire, so
/// user labels given to `TaskScope.waiting(on:)` sit beside these unchanged.
public enum WaitReason {
    /// `TaskScope.sleep(for:)`.
    public static let sleep = "sleep"
    /// Blocked sending on a tracked channel.
    public static let channelSend = "channel.send"
    /// Blocked receiving from a tracked channel.
    public static let channelReceive = "channel.receive"
    /// Waiting for a tracked timer or ticker to fire.
    public static let timer = "timer"
    /// Waiting for a tracked continuation to be resumed.
    public static let continuation = "continuation"
    /// Waiting for a permit of a tracked semaphore.
    public static let semaphore = "semaphore"
    /// Waiting for a tracked wait group's count to reach zero.
    public static let waitGroup = "wait-group"
    /// Blocked in a select over tracked channels.
    public static let select = "select"
    /// Awaiting the value of a tracked task.
    public static let taskJoin = "task.join"
    /// Awaiting the next child of a tracked task group.
    public static let groupNext = "group.next"

    /// Every built-in reason, in a stable order.
    public static let builtIn: [String] = [
        sleep, channelSend, channelReceive, timer, continuation, semaphore, taskJoin, groupNext, waitGroup, select,
    ]
}
