import ScopeProtocol

/// A bordered box in the middle of the screen, for overlays.
struct Box {
    var area: Area

    /// A box of at most `width` x `height`, centred, inside the content rows.
    init(width: Int, height: Int, in state: UIState) {
        let boxWidth = min(width, state.width)
        let boxHeight = min(height, state.height - 3)
        area = Area(
            x: (state.width - boxWidth) / 2, y: 2 + (state.height - 3 - boxHeight) / 2, width: boxWidth,
            height: boxHeight)
    }

    func draw(title: String, glyphs: Glyphs, into buffer: inout CellBuffer) {
        buffer.fill(x: area.x, y: area.y, width: area.width, height: area.height)
        let horizontal = String(repeating: glyphs.horizontal, count: max(0, area.width - 2))
        buffer.put(
            String(glyphs.corners[0]) + horizontal + String(glyphs.corners[1]), x: area.x, y: area.y,
            style: Style(.accent))
        buffer.put(
            String(glyphs.corners[2]) + horizontal + String(glyphs.corners[3]), x: area.x, y: area.y + area.height - 1,
            style: Style(.accent))
        for row in (area.y + 1)..<(area.y + area.height - 1) {
            buffer.put(String(glyphs.vertical), x: area.x, y: row, style: Style(.accent))
            buffer.put(String(glyphs.vertical), x: area.x + area.width - 1, y: row, style: Style(.accent))
        }
        buffer.put(" \(title) ", x: area.x + 2, y: area.y, style: .header, maxWidth: area.width - 4)
    }

    /// Writes a line inside the box (row 0 is the first inside row).
    func line(_ text: String, row: Int, style: Style = .plain, glyphs: Glyphs, into buffer: inout CellBuffer) {
        guard row >= 0, row < area.height - 2 else { return }
        buffer.put(Fit.pad(text, area.width - 4, glyphs: glyphs), x: area.x + 2, y: area.y + 1 + row, style: style)
    }

    var innerRows: Int { area.height - 2 }
}

/// Every key, from the table that dispatches them.
enum HelpView {
    static func draw(_ state: UIState, into buffer: inout CellBuffer) {
        let bindings = KeyBinding.all
        let box = Box(width: 64, height: bindings.count + 4, in: state)
        box.draw(title: "keys", glyphs: state.glyphs, into: &buffer)
        for (row, binding) in bindings.enumerated() {
            let label = state.glyphs == .ascii ? asciiLabel(binding.label) : binding.label
            box.line(
                Fit.pad(label, 8, glyphs: state.glyphs) + binding.help, row: row, glyphs: state.glyphs, into: &buffer)
        }
        box.line("? or Esc closes this", row: bindings.count + 1, style: .muted, glyphs: state.glyphs, into: &buffer)
    }

    static func asciiLabel(_ label: String) -> String {
        label.replacingOccurrences(of: "↑", with: "Up").replacingOccurrences(of: "↓", with: "Down")
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// One task with every field, its parent and its children.
enum DetailView {
    static func draw(_ state: UIState, taskID: UInt64, child: Int, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        let box = Box(width: state.width + 2, height: state.height, in: state)
        box.draw(title: "task \(taskID)", glyphs: glyphs, into: &buffer)
        guard let detail = state.shown.detail, detail.task.id == taskID else {
            box.line("loading…", row: 0, style: .muted, glyphs: glyphs, into: &buffer)
            return
        }
        let task = detail.task
        let now = state.shown.summary?.capturedAt ?? task.created
        var lines: [(String, Style)] = [
            (
                "name        \(task.name)\(task.adopted == true ? " (untracked task, shown while it waits)" : "")",
                .plain
            ),
            (
                "state       \(task.state.rawValue)\(task.outcome.map { " (\($0.rawValue))" } ?? "")"
                    + "\(task.cancelled ? ", cancelled" : "")\(task.error.map { ", threw \($0)" } ?? "")",
                task.cancelled ? Style(.warning) : .plain
            ),
            ("in state    \(DurationText.format(task.inState))", .plain),
            ("wait        \(task.wait ?? "-")\(task.resource.map { " on resource \($0)" } ?? "")", .plain),
            ("wait site   \(task.waitSite?.description ?? "-")", .plain),
            ("spawn site  \(task.spawnSite) \(task.spawnSite.function ?? "")", .plain),
            ("age         \(DurationText.format(now - task.created))", .plain),
            (
                "parent      \(detail.parent.map { "\($0.id) \($0.name) (\($0.state.rawValue))" } ?? (task.parent.map { "\($0) (gone)" } ?? "-"))",
                .plain
            ),
            ("", .plain),
            (
                "children    \(detail.children.count)\(detail.children.isEmpty ? "" : "  (Enter opens the selected one)")",
                .header
            ),
        ]
        for (index, childTask) in detail.children.enumerated() {
            let text = "  \(childTask.id)  \(childTask.name)  \(childTask.state.rawValue)  \(childTask.wait ?? "")"
            var style = childTask.state == .finished ? Style.muted : Style.plain
            if index == child { style.reverse = true }
            lines.append((text, style))
        }
        let visible = box.innerRows
        let firstChildLine = 10
        let scroll = max(0, firstChildLine + child - visible + 2)
        for (row, line) in lines.dropFirst(scroll).prefix(visible).enumerated() {
            box.line(line.0, row: row, style: line.1, glyphs: glyphs, into: &buffer)
        }
    }
}

/// The wait-reason picker: the reasons present, with counts.
enum PickerView {
    static func draw(_ state: UIState, selected: Int, into buffer: inout CellBuffer) {
        let reasons = state.waitReasons
        let box = Box(width: 44, height: min(reasons.count + 3, state.height - 3), in: state)
        box.draw(title: "filter by wait reason", glyphs: state.glyphs, into: &buffer)
        let entries = [("(all)", state.shown.summary?.tasks.live ?? 0)] + reasons.map { ($0.reason, $0.count) }
        let first = max(0, selected - box.innerRows + 1)
        for (row, (index, entry)) in entries.enumerated().dropFirst(first).prefix(box.innerRows).enumerated() {
            let text =
                Fit.pad(entry.0, 30, glyphs: state.glyphs)
                + Fit.pad(Number.format(entry.1), 8, glyphs: state.glyphs, right: true)
            box.line(
                text, row: row, style: index == selected ? Style(reverse: true) : .plain, glyphs: state.glyphs,
                into: &buffer)
        }
    }
}
