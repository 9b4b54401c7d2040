import ScopeProtocol
import Testing

@testable import ScopeClient
@testable import ScopeUI

/// `apply` returns what it wants done: quitting, exporting, loading, following, repainting.
@Suite struct EffectTests {
    @Test func quitIsAnEffectFromQF10AndSignals() {
        var state = Fixtures.state()
        #expect(state.apply(.key(.character("q"))) == [.quit])
        #expect(state.apply(.key(.function(10))) == [.quit])
        #expect(state.apply(.quit) == [.quit])
        // Whatever is open.
        state.apply(.key(.character("?")))
        #expect(state.apply(.key(.function(10))) == [.quit])
        state.apply(.key(.character("w")))
        #expect(state.apply(.key(.character("q"))) == [.quit])
    }

    @Test func exportIsAskedOnceUntilItsOutcomeComes() {
        var state = Fixtures.state()
        #expect(state.apply(.key(.character("e"))) == [.export(ExportRequest(process: "orders", pid: 4242))])
        #expect(state.exporting)
        #expect(state.status == "exporting…")
        // A second `e` while it runs asks for nothing more.
        #expect(state.apply(.key(.character("e"))) == [])
        #expect(state.apply(.exported(.success("/tmp/x.json"))) == [])
        #expect(!state.exporting)
        #expect(state.status == "exported to /tmp/x.json")
        #expect(state.apply(.key(.character("e"))).count == 1)
        state.apply(.exported(.failure(ExportFailure("disk full"))))
        #expect(state.status == "export failed: disk full")
    }

    @Test func aKeyThatChangesWhatIsShownAsksForItsDataAndDataAsksForNothing() {
        var state = Fixtures.state(width: 80, height: 24)
        // A new screen: one load with the new plan.
        let switched = state.apply(.key(.character("2")))
        #expect(switched == [.load(LoadPlan(state))])
        #expect(LoadPlan(state).screen == .tasks)
        state.apply(.tasks(TaskPage(total: 500, offset: 0, tasks: []), for: state.taskQuery))
        // Scrolling past the page asks for the next page.
        let scrolled = state.apply(.key(.character("G")))
        guard case .load(let plan)? = scrolled.first else {
            Issue.record("no load: \(scrolled)")
            return
        }
        #expect(plan.tasks.offset == 500 - state.tableRows)
        // Moving inside the page, data arriving, and a key that does nothing ask for nothing.
        #expect(state.apply(.key(.character("k"))) == [])
        #expect(state.apply(.summary(Fixtures.summary)) == [])
        #expect(state.apply(.groups(Fixtures.groups)) == [])
        #expect(state.apply(.key(.character("x"))) == [])
        // The wait filter changes the groups asked for too.
        state.apply(.key(.character("3")))
        state.apply(.key(.character("w")))
        state.apply(.key(.down))
        let filtered = state.apply(.key(.enter))
        guard case .load(let groupsPlan)? = filtered.first else {
            Issue.record("no load: \(filtered)")
            return
        }
        #expect(groupsPlan.groups.wait == "db.query")
        #expect(groupsPlan.tasks.wait == "db.query")
        #expect(state.screen == .groups, "the filter stays on the screen it was chosen on")
        // Opening a task's detail asks for it.
        state.apply(.key(.character("2")))
        state.apply(.tasks(Fixtures.page, for: state.taskQuery))
        #expect(
            state.apply(.key(.enter)).contains { effect in
                if case .load(let plan) = effect { return plan.detail == 7 }
                return false
            })
    }

    @Test func ctrlLRepaintsTheWholeScreen() {
        var state = Fixtures.state()
        #expect(state.apply(.key(.control("l"))) == [.redraw])
        state.apply(.key(.character("?")))
        #expect(state.apply(.key(.control("l"))) == [.redraw])
        #expect(state.overlay == .help)
    }

    @Test func whileTypingASearchLettersAreTextButF10AndCtrlLStillWork() {
        var state = Fixtures.state()
        state.apply(.key(.character("/")))
        #expect(
            state.apply(.key(.character("q"))).allSatisfy { effect in
                if case .load = effect { return true }
                return false
            })
        #expect(state.overlay == .search("q"))
        #expect(state.apply(.key(.control("l"))) == [.redraw])
        #expect(state.overlay == .search("q"))
        #expect(state.apply(.key(.function(10))) == [.quit])
    }

    static func process(_ pid: Int32) -> AttachableProcess {
        AttachableProcess(
            pid: pid, process: "orders", socket: "/tmp/taskscope-\(pid).sock", uptime: 1, liveTasks: 3,
            agentVersion: "0.1.0")
    }

    @Test func aRestartIsFollowedWhenOneNewProcessAppearsAndSeveralAreHandedBack() {
        var state = Fixtures.state()
        state.following = RestartFollowing(pid: 4242, known: [4300])
        // While connected, nothing is followed.
        #expect(state.apply(.discovered([Self.process(5000)])) == [])
        state.apply(.disconnected("connection reset"))
        // Still attachable: not gone.
        #expect(state.apply(.discovered([Self.process(4242), Self.process(5000)])) == [])
        #expect(state.status == nil)
        // A process that was there at the start is not the restart.
        #expect(state.apply(.discovered([Self.process(4300)])) == [])
        #expect(state.status == "process 4242 is gone; waiting for a new process to attach to")
        #expect(
            state.apply(.discovered([Self.process(4300), Self.process(5000)])) == [.follow(Self.process(5000))])
        #expect(state.status == "process 4242 is gone; following 5000")
        #expect(state.connection == .connecting)
        #expect(state.following == RestartFollowing(pid: 5000, known: [4242, 4300]))

        // The one followed goes too, and several new ones appear: the UI ends and hands them back.
        var restarted = Fixtures.hello
        restarted.pid = 5000
        state.apply(.connected(restarted))
        state.apply(.disconnected("connection reset"))
        let several = [Self.process(5001), Self.process(5002)]
        #expect(
            state.apply(.discovered([Self.process(4300)] + several)) == [.choose(gone: 5000, among: several)])
        #expect(state.status == "process 5000 is gone; 2 new processes are attachable")

        var pinned = Fixtures.state()
        pinned.apply(.disconnected("connection reset"))
        #expect(pinned.apply(.discovered([Self.process(5000)])) == [], "attach PID stays on its process")
    }
}
