import ArgumentParser
import Foundation
import ScopeClient
import ScopeProtocol
import ScopeUI

#if canImport(Glibc)
import Glibc
#endif

struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Open the live UI on a process.",
        discussion: """
            Without a target, attaches to the only attachable process, or lists them to pick from, \
            and follows the process when it restarts under a new pid (when several new ones appear, \
            it lists them to pick from again). \
            Keys: 1-\(Screen.allCases.count) or Tab switch screens (\(Screen.allCases.map { $0.title.lowercased() }.joined(separator: ", "))), \
            arrows or j/k move, Enter opens, Esc goes back, / searches, w filters by wait reason, \
            s/S sort, space pauses, e exports a snapshot, ? shows every key, q quits.
            """)

    @Argument(help: "The process: a pid, or the path of its taskscope socket. Optional when only one is attachable.")
    var target: String?

    @OptionGroup var wait: WaitOption

    func run() async throws {
        try await reportingFailures {
            if let target {
                // Connect once now, so a wrong target or reason is one clear error before the screen is taken.
                let connection = try await Target(parsing: target).connect()
                if wait.reason != nil {
                    try wait.check(waits: try await Self.waits(of: connection))
                } else {
                    connection.close()  // an agent that answers nonsense is the UI's to say, on screen
                }
                try TerminalRequirement.check("attach", instead: "try snapshot \(target) --format text")
                let path = try Target(parsing: target).socketPath()
                try await ScopeApp.run(
                    source: LiveSource(path: path), options: ScopeApp.Options(waitFilter: wait.reason))
                return
            }
            var discovery = await ProcessDiscovery.scan()
            var chosen = try choose(from: discovery.processes, in: discovery.directory, heading: nil)
            if wait.reason != nil {
                try wait.check(waits: try await Self.waits(of: try await ScopeConnection.connect(to: chosen.socket)))
            }
            try TerminalRequirement.check("attach", instead: "try snapshot \(chosen.pid) --format text")
            while true {
                // The UI follows the process when it restarts as one new process; several end it.
                let options = ScopeApp.Options(
                    waitFilter: wait.reason,
                    follow: RestartFollowing(pid: chosen.pid, known: discovery.processes.map(\.pid)))
                let outcome = try await ScopeApp.run(source: LiveSource(path: chosen.socket), options: options)
                guard case .choose(let gone, let several) = outcome else { return }
                // The same choice as at the start, then the UI again on the one picked.
                discovery = await ProcessDiscovery.scan()
                chosen = try choose(
                    from: several, in: discovery.directory,
                    heading: "process \(gone) is gone; \(several.count) new processes are attachable:")
                discovery.processes.removeAll { $0.pid == gone }
            }
        }
    }

    /// The process to attach to: the only one, or the one picked from the list (always picked
    /// when there is a `heading` to say why).
    private func choose(
        from processes: [AttachableProcess], in directory: String, heading: String?
    ) throws -> AttachableProcess {
        switch processes.count {
        case 0: throw CLIFailure("no attachable processes (looked in \(directory))")
        case 1 where heading == nil: return processes[0]
        default: return try pick(from: processes, heading: heading)
        }
    }

    /// The process's waiting tasks by reason, and the connection closed.
    private static func waits(of connection: ScopeConnection) async throws -> [String: Int] {
        defer { connection.close() }
        return try await connection.summary().waits
    }

    /// Lists the processes and asks which one, when there is someone to ask.
    private func pick(from processes: [AttachableProcess], heading: String?) throws -> AttachableProcess {
        if let heading { print(heading) }
        for process in processes {
            print(
                "  \(process.pid)  \(process.process)  up \(DurationText.format(process.uptime))  \(process.liveTasks) tasks"
            )
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIFailure("several processes are attachable; name one: taskscope attach PID")
        }
        print("attach to which pid? ", terminator: "")
        fflush(nil)
        guard let answer = readLine()?.trimmingCharacters(in: .whitespaces), let pid = Int32(answer),
            let chosen = processes.first(where: { $0.pid == pid })
        else {
            throw CLIFailure("no such process in the list")
        }
        return chosen
    }
}
