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
        set { if contains(x: x, y: y) { cells[y * width + x] = newValue } }
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Writes `text` from (`x`, `y`), clipped to the buffer and to `maxWidth` cells; returns the cells written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = min(width - x, maxWidth ?? Int.max)
        var column = 0
        for character in text where column < limit {
            self[x + column, y] = Cell(character, style)
            column += 1
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

    /// The characters of row `y`, trailing spaces trimmed.
    public func line(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var text = String(cells[(y * width)..<((y + 1) * width)].map(\.character))
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
