import ScopeProtocol

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
        render(values.map { Optional($0) }, width: width, scale: nil, glyphs: glyphs)
    }

    /// The last `width` values as glyphs against `scale` (the value drawn as the highest
    /// level; `nil`: the largest value shown), from zero, so rows drawn against one scale
    /// can be compared: a constant 1 is the lowest level beside a constant 1,000 at the top.
    /// A `nil` value (not known at that sample) is a blank.
    public static func render(_ values: [Int?], width: Int, scale: Int?, glyphs: Glyphs) -> String {
        guard width > 0 else { return "" }
        let shown = Array(values.suffix(width))
        let top = max(scale ?? shown.compactMap { $0 }.max() ?? 0, 1)
        let steps = glyphs.levels.count - 1
        let line = shown.map { value -> Character in
            guard let value else { return " " }
            let level = value <= 0 ? 0 : max(1, Int((Double(value) / Double(top) * Double(steps)).rounded()))
            return glyphs.levels[min(steps, level)]
        }
        return String(repeating: " ", count: width - line.count) + String(line)
    }

    /// The largest of the last `width` values of each series: one scale for a table's rows.
    static func scale(_ series: [[Int?]], width: Int) -> Int {
        series.map { $0.suffix(width).compactMap { $0 }.max() ?? 0 }.max() ?? 0
    }

    /// The time `samples` samples `interval` seconds apart cover, said briefly: `45s`, `10m`, `1h30m`.
    static func window(samples: Int, interval: Double) -> String {
        // Clamped: an interval from a file is checked, but this must not trap whatever it is given.
        let exact = (Double(samples) * interval).rounded()
        let seconds = exact.isNaN ? 0 : Int(min(max(exact, 0), 1e15))
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return seconds % 60 == 0 ? "\(seconds / 60)m" : "\(seconds / 60)m\(seconds % 60)s" }
        let minutes = seconds / 60
        return minutes % 60 == 0 ? "\(minutes / 60)h" : "\(minutes / 60)h\(minutes % 60)m"
    }
}

/// Text fitting helpers for table cells. Widths are display widths: a CJK character or an
/// emoji counts two cells.
enum Fit {
    /// `text` cut to `width` cells with an ellipsis, or padded to it.
    static func pad(_ text: String, _ width: Int, glyphs: Glyphs, right: Bool = false) -> String {
        guard width > 0 else { return "" }
        var cut = text
        if cut.displayWidth > width {
            let mark = glyphs.ellipsis.displayWidth
            cut = width > mark ? cut.prefix(cells: width - mark) + glyphs.ellipsis : cut.prefix(cells: width)
        }
        let padding = String(repeating: " ", count: max(0, width - cut.displayWidth))
        return right ? padding + cut : cut + padding
    }

    /// `text` keeping its end (for file paths), cut to `width` with a leading ellipsis.
    static func tail(_ text: String, _ width: Int, glyphs: Glyphs) -> String {
        let mark = glyphs.ellipsis.displayWidth
        guard text.displayWidth > width, width > mark else { return pad(text, width, glyphs: glyphs) }
        return pad(glyphs.ellipsis + text.suffix(cells: width - mark), width, glyphs: glyphs)
    }

    /// A site as `file:line` in `width` cells, its function after it when asked and there is
    /// room. What is cut first is the directory, whole directories from the left; the file's
    /// name and line are kept whole whenever ``siteMinimum(_:)`` cells fit
    /// (`…/Handlers/DemoLeaks.swift:29`, then `DemoLeaks.swift:29`), and only in narrower
    /// cells is the name cut, at its end, so the line number still shows (`DemoLe…:29`).
    static func site(_ site: SourceSite?, _ width: Int, function: Bool = false, glyphs: Glyphs) -> String {
        guard let site else { return pad("-", width, glyphs: glyphs) }
        // An adopted task's spawn site is a placeholder without a line: `(untracked)`.
        if site.line == 0 { return pad(site.file, width, glyphs: glyphs) }
        let base = site.description
        if function, let route = site.route {
            // A request scope: its route first, where it was opened after it if there is room.
            for candidate in [route + "  " + base, route + "  " + shortSite(site)] where candidate.displayWidth <= width
            {
                return pad(candidate, width, glyphs: glyphs)
            }
            if route.displayWidth <= width { return pad(route, width, glyphs: glyphs) }
            return pad(
                route.prefix(cells: max(0, width - glyphs.ellipsis.displayWidth)) + glyphs.ellipsis, width,
                glyphs: glyphs)
        }
        if function, let name = site.function, !name.isEmpty, (base + " " + name).displayWidth <= width {
            return pad(base + " " + name, width, glyphs: glyphs)
        }
        if base.displayWidth <= width { return pad(base, width, glyphs: glyphs) }
        let short = shortSite(site)
        let mark = glyphs.ellipsis.displayWidth
        if width >= short.displayWidth + mark + 1 {
            // Whole directories only, after the ellipsis: `…/Handlers/DemoLeaks.swift:29`.
            var kept = short
            for directory in site.file.split(separator: "/").dropLast().reversed() {
                let longer = directory + "/" + kept
                guard longer.displayWidth + mark + 1 <= width else { break }
                kept = String(longer)
            }
            return pad(glyphs.ellipsis + "/" + kept, width, glyphs: glyphs)
        }
        if width >= short.displayWidth { return pad(short, width, glyphs: glyphs) }
        let line = ":\(site.line)"
        let room = width - line.displayWidth - mark
        guard room > 0 else { return pad(short, width, glyphs: glyphs) }
        return pad(fileName(site).prefix(cells: room) + glyphs.ellipsis + line, width, glyphs: glyphs)
    }

    /// The cells a site needs to show its file name and line whole: `DemoLeaks.swift:29` (a request
    /// scope's spawn site, its route).
    static func siteMinimum(_ site: SourceSite?) -> Int {
        guard let site else { return 1 }
        // A request scope's route is what its spawn site says.
        if let route = site.route { return route.displayWidth }
        return shortSite(site).displayWidth
    }

    static func shortSite(_ site: SourceSite) -> String { "\(fileName(site)):\(site.line)" }

    static func fileName(_ site: SourceSite) -> String {
        site.file.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? site.file
    }
}

/// Word wrapping by display width, for text that must be read whole (warnings, paths).
enum Wrap {
    /// `text` in lines of at most `width` cells, broken at spaces; a word longer than a
    /// line (a path) is broken after its last `/` that fits, else at the edge. Every
    /// character of `text` but the spaces it breaks at is kept.
    static func lines(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if candidate.displayWidth <= width {
                current = candidate
                continue
            }
            if !current.isEmpty {
                lines.append(current)
                current = ""
            }
            var rest = word
            while rest.displayWidth > width {
                var head = rest.prefix(cells: width)
                if head.isEmpty, let first = rest.first { head = String(first) }
                if let slash = head.lastIndex(of: "/"), slash != head.startIndex, head.last != "/" {
                    head = String(head[...slash])
                }
                lines.append(head)
                rest = String(rest.dropFirst(head.count))
            }
            current = rest
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}
