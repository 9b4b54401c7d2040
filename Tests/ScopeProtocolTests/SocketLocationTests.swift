import Testing

@testable import ScopeProtocol

@Suite struct SocketLocationTests {
    @Test func explicitSocketWinsOverEverything() {
        let location = SocketLocation(
            environment: [
                "TASKSCOPE_SOCKET": "/x/agent.sock", "TASKSCOPE_DIR": "/d", "XDG_RUNTIME_DIR": "/run/user/5",
            ],
            uid: 5)
        #expect(location.socketPath(forPID: 42) == "/x/agent.sock")
        #expect(location.defaultSocketPath(forPID: 42) == "/d/42.sock")
    }

    @Test func directoryFallsBackInOrder() {
        #expect(
            SocketLocation(environment: ["TASKSCOPE_DIR": "/d", "XDG_RUNTIME_DIR": "/r"], uid: 5).directory == "/d")
        #expect(
            SocketLocation(environment: ["XDG_RUNTIME_DIR": "/run/user/5"], uid: 5).directory == "/run/user/5/taskscope"
        )
        #expect(SocketLocation(environment: [:], uid: 1000).directory == "/tmp/taskscope-1000")
        #expect(
            SocketLocation(environment: ["TASKSCOPE_DIR": "", "XDG_RUNTIME_DIR": ""], uid: 7).directory
                == "/tmp/taskscope-7")
        #expect(SocketLocation(environment: [:], uid: 1000).socketPath(forPID: 4242) == "/tmp/taskscope-1000/4242.sock")
    }

    @Test func readsThePIDFromASocketName() {
        #expect(SocketLocation.pid(fromSocketName: "4242.sock") == 4242)
        #expect(SocketLocation.pid(fromSocketName: "agent.sock") == nil)
        #expect(SocketLocation.pid(fromSocketName: "4242") == nil)
    }
}
