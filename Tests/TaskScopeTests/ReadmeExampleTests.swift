import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct ReadmeExampleTests {
    @Test func theReadmeExampleLabelsItsWaits() async throws {
        let user = try await Task.tracked("readme-fetch") { try await fetchUser(7) }.value
        #expect(user.id == 7)
        let record = try #require(TaskScope.registry.records { $0.name == "readme-fetch" }.first)
        #expect(TaskScope.registry.info(record).outcome == .completed)
    }

    @Test func theReadmePipelineRunsWithoutLeaks() async throws {
        try await Task.tracked("readme-pipeline") { try await runPipeline() }.value
        let names: Set<String> = ["jobs", "workers", "progress", "legacy-ack"]
        #expect(!TaskScope.warnings().contains { names.contains($0.name ?? "") })
    }
}
