import Foundation
import ScopeProtocol
import Testing

@testable import ScopeClient
@testable import TaskScope

/// The Groups screen's path: the `groups` reply's limit and total, and the query that opens a
/// group (its reason, wait site and spawn site), paged through every task of a large group.
@Suite(.timeLimit(.minutes(2))) struct GroupPagingTests {
    @Test func openingAGroupOf570PagesThroughEveryTask() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        var stuck: Set<UInt64> = []
        for index in 0..<570 {
            let record = agent.registry.spawn(
                name: "listener", parentID: 0, file: "App/Leaks.swift", line: 29, function: "spawning()")
            _ = agent.registry.beginWait(record, reason: "channel.receive", file: "App/Leaks.swift", line: 31)
            stuck.insert(record.id)
            // The same reason at another wait site, and the same sites spawning active tasks: other groups.
            if index % 10 == 0 {
                let other = agent.registry.spawn(
                    name: "other", parentID: 0, file: "App/Leaks.swift", line: 29, function: "spawning()")
                _ = agent.registry.beginWait(other, reason: "channel.receive", file: "App/Other.swift", line: 7)
                _ = agent.registry.spawn(
                    name: "busy", parentID: 0, file: "App/Leaks.swift", line: 29, function: "spawning()")
            }
        }
        // A group smaller than the ids a group keeps.
        for _ in 0..<3 {
            let few = agent.registry.spawn(name: "few", parentID: 0, file: "App/Few.swift", line: 1, function: "f()")
            _ = agent.registry.beginWait(few, reason: "sleep", file: "App/Few.swift", line: 2)
        }
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }

        let all = try await connection.groups(GroupQuery(limit: 100))
        #expect(all.total == 4)
        let first = try await connection.groups(GroupQuery(limit: 1))
        #expect(first.total == 4, "the total counts every group, not the page")
        #expect(first.groups.count == 1)
        let group = try #require(first.groups.first)
        #expect(group.count == 570)
        #expect(group.key.reason == "channel.receive")

        // What Enter on the group asks for, a screenful at a time.
        var query = TaskQuery(
            state: .live, wait: group.key.reason, limit: 45, waitSite: group.key.waitSite,
            spawnSite: group.key.spawnSite)
        var seen: [UInt64] = []
        while true {
            let page = try await connection.tasks(query)
            #expect(page.total == 570, "offset \(query.offset)")
            seen += page.tasks.map(\.id)
            guard !page.tasks.isEmpty, query.offset + page.tasks.count < page.total else { break }
            query.offset += page.tasks.count
        }
        #expect(seen.count == 570)
        #expect(Set(seen) == stuck)
        #expect(seen == seen.sorted())

        // A snapshot of it groups alike: the same groups, counts and sample ids (a group keeps
        // the lowest few ids: both sides of that bound: 570, 57 and 3 tasks).
        let file = try AtomicFile(path: "\(agent.directory)/snap.json")
        try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        let offline = try await SnapshotSource(path: "\(agent.directory)/snap.json").groups(GroupQuery(limit: 100))
        func byKey(_ groups: [SiteGroup]) -> [SiteGroup.Key: [UInt64]] {
            Dictionary(uniqueKeysWithValues: groups.map { ($0.key, [UInt64($0.count)] + $0.sampleIDs) })
        }
        #expect(byKey(offline) == byKey(all.groups))
        #expect(all.groups.allSatisfy { $0.sampleIDs.count == min($0.count, SiteGroup.sampleLimit) })
    }
}
