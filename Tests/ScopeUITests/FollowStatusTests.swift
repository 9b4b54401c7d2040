import ScopeProtocol
import Testing

@testable import ScopeUI

/// A source that follows a restarted process connects to a new pid; the UI says so.
@Suite struct FollowStatusTests {
    @Test func aNewPidOnReconnectingIsShownAsFollowed() {
        var state = Fixtures.state()
        var restarted = Fixtures.hello
        restarted.pid = 5151
        state.apply(.disconnected("the process behind /tmp/x.sock closed the connection"))
        state.apply(.connected(restarted))
        #expect(state.status == "process 4242 is gone; following 5151")
        let frame = Renderer.render(state)
        #expect(frame.row(containing: "process 4242 is gone; following 5151") != nil)
        #expect(frame.line(0).contains("(pid 5151)"))

        // The same process reconnecting is no switch.
        var same = Fixtures.state()
        same.apply(.disconnected("closed"))
        same.apply(.connected(Fixtures.hello))
        #expect(same.status == nil)
    }
}
