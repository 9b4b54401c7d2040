import Foundation

public struct ConditionTimedOut: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Waits until `condition` holds, checking every few milliseconds, and fails
/// after `timeout`: how tests wait for asynchronous effects without sleeping
/// for a fixed time.
public func eventually(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
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
