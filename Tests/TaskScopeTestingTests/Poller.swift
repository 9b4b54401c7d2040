import TaskScope

/// A task spawned in a file of its own, for the tests that ignore a spawn site by file.
func startPoller(waitingFor gate: Gate) {
    Task.tracked("poller") { _ = try? await gate.receiver.receive() }
}
