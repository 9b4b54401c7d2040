import ScopeProtocol

/// The task table: one page from the agent, sorted and filtered there.
enum TasksView {
    /// The columns, by index; `columns(for:)` lays them out in this order.
    enum Field: Int, CaseIterable {
        case warned, id, name, state, reason, waiting, age, waitSite, spawnSite
    }

    /// The columns for `tasks`: the sites as wide as the rows' file names and lines need,
    /// so what is dropped or cut first at a narrow width is the spawn site, then the age,
    /// and the name is cut before any site is.
    static func columns(for tasks: [TaskInfo], names: [String]) -> [Column] {
        let waitLeast = tasks.map { $0.waitSite.map(Fit.siteMinimum) ?? 1 }.max() ?? 9
        let waitMost = tasks.map { $0.waitSite?.description.displayWidth ?? 1 }.max() ?? 9
        let spawnLeast = tasks.map { Fit.siteMinimum($0.spawnSite) }.max() ?? 10
        let spawnMost = tasks.map { $0.spawnSite.description.displayWidth }.max() ?? 10
        let nameMost = names.map(\.displayWidth).max() ?? 4
        return [
            Column(title: "", width: 1, priority: 10),
            // As wide as the largest id on the page: ids are never cut, and small ones leave room.
            Column(title: "ID", width: max(3, String(tasks.map(\.id).max() ?? 0).count), right: true, priority: 9),
            .flexible("NAME", least: 8, want: 20, most: max(8, nameMost), priority: 4, weight: 2),
            Column(title: "STATE", width: 9, priority: 5),
            .flexible("WAIT REASON", least: 9, want: 12, most: 16, priority: 6),
            Column(title: "WAITING", width: 8, right: true, priority: 7),
            Column(title: "AGE", width: 7, right: true, priority: 3),
            .flexible("WAIT SITE", least: max(9, min(40, waitLeast)), most: max(9, waitMost), priority: 8),
            .flexible("SPAWN SITE", least: max(10, min(40, spawnLeast)), most: max(10, spawnMost), priority: 2),
        ]
    }

    /// The column a sort key orders by.
    static func column(for sort: TaskQuery.SortKey) -> Field {
        switch sort {
        case .id: .id
        case .name: .name
        case .state: .state
        case .reason: .reason
        case .wait: .waiting
        case .age: .age
        }
    }

    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        let data = state.shown
        let rows = area.height - 2
        let tasks = Array(data.page?.tasks.prefix(rows) ?? [])
        let names = tasks.map { task in
            task.name + (task.adopted == true && !task.name.hasPrefix("(") ? " (untracked)" : "")
        }
        let sorted = column(for: state.sort).rawValue
        let columns = Table.fittingSortMark(columns(for: tasks, names: names), sorted: sorted)
        let widths = Table.widths(columns, in: area.width)
        Table.header(
            columns, widths: widths, y: area.y, sorted: sorted,
            descending: state.descending ?? state.sort.descendingByDefault, glyphs: glyphs, into: &buffer)
        guard let page = data.page else {
            buffer.put(" loading\(glyphs.ellipsis)", x: 0, y: area.y + 1, style: .muted)
            return
        }
        // One clock for a row: the time the page was read, which its `inState` was measured by.
        let now = page.capturedAt ?? data.summary?.capturedAt ?? 0
        let warnings = data.orderedWarnings
        let position = state.position(.tasks)
        for (index, task) in tasks.enumerated() {
            let y = area.y + 1 + index
            let absolute = page.offset + index
            let warned = warnings.first { $0.involves(task) }
            var marker = ""
            if let warned { marker = warned.severity == .definite ? String(glyphs.orphan) : "?" }
            let stateText: String =
                task.state == .finished ? (task.outcome?.rawValue ?? "finished") : task.state.rawValue
            let waiting: String = task.state == .waiting ? DurationText.format(task.inState) : ""
            let ageText: String = now > 0 ? DurationText.format(age(task, now: now)) : ""
            var waitSite = ""
            if let site = task.waitSite { waitSite = Fit.site(site, widths[Field.waitSite.rawValue], glyphs: glyphs) }
            let spawnSite = Fit.site(task.spawnSite, widths[Field.spawnSite.rawValue], glyphs: glyphs)
            let cells: [String] = [
                marker, "\(task.id)", names[index], stateText, task.wait ?? "", waiting, ageText, waitSite, spawnSite,
            ]
            var style = Style.plain
            if task.state == .finished { style = .muted }
            if task.cancelled && task.state != .finished { style = Style(.warning) }
            Table.row(cells, columns: columns, widths: widths, y: y, style: style, glyphs: glyphs, into: &buffer)
            if let warned {
                buffer[0, y] = Cell(
                    buffer[0, y].character, Style(warned.severity == .definite ? .danger : .warning, bold: true))
            }
            if absolute == position.selected { buffer.restyle(x: 0, y: y, width: area.width) { $0.reverse = true } }
        }
        var footer: String
        if page.total == 0 {
            footer = " no task matches"
        } else {
            let last = min(page.total, page.offset + min(rows, page.tasks.count))
            footer = " rows \(Number.format(page.offset + 1))-\(Number.format(last)) of \(Number.format(page.total))"
        }
        if tasks.contains(where: { task in warnings.contains { $0.involves(task) } }) {
            footer += "; \(glyphs.orphan) or ? marks a task a warning names (5 lists them)"
        }
        buffer.put(footer, x: 0, y: area.y + area.height - 1, style: .muted, maxWidth: area.width)
    }

    /// A task's age at `now`, never less than the time it has spent in its state: the two
    /// come from one reading when the agent sends the page's time, and cannot disagree.
    static func age(_ task: TaskInfo, now: Double) -> Double {
        max(now - task.created, task.inState)
    }
}
