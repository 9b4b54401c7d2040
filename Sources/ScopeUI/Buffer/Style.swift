/// Colours the UI uses, by meaning; the backend maps them to terminal colours.
public enum Colour: UInt8, Sendable, Hashable, CaseIterable {
    case normal, accent, good, warning, danger, muted, header
}

/// How a cell is drawn.
public struct Style: Sendable, Hashable {
    public var colour: Colour
    public var bold: Bool
    public var dim: Bool
    public var reverse: Bool

    public init(_ colour: Colour = .normal, bold: Bool = false, dim: Bool = false, reverse: Bool = false) {
        self.colour = colour
        self.bold = bold
        self.dim = dim
        self.reverse = reverse
    }

    public static let plain = Style()
    public static let header = Style(.header, bold: true)
    public static let selected = Style(reverse: true)
    public static let muted = Style(.muted, dim: true)
}

/// One character cell of the screen.
public struct Cell: Sendable, Hashable {
    public var character: Character
    public var style: Style
    /// The right half of a wide character drawn in the cell before: the terminal draws
    /// that character once, over both cells, and skips this one.
    public var isContinuation: Bool

    public init(_ character: Character = " ", _ style: Style = .plain) {
        self.character = character
        self.style = style
        isContinuation = false
    }

    public static let blank = Cell()

    /// The cell after a wide character, in its style.
    public static func continuation(_ style: Style) -> Cell {
        var cell = Cell(" ", style)
        cell.isContinuation = true
        return cell
    }
}
