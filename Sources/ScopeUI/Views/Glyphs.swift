/// The characters the UI draws with: Unicode where the locale allows, ASCII otherwise.
public struct Glyphs: Sendable, Hashable {
    /// Sparkline levels, lowest first.
    public var levels: [Character]
    public var horizontal: Character
    public var vertical: Character
    public var orphan: Character
    public var ellipsis: String
    public var up: Character
    public var down: Character
    /// Box corners: top left, top right, bottom left, bottom right.
    public var corners: [Character]

    public static let unicode = Glyphs(
        levels: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], horizontal: "─", vertical: "│", orphan: "!",
        ellipsis: "…", up: "▲", down: "▼", corners: ["┌", "┐", "└", "┘"])
    public static let ascii = Glyphs(
        levels: ["_", ".", "-", "=", "+", "*", "#", "@"], horizontal: "-", vertical: "|", orphan: "!",
        ellipsis: "~", up: "^", down: "v", corners: ["+", "+", "+", "+"])

    /// Unicode when the locale (`LC_ALL`, `LC_CTYPE`, `LANG`, first set wins) says UTF-8.
    public static func forEnvironment(_ environment: [String: String]) -> Glyphs {
        let locale =
            environment["LC_ALL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["LC_CTYPE"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["LANG"] ?? ""
        let upper = locale.uppercased()
        return upper.contains("UTF-8") || upper.contains("UTF8") ? .unicode : .ascii
    }
}

/// Sparklines: a series of counts as a row of level glyphs.
public enum Sparkline {
    /// The last `width` values as glyphs, scaled to the largest of them (a flat zero series is all lowest).
    public static func render(_ values: [Int], width: Int, glyphs: Glyphs) -> String {
        guard width > 0 else { return "" }
        let shown = Array(values.suffix(width))
        let top = max(shown.max() ?? 0, 1)
        let steps = glyphs.levels.count - 1
        let line = shown.map { value -> Character in
            let level = value <= 0 ? 0 : max(1, Int((Double(value) / Double(top) * Double(steps)).rounded()))
            return glyphs.levels[min(steps, level)]
        }
        return String(repeating: " ", count: width - line.count) + String(line)
    }
}

/// Text fitting helpers for table cells.
enum Fit {
    /// `text` cut to `width` cells with an ellipsis, or padded to it.
    static func pad(_ text: String, _ width: Int, glyphs: Glyphs, right: Bool = false) -> String {
        guard width > 0 else { return "" }
        var cut = text
        if cut.count > width {
            cut =
                width > glyphs.ellipsis.count
                ? String(cut.prefix(width - glyphs.ellipsis.count)) + glyphs.ellipsis : String(cut.prefix(width))
        }
        let padding = String(repeating: " ", count: width - cut.count)
        return right ? padding + cut : cut + padding
    }

    /// `text` keeping its end (for file paths), cut to `width` with a leading ellipsis.
    static func tail(_ text: String, _ width: Int, glyphs: Glyphs) -> String {
        guard text.count > width, width > glyphs.ellipsis.count else { return pad(text, width, glyphs: glyphs) }
        return glyphs.ellipsis + String(text.suffix(width - glyphs.ellipsis.count))
    }
}
