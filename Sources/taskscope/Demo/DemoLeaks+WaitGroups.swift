import TaskScope

extension DemoLeaks {
    /// leaked-wait-group: a batch whose failing job returns without `done()`, so its runner
    /// waits forever; beside it, batches whose jobs always call `done()`.
    static func waitGroups() async {
        Task.tracked("batch-runner") {
            let batch = TrackedWaitGroup(name: "nightly-batch")
            for index in 0..<3 {
                batch.add(1)
                Task.tracked("batch-job-\(index)") {
                    guard index != 1 else { return }  // the failure path forgets done()
                    batch.done()
                }
            }
            try? await batch.wait()
        }
        while !Task.isCancelled {
            let batch = TrackedWaitGroup(name: "hourly-batch")
            for index in 0..<3 {
                batch.add(1)
                Task.tracked("hourly-job-\(index)") {
                    defer { batch.done() }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            try? await batch.wait()
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
