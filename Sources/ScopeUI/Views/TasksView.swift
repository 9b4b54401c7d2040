import ScopeProtocol

/// The task table: one page from the agent, sorted and filtered there.
enum TasksView {
    static func columns(width: Int) -> [Column] {
        var columns = [
            Column(title: "ID", width: 6, right: true), Column(title: "NAME", width: 0),
            Column(title: "STATE", width: 9), Column(title: "WAIT REASON", width: 14),
            Column(title: "WAITING", width: 8, right: true), Column(title: "AGE", width: 7, right: true),
            Column(title: "WAIT SITE", width: 0),
        ]
        if width >= 120 { columns.append(Column(title: "SPAWN SITE", width: 0)) }
        return columns
    }

    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        let columns = columns(width: area.width)
        let widths = Table.widths(columns, in: area.width)
        let sortedColumn: Int? =
            switch state.sort {
            case .id: 0
            case .name: 1
            case .state: 2
            case .reason: 3
            case .wait: 4
            case .age: 5
            }
        Table.header(
            columns, widths: widths, y: area.y, sorted: sortedColumn,
            descending: state.descending ?? state.sort.descendingByDefault, glyphs: glyphs, into: &buffer)
        let data = state.shown
        guard let page = data.page else {
            buffer.put(" loading…", x: 0, y: area.y + 1, style: .muted)
            return
        }
        let now = data.summary?.capturedAt ?? 0
        let position = state.position(.tasks)
        let rows = area.height - 2
        for (index, task) in page.tasks.prefix(rows).enumerated() {
            let y = area.y + 1 + index
            let absolute = page.offset + index
            var cells = [
                "\(task.id)", task.name + (task.adopted == true && !task.name.hasPrefix("(") ? " (untracked)" : ""),
                task.state == .finished ? (task.outcome?.rawValue ?? "finished") : task.state.rawValue,
                task.wait ?? "", task.state == .waiting ? DurationText.format(task.inState) : "",
                now > 0 ? DurationText.format(now - task.created) : "",
                task.waitSite.map { Fit.tail($0.description, widths[6], glyphs: glyphs) } ?? "",
            ]
            if columns.count > 7 { cells.append(Fit.tail(task.spawnSite.description, widths[7], glyphs: glyphs)) }
            var style = Style.plain
            if task.state == .finished { style = .muted }
            if task.cancelled && task.state != .finished { style = Style(.warning) }
            Table.row(cells, columns: columns, widths: widths, y: y, style: style, glyphs: glyphs, into: &buffer)
            if absolute == position.selected { buffer.restyle(x: 0, y: y, width: area.width) { $0.reverse = true } }
        }
        let footer: String
        if page.total == 0 {
            footer = " no task matches"
        } else {
            let last = min(page.total, page.offset + min(rows, page.tasks.count))
            footer = " rows \(Number.format(page.offset + 1))-\(Number.format(last)) of \(Number.format(page.total))"
        }
        buffer.put(footer, x: 0, y: area.y + area.height - 1, style: .muted)
    }
}
