import Foundation
import ScopeClient
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import ScopeUI

/// `taskscope attach` without a target follows a process that restarts under a new pid: the
/// UI's own loop (apply, its effects, the loader, discovery), run without a terminal on real
/// processes in one socket directory, switches to the one new process and says so, hands
/// several back to pick from, and never takes a process that was there at the start.
@Suite(.serialized, .timeLimit(.minutes(2))) struct FollowTests {
    @Test func aRestartedProcessIsFollowedAndSeveralAreHandedBackToPickFrom() async throws {
        let directory = try makeTemporaryDirectory("follow")
        defer { removeTree(directory) }
        let shared = ["TASKSCOPE_DIR": directory]
        let location = SocketLocation(environment: shared)
        let first = try await DemoProcess(extraEnvironment: shared)
        let discovery = await ProcessDiscovery.scan(location: location)
        let process = try #require(discovery.processes.first { $0.pid == first.pid })
        let ui = HeadlessUI(following: process, known: discovery.processes, location: location)
        defer { ui.stop() }
        try await ui.waitForScreen("attached to pid \(first.pid)") { $0.contains("(pid \(first.pid))") }

        // Gone, and nothing new yet: it says so and keeps waiting.
        #expect(try await first.interrupt() == 0)
        try await ui.waitForScreen("waiting for a new process") {
            $0.contains("process \(first.pid) is gone; waiting for a new process to attach to")
        }

        // The process comes back under a new pid: the UI follows it and says so.
        let second = try await DemoProcess(extraEnvironment: shared)
        let followed = try await ui.waitForScreen("following pid \(second.pid)") { screen in
            screen.contains("(pid \(second.pid))")
                && screen.contains("process \(first.pid) is gone; following \(second.pid)")
        }
        #expect(!followed.contains("process gone"))

        // Two new ones appear, and the followed one goes: no guess; the UI ends and hands both back.
        let third = try await DemoProcess(extraEnvironment: shared)
        let fourth = try await DemoProcess(extraEnvironment: shared)
        #expect(try await second.interrupt() == 0)
        let outcome = await ui.outcome.value
        guard case .choose(let gone, let offered) = outcome else {
            Issue.record("the UI ended with \(outcome), not a choice")
            return
        }
        #expect(gone == second.pid)
        #expect(offered.map(\.pid) == [third.pid, fourth.pid].sorted())
        #expect(try await third.interrupt() == 0)
        #expect(try await fourth.interrupt() == 0)
    }

    @Test func aProcessThatWasAlreadyThereIsNotTakenForTheRestart() async throws {
        let directory = try makeTemporaryDirectory("follow-known")
        defer { removeTree(directory) }
        let shared = ["TASKSCOPE_DIR": directory]
        let location = SocketLocation(environment: shared)
        let picked = try await DemoProcess(extraEnvironment: shared)
        let bystander = try await DemoProcess(extraEnvironment: shared)
        let discovery = await ProcessDiscovery.scan(location: location)
        #expect(discovery.processes.count == 2)
        let process = try #require(discovery.processes.first { $0.pid == picked.pid })
        let ui = HeadlessUI(following: process, known: discovery.processes, location: location)
        defer { ui.stop() }
        try await ui.waitForScreen("attached to pid \(picked.pid)") { $0.contains("(pid \(picked.pid))") }

        // The bystander was there at the start: it is not the restart.
        #expect(try await picked.interrupt() == 0)
        let waiting = try await ui.waitForScreen("waiting for a new process") {
            $0.contains("process \(picked.pid) is gone; waiting for a new process to attach to")
        }
        #expect(!waiting.contains("(pid \(bystander.pid))"))

        let restarted = try await DemoProcess(extraEnvironment: shared)
        try await ui.waitForScreen("following pid \(restarted.pid)") { screen in
            screen.contains("(pid \(restarted.pid))")
                && screen.contains("process \(picked.pid) is gone; following \(restarted.pid)")
        }
        #expect(try await restarted.interrupt() == 0)
        #expect(try await bystander.interrupt() == 0)
    }
}

/// The UI's loop as `attach` without a target runs it, with its frames kept instead of drawn.
private struct HeadlessUI {
    private let frames = Frames()
    let outcome: Task<ScopeApp.Outcome, Never>

    init(following process: AttachableProcess, known: [AttachableProcess], location: SocketLocation) {
        let options = ScopeApp.Options(
            refresh: .milliseconds(200), follow: RestartFollowing(pid: process.pid, known: known.map(\.pid)),
            discover: { await ProcessDiscovery.scan(location: location, timeout: .seconds(1)).processes })
        let (actions, post) = AsyncStream.makeStream(of: Action.self)
        outcome = Task { [frames] in
            await ScopeApp.loop(
                UIState(width: 200, height: 30), source: LiveSource(path: process.socket), options: options,
                display: frames, actions: actions
            ) { post.yield($0) }
        }
    }

    /// Waits until the screen shows what `condition` looks for, and returns it.
    @discardableResult
    func waitForScreen(_ what: String, _ condition: (String) -> Bool) async throws -> String {
        var screen = ""
        try await eventually(what, timeout: .seconds(20)) {
            screen = frames.text
            return condition(screen)
        }
        return screen
    }

    func stop() { outcome.cancel() }
}

/// The last frame the UI showed.
private final class Frames: Display {
    private let last = Mutex<CellBuffer?>(nil)
    var text: String { last.withLock { $0?.text ?? "" } }
    func show(_ frame: CellBuffer) { last.withLock { $0 = frame } }
    func redraw() {}
}
