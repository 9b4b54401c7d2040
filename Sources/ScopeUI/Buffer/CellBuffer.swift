/// A grid of cells that views draw into: the frame, before any terminal sees it.
///
/// Writing past an edge is clipped, never an error, so views can be drawn at
/// any size. Tests read frames back with ``line(_:)`` and ``text``.
public struct CellBuffer: Sendable, Hashable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { contains(x: x, y: y) ? cells[y * width + x] : .blank }
        set { set(newValue, x: x, y: y) }
    }

    /// Sets one cell, blanking the other half of any wide character it overwrites
    /// so no half of one is left on screen.
    private mutating func set(_ cell: Cell, x: Int, y: Int) {
        guard contains(x: x, y: y) else { return }
        let index = y * width + x
        let old = cells[index]
        if old.isContinuation, !cell.isContinuation, x > 0 {
            cells[index - 1] = Cell(" ", cells[index - 1].style)
        }
        if !old.isContinuation, x + 1 < width, cells[index + 1].isContinuation,
            old.character != cell.character || cell.isContinuation
        {
            cells[index + 1] = Cell(" ", cells[index + 1].style)
        }
        cells[index] = cell
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Writes `text` from (`x`, `y`), clipped to the buffer and to `maxWidth` cells; returns the cells written.
    ///
    /// Counts display width: a wide character (CJK, emoji) takes its cell and a continuation
    /// cell after it, and one that would straddle the limit is left out, so columns after
    /// it stay where a table put them. Control characters are written as `?`: they would
    /// move the terminal's cursor.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = min(width - x, maxWidth ?? Int.max)
        var column = 0
        for character in text {
            let cells = DisplayWidth.of(character)
            if cells == 0 { continue }
            if column + cells > limit { break }
            let control = character.unicodeScalars.contains { $0.properties.generalCategory == .control }
            let shown: Character = control ? "?" : character
            self[x + column, y] = Cell(shown, style)
            if cells == 2 { self[x + column + 1, y] = Cell.continuation(style) }
            column += cells
        }
        return max(0, column)
    }

    /// Fills a rectangle with one cell.
    public mutating func fill(x: Int, y: Int, width: Int, height: Int, with cell: Cell = .blank) {
        for row in max(0, y)..<min(self.height, y + height) {
            for column in max(0, x)..<min(self.width, x + width) { self[column, row] = cell }
        }
    }

    /// Applies a style to every cell of a row segment, keeping the characters.
    public mutating func restyle(x: Int, y: Int, width: Int, _ change: (inout Style) -> Void) {
        guard y >= 0, y < height else { return }
        for column in max(0, x)..<min(self.width, x + width) {
            var cell = self[column, y]
            change(&cell.style)
            self[column, y] = cell
        }
    }

    /// The characters of row `y`, trailing spaces trimmed; a wide character is read once.
    public func line(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var text = String(cells[(y * width)..<((y + 1) * width)].filter { !$0.isContinuation }.map(\.character))
        while text.last == " " { text.removeLast() }
        return text
    }

    /// Every row, joined by newlines.
    public var text: String { (0..<height).map(line).joined(separator: "\n") }

    /// The row on which `fragment` first appears, if any.
    public func row(containing fragment: String) -> Int? {
        (0..<height).first { line($0).contains(fragment) }
    }
}
