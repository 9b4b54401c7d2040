import ScopeProtocol

/// Live tasks grouped by wait reason, wait site and spawn site, largest first.
enum GroupsView {
    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        var columns = [
            Column(title: "TASKS", width: 7, right: true), Column(title: "WAIT REASON", width: 14),
            Column(title: "LONGEST", width: 8, right: true), Column(title: "TREND", width: 12),
            Column(title: "WAIT SITE", width: 0),
        ]
        if area.width >= 100 { columns.append(Column(title: "SPAWN SITE", width: 0)) }
        let widths = Table.widths(columns, in: area.width)
        let sort = state.sortIndicator(for: .groups)
        Table.header(
            columns, widths: widths, y: area.y, sorted: columns.firstIndex { $0.title == sort?.column },
            descending: sort?.descending ?? false, glyphs: glyphs, into: &buffer)
        let data = state.shown
        let groups = state.groupRows
        let position = state.position(.groups)
        let rows = area.height - 2
        for (index, group) in groups.enumerated().dropFirst(position.top).prefix(rows) {
            let y = area.y + 1 + index - position.top
            let reason = group.key.reason
            var cells = [
                Number.format(group.count), reason ?? "(active)", DurationText.format(group.longest),
                reason.map { reason in
                    Sparkline.render(data.history.map { $0.waits[reason] ?? 0 }, width: 12, glyphs: glyphs)
                } ?? "",
                Fit.tail(group.key.waitSite?.description ?? "-", widths[4], glyphs: glyphs),
            ]
            if columns.count > 5 {
                let spawn = "\(group.key.spawnSite) \(group.key.spawnSite.function ?? "")"
                cells.append(Fit.tail(spawn, widths[5], glyphs: glyphs))
            }
            Table.row(cells, columns: columns, widths: widths, y: y, style: .plain, glyphs: glyphs, into: &buffer)
            if index == position.selected { buffer.restyle(x: 0, y: y, width: area.width) { $0.reverse = true } }
        }
        let footer =
            groups.isEmpty
            ? (data.groups.isEmpty ? " no live tasks" : " no group matches the filter")
            : " \(groups.count) groups; Enter lists a group's tasks"
        buffer.put(footer, x: 0, y: area.y + area.height - 1, style: .muted)
    }
}
