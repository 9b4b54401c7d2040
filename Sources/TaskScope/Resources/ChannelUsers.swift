/// The tasks that have used one side of a channel (sent, or received): the last few distinct
/// ones, for the `abandoned-channel` rule.
///
/// A send or receive checks its task's address against the four kept (under the channel's
/// lock, which it holds anyway); only a task new to the side looks its record up and notes it.
/// Records are kept strongly (a few per channel), so that the rule can see whether each user
/// has finished, and when.
@usableFromInline
struct ChannelUsers: Sendable {
    @usableFromInline static let limit = 4
    /// The addresses of the tasks kept (0: an empty slot), most recent last.
    @usableFromInline var keys: [Int] = []
    /// Their records, `nil` for a task taskscope does not track.
    var records: [TaskRecord?] = []
    /// Whether more distinct tasks used the side than are kept: an older one may still be live.
    var overflowed = false

    @usableFromInline init() {}

    @inlinable
    func contains(_ key: Int) -> Bool { keys.contains(key) }

    /// Notes the task with address `key`, whose record (if tracked) is `record`.
    mutating func add(key: Int, record: TaskRecord?) {
        guard !keys.contains(key) else { return }
        if keys.count == ChannelUsers.limit {
            keys.removeFirst()
            records.removeFirst()
            overflowed = true
        }
        keys.append(key)
        records.append(record)
    }
}

extension TaskScope {
    /// The current task's address, as a channel notes its users by (0 outside a task).
    @usableFromInline
    static func channelUserKey() -> Int { currentTaskKey() }
}
