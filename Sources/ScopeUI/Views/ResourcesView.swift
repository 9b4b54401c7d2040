import ScopeProtocol

/// Channels, timers, tickers, semaphores and continuations, orphans first and marked.
enum ResourcesView {
    /// The columns, by index.
    enum Field: Int, CaseIterable {
        case orphan, id, kind, name, state, waiting, owner, site
    }

    static func columns(for resources: [ResourceInfo]) -> [Column] {
        let siteLeast = resources.map { Fit.siteMinimum($0.site) }.max() ?? 4
        let siteMost = resources.map { $0.site.description.displayWidth }.max() ?? 4
        let nameMost = resources.map(\.name.displayWidth).max() ?? 4
        return [
            Column(title: "", width: 1, priority: 10),
            Column(title: "ID", width: max(3, String(resources.map(\.id).max() ?? 0).count), right: true, priority: 9),
            Column(title: "KIND", width: 12, priority: 4),
            .flexible("NAME", least: 8, want: 18, most: max(8, nameMost), priority: 5, weight: 2),
            Column(title: "STATE", width: 9, priority: 3),
            Column(title: "WAITING", width: 8, right: true, priority: 7),
            Column(title: "OWNER", width: 12, priority: 6),
            .flexible("SITE", least: max(4, min(40, siteLeast)), most: max(4, siteMost), priority: 8),
        ]
    }

    /// An owner as the text report says it: `6`, or `6 (finished)` once it has finished.
    static func owner(_ resource: ResourceInfo) -> String {
        resource.owner.map { "\($0)\(resource.ownerFinished == true ? " (finished)" : "")" } ?? ""
    }

    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        let data = state.shown
        let resources = state.resourceRows
        let position = state.position(.resources)
        let rows = area.height - 2
        let shown = Array(resources.enumerated().dropFirst(position.top).prefix(rows))
        let sort = state.sortIndicator(for: .resources)
        var columns = columns(for: shown.map(\.element))
        columns = Table.fittingSortMark(columns, sorted: columns.firstIndex { $0.title == sort?.column })
        let widths = Table.widths(columns, in: area.width)
        Table.header(
            columns, widths: widths, y: area.y, sorted: columns.firstIndex { $0.title == sort?.column },
            descending: sort?.descending ?? false, glyphs: glyphs, into: &buffer)
        for (index, resource) in shown {
            let y = area.y + 1 + index - position.top
            let waiting = (resource.blockedSending ?? 0) + (resource.blockedReceiving ?? 0) + (resource.waiting ?? 0)
            let cells = [
                resource.orphaned ? String(glyphs.orphan) : "", "\(resource.id)", resource.kind.rawValue, resource.name,
                resource.state, "\(waiting)", owner(resource),
                Fit.site(resource.site, widths[Field.site.rawValue], glyphs: glyphs),
            ]
            let style = resource.orphaned ? Style(.danger, bold: true) : Style.plain
            Table.row(cells, columns: columns, widths: widths, y: y, style: style, glyphs: glyphs, into: &buffer)
            if index == position.selected { buffer.restyle(x: 0, y: y, width: area.width) { $0.reverse = true } }
        }
        let orphans = resources.filter(\.orphaned).count
        let footer =
            data.resources.isEmpty
            ? " no tracked resources"
            : resources.isEmpty
                ? " no resource \(state.waitFilter.map { "has tasks waiting for \($0)" } ?? "matches the search"); Esc clears"
                : " \(resources.count) resources, \(orphans) orphaned; Enter lists the tasks waiting on one"
        buffer.put(footer, x: 0, y: area.y + area.height - 1, style: .muted, maxWidth: area.width)
    }
}
