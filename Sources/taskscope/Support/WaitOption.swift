import ArgumentParser
import ScopeClient

/// `--wait REASON`, shared by `attach`, `view` and `snapshot` so that it is spelled and
/// explained the same in each.
struct WaitOption: ParsableArguments {
    @Option(
        name: .customLong("wait"),
        help: ArgumentHelp(
            "Show only the tasks waiting for this reason (sleep, channel.send, semaphore, a label such as db.query).",
            valueName: "reason"))
    var reason: String?

    /// Refuses, before any screen is taken, a reason that is neither built in nor waited on now
    /// (`waits`: the process's waiting tasks by reason), naming the reasons that exist.
    func check(waits: [String: Int]) throws {
        guard let reason, !ReasonsNow.isKnown(reason, waits: waits) else { return }
        throw CLIFailure(ReasonsNow.unknown(reason, waits: waits))
    }
}
