/// A key press, as the backend reports it.
public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backspace
}

/// What a key asks for.
public enum Command: Hashable, Sendable {
    case screen(Screen)
    case nextScreen
    case up, down, pageUp, pageDown, top, bottom
    case open, back
    case search, pickWait, nextSort, reverseSort
    case pause, export, help, quit
}

/// One row of the key table: the keys, what they do, and the help text. The
/// same table dispatches keys and writes the help screen.
public struct KeyBinding: Sendable {
    public var keys: [Key]
    public var label: String
    public var command: Command
    public var help: String

    /// Every binding, in help order.
    public static let all: [KeyBinding] = [
        KeyBinding(keys: [.character("1")], label: "1", command: .screen(.overview), help: "overview"),
        KeyBinding(keys: [.character("2")], label: "2", command: .screen(.tasks), help: "tasks"),
        KeyBinding(keys: [.character("3")], label: "3", command: .screen(.groups), help: "groups"),
        KeyBinding(keys: [.character("4")], label: "4", command: .screen(.resources), help: "resources"),
        KeyBinding(keys: [.character("5")], label: "5", command: .screen(.warnings), help: "warnings"),
        KeyBinding(keys: [.tab], label: "Tab", command: .nextScreen, help: "next screen"),
        KeyBinding(keys: [.up, .character("k")], label: "↑ k", command: .up, help: "move up"),
        KeyBinding(keys: [.down, .character("j")], label: "↓ j", command: .down, help: "move down"),
        KeyBinding(keys: [.pageUp], label: "PgUp", command: .pageUp, help: "page up"),
        KeyBinding(keys: [.pageDown], label: "PgDn", command: .pageDown, help: "page down"),
        KeyBinding(keys: [.character("g"), .home], label: "g Home", command: .top, help: "first row"),
        KeyBinding(keys: [.character("G"), .end], label: "G End", command: .bottom, help: "last row"),
        KeyBinding(
            keys: [.enter], label: "Enter", command: .open,
            help: "open: task detail, a warning, a group's, resource's or warning's tasks"),
        KeyBinding(keys: [.escape, .backspace], label: "Esc", command: .back, help: "back, close, clear the filter"),
        KeyBinding(keys: [.character("/")], label: "/", command: .search, help: "search task names and sites"),
        KeyBinding(keys: [.character("w")], label: "w", command: .pickWait, help: "filter by wait reason"),
        KeyBinding(keys: [.character("s")], label: "s", command: .nextSort, help: "sort by the next column"),
        KeyBinding(keys: [.character("S")], label: "S", command: .reverseSort, help: "reverse the sort"),
        KeyBinding(
            keys: [.character(" ")], label: "Space", command: .pause, help: "pause the display (data keeps coming)"),
        KeyBinding(keys: [.character("e")], label: "e", command: .export, help: "export a snapshot to a file"),
        KeyBinding(keys: [.character("?")], label: "?", command: .help, help: "this help"),
        KeyBinding(keys: [.character("q")], label: "q", command: .quit, help: "quit"),
    ]

    /// The command bound to `key`, if any.
    public static func command(for key: Key) -> Command? {
        all.first { $0.keys.contains(key) }?.command
    }
}
