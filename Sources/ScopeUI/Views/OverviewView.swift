import ScopeProtocol

/// The first screen: counts by state with their trends, wait reasons, and the warnings.
enum OverviewView {
    /// A lag this long (seconds) is drawn as trouble: a quarter second without a thread.
    static let lagWorth = 0.25

    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let data = state.shown
        let glyphs = state.glyphs
        var y = area.y
        let countX = 18
        let trendX = 27
        let trendWidth = max(10, min(60, area.width - trendX - 14))
        let scaleX = trendX + trendWidth + 1
        let history = data.history
        let summary = data.summary
        let window = Sparkline.window(
            samples: min(trendWidth, history.count), interval: summary?.interval ?? 1)
        buffer.put("TASKS", x: 1, y: y, style: .header)
        buffer.put("now", x: countX + 4, y: y, style: .muted)
        buffer.put("trend, last \(window)", x: trendX, y: y, style: .muted, maxWidth: trendWidth)
        buffer.put("scale", x: scaleX, y: y, style: .muted, maxWidth: area.width - scaleX)
        y += 1
        // Active and waiting are both task counts: one scale, so their heights compare.
        let live = [history.map { Optional($0.active) }, history.map { Optional($0.waiting) }]
        let liveScale = Sparkline.scale(live, width: trendWidth)
        let rate = finishedPerSecond(history).map { Optional($0) }
        let rateScale = Sparkline.scale([rate], width: trendWidth)
        let rows: [(String, Int?, [Int?], Int, String, Colour)] = [
            ("active", summary?.tasks.active, live[0], liveScale, "0-\(Number.format(liveScale))", .good),
            ("waiting", summary?.tasks.waiting, live[1], liveScale, "0-\(Number.format(liveScale))", .warning),
            // The retained finished tasks are a capped count, not a level: their trend is the
            // rate at which tasks finish.
            (
                "finished (kept)", summary?.tasks.finished, rate, rateScale, "0-\(Number.format(rateScale))/s done",
                .muted
            ),
        ]
        for (label, count, series, scale, scaleText, colour) in rows {
            buffer.put("  " + Fit.pad(label, 15, glyphs: glyphs), x: 0, y: y)
            buffer.put(
                Fit.pad(count.map(Number.format) ?? "-", 7, glyphs: glyphs, right: true), x: countX, y: y,
                style: Style(bold: true))
            buffer.put(
                Sparkline.render(series, width: trendWidth, scale: scale, glyphs: glyphs), x: trendX, y: y,
                style: Style(colour))
            buffer.put(scaleText, x: scaleX, y: y, style: .muted, maxWidth: area.width - scaleX)
            y += 1
        }
        // How late a job runs on the cooperative pool: a task blocking one of its few threads
        // starves every task, which no count above shows. (Agents that measure it only.)
        if let lag = summary?.executorLag {
            let series = history.map { sample in sample.lag.map { Int(($0 * 1000).rounded()) } }
            let scale = max(Sparkline.scale([series], width: trendWidth), 1)
            buffer.put("  " + Fit.pad("executor lag", 15, glyphs: glyphs), x: 0, y: y)
            buffer.put(
                Fit.pad(DurationText.format(lag), 7, glyphs: glyphs, right: true), x: countX, y: y,
                style: Style(lag >= OverviewView.lagWorth ? .danger : .normal, bold: true))
            buffer.put(
                Sparkline.render(series, width: trendWidth, scale: scale, glyphs: glyphs), x: trendX, y: y,
                style: Style(scale >= Int(OverviewView.lagWorth * 1000) ? .danger : .accent))
            buffer.put("0-\(Number.format(scale))ms", x: scaleX, y: y, style: .muted, maxWidth: area.width - scaleX)
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
        let warnings = data.orderedWarnings
        let reasons = state.waitReasons
        let warningRows = warnings.isEmpty ? 1 : min(warnings.count, max(3, (area.y + area.height - y) / 2 - 1))
        let reasonRows = max(1, min(reasons.count, area.y + area.height - y - warningRows - 4))
        let shownReasons = Array(reasons.prefix(reasonRows))
        let series = shownReasons.map { reason in history.map { Optional($0.waits[reason.reason] ?? 0) } }
        let reasonScale = Sparkline.scale(series, width: trendWidth)
        let columns = [
            // As wide as the longest reason shown, so a wide terminal does not push the counts
            // and trends far from the reasons they belong to.
            Column.flexible(
                "WAIT REASON", least: 11, most: max(11, shownReasons.map(\.reason.displayWidth).max() ?? 0) + 2),
            Column(title: "TASKS", width: 7, right: true),
            Column(title: "SHARE", width: 5, right: true),
            Column(title: "TREND, 0-\(Number.format(reasonScale))", width: trendWidth),
            Column(title: "LONGEST", width: 8, right: true),
        ]
        let widths = Table.widths(columns, in: area.width - 2)
        Table.header(columns, widths: widths, y: y, glyphs: glyphs, into: &buffer, x: 2)
        y += 1
        if reasons.isEmpty {
            buffer.put("  no task is waiting", x: 0, y: y, style: .muted)
            y += 1
        }
        let shares = Share.percentages(reasons.map(\.count))
        for (index, (reason, count)) in shownReasons.enumerated() {
            let longest = data.groups.filter { $0.key.reason == reason }.map(\.longest).max()
            let cells = [
                reason, Number.format(count), "\(shares[index])%",
                Sparkline.render(series[index], width: widths[3], scale: reasonScale, glyphs: glyphs),
                longest.map(DurationText.format) ?? "",
            ]
            Table.row(cells, columns: columns, widths: widths, y: y, style: .plain, glyphs: glyphs, into: &buffer, x: 2)
            y += 1
        }
        if reasons.count > reasonRows {
            buffer.put(
                "  \(glyphs.ellipsis) \(reasons.count - reasonRows) more (w picks one)", x: 0, y: y, style: .muted)
            y += 1
        }
        y += 1

        let definite = warnings.filter { $0.severity == .definite }.count
        let suspect = warnings.count - definite
        buffer.put("WARNINGS", x: 1, y: y, style: .header)
        let counts = "\(definite) definite, \(suspect) suspect"
        buffer.put(counts, x: 11, y: y, style: definite > 0 ? Style(.danger, bold: true) : .muted)
        if !warnings.isEmpty {
            buffer.put(
                "  Enter reads one whole (5: all)", x: 11 + counts.count, y: y, style: .muted,
                maxWidth: area.width - 11 - counts.count)
        }
        y += 1
        let bottom = area.y + area.height
        if warnings.isEmpty {
            buffer.put("  no leaks found", x: 0, y: y, style: Style(.good))
            return
        }
        let position = state.position(.overview)
        let visible = max(1, bottom - y)
        let first = min(position.top, max(0, warnings.count - visible))
        for (index, warning) in warnings.enumerated().dropFirst(first).prefix(visible) {
            let marker = warning.severity == .definite ? String(glyphs.orphan) : "?"
            // Where the message, cut at the edge, no longer says where the leak is, the site
            // comes first, whole.
            var text = " \(marker) \(warning.rule.rawValue)  \(warning.message)"
            if let site = warning.site.map(Fit.shortSite),
                !Fit.pad(text, area.width, glyphs: glyphs).contains(site)
            {
                text = " \(marker) \(warning.rule.rawValue)  \(site)  \(warning.message)"
            }
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

    /// Tasks finished per second between consecutive samples, rounded.
    static func finishedPerSecond(_ history: [HistorySample]) -> [Int] {
        zip(finishedPerSample(history), zip(history, history.dropFirst())).map { count, pair in
            let seconds = pair.1.time - pair.0.time
            guard seconds > 0 else { return count }
            // Samples a hair apart must not make a rate beyond Int.
            return Int(min((Double(count) / seconds).rounded(), 1e15))
        }
    }
}

/// Shares of a whole in whole percent that add up to 100 (largest remainder): 1, 1, 1
/// reads 34%, 33%, 33%, not 33% three times.
enum Share {
    static func percentages(_ counts: [Int]) -> [Int] {
        // Summed in Double: counts near Int.max must not overflow the sum.
        let total = counts.reduce(0.0) { $0 + Double(max(0, $1)) }
        guard total > 0 else { return counts.map { _ in 0 } }
        let exact = counts.map { Double(max(0, $0)) * 100 / total }
        var shares = exact.map { Int($0.rounded(.down)) }
        let missing = 100 - shares.reduce(0, +)
        let order = exact.indices.sorted { lhs, rhs in
            let left = exact[lhs] - Double(shares[lhs])
            let right = exact[rhs] - Double(shares[rhs])
            return left != right ? left > right : lhs < rhs
        }
        for index in order.prefix(missing) { shares[index] += 1 }
        return shares
    }
}
