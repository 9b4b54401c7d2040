import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// Which task a thread runs, read without signalling it: a task blocked on a semaphore or
/// spinning on a CPU is found on its thread, and no longer once it has ended; a thread stopped in
/// a system call unwinds to the function that blocked. The blocking tasks run on a thread of
/// their own (a task executor), not the cooperative pool the other tests share.
@Suite(.serialized) struct CurrentTaskReaderTests {
    /// Runs its jobs, one at a time, on a thread of its own.
    final class OwnThreadExecutor: TaskExecutor {
        private let jobs = Mutex<[UnownedJob]>([])
        private let ready = DispatchSemaphore(value: 0)

        init() {
            let thread = Thread { [self] in
                while true {
                    ready.wait()
                    let job = jobs.withLock { $0.removeFirst() }
                    job.runSynchronously(on: asUnownedTaskExecutor())
                }
            }
            thread.start()
        }

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            jobs.withLock { $0.append(job) }
            ready.signal()
        }
    }

    static let executor = OwnThreadExecutor()

    /// A task holding one cooperative thread until released: its address and thread.
    final class Holder: Sendable {
        let started = Mutex<(task: UInt, thread: Int32)?>(nil)
        let release = Atomic<Bool>(false)
        let semaphore = DispatchSemaphore(value: 0)

        @inline(never) func waitOnSemaphore() {
            note()
            semaphore.wait()
        }

        @inline(never) func spin() {
            note()
            while !release.load(ordering: .acquiring) {}
        }

        private func note() {
            let task = withUnsafeCurrentTask { task in task.map { unsafeBitCast($0, to: UInt.self) } ?? 0 }
            started.withLock { $0 = (task, ThreadSampler.currentThreadID()) }
        }
    }

    @Test func theLayoutIsLearnedOnThisRuntime() async throws {
        let learned = await CurrentTaskReader.learn()
        if case .failure(let failure) = learned { Issue.record("not learned: \(failure.reason)") }
        CurrentTaskReader.shared.start()
        let layout = await CurrentTaskReader.shared.waitLearned(timeout: .seconds(60))
        #expect(layout != nil && layout == (try? learned.get()))
    }

    @Test func aTaskBlockedOnASemaphoreIsFoundOnItsThreadAndUnwindsToTheWait() async throws {
        CurrentTaskReader.shared.start()
        _ = try #require(await CurrentTaskReader.shared.waitLearned(timeout: .seconds(60)))
        let holder = Holder()
        let task = Task.detached(executorPreference: Self.executor) { holder.waitOnSemaphore() }
        try await eventually("the task holds its thread") { holder.started.withLock { $0 } != nil }
        let (address, thread) = try #require(holder.started.withLock { $0 })
        try await eventually("its thread stops in the wait") {
            if case .stopped = CooperativeThreads.state(of: thread) { return true }
            return false
        }
        #expect(CurrentTaskReader.shared.tasks(of: [thread])?[thread] == address)
        guard case .stopped(let stack, let pc) = CooperativeThreads.state(of: thread) else {
            Issue.record("the thread left its wait")
            return
        }
        let frames = CooperativeThreads.frames(
            of: .init(thread: thread, task: address, addresses: CooperativeThreads.unwind(pc: pc, stack: stack)))
        // The innermost named frame says what it waits for (libdispatch's own semaphore wait);
        // then the function that called it, and the test's closure; not the runtime's frames.
        #expect(frames.first?.contains("sema") == true, "\(frames)")
        #expect(frames.count >= 3 && !frames.contains { $0.contains("swift_job_run") }, "\(frames)")
        #expect(frames.contains { $0.contains("waitOnSemaphore") }, "\(frames)")
        holder.semaphore.signal()
        await task.value
        try await eventually("the thread runs that task no more") {
            CurrentTaskReader.shared.tasks(of: [thread])?[thread] != address
        }
    }

    @Test func aTaskGroupsChildIsFoundOnItsThread() async throws {
        CurrentTaskReader.shared.start()
        _ = try #require(await CurrentTaskReader.shared.waitLearned(timeout: .seconds(60)))
        let holder = Holder()
        let group = Task.detached {
            await withTaskGroup(of: Void.self) { group in
                group.addTask(executorPreference: Self.executor) { holder.waitOnSemaphore() }
            }
        }
        try await eventually("the child holds its thread") { holder.started.withLock { $0 } != nil }
        let (address, thread) = try #require(holder.started.withLock { $0 })
        let found = CurrentTaskReader.shared.tasks(of: [thread])?[thread]
        holder.semaphore.signal()
        await group.value
        #expect(found == address, "found \(String(found ?? 0, radix: 16)), the child is \(String(address, radix: 16))")
    }

    @Test func aTaskSpinningOnACPUIsFoundOnItsThread() async throws {
        CurrentTaskReader.shared.start()
        _ = try #require(await CurrentTaskReader.shared.waitLearned(timeout: .seconds(60)))
        let holder = Holder()
        let task = Task.detached(executorPreference: Self.executor) { holder.spin() }
        defer { holder.release.store(true, ordering: .releasing) }
        try await eventually("the task holds its thread") { holder.started.withLock { $0 } != nil }
        let (address, thread) = try #require(holder.started.withLock { $0 })
        // On a CPU, or taken off it for a moment (more runnable threads than cores): never in a call.
        let state = try #require(CooperativeThreads.state(of: thread))
        if case .stopped = state { Issue.record("a spinning thread read as in a system call: \(state)") }
        #expect(CurrentTaskReader.shared.tasks(of: [thread])?[thread] == address)
        holder.release.store(true, ordering: .releasing)
        await task.value
    }

    /// With more threads than either bound, the thread list stops at ``CooperativeThreads/threadLimit``
    /// and the stack mappings read stop at ``CurrentTaskReader/mappingLimit``.
    @Test func theThreadAndMappingReadsStopAtTheirBounds() async throws {
        let extra = max(CooperativeThreads.threadLimit, CurrentTaskReader.mappingLimit) + 8
        let release = DispatchSemaphore(value: 0)
        let parked = Atomic<Int>(0)
        for _ in 0..<extra {
            let thread = Thread {
                parked.add(1, ordering: .relaxed)
                release.wait()
            }
            thread.stackSize = 64 * 1_024
            thread.start()
        }
        defer { for _ in 0..<extra { release.signal() } }
        try await eventually("the threads are parked") { parked.load(ordering: .relaxed) == extra }
        #expect(ThreadSampler.threadIDs().count > CooperativeThreads.threadLimit)
        #expect(ThreadSampler.threadIDs(limit: CooperativeThreads.threadLimit).count == CooperativeThreads.threadLimit)

        CurrentTaskReader.shared.start()
        let layout = try #require(await CurrentTaskReader.shared.waitLearned(timeout: .seconds(60)))
        let all = CurrentTaskReader.scanStacks(layout: layout, limit: .max)
        #expect(all.count > CurrentTaskReader.mappingLimit, "each parked thread's stack holds its block")
        let bounded = CurrentTaskReader.scanStacks(layout: layout)
        #expect(bounded.count <= CurrentTaskReader.mappingLimit)
        #expect(bounded.count < all.count, "the mappings past the bound are not read")
        #expect(CurrentTaskReader.scanStacks(layout: layout, limit: 8).count <= 8)
    }

    @Test func theSyscallFileParsesAsTheKernelWritesIt() {
        #expect(CooperativeThreads.state(syscallFile: "running\n") == .onCPU)
        #expect(
            CooperativeThreads.state(
                syscallFile: "202 0x7f01 0x80 0x0 0x0 0x0 0x0 0x7ffd2e8 0x7f0a91\n")
                == .stopped(stack: 0x7ffd2e8, pc: 0x7f0a91))
        #expect(
            CooperativeThreads.state(syscallFile: "-1 0x7ffd2e8 0x7f0a91\n")
                == .preempted(stack: 0x7ffd2e8, pc: 0x7f0a91))
        #expect(CooperativeThreads.state(syscallFile: "202 0x1 0x2\n") == nil, "cut short")
        #expect(CooperativeThreads.state(syscallFile: "") == nil)
    }
}
