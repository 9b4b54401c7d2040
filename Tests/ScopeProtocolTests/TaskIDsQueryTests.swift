import Testing

@testable import ScopeProtocol

/// The `ids` filter of a `tasks` request, which lets a `deadlock` or `blocked-forever` warning's
/// query name exactly its tasks.
@Suite struct TaskIDsQueryTests {
    static func deadlock(tasks: [UInt64]) -> Warning {
        Warning(
            rule: .deadlock, name: "a", site: SourceSite(file: "A.swift", line: 3), reason: "task.join",
            tasks: tasks.count, taskIDs: tasks, message: "deadlock: …", hint: "…")
    }

    @Test func aWarningOfTheGraphQueriesItsTasksByID() throws {
        let query = TaskQuery(tasksOf: Self.deadlock(tasks: [12, 15]))
        #expect(query.rule == .deadlock)
        #expect(query.ids == [12, 15])
        var line = Request.tasks(query).line(id: 7)
        line.removeLast()
        let parsed = try RequestLine.parse(line).get()
        #expect(parsed.request == .tasks(query))
    }

    @Test func idsAreAShortListOfTaskIDs() throws {
        let parsed = try RequestLine.parse(Array(#"{"id":1,"op":"tasks","ids":[3,4]}"#.utf8)).get()
        guard case .tasks(let query) = parsed.request else {
            Issue.record("not a tasks request")
            return
        }
        #expect(query.ids == [3, 4])
        let eleven = "[" + (1...11).map(String.init).joined(separator: ",") + "]"
        for bad in [eleven, "[0]", "[\"3\"]", "3"] {
            let result = RequestLine.parse(Array("{\"id\":1,\"op\":\"tasks\",\"ids\":\(bad)}".utf8))
            guard case .failure(let failure) = result else {
                Issue.record("accepted ids \(bad)")
                continue
            }
            #expect(failure.error.code == .invalidField)
            #expect(failure.error.message.contains("\"ids\""))
        }
    }

    @Test func aDeadlockInvolvesTheTasksItLists() {
        let warning = Self.deadlock(tasks: [12, 15])
        func task(_ id: UInt64) -> TaskInfo {
            TaskInfo(
                id: id, name: "t", parent: nil, state: .waiting, outcome: nil, error: nil, wait: "task.join",
                waitSite: nil, spawnSite: SourceSite(file: "A.swift", line: 1), created: 0, inState: 1,
                cancelled: false, resource: nil)
        }
        #expect(warning.involves(task(12)))
        #expect(warning.involves(task(15)))
        #expect(!warning.involves(task(13)))
    }
}
