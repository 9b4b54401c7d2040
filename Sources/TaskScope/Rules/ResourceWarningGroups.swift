import ScopeProtocol

/// Folds the per-resource warnings of one bug into one warning.
///
/// `orphaned-channel`, `orphaned-timer` and `leaked-continuation` are found resource by
/// resource, but a bug that leaks one channel per request leaks them all at the same line:
/// 206 warnings saying the same thing would bury everything else. Warnings of the same rule,
/// made at the same site, with the same name, reason and hint (the same kind of leak of the
/// same kind of resource) become one, counting the resources and their tasks, naming the
/// first few of each. Cost: one hash per warning.
enum ResourceWarningGroups {
    /// The rules whose warnings are per resource.
    static let perResource = Set(LeakRule.allCases.filter(\.isPerResource))

    private struct Key: Hashable {
        var rule: LeakRule
        var site: SourceSite?
        var name: String?
        var reason: String?
        var hint: String
    }

    static func group(_ warnings: [Warning]) -> [Warning] {
        var order: [Key] = []
        var groups: [Key: [Warning]] = [:]
        var others: [Warning] = []
        for warning in warnings {
            guard perResource.contains(warning.rule), warning.resource != nil else {
                others.append(warning)
                continue
            }
            let key = Key(
                rule: warning.rule, site: warning.site, name: warning.name, reason: warning.reason,
                hint: warning.hint)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(warning)
        }
        return order.compactMap { groups[$0].map(merge) } + others
    }

    /// One warning for `warnings` (of one key): the first resource's words, with the count.
    private static func merge(_ warnings: [Warning]) -> Warning {
        let sorted = warnings.sorted { ($0.resource ?? 0) < ($1.resource ?? 0) }
        guard sorted.count > 1, var merged = sorted.first else { return warnings[0] }
        let resources = sorted.compactMap(\.resource)
        let shown = resources.prefix(ResourceInfo.idLimit).map(String.init).joined(separator: ", ")
        let more = resources.count > ResourceInfo.idLimit ? ", …" : ""
        merged.resource = nil
        merged.tasks = sorted.reduce(0) { $0 + $1.tasks }
        merged.taskIDs = firstIDs(sorted.flatMap(\.taskIDs).sorted())
        let owners = Set(sorted.compactMap(\.owner))
        merged.owner = owners.count == 1 ? owners.first : nil
        merged.since = sorted.compactMap(\.since).min()
        merged.message =
            "\(resources.count) resources made at the same place leak the same way (resources \(shown)\(more)); "
            + "the first: \(merged.message)"
        return merged
    }
}
