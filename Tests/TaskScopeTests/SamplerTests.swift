import ScopeProtocol
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct SamplerTests {
    @Test func samplesCountsByStateAndReason() throws {
        let registry = Registry()
        let sampler = Sampler(capacity: 10, interval: .seconds(1))
        let a = registry.spawn(name: "a", parentID: 0, file: "F", line: 1, function: "f")
        _ = registry.spawn(name: "b", parentID: 0, file: "F", line: 2, function: "f")
        _ = registry.beginWait(a, reason: "sleep", file: "F", line: 3)
        sampler.sample(registry)
        let sample = try #require(sampler.history().samples.last)
        #expect(sample.active == 1)
        #expect(sample.waiting == 1)
        #expect(sample.waits == ["sleep": 1])
        #expect(sample.totals.spawned == 2)
    }

    @Test func theRingKeepsTheNewestSamplesUpToItsCapacity() {
        let registry = Registry()
        let sampler = Sampler(capacity: 5, interval: .milliseconds(500))
        for index in 0..<12 {
            _ = registry.spawn(name: "t\(index)", parentID: 0, file: "F", line: 1, function: "f")
            sampler.sample(registry)
        }
        let history = sampler.history()
        #expect(history.capacity == 5)
        #expect(history.interval == 0.5)
        #expect(history.samples.count == 5)
        #expect(history.samples.map(\.active) == [8, 9, 10, 11, 12])
        #expect(sampler.history(limit: 2).samples.map(\.active) == [11, 12])
        #expect(history.samples.map(\.time) == history.samples.map(\.time).sorted())
    }
}
