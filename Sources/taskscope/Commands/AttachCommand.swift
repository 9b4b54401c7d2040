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
            Without a target, attaches to the only attachable process, or lists them to pick from. \
            Keys: 1-4 or Tab switch screens, arrows or j/k move, Enter opens, Esc goes back, / searches, \
            w filters by wait reason, s/S sort, space pauses, e exports a snapshot, ? shows every key, q quits.
            """)

    @Argument(help: "The process: a pid, or the path of its taskscope socket. Optional when only one is attachable.")
    var target: String?

    @Option(help: "Start with only the tasks waiting for this reason.")
    var wait: String?

    func run() async throws {
        try await reportingFailures {
            let path = try await resolveTarget()
            try await ScopeApp.run(source: LiveSource(path: path), options: ScopeApp.Options(waitFilter: wait))
        }
    }

    private func resolveTarget() async throws -> String {
        if let target {
            let path = try Target(parsing: target).socketPath()
            // Connect once now, so a wrong target is one clear error before the screen is taken.
            let connection = try await Target(parsing: target).connect()
            connection.close()
            return path
        }
        let discovery = await ProcessDiscovery.scan()
        switch discovery.processes.count {
        case 0:
            throw CLIFailure("no attachable processes (looked in \(discovery.directory))")
        case 1:
            return discovery.processes[0].socket
        default:
            return try pick(from: discovery.processes)
        }
    }

    /// Lists the processes and asks which one, when there is someone to ask.
    private func pick(from processes: [AttachableProcess]) throws -> String {
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
        return chosen.socket
    }
}

struct ViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view", abstract: "Open a snapshot file in the UI, offline.")

    @Argument(help: "A snapshot written by taskscope snapshot or by e in the UI.")
    var file: String

    func run() async throws {
        try await reportingFailures {
            let source = try SnapshotSource(path: file)
            try await ScopeApp.run(source: source)
        }
    }
}
