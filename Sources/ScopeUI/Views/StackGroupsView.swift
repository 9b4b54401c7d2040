import ScopeProtocol

/// Groups by stack (`b` on the Groups screen): the waiting tasks grouped by async call stack and
/// wait reason, largest first, like a goroutine profile's `debug=1` view with the wait and its
/// time. The STACK column reads innermost first (`queryDatabase < reserveStock < checkout`); the
/// frames a group's stack does not share with every other group shown are bold, so what tells
/// one stuck caller from another stands out.
enum StackGroupsView {
    static func columns(stackLeast: Int, reasonWidth: Int = 11) -> [Column] {
        [
            Column(title: "TASKS", width: 5, right: true, priority: 9),
            // As wide as the reasons shown need (the stack takes the rest), 16 at most.
            Column(title: "WAIT REASON", width: max(11, min(16, reasonWidth)), priority: 6),
            Column(title: "LONGEST", width: 7, right: true, priority: 5),
            .flexible("STACK (innermost first)", least: stackLeast, most: 400, priority: 8),
        ]
    }

    static func draw(_ state: UIState, in area: Area, into buffer: inout CellBuffer) {
        let glyphs = state.glyphs
        let groups = state.stackRows
        let list = state.shown.stackGroups
        let position = state.position(.groups)
        let rows = area.height - 2
        let shown = Array(groups.enumerated().dropFirst(position.top).prefix(rows))
        let columns = columns(
            stackLeast: 20, reasonWidth: shown.map { ($0.element.reason ?? "-").displayWidth }.max() ?? 11)
        let widths = Table.widths(columns, in: area.width)
        Table.header(columns, widths: widths, y: area.y, glyphs: glyphs, into: &buffer)
        let shared = sharedFunctions(groups.compactMap { list?.stack($0.stack) })
        let stackX = widths.prefix(3).reduce(0) { $0 + ($1 > 0 ? $1 + 1 : 0) }
        let stackWidth = widths[3]
        for (index, group) in shown {
            let y = area.y + 1 + index - position.top
            let cells = [Number.format(group.count), group.reason ?? "-", DurationText.format(group.longest), ""]
            Table.row(cells, columns: columns, widths: widths, y: y, style: .plain, glyphs: glyphs, into: &buffer)
            // The stack's frames, each bold where it tells this stack from the others.
            var x = stackX
            let names = columnNames(list?.stack(group.stack)?.frames ?? [])
            for (number, name) in names.enumerated() {
                let separator = number == 0 ? "" : " < "
                let room = stackX + stackWidth - x
                guard room > separator.count else { break }
                x += buffer.put(separator, x: x, y: y, style: .muted, maxWidth: room)
                var style = Style.plain
                if !shared.contains(name) { style.bold = true }
                let left = stackX + stackWidth - x
                guard left > 0 else { break }
                let fitted = name.displayWidth > left ? Fit.pad(name, left, glyphs: glyphs) : name
                x += buffer.put(fitted, x: x, y: y, style: style, maxWidth: left)
            }
            if index == position.selected { buffer.restyle(x: 0, y: y, width: area.width) { $0.reverse = true } }
        }
        var footer: String
        if let reason = list?.unavailable {
            footer = " no async stacks: \(reason)"
        } else if list == nil {
            footer = " reading the waiting tasks' stacks\(glyphs.ellipsis)"
        } else if groups.isEmpty {
            footer = list?.groups.isEmpty == true ? " no waiting task's stack" : " no stack matches the filter"
        } else {
            footer =
                " \(Number.format(groups.count)) stacks; bold: frames the others lack; Enter opens a task; b by site"
        }
        buffer.put(footer, x: 0, y: area.y + area.height - 1, style: .muted, maxWidth: area.width)
    }

    static func shortName(_ frame: StackFrame) -> String { frame.shortName }

    /// The names the STACK column shows: the frames the program wrote (the runtime's, kept in
    /// the detail, are left out here), a closure next to its function once.
    static func columnNames(_ frames: [StackFrame]) -> [String] {
        let waits = [
            "withUnsafeContinuation", "withUnsafeThrowingContinuation", "withCheckedContinuation",
            "withCheckedThrowingContinuation", "withTaskCancellationHandler",
        ]
        // Sleeping is said by the wait reason: the clocks' frames are left out too.
        let clocks: Set<String> = ["Clock.sleep", "Task.sleep", "ContinuousClock.sleep", "SuspendingClock.sleep"]
        let written = frames.filter { frame in
            !frame.module.hasPrefix("libswift") && !waits.contains { frame.function?.hasPrefix($0) == true }
                && !clocks.contains(frame.shortName)
        }
        var names: [String] = []
        for name in (written.isEmpty ? frames : written).map(shortName) {
            if let last = names.last, last == "{} in " + name {
                names[names.count - 1] = name
            } else if names.last != name {
                names.append(name)
            }
        }
        return names
    }

    /// The short names every stack holds (none when there is one stack or none).
    static func sharedFunctions(_ stacks: [StackInfo]) -> Set<String> {
        guard stacks.count > 1 else { return [] }
        let sets = stacks.map { Set(columnNames($0.frames)) }
        return sets.dropFirst().reduce(sets[0]) { $0.intersection($1) }
    }
}
