/// How many terminal cells a character takes: 2 for East Asian wide and
/// fullwidth characters and for emoji drawn as pictures, 0 for marks that
/// combine with what precedes them, 1 for the rest.
///
/// A table rather than `wcwidth(3)`: `wcwidth` answers only under a UTF-8
/// locale, and the frames that tests render are drawn without one. The
/// ranges are those East Asian Width (Unicode 15) calls W or F, as terminals
/// draw them; emoji come from the scalar's `Emoji_Presentation` property or
/// an emoji variation selector. Cost: a few comparisons per character.
public enum DisplayWidth {
    /// The cells `character` takes on a terminal.
    public static func of(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if first.value < 0x300 { return 1 }  // ASCII and Latin: the common case, answered at once
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        if first.properties.isEmojiPresentation { return 2 }
        return isWide(first.value) ? 2 : 1
    }

    /// The cells `text` takes.
    public static func of<S: StringProtocol>(_ text: S) -> Int {
        var total = 0
        for character in text { total += of(character) }
        return total
    }

    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
        0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
        0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF,
        0x1F200...0x1F2FF, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    private static func isWide(_ value: UInt32) -> Bool {
        guard value >= 0x1100 else { return false }
        return wideRanges.contains { $0.contains(value) }
    }
}

extension StringProtocol {
    /// The cells this text takes on a terminal (see ``DisplayWidth``).
    var displayWidth: Int { DisplayWidth.of(self) }

    /// The longest start of this text that takes at most `cells` cells.
    func prefix(cells: Int) -> String {
        var out = ""
        var used = 0
        for character in self {
            let width = DisplayWidth.of(character)
            if used + width > cells { break }
            out.append(character)
            used += width
        }
        return out
    }

    /// The longest end of this text that takes at most `cells` cells.
    func suffix(cells: Int) -> String {
        var out: [Character] = []
        var used = 0
        for character in reversed() {
            let width = DisplayWidth.of(character)
            if used + width > cells { break }
            out.append(character)
            used += width
        }
        return String(out.reversed())
    }
}
