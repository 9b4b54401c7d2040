import ScopeProtocol

/// The first screen: counts by state with their trends, wait reasons, and the warnings.
enum OverviewView {
    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let data = state.shown
        let glyphs = state.glyphs
        var y = area.y
        let trendWidth = max(10, min(60, area.width - 46))
        buffer.put("TASKS", x: 1, y: y, style: .header)
        buffer.put("trend", x: 22, y: y, style: .muted)
        y += 1
        let history = data.history
        let summary = data.summary
        let rows: [(String, Int?, [Int], Colour)] = [
            ("active", summary?.tasks.active, history.map(\.active), .good),
            ("waiting", summary?.tasks.waiting, history.map(\.waiting), .warning),
            ("finished", summary?.tasks.finished, finishedPerSample(history), .muted),
        ]
        for (label, count, series, colour) in rows {
            buffer.put("  " + Fit.pad(label, 9, glyphs: glyphs), x: 0, y: y)
            buffer.put(
                Fit.pad(count.map(Number.format) ?? "-", 8, glyphs: glyphs, right: true), x: 11, y: y,
                style: Style(bold: true))
            buffer.put(Sparkline.render(series, width: trendWidth, glyphs: glyphs), x: 22, y: y, style: Style(colour))
            y += 1
        }
        if let totals = summary?.totals {
            let line =
                "  spawned \(Number.format(totals.spawned))  completed \(Number.format(totals.completed))  "
                + "cancelled \(Number.format(totals.cancelled))  failed \(Number.format(totals.failed))"
            buffer.put(line, x: 0, y: y, style: .muted, maxWidth: area.width)
        }
        y += 2

        // Wait reasons: half of what is left, at least a few rows.
        let reasons = state.waitReasons
        let warningRows =
            data.warnings.isEmpty ? 1 : min(data.warnings.count, max(3, (area.y + area.height - y) / 2 - 1))
        let reasonRows = max(1, min(reasons.count, area.y + area.height - y - warningRows - 4))
        let columns = [
            Column(title: "WAIT REASON", width: 0), Column(title: "TASKS", width: 7, right: true),
            Column(title: "SHARE", width: 5, right: true), Column(title: "TREND", width: trendWidth),
            Column(title: "LONGEST", width: 8, right: true),
        ]
        let widths = Table.widths(columns, in: area.width - 2)
        Table.header(columns, widths: widths, y: y, glyphs: glyphs, into: &buffer, x: 2)
        y += 1
        let waiting = max(1, summary?.tasks.waiting ?? 1)
        if reasons.isEmpty {
            buffer.put("  no task is waiting", x: 0, y: y, style: .muted)
            y += 1
        }
        for (reason, count) in reasons.prefix(reasonRows) {
            let longest = data.groups.filter { $0.key.reason == reason }.map(\.longest).max()
            let cells = [
                reason, Number.format(count), "\(count * 100 / waiting)%",
                Sparkline.render(history.map { $0.waits[reason] ?? 0 }, width: trendWidth, glyphs: glyphs),
                longest.map(DurationText.format) ?? "",
            ]
            Table.row(cells, columns: columns, widths: widths, y: y, style: .plain, glyphs: glyphs, into: &buffer, x: 2)
            y += 1
        }
        if reasons.count > reasonRows {
            buffer.put("  … \(reasons.count - reasonRows) more (w picks one)", x: 0, y: y, style: .muted)
            y += 1
        }
        y += 1

        let definite = data.warnings.filter { $0.severity == .definite }.count
        let suspect = data.warnings.count - definite
        buffer.put("WARNINGS", x: 1, y: y, style: .header)
        buffer.put(
            "\(definite) definite, \(suspect) suspect", x: 11, y: y,
            style: definite > 0 ? Style(.danger, bold: true) : .muted)
        y += 1
        let bottom = area.y + area.height
        if data.warnings.isEmpty {
            buffer.put("  no leaks found", x: 0, y: y, style: Style(.good))
            return
        }
        let position = state.position(.overview)
        let visible = max(1, bottom - y)
        let first = min(position.top, max(0, data.warnings.count - visible))
        for (index, warning) in data.warnings.enumerated().dropFirst(first).prefix(visible) {
            let marker = warning.severity == .definite ? String(glyphs.orphan) : "?"
            let text = " \(marker) \(warning.rule.rawValue)  \(warning.message)"
            let style = warning.severity == .definite ? Style(.danger) : Style(.warning)
            buffer.put(Fit.pad(text, area.width, glyphs: glyphs), x: 0, y: y, style: style)
            if index == position.selected { buffer.restyle(x: 0, y: y, width: area.width) { $0.reverse = true } }
            y += 1
        }
    }

    /// Tasks finished between consecutive samples, from the running totals.
    static func finishedPerSample(_ history: [HistorySample]) -> [Int] {
        zip(history, history.dropFirst()).map { previous, next in
            let before = previous.totals.completed + previous.totals.cancelled + previous.totals.failed
            let after = next.totals.completed + next.totals.cancelled + next.totals.failed
            return Int(clamping: after >= before ? after - before : 0)
        }
    }
}
