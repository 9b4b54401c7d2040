import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

@main
struct Taskscope: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskscope",
        abstract: "The top of Swift concurrency: see the tasks of a running Swift process and what they wait on.",
        version: "0.1.0",
        subcommands: [
            AttachCommand.self, ListCommand.self, SnapshotCommand.self, ViewCommand.self, DiffCommand.self,
            DemoCommand.self,
        ],
        defaultSubcommand: AttachCommand.self
    )

    static func main() async {
        // A reader that closes the pipe (`taskscope snapshot PID | head`) must be an EPIPE the
        // commands can end on quietly, not a signal that kills them with status 141.
        signal(SIGPIPE, SIG_IGN)
        // `attach` is the default, so `taskscope atach` would be read as `attach atach`: a
        // first word that is no command and cannot be a target is named as a mistyped command.
        if let mistake = CommandSuggestion.mistypedCommand(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("taskscope: \(mistake)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        await main(nil)
    }
}
