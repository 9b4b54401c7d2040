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

/// Every key, from the table that dispatches them: one column where the screen is tall
/// enough, else two, each help text wrapped in its column, so the whole table fits at 80x24.
enum HelpView {
    static func draw(_ state: UIState, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        let bindings = KeyBinding.all
        let labels = bindings.map { glyphs == .ascii ? asciiLabel($0.label) : $0.label }
        let labelWidth = max(8, (labels.map(\.displayWidth).max() ?? 0) + 2)
        let tallest = state.height - 3 - 2
        // One column when everything fits in it, else two side by side.
        var columnCount = 1
        let wide = min(86, state.width - 4)
        var entries = layout(bindings, labels: labels, labelWidth: labelWidth, width: wide)
        if entries.count + 2 > tallest {
            columnCount = 2
            entries = layout(bindings, labels: labels, labelWidth: labelWidth, width: (state.width - 4 - 3) / 2)
        }
        let perColumn = columnCount == 1 ? entries.count : (entries.count + 1) / 2
        // Never split one binding's lines across the two columns.
        var split = perColumn
        while columnCount == 2, split < entries.count, entries[split].continued { split += 1 }
        let rows = columnCount == 1 ? entries.count : max(split, entries.count - split)
        let boxWidth = columnCount == 1 ? wide + 4 : state.width
        let box = Box(width: boxWidth, height: rows + 4, in: state)
        box.draw(title: "keys", glyphs: glyphs, into: &buffer)
        let columnWidth = columnCount == 1 ? box.area.width - 4 : (box.area.width - 4 - 3) / 2
        for (index, entry) in entries.enumerated() {
            let second = columnCount == 2 && index >= split
            let row = second ? index - split : index
            guard row < box.innerRows else { continue }
            let x = box.area.x + 2 + (second ? columnWidth + 3 : 0)
            buffer.put(Fit.pad(entry.text, columnWidth, glyphs: glyphs), x: x, y: box.area.y + 1 + row)
        }
        box.line("? or Esc closes this", row: rows + 1, style: .muted, glyphs: glyphs, into: &buffer)
    }

    /// One line of the help: a binding's first line, or the wrapped rest of its text.
    struct Entry {
        var text: String
        var continued: Bool
    }

    static func layout(_ bindings: [KeyBinding], labels: [String], labelWidth: Int, width: Int) -> [Entry] {
        var entries: [Entry] = []
        let indent = String(repeating: " ", count: labelWidth)
        for (binding, label) in zip(bindings, labels) {
            let lines = Wrap.lines(binding.help, width: max(8, width - labelWidth))
            for (index, line) in lines.enumerated() {
                let head = index == 0 ? Fit.pad(label, labelWidth, glyphs: .unicode) : indent
                entries.append(Entry(text: head + line, continued: index > 0))
            }
        }
        return entries
    }

    static func asciiLabel(_ label: String) -> String {
        label.replacingOccurrences(of: "↑", with: "Up").replacingOccurrences(of: "↓", with: "Down")
            .replacingOccurrences(of: "→", with: "Right").replacingOccurrences(of: "←", with: "Left")
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
            box.line("loading\(glyphs.ellipsis)", row: 0, style: .muted, glyphs: glyphs, into: &buffer)
            return
        }
        let task = detail.task
        let now = state.shown.page?.capturedAt ?? state.shown.summary?.capturedAt ?? task.created
        let siteWidth = box.area.width - 4 - 12
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
            ("wait site   \(Fit.site(task.waitSite, siteWidth, glyphs: glyphs))", .plain),
            ("spawn site  \(Fit.site(task.spawnSite, siteWidth, function: true, glyphs: glyphs))", .plain),
            ("age         \(DurationText.format(TasksView.age(task, now: now)))", .plain),
            // The trace id whole (a user copies it into the tracing backend), or why there is none.
            ("trace       \(task.trace ?? "-")", task.trace == nil ? .muted : .plain),
            (
                "parent      \(detail.parent.map { "\($0.id) \($0.name) (\($0.state.rawValue))" } ?? (task.parent.map { "\($0) (gone)" } ?? "-"))",
                .plain
            ),
        ]
        // The warnings that name this task, each whole: a task in a leak says so where it is read.
        let warnings = state.shown.warnings(naming: task)
        for (index, warning) in warnings.enumerated() {
            let head = index == 0 ? "warnings    " : "            "
            let text =
                "\(warning.severity == .definite ? String(glyphs.orphan) : "?") \(warning.rule.rawValue): \(warning.message)"
            let style = warning.severity == .definite ? Style(.danger) : Style(.warning)
            for (row, line) in Wrap.lines(text, width: max(8, box.area.width - 4 - 14)).enumerated() {
                lines.append(((row == 0 ? head : "            ") + (row == 0 ? "" : "  ") + line, style))
            }
        }
        if !warnings.isEmpty { lines.append(("            (5 opens the Warnings screen at it)", .muted)) }
        let firstChildLine = lines.count + 2
        lines += [
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
        // The async stack below the children: Down past the last child scrolls into it.
        lines += [("", .plain), ("stack       async callers, innermost first (Down scrolls)", .header)]
        if let stack = state.shown.detailStack, stack.taskID == taskID {
            for line in stack.lines {
                // A path keeps its end (the file), a function its beginning (its name).
                let width = max(8, box.area.width - 6)
                let text =
                    line.isPlace
                    ? "  " + Fit.tail(String(line.text.dropFirst(2)), width - 2, glyphs: glyphs)
                    : Fit.pad(line.text, width, glyphs: glyphs)
                lines.append(("  " + text, line.isPlace || stack.stack == nil ? .muted : .plain))
            }
        } else {
            lines.append(("  loading\(glyphs.ellipsis)", .muted))
        }
        let visible = box.innerRows
        // Never past the end: the stack below may have shrunk since Down scrolled into it.
        let scroll = max(0, min(firstChildLine + child - visible + 2, lines.count - visible))
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
