import Foundation
import ScopeClient
import ScopeProtocol
import TestSupport
import Testing

/// The async call stacks of waiting tasks, read from a real process over the socket: tasks parked
/// three async calls deep (`Shop.checkout` -> `reserveStock` -> `queryDatabase`, waiting on
/// `db.query`) show those three functions in order, as one stack shared by all of them, in the
/// debug build and in the release build the agent ships in.
@Suite(.serialized, .timeLimit(.minutes(2))) struct AsyncStackTests {
    static let parked = 50

    @Test func waitingTasksShowTheirAsyncCallersInOrderInADebugBuild() async throws {
        try await checkStacks(executable: HostProcess.executable, build: "debug")
    }

    @Test(.enabled(if: HostProcess.releaseExecutable != nil, "scripts/test builds the release host"))
    func waitingTasksShowTheirAsyncCallersInOrderInAReleaseBuild() async throws {
        try await checkStacks(executable: try #require(HostProcess.releaseExecutable), build: "release")
    }

    func checkStacks(executable: String, build: String) async throws {
        let host = try await HostProcess(
            environment: ["TASKSCOPE_HOST_PARK": "\(Self.parked)"], executable: executable)
        let connection = try await ScopeConnection.connect(to: host.socket)
        defer { connection.close() }
        var list = StackList()
        try await eventually("every parked task's stack is read (\(build))", timeout: .seconds(20)) {
            list = try await connection.stacks(StackQuery(wait: "db.query"))
            return list.groups.first?.count == Self.parked || list.unavailable != nil
        }
        #expect(list.unavailable == nil, "\(list.unavailable ?? "")")
        // One stack for all of them: interned, sent once.
        #expect(list.total == 1 && list.groups.count == 1 && list.stacks.count == 1, "\(list)")
        let group = try #require(list.groups.first)
        #expect(group.reason == "db.query")
        #expect(group.sampleIDs.count == SiteGroup.sampleLimit)
        let frames = try #require(list.stack(group.stack)).frames
        let names = frames.map { $0.function ?? "?" }
        let expected = ["Shop.queryDatabase", "Shop.reserveStock", "Shop.checkout"]
        var rest = names[...]
        for name in expected {
            let found = try #require(rest.firstIndex { $0.contains(name) }, "\(name) missing in order from \(names)")
            rest = rest[(found + 1)...]
        }
        // Demangled, without the resume-function prefix, with the module named.
        let checkout = try #require(frames.first { $0.function?.contains("Shop.checkout") == true })
        #expect(checkout.function?.contains("partial function") == false, "\(checkout)")
        #expect(checkout.module == "taskscope-agent-host")

        // By id: a task's own stack, and the others' not asked.
        let one = group.sampleIDs[0]
        let byID = try await connection.stacks(StackQuery(ids: [one]))
        #expect(byID.tasks == [String(one): 1], "\(String(describing: byID.tasks))")
        #expect(byID.stack(1)?.frames.map(\.function) == frames.map(\.function))

        // A shallower read: the depth asked, and said to be cut.
        let shallow = try await connection.stacks(StackQuery(wait: "db.query", depth: 2))
        #expect(shallow.stacks.first?.frames.count == 2 && shallow.stacks.first?.truncated == true)
        // The CLI's report by stack: the group, its wait, and the frames in order.
        let report = try await CLI.run(["snapshot", host.socket, "--by", "stack", "--format", "text"])
        #expect(report.status == 0, "\(report.stderr)")
        let lines = report.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("taskscope stacks of ") == true, "\(report.stdout)")
        #expect(
            lines.contains { $0.hasPrefix("\(Self.parked) tasks waiting on db.query for up to ") }, "\(report.stdout)")
        let order = expected.compactMap { name in lines.firstIndex { $0.contains(name) } }
        #expect(order.count == 3 && order == order.sorted(), "\(report.stdout)")
        let json = try await CLI.run(["snapshot", host.socket, "--by", "stack", "--wait", "db.query"])
        let decoded = try JSONDecoder().decode(StackList.self, from: Data(json.stdout.utf8))
        #expect(decoded.groups.first?.count == Self.parked && decoded.stacks.count == 1)
        // The JSON snapshot with stacks: each stack once, each parked task referring to it.
        let snapshot = try await CLI.run(["snapshot", host.socket, "--stacks", "--wait", "db.query"])
        let document = try SnapshotDocument.decode(Data(snapshot.stdout.utf8))
        let parkedIDs = Set(document.tasks.compactMap(\.stack))
        #expect(document.tasks.count == Self.parked && parkedIDs.count == 1, "one stack for all")
        let stack = try #require(document.stacks?.first { $0.id == parkedIDs.first })
        #expect(stack.frames.contains { $0.function?.contains("Shop.reserveStock") == true })
        let plain = try await CLI.run(["snapshot", host.socket, "--wait", "db.query"])
        let without = try SnapshotDocument.decode(Data(plain.stdout.utf8))
        #expect(without.stacks == nil && without.tasks.allSatisfy { $0.stack == nil }, "only when asked")
        let refused = try await CLI.run(["snapshot", host.socket, "--by", "stack", "--trace", "abc"])
        #expect(refused.status != 0 && refused.stderr.contains("--by stack"), "\(refused.stderr)")
        _ = try await host.process.stop(with: SIGTERM)
    }

    /// A new user at 80x24: Groups by stack (`b`) shows the parked tasks' stack, and a task's
    /// detail shows its stack below its fields, reached by scrolling Down.
    @Test func theScreensShowTheStacksAt80x24() async throws {
        let host = try await HostProcess(environment: ["TASKSCOPE_HOST_PARK": "\(Self.parked)"])
        let directory = try makeTemporaryDirectory("stacks-ui")
        defer { removeTree(directory) }
        let terminal = try await Tmux(
            width: 80, height: 24, directory: directory, environment: ["LANG": "C.UTF-8", "TERM": "screen"])
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) attach \(host.socket)")
        try await terminal.waitForScreen("the overview") { $0.contains("1 Overview") }
        try await terminal.send("3")
        try await terminal.send("b")
        let groups = try await terminal.waitForScreen("the parked tasks' stack in Groups by stack") {
            $0.contains("Shop.queryDatabase < Shop.reserveStock < Shop.checkout")
        }
        let row = try #require(groups.split(separator: "\n").first { $0.contains("Shop.queryDatabase <") })
        #expect(row.contains("\(Self.parked)") && row.contains("db.query"), "\(row)")
        try await terminal.send("Enter")
        try await terminal.waitForScreen("the detail of a parked task") { $0.contains("wait        db.query") }
        for _ in 0..<12 { try await terminal.send("Down") }
        let detail = try await terminal.waitForScreen("its stack, scrolled to") {
            $0.contains("Shop.reserveStock(Int) async -> Int") && $0.contains("main.swift:")
        }
        #expect(detail.contains("stack       async callers, innermost first"), "\(detail)")
        try await terminal.send("q")
        try await terminal.close()
        _ = try await host.process.stop(with: SIGTERM)
    }
}
