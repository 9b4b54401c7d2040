import ScopeProtocol

/// What a leak check found: the tasks still alive that should not be, grouped by where
/// they wait and where they were spawned, and the leak rules' warnings about them.
public struct TaskLeakReport: Sendable, CustomStringConvertible {
    /// The leaked tasks.
    public var tasks: [TaskInfo]
    /// The warnings of the leak rules about this test's tasks and resources.
    public var warnings: [Warning]
    /// How long the check waited for them to finish.
    public var waited: Duration

    /// The message a failing test shows: enough to see the fix from the test log alone.
    public var description: String {
        var lines: [String] = []
        if !tasks.isEmpty {
            let count = tasks.count == 1 ? "1 tracked task" : "\(tasks.count) tracked tasks"
            let verb = tasks.count == 1 ? "is" : "are"
            let waitedSeconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
            lines.append(
                "\(count) started during this test \(verb) still running (after waiting \(Self.seconds(waitedSeconds)) for them):"
            )
            var groups: [SiteGroup.Key: SiteGroup] = [:]
            var names: [SiteGroup.Key: String] = [:]
            for task in tasks {
                let key = SiteGroup.Key(task)
                groups[key, default: SiteGroup(key: key)].add(task)
                names[key] = names[key] ?? task.name
            }
            for group in groups.values.sorted(by: SiteGroup.byImportance) {
                let what =
                    group.key.reason.map { "waiting on \($0) at \(group.key.waitSite?.description ?? "?")" }
                    ?? "running (not waiting on anything tracked)"
                let ids = group.sampleIDs.map(String.init).joined(separator: ",")
                lines.append(
                    "  \(group.count) × \"\(names[group.key] ?? "")\" \(what), spawned at \(group.key.spawnSite), "
                        + "for \(Self.seconds(group.longest)) (ids \(ids))")
            }
        }
        if !warnings.isEmpty {
            lines.append("leak warnings:")
            for warning in warnings {
                lines.append("  \(warning.severity.rawValue) \(warning.rule.rawValue): \(warning.message)")
                lines.append("    fix: \(warning.hint)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func seconds(_ value: Double) -> String {
        value < 1 ? "\(Int((value * 1000).rounded()))ms" : "\((value * 10).rounded() / 10)s"
    }
}
