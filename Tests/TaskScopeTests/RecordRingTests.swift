import Testing

@testable import TaskScope

@Suite struct RecordRingTests {
    private let registry = Registry()

    private func records(_ count: Int) -> [TaskRecord] {
        (0..<count).map { registry.spawn(name: "r\($0)", parentID: 0, file: "Ring.swift", line: 1, function: "") }
    }

    private func ids(_ ring: RecordRing) -> [UInt64] {
        var ids: [UInt64] = []
        ring.forEach { ids.append($0.id) }
        return ids
    }

    @Test func keepsOrderAcrossWrapAroundAndGrowth() {
        let all = records(11)
        var ring = RecordRing(initialCapacity: 4)
        for record in all.prefix(3) { ring.append(record) }
        #expect(ring.removeFirst() === all[0])
        #expect(ring.removeFirst() === all[1])
        // The head is now past the start: these wrap around, then overflow the four slots.
        for record in all[3..<11] { ring.append(record) }
        #expect(ring.count == 9)
        #expect(ids(ring) == all[2..<11].map(\.id))
        #expect(ring.first === all[2])
        #expect(ring.first { $0.name == "r7" } === all[7])
        #expect(ring.first { $0.name == "r0" } == nil)
        for record in all[2..<11] { #expect(ring.removeFirst() === record) }
        #expect(ring.isEmpty)
        #expect(ring.first == nil)
    }

    @Test func removingTheOldestLetsItGo() {
        var ring = RecordRing(initialCapacity: 2)
        weak var dropped: TaskRecord?
        do {
            let record = TaskRecord(
                id: 1, name: "gone", parentID: 0, spawnPoint: .passUnretained(.untracked), created: 0,
                shard: .passUnretained(registry.shards[0]))
            dropped = record
            ring.append(record)
        }
        #expect(dropped != nil)
        _ = ring.removeFirst()
        #expect(dropped == nil)
    }
}
