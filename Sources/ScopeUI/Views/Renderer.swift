import ScopeProtocol

/// Draws a ``UIState`` into a ``CellBuffer``: a pure function of the state.
public enum Renderer {
    /// The smallest terminal the UI draws in.
    public static let minimumWidth = 40
    public static let minimumHeight = 10

    /// The frame for `state`.
    public static func render(_ state: UIState) -> CellBuffer {
        var buffer = CellBuffer(width: state.width, height: state.height)
        guard state.width >= minimumWidth, state.height >= minimumHeight else {
            let message =
                "terminal too small: \(state.width)x\(state.height), taskscope needs \(minimumWidth)x\(minimumHeight)"
            var y = 0
            var rest = Substring(message)
            while !rest.isEmpty, y < state.height {
                buffer.put(String(rest.prefix(state.width)), x: 0, y: y)
                rest = rest.dropFirst(state.width)
                y += 1
            }
            return buffer
        }
        HeaderView.draw(state, into: &buffer)
        let area = Area(x: 0, y: 2, width: state.width, height: state.height - 3)
        switch state.screen {
        case .overview: OverviewView.draw(state, in: area, into: &buffer)
        case .tasks: TasksView.draw(state, in: area, into: &buffer)
        case .groups: GroupsView.draw(state, in: area, into: &buffer)
        case .resources: ResourcesView.draw(state, in: area, into: &buffer)
        case .warnings: WarningsView.draw(state, in: area, into: &buffer)
        }
        switch state.overlay {
        case .help?: HelpView.draw(state, into: &buffer)
        case .detail(let taskID, let child)?: DetailView.draw(state, taskID: taskID, child: child, into: &buffer)
        case .waitPicker(let selected)?: PickerView.draw(state, selected: selected, into: &buffer)
        case .search?, nil: break
        }
        StatusLine.draw(state, into: &buffer)
        return buffer
    }
}

/// A rectangle of the screen given to a view.
struct Area {
    var x: Int
    var y: Int
    var width: Int
    var height: Int
}

/// A column of a table: a title, how much room it takes, its alignment, and how much it
/// matters when room runs out.
struct Column {
    var title: String
    /// A fixed column's width; a flexible column's least width.
    var width: Int
    var right = false
    /// Whether it shares the room the fixed columns leave, up to `most` cells.
    var flexible = false
    var most = Int.max
    /// Columns of lower priority are dropped first when the least widths do not fit.
    var priority = 0
    /// Cells a flexible column grows by in each round of sharing the room left.
    var weight = 1
    /// The width a column needs to be read comfortably: a column of lower priority is shown
    /// only where those above it can have this much.
    var want: Int

    init(title: String, width: Int, right: Bool = false, priority: Int = 0) {
        self.title = title
        self.width = width
        self.right = right
        self.priority = priority
        want = width
    }

    /// A column that takes `least` cells at least, `want` before columns of lower priority
    /// are shown, and grows to `most` where there is room.
    static func flexible(
        _ title: String, least: Int, want: Int? = nil, most: Int = .max, priority: Int = 0, weight: Int = 1
    ) -> Column {
        var column = Column(title: title, width: max(1, least), priority: priority)
        column.flexible = true
        column.most = max(column.width, most)
        column.want = min(column.most, max(column.width, want ?? column.width))
        column.weight = max(1, weight)
        return column
    }
}

/// Tables: fixed columns, flexible ones sharing what is left, the least important dropped
/// when even their least widths do not fit.
enum Table {
    /// The widths of `columns` laid out in `width` cells with one space between them; a
    /// dropped column gets 0 and takes no room (and no space) in ``row(_:columns:widths:y:style:glyphs:into:x:)``.
    ///
    /// Columns are taken most important first (the leftmost of equals first); one is
    /// dropped when it does not fit at its least width beside the `want` of those taken
    /// before it. The room left goes first to each column up to its `want`, most important
    /// first, then to the flexible ones in turn (`weight` cells at a time), each up to its `most`.
    static func widths(_ columns: [Column], in width: Int) -> [Int] {
        let order = columns.indices.sorted { lhs, rhs in
            columns[lhs].priority != columns[rhs].priority
                ? columns[lhs].priority > columns[rhs].priority : lhs < rhs
        }
        var kept: [Int] = []
        var claimed = 0
        for index in order {
            let gap = kept.isEmpty ? 0 : 1
            guard kept.isEmpty || claimed + gap + columns[index].width <= width else { continue }
            kept.append(index)
            claimed += gap + max(columns[index].width, min(columns[index].want, width - claimed - gap))
        }
        var widths = Array(repeating: 0, count: columns.count)
        for index in kept { widths[index] = columns[index].width }
        var room = width - kept.reduce(0) { $0 + widths[$1] } - max(0, kept.count - 1)
        for index in order where widths[index] > 0 && room > 0 {
            let step = max(0, min(room, columns[index].want - widths[index]))
            widths[index] += step
            room -= step
        }
        var growing = kept.filter { columns[$0].flexible && widths[$0] < columns[$0].most }.sorted()
        while room > 0, !growing.isEmpty {
            for index in growing where room > 0 {
                let step = min(room, columns[index].weight, columns[index].most - widths[index])
                widths[index] += step
                room -= step
            }
            growing.removeAll { widths[$0] >= columns[$0].most }
        }
        return widths
    }

    /// `columns` with the one at `sorted` at least as wide as its title and the sort arrow,
    /// so the header never cuts the title of the column the user sorts by (`TASKS▼`, not `TASK…`),
    /// and kept before any column but the sites, so a narrow terminal never hides the order.
    static func fittingSortMark(_ columns: [Column], sorted: Int?) -> [Column] {
        guard let sorted, columns.indices.contains(sorted) else { return columns }
        var columns = columns
        columns[sorted].priority = max(columns[sorted].priority, 7)
        let needed = columns[sorted].title.displayWidth + 1
        if columns[sorted].width < needed {
            columns[sorted].width = needed
            columns[sorted].want = max(columns[sorted].want, needed)
            columns[sorted].most = max(columns[sorted].most, needed)
        }
        return columns
    }

    /// The x of each column (meaningful for columns kept).
    static func offsets(_ widths: [Int], x: Int = 0) -> [Int] {
        var column = x
        return widths.map { width in
            defer { if width > 0 { column += width + 1 } }
            return column
        }
    }

    /// Draws one row of cells at `y`; dropped columns (width 0) are skipped.
    static func row(
        _ cells: [String], columns: [Column], widths: [Int], y: Int, style: Style, glyphs: Glyphs,
        into buffer: inout CellBuffer, x: Int = 0
    ) {
        var column = x
        for index in cells.indices where index < widths.count && widths[index] > 0 {
            let text = Fit.pad(cells[index], widths[index], glyphs: glyphs, right: columns[index].right)
            buffer.put(text, x: column, y: y, style: style, maxWidth: widths[index])
            column += widths[index] + 1
        }
    }

    /// The header row, with an arrow on the sorted column.
    static func header(
        _ columns: [Column], widths: [Int], y: Int, sorted: Int? = nil, descending: Bool = false, glyphs: Glyphs,
        into buffer: inout CellBuffer, x: Int = 0
    ) {
        let titles = columns.enumerated().map { index, column in
            index == sorted ? column.title + String(descending ? glyphs.down : glyphs.up) : column.title
        }
        row(titles, columns: columns, widths: widths, y: y, style: .header, glyphs: glyphs, into: &buffer, x: x)
    }
}

/// Numbers for tables: `1,234`.
enum Number {
    static func format(_ value: Int) -> String {
        let digits = String(value.magnitude)  // not abs: abs(Int.min) traps
        var out = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + String(out.reversed())
    }

    static func format(_ value: UInt64) -> String { format(Int(clamping: value)) }
}
