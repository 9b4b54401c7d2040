import ScopeProtocol

/// The first two rows: who is watched, whether data flows, and the screen tabs.
enum HeaderView {
    static func draw(_ state: UIState, into buffer: inout CellBuffer) {
        buffer.fill(x: 0, y: 0, width: state.width, height: 1, with: Cell(" ", .header))
        var who = ""
        if let hello = state.hello {
            who = "\(hello.process) (pid \(hello.pid))"
        } else if let summary = state.shown.summary {
            who = "\(summary.process) (pid \(summary.pid))"
        }
        var details: [String] = []
        if let summary = state.shown.summary {
            details = ["up \(DurationText.format(summary.uptime))", "every \(DurationText.format(summary.interval))"]
        }
        let connection: (String, Colour)
        switch state.connection {
        case .connecting: connection = ("connecting", .warning)
        case .live: connection = ("live", .good)
        case .lost(let why): connection = ("process gone: \(why)", .danger)
        case .offline(let file): connection = ("offline: \(file)", .accent)
        }
        let definite = state.shown.warnings.filter { $0.severity == .definite }.count
        let leaks = definite > 0 ? " \(state.glyphs.orphan) \(definite) leak\(definite == 1 ? "" : "s") " : ""
        // Drop details from the right until the connection state and the leak count fit: a long
        // process name at 80 columns loses its uptime before the count of leaks.
        var left = ""
        while true {
            left = " " + (["taskscope", who] + details).filter { !$0.isEmpty }.joined(separator: "  ") + "  "
            let needed = left.displayWidth + connection.0.displayWidth + (leaks.isEmpty ? 0 : leaks.count + 1)
            if needed <= state.width || details.isEmpty { break }
            details.removeLast()
        }
        let written = buffer.put(left, x: 0, y: 0, style: .header)
        buffer.put(
            connection.0, x: written, y: 0, style: Style(connection.1, bold: true), maxWidth: state.width - written)
        if !leaks.isEmpty, written + connection.0.displayWidth + leaks.count < state.width {
            buffer.put(leaks, x: state.width - leaks.count, y: 0, style: Style(.danger, bold: true, reverse: true))
        }
        var x = 1
        for screen in Screen.allCases {
            let tab = " \(screen.rawValue) \(screen.title) "
            buffer.put(
                tab, x: x, y: 1, style: screen == state.screen ? Style(.accent, bold: true, reverse: true) : .plain)
            x += tab.displayWidth + 1
        }
    }
}

/// The last row: filters, sort, pause, messages, and the two keys everyone needs.
enum StatusLine {
    static func draw(_ state: UIState, into buffer: inout CellBuffer) {
        let y = state.height - 1
        buffer.fill(x: 0, y: y, width: state.width, height: 1, with: Cell(" ", Style(reverse: true)))
        if case .search(let text)? = state.overlay {
            buffer.put("/\(text)_", x: 0, y: y, style: Style(reverse: true))
            let hint = "Enter keep  Esc clear"
            buffer.put(hint, x: state.width - hint.count, y: y, style: Style(reverse: true))
            return
        }
        var parts: [String] = []
        if state.isPaused { parts.append("PAUSED") }
        if let scope = state.scope { parts.append(scope.label) }
        parts.append("wait: \(state.waitFilter ?? "all")")
        if let text = state.textFilter { parts.append("search: \(text)") }
        if state.screen == .groups, state.groupsByStack {
            // Groups by stack have one order, largest first; the sort keys do not apply to them.
            parts.append("by stack")
        } else if let sort = state.sortIndicator(for: state.screen) {
            parts.append("sort: \(sort.name)\(sort.descending ? state.glyphs.down : state.glyphs.up)")
        }
        if case .lost = state.connection { parts.append("showing the last data; reconnecting") }
        let keys = "? help  q quit "
        let room = state.width - keys.count - 1
        var left = " " + parts.joined(separator: "  ")
        if let status = state.status {
            if (left + "  " + status).displayWidth <= room {
                left += "  " + status
            } else {
                // A message too long for the line (an export's path) is read whole on the rows
                // above it, wrapped, rather than cut at the terminal's edge.
                let lines = Wrap.lines(status, width: state.width - 2)
                for (index, line) in lines.suffix(max(1, state.height - 3)).enumerated() {
                    let row = y - min(lines.count, state.height - 3) + index
                    buffer.fill(x: 0, y: row, width: state.width, height: 1, with: Cell(" ", Style(reverse: true)))
                    buffer.put(" " + line, x: 0, y: row, style: Style(reverse: true))
                }
            }
        }
        buffer.put(left, x: 0, y: y, style: Style(reverse: true), maxWidth: room)
        buffer.put(keys, x: state.width - keys.count, y: y, style: Style(reverse: true))
    }
}
