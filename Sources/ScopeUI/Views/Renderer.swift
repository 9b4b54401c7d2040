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

/// A column of a table: a title, a width (0: share the rest) and alignment.
struct Column {
    var title: String
    var width: Int
    var right = false
}

/// Tables: fixed columns, flexible ones sharing what is left.
enum Table {
    /// The widths of `columns` laid out in `width` cells with one space between them.
    static func widths(_ columns: [Column], in width: Int) -> [Int] {
        let fixed = columns.reduce(0) { $0 + $1.width } + max(0, columns.count - 1)
        let flexible = columns.filter { $0.width == 0 }.count
        let share = flexible == 0 ? 0 : max(4, (width - fixed) / flexible)
        return columns.map { $0.width == 0 ? share : $0.width }
    }

    /// Draws one row of cells at `y`.
    static func row(
        _ cells: [String], columns: [Column], widths: [Int], y: Int, style: Style, glyphs: Glyphs,
        into buffer: inout CellBuffer, x: Int = 0
    ) {
        var column = x
        for index in cells.indices where index < widths.count {
            let text = Fit.pad(cells[index], widths[index], glyphs: glyphs, right: columns[index].right)
            buffer.put(text, x: column, y: y, style: style)
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
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + String(out.reversed())
    }

    static func format(_ value: UInt64) -> String { format(Int(clamping: value)) }
}
