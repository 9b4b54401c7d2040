import Foundation

public struct ConditionTimedOut: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Waits until `condition` holds, checking every few milliseconds, and fails
/// after `timeout`: how tests wait for asynchronous effects without sleeping
/// for a fixed time.
///
/// A costly condition (a pass of the leak rules over the whole process's tasks, say) is
/// checked less often: the wait between checks is at least three times the last check's
/// time, so a test that polls takes at most a quarter of a thread, and the few threads every
/// test shares (one per core) are left to the tests whose effects it is waiting for.
public func eventually(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        let start = clock.now
        if try await condition() { return }
        try await Task.sleep(for: max(.milliseconds(10), (clock.now - start) * 3))
    }
    if try await condition() { return }
    throw ConditionTimedOut(description: "timed out after \(timeout) waiting for: \(what)")
}

/// A fresh private directory under /tmp with a short path (unix socket paths are short).
public func makeTemporaryDirectory(_ label: String = "t") throws -> String {
    let path = "/tmp/tsq-\(label)-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Removes a directory tree, ignoring errors.
public func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// Runs blocking work (socket reads and writes that wait) on a thread of its own, so that it
/// never holds one of the few threads Swift's concurrency runs every task on.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
