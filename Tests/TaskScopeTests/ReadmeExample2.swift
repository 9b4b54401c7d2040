// The primitives example of README.md, verbatim below this comment (scripts/test
// checks that the two agree), so that the README's code always compiles.

import TaskScope

struct Job: Sendable { var id: Int }

func runPipeline() async throws {
    let (jobs, inbox) = TrackedChannel<Job>.make(capacity: 8, name: "jobs")
    let pool = TrackedSemaphore(permits: 4, name: "workers")
    let progress = TrackedTicker(every: .seconds(1), name: "progress")
    defer { progress.stop() }  // without it, once this task ends: orphaned-timer

    let producer = Task.tracked("producer") {
        defer { jobs.finish() }  // without it, the loop below never ends: orphaned-channel
        for id in 0..<100 { try await jobs.send(Job(id: id)) }  // wait reason: channel.send
    }
    for try await job in inbox.receiving() {  // wait reason: channel.receive
        try await pool.withPermit { await acknowledge(job) }  // wait reason: semaphore
    }
    try await producer.join()  // wait reason: task.join
}

func acknowledge(_ job: Job) async {
    await withTrackedContinuation("legacy-ack") { (continuation: TrackedContinuation<Void, Never>) in
        legacyAcknowledge(job.id) { continuation.resume(returning: ()) }  // resume on every path
    }
}

func legacyAcknowledge(_ id: Int, completion: @escaping @Sendable () -> Void) { completion() }
