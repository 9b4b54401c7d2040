import Dispatch
import Foundation
import Logging
import Synchronization

/// Checks that this runtime lays suspended tasks out as ``AsyncStackReader`` expects: a probe
/// task parks three async calls deep in known functions, and its chain must name them,
/// innermost first. A runtime whose layout differs, a binary without a symbol table, or a
/// process not allowed to read its own memory turns stacks off with the reason logged and given
/// to every `stacks` request.
///
/// Once per process (the layout is the process's runtime's): the first agent to start runs it,
/// later ones read its outcome. Nothing waits for it: the probe, once parked, has a dispatch
/// thread read it and resume it, so a busy cooperative pool only delays the outcome.
///
/// Cost: one task parked for a moment and the main module's symbol table built (its line table
/// is not), once.
final class StackSelfTest: Sendable {
    /// The process's check.
    static let shared = StackSelfTest(symbolicator: Symbolicator(readsLineTables: false))

    private enum Outcome: Sendable, Equatable {
        case notStarted, running, passed, failed(String)
    }

    private let outcome = Mutex(Outcome.notStarted)
    /// Names the probe's frames; its tables, built for the check, serve others who need names
    /// without line tables (``CooperativeThreads``).
    let symbolicator: Symbolicator

    init(symbolicator: Symbolicator) {
        self.symbolicator = symbolicator
    }

    /// What ``failure(waiting:)`` says while the probe has not yet run.
    static let pending = "the stack self-test has not finished yet (the cooperative pool is busy); ask again"

    /// Starts the probe unless already started; returns at once.
    func start(logger: Logger? = nil) {
        let first = outcome.withLock { outcome -> Bool in
            guard outcome == .notStarted else { return false }
            outcome = .running
            return true
        }
        guard first else { return }
        guard AsyncStackReader.canReadOwnMemory() else {
            finish("this process may not read its own memory (process_vm_readv refused: a seccomp filter?)", logger)
            return
        }
        let parking = Parking { [self] task, resume in
            // Off the cooperative pool: the probe's thread is free again once it has suspended.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(1)) {
                let result = Self.check(task: task, symbolicator: self.symbolicator)
                resume()
                self.finish(result, logger)
            }
        }
        Task.detached { await Self.parkOuter(parking) }
    }

    private func finish(_ result: String?, _ logger: Logger?) {
        outcome.withLock { $0 = result.map(Outcome.failed) ?? .passed }
        if let result {
            (logger ?? Logger(label: "taskscope")).warning(
                "taskscope: async stacks are off", metadata: ["reason": "\(result)"])
        }
    }

    /// Why stacks are off, nil when they work; waits up to `timeout` for the probe.
    func failure(waiting timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            switch outcome.withLock({ $0 }) {
            case .passed: return nil
            case .failed(let reason): return reason
            case .notStarted, .running:
                if ContinuousClock.now >= deadline { return Self.pending }
                usleep(1_000)
            }
        }
    }

    /// Whether the check has an outcome.
    var isDone: Bool {
        switch outcome.withLock({ $0 }) {
        case .passed, .failed: true
        case .notStarted, .running: false
        }
    }

    /// Where the probe parks: it hands its task's address and a way to resume it to `parked`.
    private final class Parking: Sendable {
        let parked: @Sendable (UInt, @escaping @Sendable () -> Void) -> Void

        init(parked: @escaping @Sendable (UInt, @escaping @Sendable () -> Void) -> Void) {
            self.parked = parked
        }
    }

    @inline(never) private static func parkOuter(_ parking: Parking) async {
        await parkMiddle(parking)
        blackHole(parking)
    }

    @inline(never) private static func parkMiddle(_ parking: Parking) async {
        await parkInner(parking)
        blackHole(parking)
    }

    @inline(never) private static func parkInner(_ parking: Parking) async {
        let task = withUnsafeCurrentTask { task in task.map { unsafeBitCast($0, to: UInt.self) } ?? 0 }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumed = Mutex(false)
            parking.parked(task) {
                if resumed.withLock({ done in
                    defer { done = true }
                    return !done
                }) {
                    continuation.resume()
                }
            }
        }
        blackHole(parking)
    }

    @inline(never) private static func blackHole(_ value: Parking) { _ = ObjectIdentifier(value) }

    /// The functions the probe's chain must name, innermost first.
    static let expected = ["StackSelfTest.parkInner", "StackSelfTest.parkMiddle", "StackSelfTest.parkOuter"]

    /// Reads the parked probe at `task`; the reason it failed, or nil.
    static func check(task: UInt, symbolicator: Symbolicator) -> String? {
        guard task != 0 else { return "the probe task has no task of its own" }
        // The continuation is handed over just before the task suspends: read until the chain holds.
        let reader = AsyncStackReader(depth: 16, image: ProcessImage.current())
        var names: [String] = []
        for _ in 0..<200 {
            if let chain = reader.read([task]).first ?? nil {
                names = chain.functions.map { symbolicator.frame($0, withLines: false).function ?? "?" }
                if holdsInOrder(names) { return nil }
            }
            usleep(500)
        }
        if names.isEmpty { return "a parked task's async chain could not be read (a runtime with another layout?)" }
        if names.allSatisfy({ $0 == "?" }) {
            return "the binary has no symbol table to name async functions (was it stripped?)"
        }
        return "a parked task's async chain did not name its callers (read: "
            + names.prefix(6).joined(separator: " <- ") + ")"
    }

    static func holdsInOrder(_ names: [String]) -> Bool {
        var rest = names[...]
        for wanted in expected {
            guard let found = rest.firstIndex(where: { $0.contains(wanted) }) else { return false }
            rest = rest[(found + 1)...]
        }
        return true
    }
}
