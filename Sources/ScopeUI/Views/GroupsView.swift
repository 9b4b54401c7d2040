import ScopeProtocol

/// Live tasks grouped by wait reason, wait site and spawn site, largest first.
enum GroupsView {
    /// The columns, by index.
    enum Field: Int, CaseIterable {
        case tasks, reason, longest, trend, waitSite, spawnSite
    }

    static func columns(for groups: [SiteGroup]) -> [Column] {
        let waitSites = groups.compactMap(\.key.waitSite)
        let waitLeast = waitSites.map(Fit.siteMinimum).max() ?? 9
        let waitMost = waitSites.map { $0.description.displayWidth }.max() ?? 9
        let spawnLeast = groups.map { Fit.siteMinimum($0.key.spawnSite) }.max() ?? 10
        let spawnMost = groups.map { spawnText($0.key.spawnSite).displayWidth }.max() ?? 10
        return [
            Column(
                title: "TASKS", width: max(5, groups.map { Number.format($0.count).count }.max() ?? 0), right: true,
                priority: 9),
            .flexible("WAIT REASON", least: 10, most: 16, priority: 6),
            Column(title: "LONGEST", width: 8, right: true, priority: 5),
            .flexible("TREND", least: 8, most: 60, priority: 4),
            .flexible("WAIT SITE", least: max(9, min(40, waitLeast)), most: max(9, waitMost), priority: 8),
            .flexible("SPAWN SITE", least: max(10, min(40, spawnLeast)), most: max(10, spawnMost), priority: 7),
        ]
    }

    static func spawnText(_ site: SourceSite) -> String { "\(site) \(site.function ?? "")" }

    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        if state.groupsByStack { return StackGroupsView.draw(state, in: area, into: &buffer) }
        let glyphs = state.glyphs
        let data = state.shown
        let groups = state.groupRows
        let position = state.position(.groups)
        let rows = area.height - 2
        let shown = Array(groups.enumerated().dropFirst(position.top).prefix(rows))
        let sort = state.sortIndicator(for: .groups)
        var columns = columns(for: shown.map(\.element))
        columns = Table.fittingSortMark(columns, sorted: columns.firstIndex { $0.title == sort?.column })
        var widths = Table.widths(columns, in: area.width)
        // Without a spawn-site column, an active group (no wait site) shows its spawn site
        // in the site column rather than a dash: it is what identifies the group.
        let spawnDropped = widths[Field.spawnSite.rawValue] == 0
        if spawnDropped {
            columns[Field.waitSite.rawValue].title = "WAIT (SPAWN) SITE"
            let least = shown.map { Fit.siteMinimum($0.element.key.waitSite ?? $0.element.key.spawnSite) }.max() ?? 9
            columns[Field.waitSite.rawValue].width = max(columns[Field.waitSite.rawValue].width, min(40, least + 2))
            widths = Table.widths(columns, in: area.width)
        }
        let trendWidth = widths[Field.trend.rawValue]
        let series = shown.map { trend($0.element, history: data.history) }
        let scale = Sparkline.scale(series, width: trendWidth)
        Table.header(
            columns, widths: widths, y: area.y, sorted: columns.firstIndex { $0.title == sort?.column },
            descending: sort?.descending ?? false, glyphs: glyphs, into: &buffer)
        for ((index, group), values) in zip(shown, series) {
            let y = area.y + 1 + index - position.top
            let siteWidth = widths[Field.waitSite.rawValue]
            let site: String
            if let waitSite = group.key.waitSite {
                site = Fit.site(waitSite, siteWidth, glyphs: glyphs)
            } else if spawnDropped {
                site =
                    "(" + Fit.site(group.key.spawnSite, max(0, siteWidth - 2), glyphs: glyphs).trimmingTrailingSpaces()
                    + ")"
            } else {
                site = "-"
            }
            let cells = [
                Number.format(group.count), group.key.reason ?? "(active)", DurationText.format(group.longest),
                Sparkline.render(values, width: trendWidth, scale: scale, glyphs: glyphs), site,
                Fit.site(group.key.spawnSite, widths[Field.spawnSite.rawValue], function: true, glyphs: glyphs),
            ]
            Table.row(cells, columns: columns, widths: widths, y: y, style: .plain, glyphs: glyphs, into: &buffer)
            if index == position.selected { buffer.restyle(x: 0, y: y, width: area.width) { $0.reverse = true } }
        }
        var footer =
            groups.isEmpty
            ? (data.groups.isEmpty ? " no live tasks" : " no group matches the filter")
            : " \(Number.format(groups.count)) groups"
        if !groups.isEmpty {
            if trendWidth > 0, !data.history.isEmpty {
                let window = Sparkline.window(
                    samples: min(trendWidth, data.history.count), interval: data.summary?.interval ?? 1)
                footer += "; trend: last \(window), one scale 0-\(Number.format(scale))"
            }
            footer += "; Enter lists a group's tasks; b groups by stack"
        }
        buffer.put(footer, x: 0, y: area.y + area.height - 1, style: .muted, maxWidth: area.width)
    }

    /// A group's trend: waiting tasks of its wait reason, or, for an active group, the live
    /// tasks of its spawn site (the sampler keeps those for the busiest few sites; a sample
    /// without the site is a gap, not a zero).
    static func trend(_ group: SiteGroup, history: [HistorySample]) -> [Int?] {
        if let reason = group.key.reason { return history.map { $0.waits[reason] ?? 0 } }
        let site = group.key.spawnSite.description
        return history.map { $0.sites[site] }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
