import ArgumentParser

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
}
