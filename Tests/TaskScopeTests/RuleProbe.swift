import ScopeProtocol

@testable import TaskScope

/// The rules' view for the primitive tests: default settings (so that no time threshold fires
/// within a test), and the warnings that concern one resource or some tasks.
enum RuleProbe {
    static func warnings() -> [Warning] {
        LeakRules(settings: TaskScope.RuleSettings()).evaluate(registry: TaskScope.registry, samples: [])
    }

    /// The warnings that name the resource called `name` or involve one of `tasks`.
    static func warnings(about name: String, tasks: Set<UInt64> = []) -> [Warning] {
        warnings().filter { warning in
            warning.name == name || !tasks.isDisjoint(with: warning.taskIDs)
                || warning.owner.map(tasks.contains) == true
        }
    }

    static func report(_ name: String) -> ResourceInfo? {
        TaskScope.registry.resources.reports(TaskScope.registry.reportContext()).first { $0.name == name }
    }

    static func taskID(named name: String) -> UInt64? {
        TaskScope.registry.records { $0.name == name }.first?.id
    }

    static func waitReason(of taskName: String) -> String? {
        TaskScope.registry.records { $0.name == taskName }.first.flatMap { TaskScope.registry.info($0).wait }
    }

    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }
}
