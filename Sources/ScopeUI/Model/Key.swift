/// A key press, as the backend reports it.
public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backspace
    /// Shift-Tab.
    case backTab
    /// A function key: `function(1)` is F1.
    case function(Int)
    /// A control character, by its letter: `control("l")` is Ctrl-L.
    case control(Character)

    /// Whether the key types a character (text, in the search line).
    public var isCharacter: Bool {
        if case .character = self { return true }
        return false
    }
}

/// What a key asks for.
public enum Command: Hashable, Sendable {
    case screen(Screen)
    case nextScreen, previousScreen
    case up, down, pageUp, pageDown, top, bottom
    case open, back
    case search, pickWait
    /// Sort by the next column to the right (or left), on the screen shown.
    case nextSort, previousSort
    case reverseSort
    case pause, export, help, redraw, quit
    /// Groups by async stack, or by site again.
    case groupByStack
}

/// One row of the key table: the keys, what they do, and the help text. The
/// same table dispatches keys, writes the help screen and is README's key table.
public struct KeyBinding: Sendable {
    public var keys: [Key]
    public var label: String
    public var command: Command
    public var help: String

    /// Every binding, in help order: a key for each screen, then the rest.
    public static let all: [KeyBinding] =
        Screen.allCases.map { screen in
            KeyBinding(
                keys: [.character(Character("\(screen.rawValue)"))], label: "\(screen.rawValue)",
                command: .screen(screen), help: screen.title.lowercased())
        } + [
            KeyBinding(keys: [.tab], label: "Tab", command: .nextScreen, help: "next screen"),
            KeyBinding(keys: [.backTab], label: "S-Tab", command: .previousScreen, help: "previous screen"),
            KeyBinding(keys: [.up, .character("k")], label: "↑ k", command: .up, help: "move up"),
            KeyBinding(keys: [.down, .character("j")], label: "↓ j", command: .down, help: "move down"),
            KeyBinding(keys: [.pageUp], label: "PgUp", command: .pageUp, help: "page up"),
            KeyBinding(keys: [.pageDown], label: "PgDn", command: .pageDown, help: "page down"),
            KeyBinding(keys: [.character("g"), .home], label: "g Home", command: .top, help: "first row"),
            KeyBinding(keys: [.character("G"), .end], label: "G End", command: .bottom, help: "last row"),
            KeyBinding(
                keys: [.enter], label: "Enter", command: .open,
                help: "open a task, a child, a warning, a group's, resource's or warning's tasks"),
            KeyBinding(
                keys: [.escape, .backspace], label: "Esc", command: .back,
                help: "back to the parent task, close, clear the filter"),
            KeyBinding(
                keys: [.character("/")], label: "/", command: .search,
                help: "search: filters as you type, Enter keeps, Esc clears"),
            KeyBinding(
                keys: [.character("w")], label: "w", command: .pickWait,
                help: "filter by wait reason (tasks, groups, resources)"),
            KeyBinding(
                keys: [.character("s"), .right], label: "s →", command: .nextSort,
                help: "sort this screen by the next column"),
            KeyBinding(keys: [.left], label: "←", command: .previousSort, help: "sort by the previous column"),
            KeyBinding(keys: [.character("S")], label: "S", command: .reverseSort, help: "reverse the sort"),
            KeyBinding(
                keys: [.character(" ")], label: "Space", command: .pause, help: "pause the display (data keeps coming)"),
            KeyBinding(keys: [.character("e")], label: "e", command: .export, help: "export a snapshot to a file"),
            KeyBinding(keys: [.control("l")], label: "Ctrl-L", command: .redraw, help: "redraw the screen"),
            KeyBinding(
                keys: [.character("?"), .character("h"), .function(1)], label: "? h F1", command: .help,
                help: "this help"),
            KeyBinding(keys: [.character("q"), .function(10)], label: "q F10", command: .quit, help: "quit"),
        ]

    /// The command bound to `key`, if any.
    public static func command(for key: Key) -> Command? {
        all.first { $0.keys.contains(key) }?.command
    }

    /// Keys of one screen, named in its footer rather than in the help (which fits 80x24 whole):
    /// `b` on Groups, by async stack or by site.
    public static func screenCommand(for key: Key, on screen: Screen) -> Command? {
        key == .character("b") ? .groupByStack : nil
    }
}
