import ScopeProtocol

/// Every warning, definite first, each read whole: its rule, its message wrapped to the
/// screen, its fix, the resource or site it names, the owner gone, and its tasks. Enter
/// lists exactly those tasks.
enum WarningsView {
    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let data = state.shown
        let warnings = data.orderedWarnings
        let definite = warnings.filter { $0.severity == .definite }.count
        buffer.put(
            " \(definite) definite, \(warnings.count - definite) suspect", x: 0, y: area.y,
            style: definite > 0 ? Style(.danger, bold: true) : .header, maxWidth: area.width)
        let footerY = area.y + area.height - 1
        guard !warnings.isEmpty else {
            buffer.put("  no leaks found", x: 0, y: area.y + 2, style: Style(.good))
            buffer.put(" nothing to list", x: 0, y: footerY, style: .muted)
            return
        }
        let position = state.position(.warnings)
        let selected = min(max(0, position.selected), warnings.count - 1)
        let blocks = warnings.map { block($0, data: data, width: area.width) }
        let visible = max(1, area.height - 2)
        // From the remembered top, moved down only as far as the selected block needs to be whole.
        var first = min(position.top, selected)
        while first < selected, height(blocks[first...selected]) > visible { first += 1 }
        var y = area.y + 1
        for index in first..<blocks.count {
            guard y < footerY else { break }
            let isSelected = index == selected
            for (row, line) in blocks[index].enumerated() where y < footerY {
                var style = line.style
                if isSelected && row == 0 { style.reverse = true }
                buffer.put(Fit.pad(line.text, area.width, glyphs: state.glyphs), x: 0, y: y, style: style)
                if isSelected && row > 0 {
                    buffer.put(String(state.glyphs.vertical), x: 0, y: y, style: Style(.accent))
                }
                y += 1
            }
            y += 1
        }
        let footer =
            " warning \(selected + 1) of \(warnings.count); Enter lists its tasks"
        buffer.put(Fit.pad(footer, area.width, glyphs: state.glyphs), x: 0, y: footerY, style: .muted)
    }

    /// One line of a warning's block.
    struct Line {
        var text: String
        var style: Style
    }

    private static func height(_ blocks: ArraySlice<[Line]>) -> Int {
        blocks.reduce(0) { $0 + $1.count + 1 } - 1
    }

    /// The lines of one warning at `width` cells: nothing cut, long text wrapped under a hanging indent.
    static func block(_ warning: Warning, data: ScopeData, width: Int) -> [Line] {
        let colour: Colour = warning.severity == .definite ? .danger : .warning
        let marker = warning.severity == .definite ? "!" : "?"
        var title = " \(marker) \(warning.rule.rawValue) (\(warning.severity.rawValue))"
        title += "  \(warning.tasks) task\(warning.tasks == 1 ? "" : "s")"
        if let since = warning.since, let now = data.summary?.capturedAt, now > since {
            title += "  for \(DurationText.format(now - since))"
        }
        var lines = wrapped(title, first: "", rest: "     ", width: width, style: Style(colour, bold: true))
        lines += wrapped(warning.message, first: "   ", rest: "   ", width: width, style: .plain)
        lines += wrapped(warning.hint, first: "   fix: ", rest: "        ", width: width, style: Style(.good))
        if let named = named(warning, data: data) {
            lines += wrapped(named, first: "   ", rest: "     ", width: width, style: .muted)
        }
        if let owner = warning.owner {
            lines += wrapped(
                "owner: task \(owner) (finished)", first: "   ", rest: "     ", width: width, style: .muted)
        }
        lines += wrapped(tasks(warning), first: "   tasks: ", rest: "          ", width: width, style: .plain)
        return lines
    }

    /// What the warning names: the resource (with its kind and where it was made) or the site.
    private static func named(_ warning: Warning, data: ScopeData) -> String? {
        if let id = warning.resource {
            let resource = data.resources.first { $0.id == id }
            let kind = resource?.kind.rawValue ?? "resource"
            let name = (resource?.name ?? warning.name).map { " \"\($0)\"" } ?? ""
            let site = (resource?.site ?? warning.site).map { ", made at \($0)" } ?? ""
            return "resource: \(kind) \(id)\(name)\(site)"
        }
        guard let site = warning.site else { return nil }
        switch warning.rule {
        case .stuckWait, .deadlock, .blockedForever: return "wait site: \(site)"
        case .runawaySpawn, .ignoredCancellation, .blockedExecutor:
            return "spawn site: \(site)\(site.function.map { " \($0)" } ?? "")"
        case .orphanedChannel, .orphanedTimer, .leakedContinuation, .leakedWaitGroup, .leakedPermit, .abandonedChannel:
            return "site: \(site)"
        }
    }

    private static func tasks(_ warning: Warning) -> String {
        let ids = warning.taskIDs.map(String.init).joined(separator: ", ")
        if ids.isEmpty { return "\(Number.format(warning.tasks)); Enter lists them" }
        let more =
            warning.tasks > warning.taskIDs.count
            ? " and \(Number.format(warning.tasks - warning.taskIDs.count)) more" : ""
        return "\(Number.format(warning.tasks)) (\(ids)\(more)); Enter lists them"
    }

    private static func wrapped(_ text: String, first: String, rest: String, width: Int, style: Style) -> [Line] {
        let room = max(8, width - max(first.displayWidth, rest.displayWidth) - 1)
        return Wrap.lines(text, width: room).enumerated().map { index, line in
            Line(text: (index == 0 ? first : rest) + line, style: style)
        }
    }
}
