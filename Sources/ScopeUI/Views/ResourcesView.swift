import ScopeProtocol

/// Channels, timers, tickers, semaphores and continuations, orphans first and marked.
enum ResourcesView {
    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        let columns = [
            Column(title: "", width: 1), Column(title: "ID", width: 5, right: true), Column(title: "KIND", width: 12),
            Column(title: "NAME", width: 0), Column(title: "STATE", width: 9),
            Column(title: "WAITING", width: 8, right: true), Column(title: "OWNER", width: 12),
            Column(title: "SITE", width: 0),
        ]
        let widths = Table.widths(columns, in: area.width)
        let sort = state.sortIndicator(for: .resources)
        Table.header(
            columns, widths: widths, y: area.y, sorted: columns.firstIndex { $0.title == sort?.column },
            descending: sort?.descending ?? false, glyphs: glyphs, into: &buffer)
        let data = state.shown
        let resources = state.resourceRows
        let position = state.position(.resources)
        let rows = area.height - 2
        for (index, resource) in resources.enumerated().dropFirst(position.top).prefix(rows) {
            let y = area.y + 1 + index - position.top
            let waiting = (resource.blockedSending ?? 0) + (resource.blockedReceiving ?? 0) + (resource.waiting ?? 0)
            let owner = resource.owner.map { "\($0)\(resource.ownerFinished == true ? " gone" : "")" } ?? ""
            let cells = [
                resource.orphaned ? String(glyphs.orphan) : "", "\(resource.id)", resource.kind.rawValue, resource.name,
                resource.state, "\(waiting)", owner, Fit.tail(resource.site.description, widths[7], glyphs: glyphs),
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
        buffer.put(footer, x: 0, y: area.y + area.height - 1, style: .muted)
    }
}
